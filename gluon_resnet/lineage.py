"""The lineage before and beside ResNet: LeNet, AlexNet, VGG, NiN, GoogLeNet, DenseNet.

Every model is built from one row of the spec table ``SPECS`` by its builder; each
factory is a registered two-liner taking the keywords of the ResNet factories. Two
kinds of forms:

* ImageNet forms with the child structure of the reference zoos, so their published
  ``.params`` files load: :class:`AlexNet`, :class:`VGG` (``vgg11`` ... ``vgg19_bn``)
  and :class:`DenseNet` (``densenet121`` ... ``densenet201``) as MXNet's
  ``gluon.model_zoo.vision``; :class:`GoogLeNet` as GluonCV's ``googlenet`` (Inception
  v1 with BatchNorm). Beside them, two nets no zoo publishes: ``lenet`` (LeNet-5,
  LeCun et al. 1998, for 32x32 images) and ``nin`` (the original Network in Network
  for ImageNet, Lin et al. 2013).
* d2l's Fashion-MNIST forms (``d2l_*``), exactly as the chapters of d2l's MXNet edition
  (0.17.6) build them, as a :class:`SequentialNet` with the layers of the chapter's
  ``nn.Sequential`` in the same places, so parameters that d2l's code trained and
  saved load here.

Concatenations (DenseNet, GoogLeNet) go through :func:`gluon_resnet.arrays.concat`, which
picks ``F.np.concatenate`` or ``F.concat`` at call time: MXNet's ``HybridConcurrent``
calls the legacy operator only and fails in numpy mode, so :class:`Concurrent` takes
its place with the same child structure.
"""
from dataclasses import dataclass, field

import mxnet as mx
from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock
from mxnet.gluon.contrib.nn import Identity

from . import arrays
from .blocks import resnet_block
from .netbase import CheckedNet, finish
from .registry import register_model

__all__ = ["AlexNet", "VGG", "DenseNet", "GoogLeNet", "SequentialNet", "Concurrent",
           "Inception", "DenseBlock"]


