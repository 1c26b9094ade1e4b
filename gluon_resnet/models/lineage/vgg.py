"""VGG: MXNet zoo's forms (A, B, D, E, with and without BatchNorm) and d2l's VGG-11."""

import mxnet as mx
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..netbase import CheckedNet

from .common import SequentialNet, _in

__all__ = ['VGG']


class VGG(CheckedNet, HybridBlock):
    """VGG ("Very Deep Convolutional Networks for Large-Scale Image Recognition",
    Simonyan and Zisserman 2014) as MXNet's zoo builds it.

    ``features`` = per stage ``layers[i]`` 3x3 convolutions of ``channels[i]`` (each
    followed by BatchNorm if ``batch_norm``, then ReLU) and a 2x2 max-pool, then two
    ``Dense(4096)`` with dropout; ``output`` = Dense. The initialisers are MXNet's.
    """

    def __init__(self, layers, channels, classes=1000, batch_norm=False, in_channels=0,
                 min_size=1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        if len(layers) != len(channels):
            raise ValueError("VGG needs one channel count per stage, got %d layers and %d "
                             "channels" % (len(layers), len(channels)))
        self._setup_checks(in_channels, min_size)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            conv_init = mx.init.Xavier(rnd_type="gaussian", factor_type="out", magnitude=2)
            for i, num in enumerate(layers):
                for j in range(num):
                    self.features.add(nn.Conv2D(
                        channels[i], kernel_size=3, padding=1, weight_initializer=conv_init,
                        bias_initializer="zeros",
                        in_channels=in_channels if i == j == 0 else 0))
                    if batch_norm:
                        self.features.add(nn.BatchNorm())
                    self.features.add(nn.Activation("relu"))
                self.features.add(nn.MaxPool2D(strides=2))
            for _ in range(2):
                self.features.add(nn.Dense(4096, activation="relu",
                                           weight_initializer="normal",
                                           bias_initializer="zeros"))
                self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal",
                                   bias_initializer="zeros")

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _vgg_block(num_convs, num_channels, in_channels=0):
    """d2l's ``vgg_block``: ``num_convs`` 3x3 ReLU convolutions, a 2x2 max-pool."""
    blk = nn.HybridSequential()
    for i in range(num_convs):
        blk.add(nn.Conv2D(num_channels, kernel_size=3, padding=1, activation="relu",
                          **_in(in_channels if i == 0 else 0)))
    blk.add(nn.MaxPool2D(pool_size=2, strides=2))
    return blk


def _vgg(classes, in_channels, min_size, layers, batch_norm, **kwargs):
    return VGG(layers, [64, 128, 256, 512, 512], classes, batch_norm, in_channels,
               min_size, **kwargs)


def _d2l_vgg(classes, in_channels, min_size, conv_arch, ratio, **kwargs):
    """d2l's ``vgg(conv_arch)`` with each stage's channels divided by ``ratio``."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    with net.name_scope():
        for i, (num_convs, num_channels) in enumerate(conv_arch):
            net.add(_vgg_block(num_convs, num_channels // ratio,
                               in_channels if i == 0 else 0))
        net.add(nn.Dense(4096, activation="relu"), nn.Dropout(0.5),
                nn.Dense(4096, activation="relu"), nn.Dropout(0.5),
                nn.Dense(classes))
    return net
