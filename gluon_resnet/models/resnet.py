"""ResNet, ResNet v2, ResNet v1b, ResNeXt, CIFAR ResNets and their plain counterparts,
and the builder of their registered factories (:mod:`gluon_resnet.models.factories`).

Every model is built by one builder, :func:`_resnet`, from one row of the spec table
``SPECS``; each factory is a registered two-liner. The network classes keep the child
structure of the reference zoos, so their published ``.params`` files load:

* :class:`ResNetV1` / :class:`ResNetV2`: ``mxnet.gluon.model_zoo.vision.resnet``
  (``resnet18`` ... ``resnet152`` and ``resnet18_v2`` ... ``resnet152_v2``), and with
  other blocks or stems GluonCV's ``resnext`` and ``cifarresnet`` (v1).
* :class:`ResNetV1b`: GluonCV's ``resnetv1b`` (v1b, and with the deep stem and
  average-pooled shortcut v1c, v1d, v1s, v1e), which is also torchvision's and timm's
  ``ResNet`` name for name (``wide_resnet50_2``, ``resnext101_32x8d``...):
  :mod:`gluon_resnet.models.torch_layout` maps their weights.
"""
import mxnet as mx
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from . import blocks, torch_layout
from .netbase import CheckedNet, finish

__all__ = ["ResNetV1", "ResNetV2", "ResNetV1b", "SPECS"]

_STEMS = ("imagenet", "thumbnail", "cifar")


class _ResNetBase(CheckedNet, HybridBlock):
    """The ResNets' argument checks; the input checks are :class:`CheckedNet`'s."""

    def _setup(self, stem, layers, channels, in_channels, strides, stems=_STEMS):
        """Check the arguments; returns the stride of each stage."""
        if stem not in stems:
            raise ValueError("%s takes stem %s, got %r"
                             % (type(self).__name__, " or ".join(map(repr, stems)), stem))
        if len(layers) != len(channels) - 1:
            raise ValueError("channels needs one entry more than layers (the stem's), got "
                             "%d layers and %d channels" % (len(layers), len(channels)))
        if strides is None:
            # The stages after the first each halve the resolution.
            strides = [1] + [2] * (len(layers) - 1)
        strides = list(strides)
        if len(strides) != len(layers) or not all(
                isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in strides):
            raise ValueError("strides needs one positive int per stage (%d), got %r"
                             % (len(layers), strides))
        self.stem = stem
        self.strides = strides
        min_size = 4 if stem == "imagenet" else 1
        for s in strides:
            min_size *= s
        self._setup_checks(in_channels, min_size)
        return strides

    def _too_small(self, name, height, width):
        hint = "; pass thumbnail=True for small images" if self.stem == "imagenet" else ""
        return ("%s (stem %r) downsamples by %d and needs inputs of at least %dx%d pixels, "
                "got %dx%d; resize the images%s"
                % (name, self.stem, self.min_size, self.min_size, self.min_size, height,
                   width, hint))


def _add_stem(features, stem, channels, in_channels):
    if stem == "imagenet":
        features.add(nn.Conv2D(channels, 7, 2, 3, use_bias=False, in_channels=in_channels))
        features.add(nn.BatchNorm())
        features.add(nn.Activation("relu"))
        features.add(nn.MaxPool2D(3, 2, 1))
    elif stem == "thumbnail":
        # MXNet's thumbnail stem: a single 3x3 convolution, no BN, no pooling.
        features.add(blocks._conv(channels, 1, in_channels))
    else:
        # GluonCV's CIFAR stem: 3x3 convolution and BN (and, as there, no ReLU).
        features.add(nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=in_channels))
        features.add(nn.BatchNorm())


