"""Residual blocks as Gluon ``HybridBlock``s.

* :class:`Residual` is the block of d2l's ResNet chapter.
* :class:`BasicBlockV1`, :class:`BottleneckV1`, :class:`BasicBlockV2` and
  :class:`BottleneckV2` have the child structure of ``mxnet.gluon.model_zoo.vision.resnet``,
  so parameter files saved from MXNet's zoo load into nets built from them.
  :class:`BottleneckV1` also takes ``groups`` and ``bottleneck_width`` for ResNeXt
  (the structure of GluonCV's ``resnext`` blocks).
* :class:`BasicBlockV1b` and :class:`BottleneckV1b` have the structure of GluonCV's
  ``resnetv1b`` (stride on the 3x3 convolution).

All residual blocks take ``(channels, stride, downsample=False, in_channels=0)``, where
``channels`` is the number of output channels, plus three keywords:

* ``shortcut``, the paper's options (He et al. 2015, section 3.3 and Table 3): ``"A"``
  an identity shortcut whose extra channels are zeros and which subsamples by the stride
  where the block changes shape (no parameters; the paper's CIFAR nets),
  ``"B"`` the identity, or a 1x1 projection where the block changes shape (the default,
  and what the published weights have), ``"C"`` a projection on every block, and
  ``None`` no shortcut at all: the block of a *plain* net, ``ReLU(body(x))``, with the
  same layers and parameter names as the residual block.
* ``kernel_size`` (default 3) of the 3x3 convolutions. Odd sizes pad ``k // 2`` on every
  side; even sizes pad as TensorFlow's, Keras' and PyTorch's ``padding="same"`` do
  (``(k - 1) // 2`` above and left, ``k // 2`` below and right; see :class:`SameConv2D`).
* ``zero_init_residual``: it
initialises the block's last BatchNorm gamma to zero, so each residual branch starts as
the identity, which helps large-batch training (Goyal et al., "Accurate, Large Minibatch
SGD", 2017, section 5.1). Pre-activation (V2) blocks end in a convolution, not a
BatchNorm, so there it zero-initialises that last convolution's weight instead.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..arrays import is_np_array, relu

__all__ = ["Residual", "resnet_block", "BasicBlockV1", "BottleneckV1", "BasicBlockV2",
           "BottleneckV2", "BasicBlockV1b", "BottleneckV1b", "SHORTCUTS", "SameConv2D",
           "ZeroPadShortcut"]

#: The values of the blocks' ``shortcut`` keyword (None: a plain block, no shortcut).
SHORTCUTS = ("A", "B", "C", None)


class SameConv2D(nn.Conv2D):
    """A square ``nn.Conv2D`` with "same" padding for an even kernel size ``k``:
    ``(k - 1) // 2`` zero rows/columns above and left, ``k // 2`` below and right, as
    TensorFlow, Keras and PyTorch (``padding="same"``) pad. With stride 1 the output
    has the input's size. The padding is an explicit ``pad`` operator before the
    convolution (MXNet's convolution pads symmetrically); parameters are those of
    ``nn.Conv2D(channels, k, strides)``.
    """

    def __init__(self, channels, kernel_size, strides=1, **kwargs):
        if not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError("SameConv2D takes a square kernel size (a positive int), got %r"
                             % (kernel_size,))
        super().__init__(channels, kernel_size, strides=strides, padding=0, **kwargs)
        self._same = ((kernel_size - 1) // 2, kernel_size // 2)

    def hybrid_forward(self, F, x, weight, bias=None):
        before, after = self._same
        if is_np_array():
            x = F.np.pad(x, ((0, 0), (0, 0), (before, after), (before, after)))
        else:
            x = F.pad(x, mode="constant", pad_width=(0, 0, 0, 0, before, after, before, after))
        return super().hybrid_forward(F, x, weight, bias)


def _check_kernel(kernel_size):
    if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1:
        raise ValueError("kernel_size must be a positive int, got %r" % (kernel_size,))


def _conv(channels, stride, in_channels=0, groups=1, zero_init=False, kernel_size=3):
    """A bias-free ``kernel_size`` convolution that keeps the size at stride 1."""
    _check_kernel(kernel_size)
    kwargs = dict(strides=stride, groups=groups, use_bias=False, in_channels=in_channels,
                  weight_initializer="zeros" if zero_init else None)
    if kernel_size % 2:
        return nn.Conv2D(channels, kernel_size=kernel_size, padding=kernel_size // 2,
                         **kwargs)
    return SameConv2D(channels, kernel_size, **kwargs)


class ZeroPadShortcut(HybridBlock):
    """The paper's shortcut option A: the identity, subsampled by ``stride`` (every
    ``stride``-th row and column, as a 1x1 max-pooling takes them), with
    ``channels - in_channels`` zero channels appended. No parameters.
    """

    def __init__(self, channels, stride, in_channels, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError("shortcut 'A' needs the block's in_channels (it zero-pads "
                             "in_channels to channels), got in_channels=%r" % (in_channels,))
        if channels < in_channels:
            raise ValueError("shortcut 'A' can only add channels (zeros), but the block "
                             "goes from %d to %d channels; use shortcut 'B' or 'C'"
                             % (in_channels, channels))
        self._in_channels = in_channels
        self._extra = channels - in_channels
        self.pool = nn.MaxPool2D(1, stride) if stride != 1 else None

    def hybrid_forward(self, F, x):
        if self.pool is not None:
            x = self.pool(x)
        if not self._extra:
            return x
        np_mode = is_np_array()
        zeros = F.np.zeros_like(x) if np_mode else F.zeros_like(x)
        parts, left = [x], self._extra
        while left:
            n = min(left, self._in_channels)
            if n == self._in_channels:
                parts.append(zeros)
            elif np_mode:
                parts.append(F.npx.slice(zeros, begin=(None, 0, None, None),
                                         end=(None, n, None, None)))
            else:
                parts.append(F.slice_axis(zeros, axis=1, begin=0, end=n))
            left -= n
        return F.np.concatenate(parts, axis=1) if np_mode else F.concat(*parts, dim=1)


def _make_shortcut(shortcut, downsample, channels, stride, in_channels, projection):
    """The block's ``downsample`` child for ``shortcut`` (see the module docstring):
    None for the identity and for no shortcut."""
    if shortcut not in SHORTCUTS:
        raise ValueError("shortcut must be 'A', 'B', 'C' or None (a plain block), got %r"
                         % (shortcut,))
    if shortcut == "C" or (shortcut == "B" and downsample):
        return projection(channels, stride, in_channels)
    if shortcut == "A" and downsample:
        return ZeroPadShortcut(channels, stride, in_channels)
    return None


def _batchnorm(zero_init=False, **kwargs):
    return nn.BatchNorm(gamma_initializer="zeros" if zero_init else "ones", **kwargs)


def _shortcut(channels, stride, in_channels):
    """The 1x1 projection (conv + BN) of V1 and V1b blocks (shortcut B or C)."""
    downsample = nn.HybridSequential(prefix="")
    downsample.add(nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False,
                             in_channels=in_channels))
    downsample.add(nn.BatchNorm())
    return downsample


def _avg_down_shortcut(channels, stride, in_channels):
    """ResNet-D's shortcut (GluonCV's ``avg_down``, timm's ``downsample_avg``): average
    pooling does the subsampling, so the 1x1 convolution (stride 1) sees every pixel.
    ``ceil_mode`` and ``count_include_pad=False`` as both: a partial window at an odd
    size averages the pixels it has. At stride 1 the pooling is a 1x1 identity, kept so
    that the children are numbered as in GluonCV and timm (0 pool, 1 conv, 2 BN)."""
    downsample = nn.HybridSequential(prefix="")
    downsample.add(nn.AvgPool2D(pool_size=stride, strides=stride, ceil_mode=True,
                                count_include_pad=False))
    downsample.add(nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False,
                             in_channels=in_channels))
    downsample.add(nn.BatchNorm())
    return downsample


def _projection_v2(channels, stride, in_channels):
    """The 1x1 projection (conv only) of V2 blocks (shortcut B or C)."""
    return nn.Conv2D(channels, 1, stride, use_bias=False, in_channels=in_channels)


class Residual(HybridBlock):
    """The residual block of d2l's ResNet chapter.

    3x3 conv -> BN -> ReLU -> 3x3 conv -> BN, added to the input (through a 1x1
    convolution if ``use_1x1conv``), then ReLU. The convolutions have biases, as in d2l.

    Parameters
    ----------
    num_channels : int
        Number of output channels.
    use_1x1conv : bool, default False
        Pass the shortcut through a 1x1 convolution. Needed when the block changes the
        number of channels or the resolution.
    strides : int, default 1
        Stride of the first 3x3 convolution (and of the 1x1 shortcut).

    Examples
    --------
    >>> blk = Residual(6, use_1x1conv=True, strides=2)   # (4, 3, 6, 6) -> (4, 6, 3, 3)
    """

    def __init__(self, num_channels, use_1x1conv=False, strides=1, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = nn.Conv2D(num_channels, kernel_size=3, padding=1, strides=strides)
            self.conv2 = nn.Conv2D(num_channels, kernel_size=3, padding=1)
            self.conv3 = (nn.Conv2D(num_channels, kernel_size=1, strides=strides)
                          if use_1x1conv else None)
            self.bn1 = nn.BatchNorm()
            self.bn2 = nn.BatchNorm()

    def hybrid_forward(self, F, X):
        Y = relu(F, self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return relu(F, Y + X)


def resnet_block(num_channels, num_residuals, first_block=False):
    """A stage of d2l :class:`Residual` blocks, as in d2l's ``resnet_block``.

    The first block halves the resolution and projects the shortcut, unless
    ``first_block`` (the stage right after the stem, whose input already has
    ``num_channels`` channels).
    """
    blk = nn.HybridSequential()
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.add(Residual(num_channels, use_1x1conv=True, strides=2))
        else:
            blk.add(Residual(num_channels))
    return blk


_BLOCK_KEYWORDS_DOC = """
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input (shortcut ``"A"``
        needs it where the block changes shape).
    zero_init_residual : bool, default False
        Initialise the last BN gamma to zero (see the module docstring).
    kernel_size : int, default 3
        Size of the 3x3 convolutions (see the module docstring).
    shortcut : {"A", "B", "C", None}, default "B"
        The shortcut (see the module docstring); None makes the block plain.