class SequentialNet(CheckedNet, nn.HybridSequential):
    """A ``HybridSequential`` with the input checks of the registered nets.

    The d2l forms, ``lenet`` and ``nin`` are built as one: layer ``i`` of the chapter's
    ``nn.Sequential`` is child ``i`` here, so parameter files saved from d2l's net
    (structural names such as ``0.weight``, ``4.0.conv1.weight``) load, and
    ``for layer in net`` walks the layers as the chapters do.
    """

    def __init__(self, in_channels=0, min_size=1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._setup_checks(in_channels, min_size)


class Concurrent(nn.HybridSequential):
    """MXNet's ``gluon.contrib.nn.HybridConcurrent`` for both array interfaces: feeds the
    input to every child and concatenates their outputs along ``axis``."""

    def __init__(self, axis=1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        return arrays.concat(F, [block(x) for block in self._children.values()], self.axis)


# ---------------------------------------------------------------------------------------
# The ImageNet forms of MXNet's and GluonCV's zoos.

class AlexNet(CheckedNet, HybridBlock):
    """AlexNet as MXNet's zoo builds it: the single-tower variant of "One weird trick for
    parallelizing convolutional neural networks" (Krizhevsky 2014), 64-192-384-256-256
    channels, whose ImageNet weights MXNet publishes (61.1 M parameters).

    ``features`` = five ReLU convolutions with three 3x3/2 max-pools, flatten, two
    ``Dense(4096)`` with dropout; ``output`` = Dense.
    """

    def __init__(self, classes=1000, in_channels=0, min_size=1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._setup_checks(in_channels, min_size)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                self.features.add(nn.Conv2D(64, kernel_size=11, strides=4, padding=2,
                                            activation="relu", in_channels=in_channels))
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Conv2D(192, kernel_size=5, padding=2, activation="relu"))
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"))
                self.features.add(nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"))
                self.features.add(nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"))
                self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Flatten())
                self.features.add(nn.Dense(4096, activation="relu"))
                self.features.add(nn.Dropout(0.5))
                self.features.add(nn.Dense(4096, activation="relu"))
                self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


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


def _basic_conv(in_channels, channels, **kwargs):
    """GluonCV's GoogLeNet convolution: conv without bias, BN (epsilon 0.001), ReLU."""
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(in_channels=in_channels, channels=channels, use_bias=False, **kwargs))
    out.add(nn.BatchNorm(in_channels=channels, epsilon=0.001))
    out.add(nn.Activation("relu"))
    return out


def _inception_v1(in_channels, c1, c2, c3, c4, prefix):
    """GluonCV's ``_make_Mixed_*``: 1x1; 1x1 then 3x3; 1x1 then 3x3 (GluonCV's, as
    torchvision's, where the paper has 5x5); 3x3 max-pool then 1x1 (``c4``)."""
    def branch(pool, *convs):
        out = nn.HybridSequential(prefix="")
        if pool:
            out.add(nn.MaxPool2D(pool_size=3, strides=1, padding=1))
        for conv_in, conv_out, kernel_size, padding in convs:
            kwargs = {"padding": padding} if padding else {}
            out.add(_basic_conv(conv_in, conv_out, kernel_size=kernel_size, **kwargs))
        return out

    out = Concurrent(axis=1, prefix=prefix)
    with out.name_scope():
        out.add(branch(False, (in_channels, c1, 1, None)))
        out.add(branch(False, (in_channels, c2[0], 1, None), (c2[0], c2[1], 3, 1)))
        out.add(branch(False, (in_channels, c3[0], 1, None), (c3[0], c3[1], 3, 1)))
        out.add(branch(True, (in_channels, c4, 1, None)))
    return out


# GoogLeNet's inception modules (Table 1 of the paper): name, input channels, #1x1,
# (#3x3 reduce, #3x3), (#5x5 reduce, #5x5), pool proj.
_INCEPTIONS = [
    ("3a", 192, 64, (96, 128), (16, 32), 32), ("3b", 256, 128, (128, 192), (32, 96), 64),
    ("4a", 480, 192, (96, 208), (16, 48), 64), ("4b", 512, 160, (112, 224), (24, 64), 64),
    ("4c", 512, 128, (128, 256), (24, 64), 64), ("4d", 512, 112, (144, 288), (32, 64), 64),
    ("4e", 528, 256, (160, 320), (32, 128), 128),
    ("5a", 832, 256, (160, 320), (32, 128), 128), ("5b", 832, 384, (192, 384), (48, 128), 128)]


class GoogLeNet(CheckedNet, HybridBlock):
    """GoogLeNet ("Going Deeper with Convolutions", Szegedy et al. 2014) with BatchNorm,
    as GluonCV's ``googlenet`` builds it (without the auxiliary classifiers, as its
    published weights): ``conv1``, ``maxpool1``, ``conv2``, ``conv3``, ``maxpool2``,
    ``inception3a`` ... ``inception5b`` with max-pools between, and ``head`` = 7x7
    average pool, dropout and ``output`` (also children of the net, as in GluonCV).
    """

    def __init__(self, classes=1000, dropout=0.4, in_channels=0, min_size=1, prefix=None,
                 params=None):
        super().__init__(prefix=prefix, params=params)
        self._setup_checks(in_channels, min_size)
        with self.name_scope():
            self.conv1 = _basic_conv(in_channels, 64, kernel_size=7, strides=2, padding=3)
            self.maxpool1 = nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)
            self.conv2 = _basic_conv(64, 64, kernel_size=1)
            self.conv3 = _basic_conv(64, 192, kernel_size=3, padding=1)
            self.maxpool2 = nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)
            for name, *channels in _INCEPTIONS:
                setattr(self, "inception" + name,
                        _inception_v1(*channels, prefix="Mixed_%s_" % name))
                if name == "3b":
                    self.maxpool3 = nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)
                elif name == "4e":
                    self.maxpool4 = nn.MaxPool2D(pool_size=2, strides=2)
            self.head = nn.HybridSequential(prefix="")
            self.avgpool = nn.AvgPool2D(pool_size=7)
            self.dropout = nn.Dropout(dropout)
            self.output = nn.Dense(units=classes, in_units=1024)
            self.head.add(self.avgpool)
            self.head.add(self.dropout)
            self.head.add(self.output)

    def hybrid_forward(self, F, x):
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        for name, *_ in _INCEPTIONS:
            x = getattr(self, "inception" + name)(x)
            if name == "3b":
                x = self.maxpool3(x)
            elif name == "4e":
                x = self.maxpool4(x)
        return self.head(x)


