"""fp32 or bfloat16 for training: choosing the faster on this CPU, and bfloat16
mixed-precision training (inference: :mod:`gluon_resnet.deploy.inference`).

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

from ..arrays import as_current, as_legacy, legacy_mode
from ..cpu import amx_status, read_cpuinfo
from ..models.graph import float32_output as _float32_output, full_shape as _full_shape, trace

__all__ = ["PRECISIONS", "check_precision", "cpu_has_bf16", "auto_summary", "for_training",
           "training_precision", "TrainingView", "Fp32Training"]


PRECISIONS = ("auto", "fp32", "bf16")


_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError("precision must be one of %s, got %r"
                         % (", ".join(repr(p) for p in PRECISIONS), precision))
    return precision


def cpu_has_bf16():
    """Whether this CPU has bfloat16 instructions (AVX512_BF16 or AMX-BF16)."""
    return any(f in read_cpuinfo()[1] for f in _BF16_FLAGS)


def _amx_text():
    status = amx_status()
    return "AMX on" if status["amx"] else "AMX off: %s" % status["reason"]


def auto_summary():
    """What ``precision="auto"`` does on this CPU, in a sentence (``gluon-resnet info``)."""
    if not cpu_has_bf16():
        return "fp32 (this CPU has no bfloat16 instructions: %s)" % " or ".join(_BF16_FLAGS)
    engine = "AMX" if amx_status()["amx"] else "AVX512_BF16; " + _amx_text()
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
