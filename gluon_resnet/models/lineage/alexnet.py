"""AlexNet: MXNet zoo's form (its published weights load) and d2l's."""

from mxnet.gluon import nn
from mxnet.gluon.block import HybridBlock

from ..netbase import CheckedNet

from .common import SequentialNet, _in

__all__ = ['AlexNet']


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
