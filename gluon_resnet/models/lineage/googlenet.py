"""GoogLeNet: GluonCV's Inception v1 with BatchNorm and d2l's GoogLeNet."""

from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ... import arrays
from ..netbase import CheckedNet

from .common import Concurrent, SequentialNet, _in

__all__ = ['GoogLeNet', 'Inception']


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
