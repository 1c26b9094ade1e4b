"""Network in Network: the original for ImageNet and d2l's form."""

from mxnet.gluon import nn


from .common import SequentialNet, _in


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
