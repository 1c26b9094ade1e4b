"""The registered factories of the ResNet family: one two-liner per row of
:data:`gluon_resnet.models.resnet.SPECS`, built by :func:`~gluon_resnet.models.resnet._resnet`
(whose docstring lists the keyword arguments every factory takes)."""
from .registry import register_model
from .resnet import _resnet

__all__ = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2", "resnet200_v2", "resnet18_v1b", "resnet34_v1b", "resnet50_v1b", "resnet101_v1b", "resnet152_v1b", "resnext50_32x4d", "resnext101_32x4d", "resnet50_v1c", "resnet101_v1c", "resnet152_v1c", "resnet50_v1d", "resnet101_v1d", "resnet152_v1d", "resnet50_v1s", "resnet101_v1s", "resnet152_v1s", "resnet50_v1e", "wide_resnet50_2", "wide_resnet101_2", "resnext101_32x8d", "resnext101_64x4d", "cifar_resnet20", "cifar_resnet32", "cifar_resnet44", "cifar_resnet56", "cifar_resnet110", "plain18", "plain34", "cifar_plain20", "cifar_plain32", "cifar_plain44", "cifar_plain56", "cifar_plain110"]


# The factories. Each takes the keyword arguments documented in `_resnet`.

@register_model
def resnet18(**kwargs):
    """ResNet-18 v1 (MXNet zoo ``resnet18_v1``). Arguments: see :func:`get_model`."""
    return _resnet("resnet18", **kwargs)


@register_model
def resnet34(**kwargs):
    """ResNet-34 v1 (MXNet zoo ``resnet34_v1``). Arguments: see :func:`get_model`."""
    return _resnet("resnet34", **kwargs)


@register_model
def resnet50(**kwargs):
    """ResNet-50 v1 (MXNet zoo ``resnet50_v1``). Arguments: see :func:`get_model`."""
    return _resnet("resnet50", **kwargs)


@register_model
def resnet101(**kwargs):
    """ResNet-101 v1 (MXNet zoo ``resnet101_v1``). Arguments: see :func:`get_model`."""
    return _resnet("resnet101", **kwargs)


@register_model
def resnet152(**kwargs):
    """ResNet-152 v1 (MXNet zoo ``resnet152_v1``). Arguments: see :func:`get_model`."""
    return _resnet("resnet152", **kwargs)


@register_model
def resnet18_v2(**kwargs):
    """ResNet-18 v2, pre-activation (MXNet zoo). Arguments: see :func:`get_model`."""
    return _resnet("resnet18_v2", **kwargs)


@register_model
def resnet34_v2(**kwargs):
    """ResNet-34 v2, pre-activation (MXNet zoo). Arguments: see :func:`get_model`."""
    return _resnet("resnet34_v2", **kwargs)


@register_model
def resnet50_v2(**kwargs):
    """ResNet-50 v2, pre-activation (MXNet zoo). Arguments: see :func:`get_model`."""
    return _resnet("resnet50_v2", **kwargs)


@register_model
def resnet101_v2(**kwargs):
    """ResNet-101 v2, pre-activation (MXNet zoo). Arguments: see :func:`get_model`."""
    return _resnet("resnet101_v2", **kwargs)


@register_model
def resnet152_v2(**kwargs):
    """ResNet-152 v2, pre-activation (MXNet zoo). Arguments: see :func:`get_model`."""
    return _resnet("resnet152_v2", **kwargs)


@register_model
def resnet200_v2(**kwargs):
    """ResNet-200 v2, pre-activation, as in the paper. Arguments: see :func:`get_model`."""
    return _resnet("resnet200_v2", **kwargs)


@register_model
def resnet18_v1b(**kwargs):
    """ResNet-18 v1b (GluonCV ``resnet18_v1b``). Arguments: see :func:`get_model`."""
    return _resnet("resnet18_v1b", **kwargs)


@register_model
def resnet34_v1b(**kwargs):
    """ResNet-34 v1b (GluonCV ``resnet34_v1b``). Arguments: see :func:`get_model`."""
    return _resnet("resnet34_v1b", **kwargs)


