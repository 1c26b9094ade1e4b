"""The lineage's spec table (``SPECS``: one row per registered net), its builder, and
the registered two-line factories."""
from dataclasses import dataclass, field

import mxnet as mx

from ..netbase import finish
from ..registry import register_model

from .alexnet import _alexnet, _d2l_alexnet
from .d2l_resnet import _d2l_resnet18
from .densenet import _d2l_densenet, _densenet
from .googlenet import _d2l_googlenet, _googlenet
from .lenet import _lenet
from .nin import _nin
from .vgg import _d2l_vgg, _vgg

__all__ = ["SPECS", "Spec"]


# He et al.'s initialisation for ReLU networks; Xavier's (as d2l's train_ch6) for the
# sigmoid and tanh LeNets. Layers with their own initialisers (MXNet's VGG) keep them.
_HE = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


_XAVIER = mx.init.Xavier()


@dataclass(frozen=True)
class Spec:
    """One row of ``SPECS``.

    Attributes
    ----------
    builder : callable
        ``builder(classes, in_channels, min_size, **kwargs) -> HybridBlock``.
    kwargs : dict
        The row's arguments to the builder.
    classes : int
        Default number of classes: 1000 for the ImageNet forms, 10 for d2l's.
    input_shape : tuple of int
        ``(C, H, W)`` of the images the net is made for (what ``gluon-resnet models``
        summarises it at).
    min_size : int
        The smallest height and width the net takes (its pooling and strides reduce
        smaller images to nothing).
    init : mx.init.Initializer
        The initialiser of a new net.
    """

    builder: object
    kwargs: dict = field(default_factory=dict)
    classes: int = 1000
    input_shape: tuple = (3, 224, 224)
    min_size: int = 1
    init: object = field(default_factory=lambda: _HE)


def _vgg_spec(layers, batch_norm):
    return Spec(_vgg, dict(layers=layers, batch_norm=batch_norm), min_size=32)


def _densenet_spec(num_init_features, growth_rate, block_config):
    return Spec(_densenet, dict(num_init_features=num_init_features, growth_rate=growth_rate,
                                block_config=block_config), min_size=221)


# Convolutions per stage of VGG's configurations A, B, D and E.
_VGG11, _VGG13 = [1, 1, 2, 2, 2], [2, 2, 2, 2, 2]


_VGG16, _VGG19 = [2, 2, 3, 3, 3], [2, 2, 4, 4, 4]


# d2l's VGG-11 ``conv_arch``: (convolutions, channels) per block.
_D2L_VGG11 = ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))


_D2L = dict(classes=10)


SPECS = {
    # LeNet-5 (LeCun et al. 1998) for 32x32 grayscale images, simplified as usual: C3
    # connected to all of S2's maps, the subsampling layers as 2x2 average pooling
    # (without their trainable coefficient and bias), tanh for the scaled tanh, a Dense
    # output for the RBF units.
    "lenet": Spec(_lenet, dict(activation="tanh", padding=0), classes=10,
                  input_shape=(1, 32, 32), min_size=16, init=_XAVIER),
    "alexnet": Spec(_alexnet, min_size=63),
    "vgg11": _vgg_spec(_VGG11, False),
    "vgg13": _vgg_spec(_VGG13, False),
    "vgg16": _vgg_spec(_VGG16, False),
    "vgg19": _vgg_spec(_VGG19, False),
    "vgg11_bn": _vgg_spec(_VGG11, True),
    "vgg13_bn": _vgg_spec(_VGG13, True),
    "vgg16_bn": _vgg_spec(_VGG16, True),
    "vgg19_bn": _vgg_spec(_VGG19, True),
    # The original NiN for ImageNet (the authors' Caffe model zoo net): Caffe's round-up
    # pooling (224 -> 54 -> 27 -> 13 -> 6), a last block of 1024, 1024 and `classes`
    # channels. d2l's chapter net (d2l_nin) rounds down and has `classes` throughout.
    "nin": Spec(_nin, dict(hidden=1024, ceil_mode=True), min_size=55),
    "googlenet": Spec(_googlenet, min_size=223),
    "densenet121": _densenet_spec(64, 32, [6, 12, 24, 16]),
    "densenet161": _densenet_spec(96, 48, [6, 12, 36, 24]),
    "densenet169": _densenet_spec(64, 32, [6, 12, 32, 32]),
    "densenet201": _densenet_spec(64, 32, [6, 12, 48, 32]),
    # d2l's Fashion-MNIST forms, at the sizes its chapters resize the images to.
    "d2l_lenet": Spec(_lenet, dict(activation="sigmoid", padding=2), classes=10,
                      input_shape=(1, 28, 28), min_size=12, init=_XAVIER),
    "d2l_alexnet": Spec(_d2l_alexnet, input_shape=(1, 224, 224), min_size=67, **_D2L),
    "d2l_vgg11": Spec(_d2l_vgg, dict(conv_arch=_D2L_VGG11, ratio=4), input_shape=(1, 224, 224),
                      min_size=32, **_D2L),
    "d2l_nin": Spec(_nin, dict(hidden=None, ceil_mode=False), input_shape=(1, 224, 224),
                    min_size=67, **_D2L),
    "d2l_googlenet": Spec(_d2l_googlenet, input_shape=(1, 96, 96), min_size=1, **_D2L),
    "d2l_resnet18": Spec(_d2l_resnet18, input_shape=(1, 96, 96), min_size=1, **_D2L),
    "d2l_densenet": Spec(_d2l_densenet, dict(growth_rate=32,
                                             num_convs_in_dense_blocks=[4, 4, 4, 4]),
                         input_shape=(1, 96, 96), min_size=29, **_D2L),
}


