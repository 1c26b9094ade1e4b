"""LeNet-5 (LeCun et al. 1998) and d2l's LeNet."""

from mxnet.gluon import nn


from .common import SequentialNet, _in


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
