"""The reference nets for the ``d2l_*`` forms of gluon_resnet.models.lineage: the nets
that d2l's chapters (MXNet edition, 0.17.6) build and train on Fashion-MNIST.

No code is copied from d2l here. Each net is either

* imported from the installed d2l packages, where they hold it: LeNet is d2l 1.0.3's
  ``LeNet`` (its ``net``, the same layers as the 0.17.6 chapter's), and ResNet-18's
  residual block is d2l 0.17.6's ``d2l.Residual``; or
* written here from the chapters' descriptions of the nets (the layers, their channels,
  kernels, strides, padding, activations and pooling): AlexNet, VGG-11, NiN, GoogLeNet
  with its Inception block, ResNet-18's stem and stages, DenseNet with its dense and
  transition blocks. They do not use gluon_resnet. Where d2l's parameter files name a
  parameter by an attribute (``p1_1`` ... ``p4_2`` in an Inception block, ``net`` in a
  dense block) or by a position in an ``nn.Sequential``, the nets here nest and name
  their layers the same way, so that such a file loads into our forms.

The packages are loaded on first use (``d2l_0_17``, ``d2l_1_0``), which raises
ImportError where one is missing. The Inception and dense blocks concatenate with
``mxnet.np`` and ``d2l.Residual`` uses ``npx.relu``, as d2l does: build and call these
nets with numpy mode on (``npx.set_np()``).
"""
import functools
import importlib.util
import os
import sys

from mxnet import np
from mxnet.gluon import nn

# Where `make test` unpacks d2l 1.0.3 (tests/test_d2l.py loads it from there too).
D2L_V1 = os.path.join(sys.prefix, "d2l-1.0.3", "d2l", "mxnet.py")
CLASSES = 10  # Fashion-MNIST


def d2l_0_17():
    """``d2l.mxnet`` of the installed d2l 0.17.6 (ImportError if it is not installed)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from d2l import mxnet as d2l
    return d2l


@functools.lru_cache(maxsize=None)
def d2l_1_0():
    """d2l 1.0.3's ``d2l/mxnet.py``, loaded from ``D2L_V1`` (ImportError if absent)."""
    if not os.path.isfile(D2L_V1):
        raise ImportError("d2l 1.0.3 is not unpacked in %s" % os.path.dirname(D2L_V1))
    os.environ.setdefault("MPLBACKEND", "Agg")
    spec = importlib.util.spec_from_file_location("d2l_v1_mxnet", D2L_V1)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the file looks itself up there
    spec.loader.exec_module(module)
    return module


# --- layers ---------------------------------------------------------------------------

def _seq(*layers):
    block = nn.Sequential()
    block.add(*layers)
    return block


def _conv(channels, kernel, stride=1, pad=0, act="relu"):
    return nn.Conv2D(channels, kernel_size=kernel, strides=stride, padding=pad,
                     activation=act)


def _max(size=3, stride=2, pad=0):
    return nn.MaxPool2D(pool_size=size, strides=stride, padding=pad)


def _bn_relu():
    return [nn.BatchNorm(), nn.Activation("relu")]


def _dense_head(*hidden):
    """ReLU fully connected layers of ``hidden`` units, each followed by dropout 0.5,
    then the output layer."""
    layers = []
    for units in hidden:
        layers += [nn.Dense(units, activation="relu"), nn.Dropout(0.5)]
    return layers + [nn.Dense(CLASSES)]


def _bn_stem():
    """ResNet's and DenseNet's first layers: 64 7x7/2 convolutions (no activation),
    BatchNorm, ReLU, 3x3/2 max-pool."""
    return [_conv(64, 7, stride=2, pad=3, act=None), *_bn_relu(), _max(pad=1)]


# --- the nets -------------------------------------------------------------------------

def lenet():
    """d2l 1.0.3's LeNet: sigmoid 5x5 convolutions of 6 (padded by 2) and 16 channels,
    each followed by a 2x2/2 average pool, then sigmoid layers of 120 and 84 units."""
    return d2l_1_0().LeNet(num_classes=CLASSES).net


def alexnet():
    """Convolutions 96 11x11/4, 256 5x5 (pad 2), then 384, 384, 256 3x3 (pad 1), all
    ReLU; a 3x3/2 max-pool after the first, second and fifth; two ReLU layers of 4096
    units with dropout."""
    return _seq(_conv(96, 11, stride=4), _max(),
                _conv(256, 5, pad=2), _max(),
                *[_conv(c, 3, pad=1) for c in (384, 384, 256)], _max(),
                *_dense_head(4096, 4096))


# VGG-11: (3x3 convolutions, channels) of each block.
VGG11 = [(1, 64), (1, 128), (2, 256), (2, 512), (2, 512)]