@register_model
def resnet50_v1b(**kwargs):
    """ResNet-50 v1b, stride on the 3x3 (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet50_v1b", **kwargs)


@register_model
def resnet101_v1b(**kwargs):
    """ResNet-101 v1b, stride on the 3x3 (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet101_v1b", **kwargs)


@register_model
def resnet152_v1b(**kwargs):
    """ResNet-152 v1b, stride on the 3x3 (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet152_v1b", **kwargs)


@register_model
def resnext50_32x4d(**kwargs):
    """ResNeXt-50 32x4d (GluonCV ``resnext50_32x4d``). Arguments: see :func:`get_model`."""
    return _resnet("resnext50_32x4d", **kwargs)


@register_model
def resnext101_32x4d(**kwargs):
    """ResNeXt-101 32x4d (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnext101_32x4d", **kwargs)


@register_model
def resnet50_v1c(**kwargs):
    """ResNet-50 v1c, the deep stem (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet50_v1c", **kwargs)


@register_model
def resnet101_v1c(**kwargs):
    """ResNet-101 v1c, the deep stem (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet101_v1c", **kwargs)


@register_model
def resnet152_v1c(**kwargs):
    """ResNet-152 v1c, the deep stem (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet152_v1c", **kwargs)


@register_model
def resnet50_v1d(**kwargs):
    """ResNet-50 v1d: deep stem, average-pooled shortcut (GluonCV; timm ``resnet50d``). Arguments: see :func:`get_model`."""
    return _resnet("resnet50_v1d", **kwargs)


@register_model
def resnet101_v1d(**kwargs):
    """ResNet-101 v1d: deep stem, average-pooled shortcut (GluonCV; timm ``resnet101d``). Arguments: see :func:`get_model`."""
    return _resnet("resnet101_v1d", **kwargs)


@register_model
def resnet152_v1d(**kwargs):
    """ResNet-152 v1d: deep stem, average-pooled shortcut (GluonCV; timm ``resnet152d``). Arguments: see :func:`get_model`."""
    return _resnet("resnet152_v1d", **kwargs)


@register_model
def resnet50_v1s(**kwargs):
    """ResNet-50 v1s, the 64-wide deep stem (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet50_v1s", **kwargs)


@register_model
def resnet101_v1s(**kwargs):
    """ResNet-101 v1s, the 64-wide deep stem (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet101_v1s", **kwargs)


@register_model
def resnet152_v1s(**kwargs):
    """ResNet-152 v1s, the 64-wide deep stem (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet152_v1s", **kwargs)


@register_model
def resnet50_v1e(**kwargs):
    """ResNet-50 v1e: 64-wide deep stem, average-pooled shortcut (GluonCV). Arguments: see :func:`get_model`."""
    return _resnet("resnet50_v1e", **kwargs)


@register_model
def wide_resnet50_2(**kwargs):
    """Wide ResNet-50-2 (torchvision ``wide_resnet50_2``). Arguments: see :func:`get_model`."""
    return _resnet("wide_resnet50_2", **kwargs)


@register_model
def wide_resnet101_2(**kwargs):
    """Wide ResNet-101-2 (torchvision ``wide_resnet101_2``). Arguments: see :func:`get_model`."""
    return _resnet("wide_resnet101_2", **kwargs)


@register_model
def resnext101_32x8d(**kwargs):
    """ResNeXt-101 32x8d, stride on the 3x3 (torchvision). Arguments: see :func:`get_model`."""
    return _resnet("resnext101_32x8d", **kwargs)


@register_model
def resnext101_64x4d(**kwargs):
    """ResNeXt-101 64x4d, stride on the 3x3 (torchvision). Arguments: see :func:`get_model`."""
    return _resnet("resnext101_64x4d", **kwargs)


@register_model
def cifar_resnet20(**kwargs):
    """CIFAR ResNet-20 (GluonCV ``cifar_resnet20_v1``), 10 classes by default."""
    return _resnet("cifar_resnet20", **kwargs)


@register_model
def cifar_resnet32(**kwargs):
    """CIFAR ResNet-32 of the paper, 10 classes by default."""
    return _resnet("cifar_resnet32", **kwargs)


@register_model
def cifar_resnet44(**kwargs):
    """CIFAR ResNet-44 of the paper, 10 classes by default."""
    return _resnet("cifar_resnet44", **kwargs)


@register_model
def cifar_resnet56(**kwargs):
    """CIFAR ResNet-56 (GluonCV ``cifar_resnet56_v1``), 10 classes by default."""
    return _resnet("cifar_resnet56", **kwargs)


@register_model
def cifar_resnet110(**kwargs):
    """CIFAR ResNet-110 (GluonCV ``cifar_resnet110_v1``), 10 classes by default."""
    return _resnet("cifar_resnet110", **kwargs)


@register_model
def plain18(**kwargs):
    """Plain-18 of the paper (Table 1): ResNet-18's layers, no shortcuts."""
    return _resnet("plain18", **kwargs)


@register_model
def plain34(**kwargs):
    """Plain-34 of the paper (Table 1, Fig. 3 middle): ResNet-34's layers, no shortcuts."""
    return _resnet("plain34", **kwargs)


@register_model
def cifar_plain20(**kwargs):
    """CIFAR plain-20 of the paper (section 4.2): ``cifar_resnet20`` without shortcuts."""
    return _resnet("cifar_plain20", **kwargs)


@register_model
def cifar_plain32(**kwargs):
    """CIFAR plain-32 of the paper: ``cifar_resnet32`` without shortcuts."""
    return _resnet("cifar_plain32", **kwargs)


@register_model
def cifar_plain44(**kwargs):
    """CIFAR plain-44 of the paper: ``cifar_resnet44`` without shortcuts."""
    return _resnet("cifar_plain44", **kwargs)


@register_model
def cifar_plain56(**kwargs):
    """CIFAR plain-56 of the paper: ``cifar_resnet56`` without shortcuts."""
    return _resnet("cifar_plain56", **kwargs)


@register_model
def cifar_plain110(**kwargs):
    """CIFAR plain-110 of the paper: ``cifar_resnet110`` without shortcuts."""
    return _resnet("cifar_plain110", **kwargs)