def _stages(block, layers, channels, strides, block_kwargs):
    """One HybridSequential per stage; the first block of each stage has the stage's
    stride, and a shortcut that changes shape where the block does."""
    stages = []
    for i, num_blocks in enumerate(layers):
        stride, in_channels, out_channels = strides[i], channels[i], channels[i + 1]
        stage = nn.HybridSequential(prefix="stage%d_" % (i + 1))
        with stage.name_scope():
            stage.add(block(out_channels, stride, out_channels != in_channels or stride != 1,
                            in_channels=in_channels, prefix="", **block_kwargs))
            for _ in range(num_blocks - 1):
                stage.add(block(out_channels, 1, False, in_channels=out_channels, prefix="",
                                **block_kwargs))
        stages.append(stage)
    return stages


class ResNetV1(_ResNetBase):
    """ResNet v1 ("Deep Residual Learning for Image Recognition", He et al. 2015).

    ``features`` = stem, one stage per entry of ``layers``, global average pooling;
    ``output`` = Dense. The structure of MXNet's ``ResNetV1`` (and of GluonCV's
    ``ResNext`` and ``CIFARResNetV1`` with the matching block and stem).

    Parameters
    ----------
    block : type
        A block class from :mod:`gluon_resnet.models.blocks`, e.g. ``BasicBlockV1``.
    layers : list of int
        Number of blocks in each stage.
    channels : list of int
        Output channels of the stem, then of each stage (one more entry than ``layers``).
    classes : int, default 1000
        Number of output classes.
    stem : {"imagenet", "thumbnail", "cifar"}, default "imagenet"
        ``imagenet``: 7x7 conv stride 2, BN, ReLU, 3x3 max-pool stride 2 (downsamples by
        4). ``thumbnail``: one 3x3 conv, stride 1 (MXNet's ``thumbnail=True``, for small
        images such as 28x28). ``cifar``: 3x3 conv and BN (GluonCV's CIFAR ResNets).
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    strides : list of int, optional
        Stride of each stage (of its first block); default 1 for the first stage and 2
        for the others.
    **block_kwargs
        Passed to every block (``shortcut``, ``kernel_size``, ``zero_init_residual``,
        ``groups``, ...; see :mod:`gluon_resnet.models.blocks`).

    Examples
    --------
    The general form of the seed's PyTorch ``ResNet(input_shape=[3, 64, 64],
    layers=[2, 3, 5, 2], stride=[1, 2, 2, 1], outputsize=6)``: a convolutional block
    and 2, 3, 5, 2 identity blocks per stage, bottlenecks whose middle convolution has
    kernel ``f`` (even ``f`` pads as Keras' "same"):

    >>> net = ResNetV1(blocks.BottleneckV1, [3, 4, 6, 3], [64, 256, 512, 1024, 2048],
    ...                classes=6, strides=[1, 2, 2, 1], kernel_size=4)
    """

    def __init__(self, block, layers, channels, classes=1000, stem="imagenet",
                 in_channels=0, strides=None, prefix=None, params=None, **block_kwargs):
        super().__init__(prefix=prefix, params=params)
        strides = self._setup(stem, layers, channels, in_channels, strides)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            _add_stem(self.features, stem, channels[0], in_channels)
            for stage in _stages(block, layers, channels, strides, block_kwargs):
                self.features.add(stage)
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels[-1])

    def _first_conv(self):
        return self.features[0]

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ResNetV2(_ResNetBase):
    """ResNet v2, pre-activation ("Identity Mappings in Deep Residual Networks", 2016).

    The structure of MXNet's ``ResNetV2``: ``features`` starts with a BN without scale or
    shift that normalises the input, and ends with BN, ReLU, global average pooling and
    flatten. Parameters as :class:`ResNetV1` (stems ``imagenet`` and ``thumbnail``).
    """

    def __init__(self, block, layers, channels, classes=1000, stem="imagenet",
                 in_channels=0, strides=None, prefix=None, params=None, **block_kwargs):
        super().__init__(prefix=prefix, params=params)
        strides = self._setup(stem, layers, channels, in_channels, strides,
                              stems=("imagenet", "thumbnail"))
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.BatchNorm(scale=False, center=False))
            _add_stem(self.features, stem, channels[0], in_channels)
            for stage in _stages(block, layers, channels, strides, block_kwargs):
                self.features.add(stage)
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.GlobalAvgPool2D())
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes, in_units=channels[-1])

    def _first_conv(self):
        return self.features[1]

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _deep_stem(width, out_channels, stride, in_channels):
    """ResNet-C's stem, numbered as GluonCV's and timm's (conv 0, 3, 6; BN 1, 4)."""
    stem = nn.HybridSequential(prefix="")
    stem.add(nn.Conv2D(width, 3, stride, 1, use_bias=False, in_channels=in_channels))
    stem.add(nn.BatchNorm())
    stem.add(nn.Activation("relu"))
    stem.add(nn.Conv2D(width, 3, 1, 1, use_bias=False, in_channels=width))
    stem.add(nn.BatchNorm())
    stem.add(nn.Activation("relu"))
    stem.add(nn.Conv2D(out_channels, 3, 1, 1, use_bias=False, in_channels=width))
    return stem


