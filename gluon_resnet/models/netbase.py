"""What every registered net shares (ResNets and the lineage alike): its input checks,
and the end of its builder (weights, initialisation, hybridization)."""
import mxnet as mx
from mxnet.gluon import nn

from .. import arrays
from ..context import check_ctx

__all__ = ["CheckedNet", "finish"]


def finish(net, name, init, ctx=None, pretrained=False, initialize=True, hybridize=True,
           root=None):
    """Name ``net`` after its registered model, then load the published weights
    (``pretrained=True``, or a ``torchvision:``/``hf-hub:`` name) or a file (a path), or initialise it with ``init`` (unless
    ``initialize`` is False), on ``ctx`` (default CPU); hybridize with ``static_alloc``."""
    net.model_name = name
    ctx = check_ctx(ctx, "%s(ctx=%s)" % (name, ctx)) if ctx is not None else mx.cpu()
    if pretrained:
        from .weights import load_pretrained  # (weights imports the nets: not at the top)
        load_pretrained(net, name, pretrained, ctx=ctx, root=root)
    elif initialize:
        net.initialize(init, ctx=ctx)
    if hybridize:
        net.hybridize(static_alloc=True)
    return net


class CheckedNet:
    """What every registered net shares (mixed into a HybridBlock before it): it records
    the array interface it was built in and names what it expects of its input before
    MXNet fails obscurely."""

    model_name = None
    in_channels = 0
    min_size = 1

    def _setup_checks(self, in_channels, min_size):
        self.in_channels = in_channels
        self.min_size = min_size
        # MXNet's convolution layers fix their operator for the interface that is on
        # when they are built: the net runs in that interface.
        self.np_mode = arrays.is_np_array()

    def _first_conv(self):
        """The first convolution, whose weight shape tells the inferred input channels."""
        stack = [self]
        while stack:
            block = stack.pop(0)
            if isinstance(block, nn.Conv2D):
                return block
            stack[:0] = list(block._children.values())
        raise AssertionError("%s has no convolution" % type(self).__name__)

    def forward(self, x, *args):
        if isinstance(x, mx.nd.NDArray):  # mx.np.ndarray too
            arrays.check_input(x, self.model_name or type(self).__name__, self.np_mode)
            self._check_input(x.shape)
        return super().forward(x, *args)

    def _check_input(self, shape):
        name = self.model_name or type(self).__name__
        if len(shape) != 4:
            raise ValueError("%s expects a 4-D batch (N, C, H, W), got shape %s"
                             % (name, tuple(shape)))
        # A deferred size is 0 in legacy mode and -1 in numpy mode: unknown if <= 0.
        expected = self.in_channels or self._first_conv().weight.shape[1]
        if expected > 0 and shape[1] != expected:
            raise ValueError("%s expects %d input channels, got %d; pass in_channels=%d"
                             % (name, expected, shape[1], shape[1]))
        height, width = shape[2:]
        if min(height, width) < self.min_size:
            raise ValueError(self._too_small(name, height, width))

    def _too_small(self, name, height, width):
        """The message for an input smaller than ``min_size``."""
        return "%s needs inputs of at least %dx%d pixels, got %dx%d; resize the images" % (
            name, self.min_size, self.min_size, height, width)
