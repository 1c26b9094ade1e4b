"""Where nets run: d2l's :func:`try_gpu` and :func:`try_all_gpus`, and a clear error
(:func:`check_ctx`) where a GPU is asked for that MXNet cannot see.

The ``mxnet`` wheel is built for the CPU only: ``mx.gpu()`` is a valid context there,
but the first array placed on it fails deep in MXNet's C++ (``MXNetError: GPU is not
enabled``). The library checks every context it is given before any work and says what
was asked, what MXNet sees and what to do instead.
"""
import mxnet as mx

__all__ = ["try_gpu", "try_all_gpus", "check_ctx", "num_gpus", "GPUUnavailableError"]

GPU_HINT = ("the `mxnet` package is built for the CPU only; `mxnet-cu117==1.9.1` needs a "
            "CUDA 11 GPU of compute capability up to 8.9 (no Hopper: H100, H200). Pass "
            "ctx=mx.cpu(), or ctx=gluon_resnet.try_gpu(), which falls back to the CPU")


class GPUUnavailableError(ValueError):
    """A GPU context was asked for that MXNet does not see."""


def num_gpus():
    """How many GPUs MXNet sees (0 with the CPU-only wheel)."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:  # a CUDA build without a driver
        return 0


def try_gpu(i=0):
    """``mx.gpu(i)`` if MXNet sees it, else ``mx.cpu()`` (as d2l's ``try_gpu``)."""
    return mx.gpu(i) if num_gpus() >= i + 1 else mx.cpu()


def try_all_gpus():
    """Every GPU MXNet sees, or ``[mx.cpu()]`` if none (as d2l's ``try_all_gpus``)."""
    return [mx.gpu(i) for i in range(num_gpus())] or [mx.cpu()]


def missing_gpu_message(asked, found):
    """``'... asks for gpu(1), but 1 GPU(s) are visible to MXNet (gpu(0)); ...'``: the
    tail of the error for a GPU ``asked`` (a text) that is not among the ``found``."""
    seen = " (%s)" % ", ".join("gpu(%d)" % i for i in range(found)) if found else ""
    hint = GPU_HINT if found == 0 else ("pass one of those, or ctx=mx.cpu()")
    return "asks for %s, but %d GPU(s) are visible to MXNet%s: %s" % (asked, found, seen, hint)


def check_ctx(ctx, what):
    """``ctx`` (a Context, a list of them, or None) unchanged if every GPU in it is one
    MXNet sees.

    Parameters
    ----------
    ctx : Context, list of Context or None
    what : str
        Who asks, for the message: ``"resnet18(ctx=...)"``, ``"train"``.

    Raises
    ------
    GPUUnavailableError
        (a ValueError) naming the context asked for, the GPUs MXNet sees and what to do.
    """
    ctxs = ctx if isinstance(ctx, (list, tuple)) else [ctx]
    gpus = [c for c in ctxs if isinstance(c, mx.Context) and c.device_type == "gpu"]
    if not gpus:
        return ctx
    found = num_gpus()
    missing = [c for c in gpus if c.device_id >= found]
    if missing:
        raise GPUUnavailableError("%s %s" % (what, missing_gpu_message(missing[0], found)))
    return ctx
