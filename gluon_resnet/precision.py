"""fp32 or bfloat16: choosing the faster on this CPU, nets made for fast inference, and
bfloat16 mixed-precision training.

MXNet 1.9's oneDNN runs bfloat16 convolutions on AMX tiles (where :mod:`gluon_resnet.cpu`
unlocked them) several times faster than fp32, but not always: at 32x32 a bf16 training
step was slower, and without AMX bf16 was slower than fp32 (the issue's measurement). So
``"auto"`` never assumes: for inference it picks fp32 where the CPU has no bf16
instructions and otherwise times both on the caller's own net and input shape.

The bfloat16 graphs come from MXNet's AMP (``mx.contrib.amp.convert_model``): the
convolutions and dense layers run in bfloat16, with their weights stored so; for
inference, each BatchNorm that follows a convolution is first folded into it (its
weights and a bias); other BatchNorms, pooling, ReLU and the residual additions run in
the type that reaches them (AMP's lists; BatchNorm's own parameters stay float32); the
input is cast to bfloat16 inside the graph and the output cast back to float32, so
callers pass and get float32 arrays as before.

Training in bfloat16 (:func:`for_training`, ``train(..., precision="bf16")``) runs the
same AMP graph under ``autograd``, with the net's own float32 parameters: the graph casts
them to bfloat16 for the convolutions and dense layers, so their gradients arrive in
float32 and the optimizer updates float32 master weights; the loss is computed on the
float32 output. ``"auto"`` trains in float32 where the CPU has no bfloat16 instructions
(neither AVX512_BF16 nor AMX-BF16), and elsewhere times a training step in both and
keeps the faster, as for inference: with AMX bfloat16 won on ResNet-18 at 112x112 and
more and float32 at 32x32 (benchmarks/results/precision.md); an AMD EPYC with
AVX512_BF16 and no AMX also trained ResNet-18 at 112x112 faster in bfloat16 (as measured
for issue 22), which the earlier rule (time both only with AMX) left unused.
"""
import time

import mxnet as mx
import numpy as np

from .arrays import as_current, as_legacy, legacy_mode
from .context import check_ctx
from .cpu import amx_status, read_cpuinfo
from .export import _full_shape, fold_batchnorm, import_symbol_block, trace

__all__ = ["PRECISIONS", "InferenceNet", "optimize_for_inference", "to_bf16_graph",
           "for_training", "training_precision", "TrainingView", "Fp32Training"]

PRECISIONS = ("auto", "fp32", "bf16")
BFLOAT16 = np.dtype([("bfloat16", np.uint16)])  # MXNet's name for it in numpy terms
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError("precision must be one of %s, got %r"
                         % (", ".join(repr(p) for p in PRECISIONS), precision))
    return precision


def cpu_has_bf16():
    """Whether this CPU has bfloat16 instructions (AVX512_BF16 or AMX-BF16)."""
    return any(f in read_cpuinfo()[1] for f in _BF16_FLAGS)


def _float32_output(sym):
    """``sym`` with its output cast back to float32 if AMP left it in bfloat16 (call in
    legacy mode)."""
    _, out_types, _ = sym.infer_type(data=np.float32)
    if np.dtype(out_types[0]) != np.float32:
        sym = mx.sym.amp_cast(sym, dtype="float32")
    return sym