# ---------------------------------------------------------------------------------------
# The blocks of d2l's chapters, as HybridBlocks for both array interfaces.

class Inception(HybridBlock):
    """The Inception block of d2l's GoogLeNet chapter: four paths, ``c1`` to ``c4``
    output channels (``c2`` and ``c3`` are pairs), concatenated on the channels."""

    def __init__(self, c1, c2, c3, c4, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            # Path 1: 1x1 conv; path 2: 1x1 then 3x3; path 3: 1x1 then 5x5; path 4: 3x3
            # max-pool then 1x1. The attribute names are d2l's (so are the files').
            self.p1_1 = nn.Conv2D(c1, kernel_size=1, activation="relu")
            self.p2_1 = nn.Conv2D(c2[0], kernel_size=1, activation="relu")
            self.p2_2 = nn.Conv2D(c2[1], kernel_size=3, padding=1, activation="relu")
            self.p3_1 = nn.Conv2D(c3[0], kernel_size=1, activation="relu")
            self.p3_2 = nn.Conv2D(c3[1], kernel_size=5, padding=2, activation="relu")
            self.p4_1 = nn.MaxPool2D(pool_size=3, strides=1, padding=1)
            self.p4_2 = nn.Conv2D(c4, kernel_size=1, activation="relu")

    def hybrid_forward(self, F, x):
        p1 = self.p1_1(x)
        p2 = self.p2_2(self.p2_1(x))
        p3 = self.p3_2(self.p3_1(x))
        p4 = self.p4_2(self.p4_1(x))
        return arrays.concat(F, [p1, p2, p3, p4], axis=1)


def _in(in_channels):
    """The first layer's ``in_channels`` keyword (0 leaves it to be inferred)."""
    return {"in_channels": in_channels} if in_channels else {}


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


def _nin_block(channels, kernel_size, strides, padding, in_channels=0):
    """An mlpconv block: a convolution and two 1x1 convolutions, all with ReLU.
    ``channels``: one count for all three (d2l's ``nin_block``), or three."""
    channels = channels if isinstance(channels, tuple) else (channels,) * 3
    blk = nn.HybridSequential()
    blk.add(nn.Conv2D(channels[0], kernel_size, strides, padding, activation="relu",
                      **_in(in_channels)),
            nn.Conv2D(channels[1], kernel_size=1, activation="relu"),
            nn.Conv2D(channels[2], kernel_size=1, activation="relu"))
    return blk


def _vgg_block(num_convs, num_channels, in_channels=0):
    """d2l's ``vgg_block``: ``num_convs`` 3x3 ReLU convolutions, a 2x2 max-pool."""
    blk = nn.HybridSequential()
    for i in range(num_convs):
        blk.add(nn.Conv2D(num_channels, kernel_size=3, padding=1, activation="relu",
                          **_in(in_channels if i == 0 else 0)))
    blk.add(nn.MaxPool2D(pool_size=2, strides=2))
    return blk


# ---------------------------------------------------------------------------------------
# Builders: one per architecture, each called with `classes`, `in_channels`, `min_size`
# and the arguments of its row in SPECS. Those building a SequentialNet add the layers
# of d2l's chapter (or of the paper) in the chapter's order.

def _lenet(classes, in_channels, min_size, activation, padding, **kwargs):
    """LeNet-5: 6 and 16 5x5 convolutions, each followed by 2x2/2 average pooling, then
    120-84-classes fully connected layers; ``activation`` after every layer but the last.
    With ``padding=2``, sigmoid and 28x28 inputs it is d2l's LeNet."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    with net.name_scope():
        net.add(nn.Conv2D(channels=6, kernel_size=5, padding=padding, activation=activation,
                          **_in(in_channels)),
                nn.AvgPool2D(pool_size=2, strides=2),
                nn.Conv2D(channels=16, kernel_size=5, activation=activation),
                nn.AvgPool2D(pool_size=2, strides=2),
                nn.Dense(120, activation=activation),
                nn.Dense(84, activation=activation),
                nn.Dense(classes))
    return net


def _alexnet(classes, in_channels, min_size, **kwargs):
    return AlexNet(classes, in_channels, min_size, **kwargs)


def _d2l_alexnet(classes, in_channels, min_size, **kwargs):
    """d2l's AlexNet: the paper's 96-256-384-384-256 channels, one tower, no LRN."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    with net.name_scope():
        net.add(nn.Conv2D(96, kernel_size=11, strides=4, activation="relu",
                          **_in(in_channels)),
                nn.MaxPool2D(pool_size=3, strides=2),
                nn.Conv2D(256, kernel_size=5, padding=2, activation="relu"),
                nn.MaxPool2D(pool_size=3, strides=2),
                nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"),
                nn.Conv2D(384, kernel_size=3, padding=1, activation="relu"),
                nn.Conv2D(256, kernel_size=3, padding=1, activation="relu"),
                nn.MaxPool2D(pool_size=3, strides=2),
                nn.Dense(4096, activation="relu"), nn.Dropout(0.5),
                nn.Dense(4096, activation="relu"), nn.Dropout(0.5),
                nn.Dense(classes))
    return net


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


def _nin(classes, in_channels, min_size, hidden, ceil_mode, **kwargs):
    """NiN: mlpconv blocks of 96, 256 and 384 channels (11x11/4, 5x5 and 3x3 first
    convolutions), each followed by a 3x3/2 max-pool, dropout, a last mlpconv block
    (3x3 conv) whose last 1x1 convolution has ``classes`` channels, global average
    pooling. ``hidden``: the last block's first two widths (``None``: ``classes``, as
    d2l's chapter). ``ceil_mode``: Caffe's pooling, whose output size rounds up."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    last = (hidden, hidden, classes) if hidden else classes
    with net.name_scope():
        net.add(_nin_block(96, 11, 4, 0, in_channels),
                nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=ceil_mode),
                _nin_block(256, 5, 1, 2),
                nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=ceil_mode),
                _nin_block(384, 3, 1, 1),
                nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=ceil_mode),
                nn.Dropout(0.5),
                _nin_block(last, 3, 1, 1),
                nn.GlobalAvgPool2D(),
                nn.Flatten())
    return net


def _densenet(classes, in_channels, min_size, **kwargs):
    return DenseNet(classes=classes, in_channels=in_channels, min_size=min_size, **kwargs)


def _googlenet(classes, in_channels, min_size, **kwargs):
    return GoogLeNet(classes, in_channels=in_channels, min_size=min_size, **kwargs)


def _d2l_googlenet(classes, in_channels, min_size, **kwargs):
    """d2l's GoogLeNet: five stages ``b1`` ... ``b5`` (nn.Sequential each) and Dense."""
    net = SequentialNet(in_channels, min_size, **kwargs)
    with net.name_scope():
        b1 = nn.HybridSequential()
        b1.add(nn.Conv2D(64, kernel_size=7, strides=2, padding=3, activation="relu",
                         **_in(in_channels)),
               nn.MaxPool2D(pool_size=3, strides=2, padding=1))
        b2 = nn.HybridSequential()
        b2.add(nn.Conv2D(64, kernel_size=1, activation="relu"),
               nn.Conv2D(192, kernel_size=3, padding=1, activation="relu"),
               nn.MaxPool2D(pool_size=3, strides=2, padding=1))
        b3 = nn.HybridSequential()
        b3.add(Inception(64, (96, 128), (16, 32), 32),
               Inception(128, (128, 192), (32, 96), 64),
               nn.MaxPool2D(pool_size=3, strides=2, padding=1))
        b4 = nn.HybridSequential()
        b4.add(Inception(192, (96, 208), (16, 48), 64),
               Inception(160, (112, 224), (24, 64), 64),
               Inception(128, (128, 256), (24, 64), 64),
               Inception(112, (144, 288), (32, 64), 64),
               Inception(256, (160, 320), (32, 128), 128),
               nn.MaxPool2D(pool_size=3, strides=2, padding=1))
        b5 = nn.HybridSequential()
        b5.add(Inception(256, (160, 320), (32, 128), 128),
               Inception(384, (192, 384), (48, 128), 128),
               nn.GlobalAvgPool2D())
        net.add(b1, b2, b3, b4, b5, nn.Dense(classes))
    return net


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


# ---------------------------------------------------------------------------------------
# The spec table.

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
        False leaves the parameters uninitialised (for :func:`~gluon_resnet.summary`,
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


# The factories. Each takes the keyword arguments documented in `_lineage`.

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