class ResNetV1b(_ResNetBase):
    """ResNet v1b: GluonCV's ``resnetv1b`` structure (``conv1``, ``bn1``, ``layer1``...).

    Uses :class:`~gluon_resnet.models.blocks.BasicBlockV1b` or
    :class:`~gluon_resnet.models.blocks.BottleneckV1b`, whose bottleneck strides on the 3x3
    convolution ("ResNet v1.5"). Parameters as :class:`ResNetV1`; with the
    ``thumbnail`` stem, ``conv1`` is a 3x3 stride-1 convolution (the deep stem's first
    convolution has stride 1) and there is no max-pool.

    Other Parameters
    ----------------
    deep_stem : bool, default False
        The stem of "Bag of Tricks" (He et al. 2019), ResNet-C: three 3x3 convolutions
        (``stem_width``, ``stem_width``, ``channels[0]``) with BN and ReLU between them,
        in place of the 7x7 (GluonCV's v1c/v1d/v1s/v1e, timm's ``resnet50d``).
    stem_width : int, default 32
        Channels of the deep stem's first two convolutions; ``channels[0]`` must be
        twice that.
    **block_kwargs
        Passed to every block (e.g. ``groups``, ``bottleneck_width``, ``avg_down``).
    """

    def __init__(self, block, layers, channels, classes=1000, stem="imagenet",
                 in_channels=0, strides=None, prefix=None, params=None, deep_stem=False,
                 stem_width=32, **block_kwargs):
        super().__init__(prefix=prefix, params=params)
        strides = self._setup(stem, layers, channels, in_channels, strides,
                              stems=("imagenet", "thumbnail"))
        if deep_stem and channels[0] != 2 * stem_width:
            raise ValueError("the deep stem ends with 2 * stem_width = %d channels, but "
                             "channels[0] is %d" % (2 * stem_width, channels[0]))
        self.deep_stem = deep_stem
        with self.name_scope():
            stride = 2 if stem == "imagenet" else 1
            if deep_stem:
                self.conv1 = _deep_stem(stem_width, channels[0], stride, in_channels)
            elif stem == "imagenet":
                self.conv1 = nn.Conv2D(channels[0], 7, 2, 3, use_bias=False,
                                       in_channels=in_channels)
            else:
                self.conv1 = blocks._conv(channels[0], 1, in_channels)
            self.bn1 = nn.BatchNorm()
            self.relu = nn.Activation("relu")
            self.maxpool = nn.MaxPool2D(3, 2, 1) if stem == "imagenet" else None
            for i, stage in enumerate(_stages(block, layers, channels, strides, block_kwargs)):
                setattr(self, "layer%d" % (i + 1), stage)
            self.num_stages = len(layers)
            self.avgpool = nn.GlobalAvgPool2D()
            self.flat = nn.Flatten()
            self.fc = nn.Dense(classes, in_units=channels[-1])

    def _first_conv(self):
        return self.conv1[0] if self.deep_stem else self.conv1

    def hybrid_forward(self, F, x):
        x = self.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for i in range(self.num_stages):
            x = getattr(self, "layer%d" % (i + 1))(x)
        return self.fc(self.flat(self.avgpool(x)))