def to_bf16_graph(sym, params, fold=True):
    """``(sym, params)`` in bfloat16 by MXNet's AMP: convolutions and dense layers (and
    their weights) in bfloat16, the rest as AMP's lists say, float32 in and out. With
    ``fold`` (for inference), BatchNorms that follow convolutions are first folded into
    them (:func:`gluon_resnet.export.fold_batchnorm`): 12-19% faster on ResNet-18 and
    ResNet-50 at 224x224 with AMX (benchmarks/results/precision.md).

    ``params`` are ``arg:NAME``/``aux:NAME`` arrays (as :func:`gluon_resnet.export.trace`
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

    from .export import save_symbol
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


def _amx_text():
    status = amx_status()
    return "AMX on" if status["amx"] else "AMX off: %s" % status["reason"]


def auto_summary():
    """What ``precision="auto"`` does on this CPU, in a sentence (``gluon-resnet info``)."""
    if not cpu_has_bf16():
        return "fp32 (this CPU has no bfloat16 instructions: %s)" % " or ".join(_BF16_FLAGS)
    status = amx_status()
    engine = "AMX" if status["amx"] else "AVX512_BF16; AMX off: %s" % status["reason"]
    return ("times fp32 against bf16 (bf16 on %s) for training at the first batch and for "
            "optimize_for_inference, and keeps the faster" % engine)


def training_precision(precision, ctx=None):
    """``(precision, reason)`` for ``train(..., precision=)`` before any timing: ``'fp32'``
    or ``'bf16'``, or ``'auto'`` where both must be timed (a CPU with bfloat16
    instructions, AVX512_BF16 or AMX-BF16, whether or not oneDNN may use AMX)."""
    check_precision(precision)
    cpu = ctx is None or ctx.device_type == "cpu"
    if precision == "bf16" and not cpu:
        raise ValueError("precision='bf16' is for CPUs (oneDNN); got ctx=%s" % (ctx,))
    if precision != "auto":
        return precision, "asked for %s" % precision
    if not cpu:
        return "fp32", "auto: not a CPU (bfloat16 here is for oneDNN)"
    if cpu_has_bf16():
        return "auto", "auto: this CPU has bfloat16 instructions (%s)" % _amx_text()
    return "fp32", "auto: this CPU has no bfloat16 instructions (%s)" % " or ".join(_BF16_FLAGS)


class TrainingView:
    """The net as its bfloat16 training graph: call it under ``autograd.record()`` in
    place of the net; gradients reach the net's own (float32) parameters, and BatchNorm's
    running statistics are the net's. Takes and returns float32 arrays of the interface
    that is on."""

    precision = "bf16"

    def __init__(self, block, reason):
        self.block, self.reason = block, reason

    def __call__(self, x):
        with legacy_mode():
            out = self.block(as_legacy(x))
        return as_current(out)


def _bf16_view(net, input_shape, reason):
    if not isinstance(net, mx.gluon.HybridBlock):
        raise ValueError("precision='bf16' traces the net to a graph, so it must be a "
                         "HybridBlock; got a %s" % type(net).__name__)
    from mxnet.contrib import amp
    sym, _ = trace(net, _full_shape(input_shape))
    with legacy_mode():
        low = _float32_output(amp.convert_symbol(sym, target_dtype="bfloat16",
                                                 cast_optional_params=False))
        block = mx.gluon.SymbolBlock(low, [mx.sym.var("data", dtype=np.float32)],
                                     params=net.collect_params())
        block.hybridize(static_alloc=True)
    return TrainingView(block, reason)


def _seconds_per_step(fwd, x, y, repeats=3):
    """Forward and backward (no update) of a batch: the fastest of ``repeats`` after two
    warm-ups (the first creates oneDNN's primitives)."""
    loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    times = []
    for i in range(2 + repeats):
        tic = time.perf_counter()
        with mx.autograd.record():
            loss = loss_fn(fwd(x), y)
        loss.backward()
        mx.nd.waitall()
        if i >= 2:
            times.append(time.perf_counter() - tic)
    return min(times)


def _time_both(net, view, x, y):
    """``{precision: seconds per step}``; the net's BatchNorm running statistics (and any
    other state that is not trained) are put back as they were."""
    frozen = [p for p in net.collect_params().values() if p.grad_req == "null"]
    saved = [p.data().copy() for p in frozen]
    try:
        return {"fp32": _seconds_per_step(net, x, y), "bf16": _seconds_per_step(view, x, y)}
    finally:
        for param, value in zip(frozen, saved):
            param.set_data(value)


def for_training(net, input_shape, precision="auto", ctx=None, batch=None):
    """What to call in place of ``net`` to train it in ``precision``.

    Parameters
    ----------
    net : HybridBlock
        The net being trained (either array interface); it is not changed.
    input_shape : tuple of int
        ``(N, C, H, W)`` of a training batch (other batch sizes also work).
    precision : {'auto', 'fp32', 'bf16'}
        ``'auto'``: fp32 on GPUs and on CPUs without bfloat16 instructions; elsewhere
        (AVX512_BF16 or AMX) forward and backward passes in both are timed on ``batch``
        and the faster is kept (bf16 won on ResNet-18 at 112x112 and more, lost at
        32x32: benchmarks/results/precision.md).
    ctx : Context, optional
        Default: where the net's parameters are.
    batch : (X, y), optional
        A training batch for ``auto``'s timing (default: random images, class 0). The
        timing leaves the net's parameters and running statistics as they were; its
        gradients are overwritten.

    Returns
    -------
    HybridBlock, Fp32Training or TrainingView
        ``net`` itself when fp32 was asked for or is the only choice; when ``auto``
        timed both, :class:`Fp32Training` (the net) or a :class:`TrainingView` (bf16,
        sharing the net's parameters), each with ``precision`` and ``reason``.
    """
    if ctx is None:
        ctx = next(iter(net.collect_params().values())).list_ctx()[0]
    precision, reason = training_precision(precision, ctx)
    if precision == "fp32":
        return net
    view = _bf16_view(net, input_shape, reason)
    if precision == "bf16":
        return view
    if batch is None:
        with legacy_mode():
            x = mx.nd.random.uniform(shape=_full_shape(input_shape), ctx=ctx)
            y = mx.nd.zeros((x.shape[0],), ctx=ctx)
        x, y = as_current(x), as_current(y)
    else:
        x, y = batch
    times = _time_both(net, view, x, y)
    choice = min(times, key=times.get)
    reason = "auto: %s (a step: fp32 %.1f ms, bf16 %.1f ms; %s)" % (
        choice, 1e3 * times["fp32"], 1e3 * times["bf16"], _amx_text())
    if choice == "bf16":
        view.reason = reason
        return view
    return Fp32Training(net, reason)


class Fp32Training:
    """The net itself, with the reason ``auto`` chose fp32 (see :func:`for_training`)."""

    precision = "fp32"

    def __init__(self, net, reason):
        self.net, self.reason = net, reason

    def __call__(self, x):
        return self.net(x)