def _lineage(name, classes=None, in_channels=0, thumbnail=False, ctx=None, pretrained=False,
             hybridize=True, root=None, initialize=True, **kwargs):
    """Build the registered model ``name`` from its row of ``SPECS``.

    Parameters
    ----------
    name : str
        A key of ``SPECS``.
    classes : int, optional
        Number of output classes: 1000 for the ImageNet forms and 10 for ``lenet`` and
        the d2l forms, if not given.
    in_channels : int, default 0
        Number of input channels (3 for RGB, 1 for grayscale); 0 infers it from the
        first batch.
    thumbnail : bool, default False
        Accepted for the ResNets' keywords; these nets have no thumbnail form (the d2l
        forms are the Fashion-MNIST ones).
    ctx : Context or list of Context, optional
        Where the parameters live; the net comes back initialised there. Default CPU.
    pretrained : bool or str, default False
        ``True`` loads the weights published for this model by MXNet's or GluonCV's zoo
        (downloaded and checksummed once, then kept in ``root``); a path loads that
        ``.params`` file, e.g. one saved from MXNet's or GluonCV's zoo, or from d2l's
        chapter net for a ``d2l_*`` form.
    hybridize : bool, default True
        Hybridize with ``static_alloc`` for fast symbolic execution.
    root : str, optional
        Where published weights are kept; default ``$MXNET_HOME/models`` or
        ``~/.mxnet/models``.
    initialize : bool, default True
        False leaves the parameters uninitialised (for :func:`~gluon_resnet.models.summary`,
        or to set them yourself). Ignored with ``pretrained``.
    **kwargs
        Passed to the network (e.g. ``prefix``).

    Returns
    -------
    HybridBlock
        The initialised network.
    """
    spec = SPECS[name]
    if thumbnail:
        raise ValueError("%s has no thumbnail form; thumbnail=True applies to the ResNets "
                         "(for 28x28 images use a d2l_* form, or resize the images)" % name)
    if not isinstance(in_channels, int) or in_channels < 0:
        raise ValueError("in_channels must be a non-negative int (0 to infer), got %r"
                         % (in_channels,))
    if classes is None:
        classes = spec.classes
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 1:
        raise ValueError("classes must be a positive int, got %r" % (classes,))
    net = spec.builder(classes=classes, in_channels=in_channels, min_size=spec.min_size,
                       **dict(spec.kwargs, **kwargs))
    return finish(net, name, spec.init, ctx, pretrained, initialize, hybridize, root)


@register_model
def lenet(**kwargs):
    """LeNet-5 (LeCun et al. 1998) for 32x32 images: tanh, average pooling."""
    return _lineage("lenet", **kwargs)


@register_model
def alexnet(**kwargs):
    """AlexNet, one tower (MXNet zoo ``alexnet``). Arguments: see :func:`get_model`."""
    return _lineage("alexnet", **kwargs)


@register_model
def vgg11(**kwargs):
    """VGG-11 (MXNet zoo ``vgg11``). Arguments: see :func:`get_model`."""
    return _lineage("vgg11", **kwargs)


