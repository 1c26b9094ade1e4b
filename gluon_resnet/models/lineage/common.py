"""What the lineage's nets share: :class:`SequentialNet` (a ``HybridSequential`` with
the input checks of the registered nets) and :class:`Concurrent` (branches concatenated in
either array interface)."""

from mxnet.gluon import nn

from ... import arrays
from ..netbase import CheckedNet

__all__ = ['SequentialNet', 'Concurrent']


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


def _in(in_channels):
    """The first layer's ``in_channels`` keyword (0 leaves it to be inferred)."""
    return {"in_channels": in_channels} if in_channels else {}
