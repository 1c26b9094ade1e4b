"""DenseNet: MXNet zoo's DenseNet-121/161/169/201 and d2l's DenseNet."""

from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.contrib.nn import Identity

from ... import arrays
from ..netbase import CheckedNet

from .common import Concurrent, SequentialNet, _in

__all__ = ['DenseNet', 'DenseBlock']


def _dense_layer(growth_rate, bn_size):
    """BN-ReLU-1x1 conv-BN-ReLU-3x3 conv, concatenated to its input (DenseNet-BC)."""
    new_features = nn.HybridSequential(prefix="")
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(bn_size * growth_rate, kernel_size=1, use_bias=False))
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(growth_rate, kernel_size=3, padding=1, use_bias=False))
    out = Concurrent(axis=1, prefix="")
    out.add(Identity())
    out.add(new_features)
    return out


def _transition(channels):
    out = nn.HybridSequential(prefix="")
    out.add(nn.BatchNorm())
    out.add(nn.Activation("relu"))
    out.add(nn.Conv2D(channels, kernel_size=1, use_bias=False))
    out.add(nn.AvgPool2D(pool_size=2, strides=2))
    return out


class DenseNet(CheckedNet, HybridBlock):
    """DenseNet-BC ("Densely Connected Convolutional Networks", Huang et al. 2016) as
    MXNet's zoo builds it.

    ``features`` = the 7x7/2 stem with BN, ReLU and 3x3/2 max-pool, one stage of
    ``block_config[i]`` dense layers each (``stage1_`` ...), a transition halving the
    channels and the resolution between stages, BN, ReLU, a 7x7 average pool, flatten;
    ``output`` = Dense. The 7x7 pool makes the net take 224x224 images (221 at least).
    """

    def __init__(self, num_init_features, growth_rate, block_config, bn_size=4,
                 classes=1000, in_channels=0, min_size=1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._setup_checks(in_channels, min_size)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(num_init_features, kernel_size=7, strides=2,
                                        padding=3, use_bias=False, in_channels=in_channels))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                stage = nn.HybridSequential(prefix="stage%d_" % (i + 1))
                with stage.name_scope():
                    for _ in range(num_layers):
                        stage.add(_dense_layer(growth_rate, bn_size))
                self.features.add(stage)
                num_features += num_layers * growth_rate
                if i != len(block_config) - 1:
                    num_features //= 2
                    self.features.add(_transition(num_features))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.AvgPool2D(pool_size=7))
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _conv_block(num_channels):
    """d2l's DenseNet ``conv_block``: BN, ReLU, 3x3 convolution."""
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation("relu"),
            nn.Conv2D(num_channels, kernel_size=3, padding=1))
    return blk


class DenseBlock(HybridBlock):
    """The dense block of d2l's DenseNet chapter: ``num_convs`` conv blocks of
    ``num_channels`` each, every one's output concatenated to its input."""

    def __init__(self, num_convs, num_channels, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.net = nn.HybridSequential()
            for _ in range(num_convs):
                self.net.add(_conv_block(num_channels))

    def hybrid_forward(self, F, X):
        for blk in self.net:
            X = arrays.concat(F, [X, blk(X)], axis=1)
        return X


def _transition_block(num_channels):
    """d2l's DenseNet ``transition_block``: BN, ReLU, 1x1 conv, 2x2 average pool."""
    blk = nn.HybridSequential()
    blk.add(nn.BatchNorm(), nn.Activation("relu"),
            nn.Conv2D(num_channels, kernel_size=1),
            nn.AvgPool2D(pool_size=2, strides=2))
    return blk


def _densenet(classes, in_channels, min_size, **kwargs):
    return DenseNet(classes=classes, in_channels=in_channels, min_size=min_size, **kwargs)


def _d2l_densenet(classes, in_channels, min_size, growth_rate, num_convs_in_dense_blocks,
                  **kwargs):
    """d2l's DenseNet: the 7x7/2 stem and max-pool, dense blocks with transitions that
    halve the channels between them, BN, ReLU, global average pooling, Dense."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    with net.name_scope():
        net.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3, **_in(in_channels)),
                nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(pool_size=3, strides=2, padding=1))
        num_channels = 64
        for i, num_convs in enumerate(num_convs_in_dense_blocks):
            net.add(DenseBlock(num_convs, growth_rate))
            num_channels += num_convs * growth_rate
            if i != len(num_convs_in_dense_blocks) - 1:
                num_channels //= 2
                net.add(_transition_block(num_channels))
        net.add(nn.BatchNorm(), nn.Activation("relu"), nn.GlobalAvgPool2D(),
                nn.Dense(classes))
    return net