@register_model
def vgg13(**kwargs):
    """VGG-13 (MXNet zoo ``vgg13``). Arguments: see :func:`get_model`."""
    return _lineage("vgg13", **kwargs)


@register_model
def vgg16(**kwargs):
    """VGG-16 (MXNet zoo ``vgg16``). Arguments: see :func:`get_model`."""
    return _lineage("vgg16", **kwargs)


@register_model
def vgg19(**kwargs):
    """VGG-19 (MXNet zoo ``vgg19``). Arguments: see :func:`get_model`."""
    return _lineage("vgg19", **kwargs)


@register_model
def vgg11_bn(**kwargs):
    """VGG-11 with BatchNorm (MXNet zoo ``vgg11_bn``). Arguments: see :func:`get_model`."""
    return _lineage("vgg11_bn", **kwargs)


@register_model
def vgg13_bn(**kwargs):
    """VGG-13 with BatchNorm (MXNet zoo ``vgg13_bn``). Arguments: see :func:`get_model`."""
    return _lineage("vgg13_bn", **kwargs)


@register_model
def vgg16_bn(**kwargs):
    """VGG-16 with BatchNorm (MXNet zoo ``vgg16_bn``). Arguments: see :func:`get_model`."""
    return _lineage("vgg16_bn", **kwargs)


@register_model
def vgg19_bn(**kwargs):
    """VGG-19 with BatchNorm (MXNet zoo ``vgg19_bn``). Arguments: see :func:`get_model`."""
    return _lineage("vgg19_bn", **kwargs)


@register_model
def nin(**kwargs):
    """Network in Network, the authors' ImageNet model. Arguments: see :func:`get_model`."""
    return _lineage("nin", **kwargs)


@register_model
def googlenet(**kwargs):
    """GoogLeNet with BatchNorm (GluonCV ``googlenet``). Arguments: see :func:`get_model`."""
    return _lineage("googlenet", **kwargs)


@register_model
def densenet121(**kwargs):
    """DenseNet-121 (MXNet zoo ``densenet121``). Arguments: see :func:`get_model`."""
    return _lineage("densenet121", **kwargs)


@register_model
def densenet161(**kwargs):
    """DenseNet-161 (MXNet zoo ``densenet161``). Arguments: see :func:`get_model`."""
    return _lineage("densenet161", **kwargs)


@register_model
def densenet169(**kwargs):
    """DenseNet-169 (MXNet zoo ``densenet169``). Arguments: see :func:`get_model`."""
    return _lineage("densenet169", **kwargs)


@register_model
def densenet201(**kwargs):
    """DenseNet-201 (MXNet zoo ``densenet201``). Arguments: see :func:`get_model`."""
    return _lineage("densenet201", **kwargs)


@register_model
def d2l_lenet(**kwargs):
    """d2l's LeNet (sigmoid, 28x28 Fashion-MNIST). Arguments: see :func:`get_model`."""
    return _lineage("d2l_lenet", **kwargs)


@register_model
def d2l_alexnet(**kwargs):
    """d2l's AlexNet (Fashion-MNIST resized to 224x224). Arguments: see :func:`get_model`."""
    return _lineage("d2l_alexnet", **kwargs)


@register_model
def d2l_vgg11(**kwargs):
    """d2l's VGG-11, a quarter of the channels. Arguments: see :func:`get_model`."""
    return _lineage("d2l_vgg11", **kwargs)


@register_model
def d2l_nin(**kwargs):
    """d2l's NiN (Fashion-MNIST resized to 224x224). Arguments: see :func:`get_model`."""
    return _lineage("d2l_nin", **kwargs)


@register_model
def d2l_googlenet(**kwargs):
    """d2l's GoogLeNet (Fashion-MNIST resized to 96x96). Arguments: see :func:`get_model`."""
    return _lineage("d2l_googlenet", **kwargs)


@register_model
def d2l_resnet18(**kwargs):
    """d2l's ResNet-18 (Fashion-MNIST resized to 96x96). Arguments: see :func:`get_model`."""
    return _lineage("d2l_resnet18", **kwargs)


@register_model
def d2l_densenet(**kwargs):
    """d2l's DenseNet (Fashion-MNIST resized to 96x96). Arguments: see :func:`get_model`."""
    return _lineage("d2l_densenet", **kwargs)