"""


class _Block(HybridBlock):
    """What every residual block shares: its shortcut, made by :func:`_make_shortcut`,
    and the sum ``body + shortcut`` (the body alone in a plain block)."""

    def _init_shortcut(self, shortcut, downsample, channels, stride, in_channels,
                       projection=_shortcut):
        self.downsample = _make_shortcut(shortcut, downsample, channels, stride,
                                         in_channels, projection)
        self.shortcut = shortcut

    def _add_shortcut(self, out, x):
        if self.shortcut is None:
            return out
        return out + (self.downsample(x) if self.downsample is not None else x)


class BasicBlockV1(_Block):
    """Basic block of ResNet v1 ("Deep Residual Learning", He et al. 2015), for 18/34 layers.

    ``body`` = 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv -> BN; the output is
    ReLU(body(x) + shortcut(x)), or ReLU(body(x)) in a plain block.

    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the first convolution and of the shortcut.
    downsample : bool, default False
        The block changes shape: project the shortcut with a 1x1 convolution and BN
        (shortcut ``"B"``), or zero-pad and subsample it (``"A"``).
    """ + _BLOCK_KEYWORDS_DOC

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, kernel_size=3, shortcut="B", **kwargs):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv(channels, stride, in_channels, kernel_size=kernel_size))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv(channels, 1, channels, kernel_size=kernel_size))
        self.body.add(_batchnorm(zero_init_residual))
        self._init_shortcut(shortcut, downsample, channels, stride, in_channels)

    def hybrid_forward(self, F, x):
        return relu(F, self._add_shortcut(self.body(x), x))


class BottleneckV1(_Block):
    """Bottleneck block of ResNet v1, for 50 layers and more; with ``groups``, ResNeXt's.

    ``body`` = 1x1 conv -> BN -> ReLU -> 3x3 conv -> BN -> ReLU -> 1x1 conv -> BN; the
    output is ReLU(body(x) + shortcut(x)). The middle width is
    ``groups * (channels // 4) * bottleneck_width // 64``: ``channels // 4`` for ResNet,
    and e.g. 32 groups of 4 channels (128) in the first stage of ResNeXt-50 32x4d.

    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the block (see ``stride_on_3x3``) and of the shortcut.
    downsample : bool, default False
        The block changes shape (see :class:`BasicBlockV1`).
    groups : int, default 1
        Number of groups (ResNeXt's cardinality) of the 3x3 convolution.
    bottleneck_width : int, default 64
        Channels per group, relative to 64: ResNeXt 32x4d has ``groups=32,
        bottleneck_width=4``.
    stride_on_3x3 : bool, default False
        Put the stride on the 3x3 convolution (ResNeXt, "ResNet v1.5") rather than on the
        first 1x1 convolution (MXNet's v1).
    use_bias : bool, default True
        Give the two 1x1 convolutions a bias, as MXNet's v1 bottleneck does (GluonCV's
        ResNeXt does not).
    """ + _BLOCK_KEYWORDS_DOC

    def __init__(self, channels, stride, downsample=False, in_channels=0, groups=1,
                 bottleneck_width=64, stride_on_3x3=False, use_bias=True,
                 zero_init_residual=False, kernel_size=3, shortcut="B", **kwargs):
        super().__init__(**kwargs)
        width = groups * ((channels // 4) * bottleneck_width // 64)
        stride_1x1, stride_3x3 = (1, stride) if stride_on_3x3 else (stride, 1)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(width, kernel_size=1, strides=stride_1x1, use_bias=use_bias))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv(width, stride_3x3, width, groups=groups, kernel_size=kernel_size))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=use_bias))
        self.body.add(_batchnorm(zero_init_residual))
        self._init_shortcut(shortcut, downsample, channels, stride, in_channels)

    def hybrid_forward(self, F, x):
        return relu(F, self._add_shortcut(self.body(x), x))


class _BlockV2(_Block):
    """Pre-activation blocks: a projection shortcut takes the pre-activated input; the
    identity and option A take the input itself."""

    def _add_shortcut_v2(self, out, x, preact):
        if self.shortcut is None:
            return out
        source = preact if isinstance(self.downsample, nn.Conv2D) else x
        return out + (self.downsample(source) if self.downsample is not None else x)


class BasicBlockV2(_BlockV2):
    """Pre-activation basic block of ResNet v2 ("Identity Mappings", He et al. 2016).

    BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv, added to the shortcut
    (a 1x1 convolution of the pre-activated input when projected). Parameters as
    :class:`BasicBlockV1`; ``zero_init_residual`` zeroes the last convolution's weight.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, kernel_size=3, shortcut="B", **kwargs):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv(channels, stride, in_channels, kernel_size=kernel_size)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv(channels, 1, channels, zero_init=zero_init_residual,
                           kernel_size=kernel_size)
        self._init_shortcut(shortcut, downsample, channels, stride, in_channels,
                            _projection_v2)

    def hybrid_forward(self, F, x):
        preact = relu(F, self.bn1(x))
        out = self.conv1(preact)
        out = relu(F, self.bn2(out))
        return self._add_shortcut_v2(self.conv2(out), x, preact)


class BottleneckV2(_BlockV2):
    """Pre-activation bottleneck block of ResNet v2, for 50 layers and more.

    BN -> ReLU -> 1x1 conv -> BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 1x1 conv,
    added to the shortcut. Parameters as :class:`BasicBlockV1`; ``zero_init_residual``
    zeroes the last convolution's weight.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, kernel_size=3, shortcut="B", **kwargs):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv(channels // 4, stride, channels // 4, kernel_size=kernel_size)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False,
                               weight_initializer="zeros" if zero_init_residual else None)
        self._init_shortcut(shortcut, downsample, channels, stride, in_channels,
                            _projection_v2)

    def hybrid_forward(self, F, x):
        preact = relu(F, self.bn1(x))
        out = self.conv1(preact)
        out = relu(F, self.bn2(out))
        out = self.conv2(out)
        out = relu(F, self.bn3(out))
        return self._add_shortcut_v2(self.conv3(out), x, preact)


class BasicBlockV1b(_Block):
    """Basic block with GluonCV's ``resnetv1b`` structure (``conv1``, ``bn1``, ...).

    Same computation as :class:`BasicBlockV1`; the children are named as in GluonCV so
    its parameter files load. Parameters as :class:`BasicBlockV1`.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, kernel_size=3, shortcut="B", avg_down=False,
                 **kwargs):
        super().__init__(**kwargs)
        self.conv1 = _conv(channels, stride, in_channels, kernel_size=kernel_size)
        self.bn1 = nn.BatchNorm()
        self.relu1 = nn.Activation("relu")
        self.conv2 = _conv(channels, 1, channels, kernel_size=kernel_size)
        self.bn2 = _batchnorm(zero_init_residual)
        self.relu2 = nn.Activation("relu")
        self._init_shortcut(shortcut, downsample, channels, stride, in_channels,
                            _avg_down_shortcut if avg_down else _shortcut)

    def hybrid_forward(self, F, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(self._add_shortcut(out, x))


class BottleneckV1b(_Block):
    """Bottleneck block with GluonCV's ``resnetv1b`` structure: the stride is on the 3x3.

    1x1 conv -> BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 1x1 conv -> BN, added
    to the shortcut, then ReLU; no convolution has a bias. Parameters as
    :class:`BasicBlockV1`, and those of torchvision's ``Bottleneck`` and GluonCV's
    ``resnetv1b``.

    Other Parameters
    ----------------
    groups : int, default 1
        Groups of the 3x3 convolution (ResNeXt's cardinality).
    bottleneck_width : int, default 64
        Channels per group at 64 output channels of the stage's 1x1 (torchvision's
        ``width_per_group``): the 3x3 has ``int(channels / 4 * bottleneck_width / 64)
        * groups`` channels. 128 doubles them (Wide ResNet-50-2), and groups=32 with
        bottleneck_width=8 is ResNeXt-101 32x8d.
    avg_down : bool, default False
        ResNet-D's shortcut: average pooling, then a stride-1 1x1 convolution.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, kernel_size=3, shortcut="B", groups=1,
                 bottleneck_width=64, avg_down=False, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("groups", groups), ("bottleneck_width", bottleneck_width)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError("%s must be a positive int, got %r" % (what, value))
        width = int(channels // 4 * bottleneck_width / 64) * groups
        self.conv1 = nn.Conv2D(width, kernel_size=1, use_bias=False, in_channels=in_channels)
        self.bn1 = nn.BatchNorm()
        self.relu1 = nn.Activation("relu")
        self.conv2 = _conv(width, stride, width, groups=groups, kernel_size=kernel_size)
        self.bn2 = nn.BatchNorm()
        self.relu2 = nn.Activation("relu")
        self.conv3 = nn.Conv2D(channels, kernel_size=1, use_bias=False, in_channels=width)
        self.bn3 = _batchnorm(zero_init_residual)
        self.relu3 = nn.Activation("relu")
        self._init_shortcut(shortcut, downsample, channels, stride, in_channels,
                            _avg_down_shortcut if avg_down else _shortcut)

    def hybrid_forward(self, F, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(self._add_shortcut(out, x))
