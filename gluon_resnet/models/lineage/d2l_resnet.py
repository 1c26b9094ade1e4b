"""d2l's ResNet-18 (the chapter's ``resnet_block`` stages), for the lineage's table."""

from mxnet.gluon import nn

from ..blocks import resnet_block

from .common import SequentialNet, _in


def _d2l_resnet18(classes, in_channels, min_size, **kwargs):
    """d2l's ResNet-18 (:class:`~gluon_resnet.Residual` blocks, 7x7/2 stem, max-pool)."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    with net.name_scope():
        net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3, **_in(in_channels)),
                nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(pool_size=3, strides=2, padding=1))
        net.add(resnet_block(64, 2, first_block=True),
                resnet_block(128, 2),
                resnet_block(256, 2),
                resnet_block(512, 2))
        net.add(nn.GlobalAvgPool2D(), nn.Dense(classes))
    return net