_IMAGENET_BASIC = [64, 64, 128, 256, 512]
_IMAGENET_BOTTLENECK = [64, 256, 512, 1024, 2048]
_CIFAR = [16, 16, 32, 64]
_RESNEXT = dict(groups=32, bottleneck_width=4, stride_on_3x3=True, use_bias=False)
_PLAIN = dict(shortcut=None)
_V1C = dict(deep_stem=True, stem_width=32)
_V1D = dict(_V1C, avg_down=True)
_V1S = dict(deep_stem=True, stem_width=64)
_WIDE_STEM = [128, 256, 512, 1024, 2048]  # the 64-wide deep stem ends with 128 channels

# name: (network class, block class, blocks per stage, channels, extra block arguments)
SPECS = {
    "resnet18": (ResNetV1, blocks.BasicBlockV1, [2, 2, 2, 2], _IMAGENET_BASIC, {}),
    "resnet34": (ResNetV1, blocks.BasicBlockV1, [3, 4, 6, 3], _IMAGENET_BASIC, {}),
    "resnet50": (ResNetV1, blocks.BottleneckV1, [3, 4, 6, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet101": (ResNetV1, blocks.BottleneckV1, [3, 4, 23, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet152": (ResNetV1, blocks.BottleneckV1, [3, 8, 36, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet18_v2": (ResNetV2, blocks.BasicBlockV2, [2, 2, 2, 2], _IMAGENET_BASIC, {}),
    "resnet34_v2": (ResNetV2, blocks.BasicBlockV2, [3, 4, 6, 3], _IMAGENET_BASIC, {}),
    "resnet50_v2": (ResNetV2, blocks.BottleneckV2, [3, 4, 6, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet101_v2": (ResNetV2, blocks.BottleneckV2, [3, 4, 23, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet152_v2": (ResNetV2, blocks.BottleneckV2, [3, 8, 36, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet200_v2": (ResNetV2, blocks.BottleneckV2, [3, 24, 36, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet18_v1b": (ResNetV1b, blocks.BasicBlockV1b, [2, 2, 2, 2], _IMAGENET_BASIC, {}),
    "resnet34_v1b": (ResNetV1b, blocks.BasicBlockV1b, [3, 4, 6, 3], _IMAGENET_BASIC, {}),
    "resnet50_v1b": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 6, 3], _IMAGENET_BOTTLENECK, {}),
    "resnet101_v1b": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3], _IMAGENET_BOTTLENECK,
                      {}),
    "resnet152_v1b": (ResNetV1b, blocks.BottleneckV1b, [3, 8, 36, 3], _IMAGENET_BOTTLENECK,
                      {}),
    # "Bag of Tricks" (He et al. 2019) as GluonCV has them: v1c the deep stem (ResNet-C),
    # v1d also the average-pooled shortcut (ResNet-D, timm's resnet50d), v1s and v1e
    # the same with a 64-wide stem.
    "resnet50_v1c": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 6, 3], _IMAGENET_BOTTLENECK,
                     _V1C),
    "resnet101_v1c": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3], _IMAGENET_BOTTLENECK,
                      _V1C),
    "resnet152_v1c": (ResNetV1b, blocks.BottleneckV1b, [3, 8, 36, 3], _IMAGENET_BOTTLENECK,
                      _V1C),
    "resnet50_v1d": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 6, 3], _IMAGENET_BOTTLENECK,
                     _V1D),
    "resnet101_v1d": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3], _IMAGENET_BOTTLENECK,
                      _V1D),
    "resnet152_v1d": (ResNetV1b, blocks.BottleneckV1b, [3, 8, 36, 3], _IMAGENET_BOTTLENECK,
                      _V1D),
    "resnet50_v1s": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 6, 3], _WIDE_STEM, _V1S),
    "resnet101_v1s": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3], _WIDE_STEM, _V1S),
    "resnet152_v1s": (ResNetV1b, blocks.BottleneckV1b, [3, 8, 36, 3], _WIDE_STEM, _V1S),
    "resnet50_v1e": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 6, 3], _WIDE_STEM,
                     dict(_V1S, avg_down=True)),
    "resnext50_32x4d": (ResNetV1, blocks.BottleneckV1, [3, 4, 6, 3], _IMAGENET_BOTTLENECK,
                        _RESNEXT),
    "resnext101_32x4d": (ResNetV1, blocks.BottleneckV1, [3, 4, 23, 3], _IMAGENET_BOTTLENECK,
                         _RESNEXT),
    # torchvision's wider and grouped bottlenecks ("ResNet v1.5", torchvision's names).
    "wide_resnet50_2": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 6, 3], _IMAGENET_BOTTLENECK,
                        dict(bottleneck_width=128)),
    "wide_resnet101_2": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3],
                         _IMAGENET_BOTTLENECK, dict(bottleneck_width=128)),
    "resnext101_32x8d": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3],
                         _IMAGENET_BOTTLENECK, dict(groups=32, bottleneck_width=8)),
    "resnext101_64x4d": (ResNetV1b, blocks.BottleneckV1b, [3, 4, 23, 3],
                         _IMAGENET_BOTTLENECK, dict(groups=64, bottleneck_width=4)),
    # The CIFAR ResNets of the paper (section 4.2): 6n+2 layers, 16-32-64 channels.
    "cifar_resnet20": (ResNetV1, blocks.BasicBlockV1, [3, 3, 3], _CIFAR, {}),
    "cifar_resnet32": (ResNetV1, blocks.BasicBlockV1, [5, 5, 5], _CIFAR, {}),
    "cifar_resnet44": (ResNetV1, blocks.BasicBlockV1, [7, 7, 7], _CIFAR, {}),
    "cifar_resnet56": (ResNetV1, blocks.BasicBlockV1, [9, 9, 9], _CIFAR, {}),
    "cifar_resnet110": (ResNetV1, blocks.BasicBlockV1, [18, 18, 18], _CIFAR, {}),
    # Plain nets (section 4.1, Table 1, Fig. 3 middle; section 4.2): the same layers as
    # the residual nets of the same depth, without the shortcuts.
    "plain18": (ResNetV1, blocks.BasicBlockV1, [2, 2, 2, 2], _IMAGENET_BASIC, _PLAIN),
    "plain34": (ResNetV1, blocks.BasicBlockV1, [3, 4, 6, 3], _IMAGENET_BASIC, _PLAIN),
    "cifar_plain20": (ResNetV1, blocks.BasicBlockV1, [3, 3, 3], _CIFAR, _PLAIN),
    "cifar_plain32": (ResNetV1, blocks.BasicBlockV1, [5, 5, 5], _CIFAR, _PLAIN),
    "cifar_plain44": (ResNetV1, blocks.BasicBlockV1, [7, 7, 7], _CIFAR, _PLAIN),
    "cifar_plain56": (ResNetV1, blocks.BasicBlockV1, [9, 9, 9], _CIFAR, _PLAIN),
    "cifar_plain110": (ResNetV1, blocks.BasicBlockV1, [18, 18, 18], _CIFAR, _PLAIN),
}