def vgg11(small=True):
    """VGG-11's five blocks (ReLU 3x3 convolutions, padded by 1, then a 2x2/2 max-pool,
    each block an ``nn.Sequential``) and AlexNet's head; ``small``: a quarter of the
    channels, the net the chapter trains."""
    ratio = 4 if small else 1
    blocks = [_seq(*[_conv(channels // ratio, 3, pad=1) for _ in range(convs)],
                   _max(size=2))
              for convs, channels in VGG11]
    return _seq(*blocks, *_dense_head(4096, 4096))


def _nin_block(channels, kernel, stride, pad):
    """A ReLU convolution then two ReLU 1x1 convolutions, all ``channels`` wide."""
    return _seq(_conv(channels, kernel, stride, pad),
                _conv(channels, 1), _conv(channels, 1))


def nin():
    """NiN blocks of 96 (11x11/4), 256 (5x5, pad 2) and 384 (3x3, pad 1) channels, each
    followed by a 3x3/2 max-pool; dropout; a block of 10 (3x3, pad 1); global average
    pooling, flattened."""
    return _seq(_nin_block(96, 11, 4, 0), _max(),
                _nin_block(256, 5, 1, 2), _max(),
                _nin_block(384, 3, 1, 1), _max(),
                nn.Dropout(0.5),
                _nin_block(CLASSES, 3, 1, 1),
                nn.GlobalAvgPool2D(), nn.Flatten())


class Inception(nn.Block):
    """Four paths, their outputs concatenated on the channel axis: a 1x1 convolution
    (``c1`` channels); 1x1 then 3x3 (``c2``, a pair); 1x1 then 5x5 (``c3``); a 3x3/1
    max-pool then 1x1 (``c4``). All convolutions ReLU, the paths keep the size. Layer
    ``j`` of path ``i`` is attribute ``p<i>_<j>``: the chapter's names."""

    def __init__(self, c1, c2, c3, c4):
        super().__init__()
        paths = [[_conv(c1, 1)],
                 [_conv(c2[0], 1), _conv(c2[1], 3, pad=1)],
                 [_conv(c3[0], 1), _conv(c3[1], 5, pad=2)],
                 [_max(stride=1, pad=1), _conv(c4, 1)]]
        self._paths = []
        for i, path in enumerate(paths, 1):
            names = tuple("p%d_%d" % (i, j) for j in range(1, len(path) + 1))
            for name, layer in zip(names, path):
                setattr(self, name, layer)
            self._paths.append(names)

    def forward(self, x):
        outputs = []
        for names in self._paths:
            y = x
            for name in names:
                y = getattr(self, name)(y)
            outputs.append(y)
        return np.concatenate(outputs, axis=1)


# GoogLeNet's Inception blocks (the paper's 3a-3b, 4a-4e, 5a-5b): c1, c2, c3, c4.
INCEPTIONS = [
    [(64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64)],
    [(192, (96, 208), (16, 48), 64), (160, (112, 224), (24, 64), 64),
     (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
     (256, (160, 320), (32, 128), 128)],
    [(256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)],
]


def googlenet():
    """Five stages, an ``nn.Sequential`` each, then the output layer: a 64 7x7/2
    convolution (pad 3); 64 1x1 and 192 3x3 (pad 1) convolutions; two, five and two
    Inception blocks. Every stage but the last ends with a 3x3/2 max-pool (pad 1), the
    last with global average pooling."""
    stages = [_seq(_conv(64, 7, stride=2, pad=3), _max(pad=1)),
              _seq(_conv(64, 1), _conv(192, 3, pad=1), _max(pad=1))]
    for i, blocks in enumerate(INCEPTIONS):
        last = i == len(INCEPTIONS) - 1
        stages.append(_seq(*[Inception(*b) for b in blocks],
                           nn.GlobalAvgPool2D() if last else _max(pad=1)))
    return _seq(*stages, nn.Dense(CLASSES))


def resnet18():
    """The BatchNorm stem, four stages (an ``nn.Sequential`` each) of two d2l 0.17.6
    ``Residual`` blocks of 64, 128, 256 and 512 channels, where the first block of each
    stage after the first halves the size (stride 2, 1x1 convolution on the shortcut);
    global average pooling and the output layer."""
    residual = d2l_0_17().Residual
    stages = [_seq(residual(64), residual(64))]
    for channels in (128, 256, 512):
        stages.append(_seq(residual(channels, use_1x1conv=True, strides=2),
                           residual(channels)))
    return _seq(*_bn_stem(), *stages, nn.GlobalAvgPool2D(), nn.Dense(CLASSES))


def _conv_block(channels):
    """BatchNorm, ReLU, then a 3x3 convolution (pad 1)."""
    return _seq(*_bn_relu(), _conv(channels, 3, pad=1, act=None))


class DenseBlock(nn.Block):
    """``num_convs`` conv blocks (attribute ``net``, as the chapter's), each one's
    ``num_channels`` outputs concatenated to its input on the channel axis."""

    def __init__(self, num_convs, num_channels):
        super().__init__()
        self.net = _seq(*[_conv_block(num_channels) for _ in range(num_convs)])

    def forward(self, x):
        for block in self.net:
            x = np.concatenate((x, block(x)), axis=1)
        return x


def _transition_block(channels):
    """BatchNorm, ReLU, a 1x1 convolution to ``channels``, a 2x2/2 average pool."""
    return _seq(*_bn_relu(), _conv(channels, 1, act=None),
                nn.AvgPool2D(pool_size=2, strides=2))


def densenet(growth_rate=32, num_convs=(4, 4, 4, 4)):
    """The BatchNorm stem, then dense blocks (growth rate 32, four convolutions each)
    with a transition block halving the channels between two; BatchNorm, ReLU, global
    average pooling and the output layer."""
    layers, channels = _bn_stem(), 64
    for i, convs in enumerate(num_convs):
        layers.append(DenseBlock(convs, growth_rate))
        channels += convs * growth_rate
        if i < len(num_convs) - 1:
            channels //= 2
            layers.append(_transition_block(channels))
    return _seq(*layers, *_bn_relu(), nn.GlobalAvgPool2D(), nn.Dense(CLASSES))
