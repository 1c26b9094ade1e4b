"""The fastest inference form of a net on this CPU (:func:`optimize_for_inference`): fp32
fused by oneDNN, or bfloat16 (BatchNorms folded, then MXNet's AMP), or, with ``"auto"``,
whichever times faster on the caller's net and shape; and the bfloat16 graph that the
``bf16`` export writes (:func:`to_bf16_graph`). The precision rules are shared with
training (:mod:`gluon_resnet.training.precision`).
"""
import time

import mxnet as mx

from ..arrays import as_current, as_legacy, legacy_mode
from ..context import check_ctx
from ..cpu import amx_status
from ..models.graph import (float32_output as _float32_output, full_shape as _full_shape,
                            import_symbol_block, save_symbol, trace)
from ..training.precision import check_precision, cpu_has_bf16
from .export import fold_batchnorm

__all__ = ["InferenceNet", "optimize_for_inference", "to_bf16_graph"]


def to_bf16_graph(sym, params, fold=True):
    """``(sym, params)`` in bfloat16 by MXNet's AMP: convolutions and dense layers (and
    their weights) in bfloat16, the rest as AMP's lists say, float32 in and out. With
    ``fold`` (for inference), BatchNorms that follow convolutions are first folded into
    them (:func:`gluon_resnet.deploy.export.fold_batchnorm`): 12-19% faster on ResNet-18 and
    ResNet-50 at 224x224 with AMX (benchmarks/results/precision.md).

    ``params`` are ``arg:NAME``/``aux:NAME`` arrays (as :func:`gluon_resnet.models.graph.trace`
    returns); the result is of the same form, ready for ``save_symbol``.
    """
    from mxnet.contrib import amp
    with legacy_mode():
        if fold:
            sym, params = fold_batchnorm(sym, params)
        args = {k[4:]: v for k, v in params.items() if k.startswith("arg:")}
        auxs = {k[4:]: v for k, v in params.items() if k.startswith("aux:")}
        sym, args, auxs = amp.convert_model(sym, args, auxs, target_dtype="bfloat16",
                                            cast_optional_params=True)
        sym = _float32_output(sym)
    out = {"arg:" + k: v for k, v in args.items()}
    out.update({"aux:" + k: v for k, v in auxs.items()})
    return sym, out


class InferenceNet:
    """A net made for inference by :func:`optimize_for_inference`: call it on a float32
    batch of its input shape (an ``mx.nd`` or, under ``npx.set_np()``, an ``mx.np``
    array); it returns float32 outputs of the same kind.

    Attributes
    ----------
    precision : {'fp32', 'bf16'}
        What it runs in.
    input_shape : tuple
        ``(N, C, H, W)`` it was optimized for (other batch sizes also work, slower).
    reason : str
        Why this precision (``auto``: the times measured).
    """

    def __init__(self, block, precision, input_shape, ctx, reason):
        self.block, self.precision, self.input_shape = block, precision, input_shape
        self.ctx, self.reason = ctx, reason

    def __call__(self, x):
        with legacy_mode():
            out = self.block(as_legacy(x).as_in_context(self.ctx))
        return as_current(out)

    def __repr__(self):
        return "InferenceNet(precision=%r, input_shape=%s, ctx=%s)" % (
            self.precision, self.input_shape, self.ctx)


def _build(sym, params, ctx, shape, fuse):
    """A hybridized SymbolBlock of ``sym``, oneDNN-fused if ``fuse``."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, legacy_mode():
        sym_path, params_path = save_symbol(sym, params, os.path.join(tmp, "net"))
        block = import_symbol_block(sym_path, ["data"], params_path, ctx=ctx)
        x = mx.nd.zeros(shape, ctx=ctx)
        if fuse:
            # Not static_shape: with it MXNet 1.9 hands oneDNN-layout outputs of fused
            # graphs to asnumpy(), which refuses them from the second call on.
            block.optimize_for(x, backend="MKLDNN", static_alloc=True)
        else:
            block.hybridize(static_alloc=True, static_shape=True)
        block(x).wait_to_read()
    return block


def _seconds_per_call(block, shape, ctx, repeats=3):
    x = mx.nd.random.uniform(shape=shape, ctx=ctx)
    with legacy_mode():
        block(x).wait_to_read()  # warm-up (oneDNN primitives are created on first use)
        times = []
        for _ in range(repeats):
            tic = time.perf_counter()
            block(x).wait_to_read()
            times.append(time.perf_counter() - tic)
    return min(times)


def optimize_for_inference(net, input_shape, precision="auto", ctx=None):
    """The fastest inference form of ``net`` on this machine that keeps its accuracy.

    The net is traced to a graph (it is not changed), which runs hybridized with static
    memory: in float32 fused by oneDNN on the CPU (convolution + BatchNorm + ReLU +
    addition as one operator; without static shapes, which MXNet 1.9 cannot read back
    from fused graphs), in bfloat16 unfused with static shapes (faster so).

    Parameters
    ----------
    net : HybridBlock
        A trained net (either array interface).
    input_shape : tuple of int
        ``(N, C, H, W)`` (or ``(C, H, W)`` for batches of one) it will be called on.
    precision : {'auto', 'fp32', 'bf16'}
        ``'auto'``: fp32 on GPUs and on CPUs without bfloat16 instructions; elsewhere both
        are built and timed on ``input_shape`` and the faster is kept.
    ctx : Context, optional
        Default: where the net's parameters are.

    Returns
    -------
    InferenceNet
        Call it on float32 batches; its ``precision`` and ``reason`` say what it chose.
    """
    check_precision(precision)
    shape = _full_shape(input_shape)
    check_ctx(ctx, "optimize_for_inference(ctx=%s)" % (ctx,))
    if ctx is None:
        ctx = next(iter(net.collect_params().values())).list_ctx()[0]
    cpu = ctx.device_type == "cpu"
    sym, params = trace(net, shape)
    if not cpu and precision == "bf16":
        raise ValueError("precision='bf16' is for CPUs (oneDNN); got ctx=%s" % (ctx,))
    if precision == "auto" and not cpu:
        precision, reason = "fp32", "auto: not a CPU (bfloat16 here is for oneDNN)"
    elif precision == "auto" and not cpu_has_bf16():
        precision, reason = "fp32", "auto: this CPU has no bfloat16 instructions"
    else:
        reason = "asked for %s" % precision
    candidates = ("fp32", "bf16") if precision == "auto" else (precision,)
    blocks = {}
    for p in candidates:
        graph = to_bf16_graph(sym, params) if p == "bf16" else (sym, params)
        # oneDNN's fusion pass speeds fp32 up, but slows bf16 graphs down (measured on
        # ResNet-18 with AMX: 309 against 411 images/s at batch 32, 20 against 284 at
        # batch 1; benchmarks/results/precision.md)
        blocks[p] = _build(graph[0], graph[1], ctx, shape, fuse=cpu and p == "fp32")
    if precision == "auto":
        times = {p: _seconds_per_call(b, shape, ctx) for p, b in blocks.items()}
        precision = min(times, key=times.get)
        reason = "auto: %s (%s; AMX %s)" % (precision, ", ".join(
            "%s %.1f ms" % (p, t * 1e3) for p, t in times.items()),
            "on" if amx_status()["amx"] else "off")
    return InferenceNet(blocks[precision], precision, shape, ctx, reason)
