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
``channels`` is the number of output channels, plus ``zero_init_residual``: it
initialises the block's last BatchNorm gamma to zero, so each residual branch starts as
the identity, which helps large-batch training (Goyal et al., "Accurate, Large Minibatch
SGD", 2017, section 5.1). Pre-activation (V2) blocks end in a convolution, not a
BatchNorm, so there it zero-initialises that last convolution's weight instead.
"""
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from .arrays import relu

__all__ = ["Residual", "resnet_block", "BasicBlockV1", "BottleneckV1", "BasicBlockV2",
           "BottleneckV2", "BasicBlockV1b", "BottleneckV1b"]


def _conv3x3(channels, stride, in_channels=0, groups=1, zero_init=False):
    return nn.Conv2D(channels, kernel_size=3, strides=stride, padding=1, groups=groups,
                     use_bias=False, in_channels=in_channels,
                     weight_initializer="zeros" if zero_init else None)


def _batchnorm(zero_init=False, **kwargs):
    return nn.BatchNorm(gamma_initializer="zeros" if zero_init else "ones", **kwargs)


def _shortcut(channels, stride, in_channels):
    """The 1x1 projection (conv + BN) used when a block changes shape (V1 and V1b)."""
    downsample = nn.HybridSequential(prefix="")
    downsample.add(nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False,
                             in_channels=in_channels))
    downsample.add(nn.BatchNorm())
    return downsample


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


class BasicBlockV1(HybridBlock):
    """Basic block of ResNet v1 ("Deep Residual Learning", He et al. 2015), for 18/34 layers.

    ``body`` = 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv -> BN; the output is
    ReLU(body(x) + shortcut(x)).

    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the first convolution and of the shortcut.
    downsample : bool, default False
        Project the shortcut with a 1x1 convolution and BN (when the shape changes).
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    zero_init_residual : bool, default False
        Initialise the last BN gamma to zero (see the module docstring).
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, **kwargs):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv3x3(channels, stride, in_channels))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels, 1, channels))
        self.body.add(_batchnorm(zero_init_residual))
        self.downsample = _shortcut(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample is not None else x
        return relu(F, self.body(x) + residual)


class BottleneckV1(HybridBlock):
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
        Project the shortcut with a 1x1 convolution and BN.
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
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
    zero_init_residual : bool, default False
        Initialise the last BN gamma to zero (see the module docstring).
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0, groups=1,
                 bottleneck_width=64, stride_on_3x3=False, use_bias=True,
                 zero_init_residual=False, **kwargs):
        super().__init__(**kwargs)
        width = groups * ((channels // 4) * bottleneck_width // 64)
        stride_1x1, stride_3x3 = (1, stride) if stride_on_3x3 else (stride, 1)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(width, kernel_size=1, strides=stride_1x1, use_bias=use_bias))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(width, stride_3x3, width, groups=groups))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=use_bias))
        self.body.add(_batchnorm(zero_init_residual))
        self.downsample = _shortcut(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample is not None else x
        return relu(F, self.body(x) + residual)


class BasicBlockV2(HybridBlock):
    """Pre-activation basic block of ResNet v2 ("Identity Mappings", He et al. 2016).

    BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 3x3 conv, added to the shortcut
    (a 1x1 convolution of the pre-activated input when ``downsample``). Parameters as
    :class:`BasicBlockV1`; ``zero_init_residual`` zeroes the last convolution's weight.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, **kwargs):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels, 1, channels, zero_init=zero_init_residual)
        self.downsample = (nn.Conv2D(channels, 1, stride, use_bias=False,
                                     in_channels=in_channels) if downsample else None)

    def hybrid_forward(self, F, x):
        residual = x
        x = relu(F, self.bn1(x))
        if self.downsample is not None:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = relu(F, self.bn2(x))
        return self.conv2(x) + residual


class BottleneckV2(HybridBlock):
    """Pre-activation bottleneck block of ResNet v2, for 50 layers and more.

    BN -> ReLU -> 1x1 conv -> BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 1x1 conv,
    added to the shortcut. Parameters as :class:`BasicBlockV1`; ``zero_init_residual``
    zeroes the last convolution's weight.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, **kwargs):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels // 4, stride, channels // 4)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False,
                               weight_initializer="zeros" if zero_init_residual else None)
        self.downsample = (nn.Conv2D(channels, 1, stride, use_bias=False,
                                     in_channels=in_channels) if downsample else None)

    def hybrid_forward(self, F, x):
        residual = x
        x = relu(F, self.bn1(x))
        if self.downsample is not None:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = relu(F, self.bn2(x))
        x = self.conv2(x)
        x = relu(F, self.bn3(x))
        return self.conv3(x) + residual


class BasicBlockV1b(HybridBlock):
    """Basic block with GluonCV's ``resnetv1b`` structure (``conv1``, ``bn1``, ...).

    Same computation as :class:`BasicBlockV1`; the children are named as in GluonCV so
    its parameter files load. Parameters as :class:`BasicBlockV1`.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn1 = nn.BatchNorm()
        self.relu1 = nn.Activation("relu")
        self.conv2 = _conv3x3(channels, 1, channels)
        self.bn2 = _batchnorm(zero_init_residual)
        self.relu2 = nn.Activation("relu")
        self.downsample = _shortcut(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample is not None else x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + residual)


class BottleneckV1b(HybridBlock):
    """Bottleneck block with GluonCV's ``resnetv1b`` structure: the stride is on the 3x3.

    1x1 conv -> BN -> ReLU -> 3x3 conv (stride) -> BN -> ReLU -> 1x1 conv -> BN, added
    to the shortcut, then ReLU; no convolution has a bias. Parameters as
    :class:`BasicBlockV1`.
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0,
                 zero_init_residual=False, **kwargs):
        super().__init__(**kwargs)
        planes = channels // 4
        self.conv1 = nn.Conv2D(planes, kernel_size=1, use_bias=False, in_channels=in_channels)
        self.bn1 = nn.BatchNorm()
        self.relu1 = nn.Activation("relu")
        self.conv2 = _conv3x3(planes, stride, planes)
        self.bn2 = nn.BatchNorm()
        self.relu2 = nn.Activation("relu")
        self.conv3 = nn.Conv2D(channels, kernel_size=1, use_bias=False, in_channels=planes)
        self.bn3 = _batchnorm(zero_init_residual)
        self.relu3 = nn.Activation("relu")
        self.downsample = _shortcut(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample is not None else x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(out + residual)