# torchvision's and timm's ResNets are ResNetV1b's structure, and some ResNetV1 nets'
# (their state_dicts load: gluon_resnet.models.torch_layout).
torch_layout.register_structures(ResNetV1b, ResNetV1, SPECS)

# He et al.'s initialisation for ReLU networks ("Delving Deep into Rectifiers", 2015).
_INIT = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


def _resnet(name, classes=None, in_channels=0, thumbnail=False, ctx=None, pretrained=False,
            hybridize=True, root=None, zero_init_residual=False, initialize=True, **kwargs):
    """Build the registered model ``name`` from its row of ``SPECS``.

    Parameters
    ----------
    name : str
        A key of ``SPECS``.
    classes : int, optional
        Number of output classes: 1000, or 10 for the CIFAR ResNets, if not given.
    in_channels : int, default 0
        Number of input channels (3 for RGB, 1 for grayscale); 0 infers it from the
        first batch.
    thumbnail : bool, default False
        Replace the 7x7/stride-2 stem and max-pool with a 3x3/stride-1 convolution, for
        small images such as 28x28 Fashion-MNIST. Not for the CIFAR ResNets, whose stem
        is already a 3x3 convolution.
    ctx : Context or list of Context, optional
        Where the parameters live; the net comes back initialised there. Default CPU.
    pretrained : bool or str, default False
        ``True`` loads the weights published for this model by MXNet's or GluonCV's zoo
        (downloaded and checksummed once, then kept in ``root``).
        ``"torchvision:<model>.<weights>"`` (e.g. ``"torchvision:resnet50.IMAGENET1K_V2"``
        for ``resnet50_v1b``) and ``"hf-hub:timm/<model>.<tag>"`` (e.g.
        ``"hf-hub:timm/resnet50d.ra2_in1k"`` for ``resnet50_v1d``) load PyTorch's zoos'
        weights (:mod:`gluon_resnet.models.torch_hub`). A path loads that file: a
        ``.params`` file, a ``.safetensors`` file (ours, torchvision's or timm's) or a
        ``.pth`` (needs torch); see :func:`gluon_resnet.load_parameters`.
    hybridize : bool, default True
        Hybridize with ``static_alloc`` for fast symbolic execution.
    root : str, optional
        Where published weights are kept; default ``$MXNET_HOME/models`` or
        ``~/.mxnet/models``.
    zero_init_residual : bool, default False
        Start every residual branch at zero (see :mod:`gluon_resnet.models.blocks`).
    shortcut : {"A", "B", "C"}, default "B"
        The paper's shortcut options (section 3.3): ``"A"`` zero-padded identity (no
        parameters), ``"B"`` projection where the shape changes (the published
        weights'), ``"C"`` projection on every block. Not for the plain nets, which have
        no shortcut.
    initialize : bool, default True
        False leaves the parameters uninitialised (no memory, no random numbers drawn):
        for :func:`~gluon_resnet.models.summary`, or to set them yourself. Ignored with
        ``pretrained``.
    **kwargs
        Passed to the network class (e.g. ``strides``, ``kernel_size``, ``prefix``).

    Returns
    -------
    HybridBlock
        The initialised network.
    """
    net_class, block, layers, channels, block_kwargs = SPECS[name]
    cifar = name.startswith("cifar_")
    if "shortcut" in block_kwargs:  # a plain net
        if "shortcut" in kwargs:
            raise ValueError("%s is a plain net, without shortcuts; shortcut=%r does not "
                             "apply (the residual nets take shortcut='A', 'B' or 'C')"
                             % (name, kwargs["shortcut"]))
    elif kwargs.get("shortcut", "B") not in ("A", "B", "C"):
        raise ValueError("shortcut must be 'A', 'B' or 'C', got %r (for a net without "
                         "shortcuts use its plain counterpart, e.g. cifar_plain20)"
                         % (kwargs["shortcut"],))
    elif pretrained and kwargs.get("shortcut", "B") != "B":
        raise ValueError("the published weights have shortcut 'B'; %s with shortcut=%r "
                         "cannot load them" % (name, kwargs["shortcut"]))
    if thumbnail and cifar:
        raise ValueError("%s already has a 3x3 stem for 32x32 images; thumbnail=True does "
                         "not apply" % name)
    if not isinstance(in_channels, int) or in_channels < 0:
        raise ValueError("in_channels must be a non-negative int (0 to infer), got %r"
                         % (in_channels,))
    if classes is None:
        classes = 10 if cifar else 1000
    if not isinstance(classes, int) or classes < 1:
        raise ValueError("classes must be a positive int, got %r" % (classes,))
    stem = "cifar" if cifar else ("thumbnail" if thumbnail else "imagenet")
    net = net_class(block, layers, channels, classes=classes, stem=stem,
                    in_channels=in_channels, zero_init_residual=zero_init_residual,
                    **dict(block_kwargs, **kwargs))
    return finish(net, name, _INIT, ctx, pretrained, initialize, hybridize, root)
