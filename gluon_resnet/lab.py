"""Why residual learning works, measured with the library's own models and data.

The three claims ResNet is taught with, each as a function:

1. **Gradients.** In a deep plain net the chain rule multiplies the layers' derivatives,
   so gradients shrink or grow with depth; a shortcut turns the product into a sum
   (``dH/dx = dF/dx + 1``). :func:`gradient_norms` gives each layer's gradient RMS for
   one batch, and :func:`layer_responses` the spread of each layer's output (He et al.
   2015, Fig. 7: residual branches respond less than plain layers).
2. **Shattered gradients.** As plain nets deepen, the gradients of nearby inputs stop
   being correlated and look like white noise (Balduzzi et al. 2017);
   :func:`gradient_correlation` measures it.
3. **Degradation.** Deeper plain nets train *worse*, on the training data too (He et al.
   2015, Fig. 1 and 6); :func:`degradation` trains nets side by side on the same data,
   schedule and seed. A deeper net could copy a shallower one if its extra layers were
   the identity: :func:`deepen` builds exactly that net (with :class:`Identity`
   convolutions), which SGD from scratch does not find.

Nothing here prints or plots (the ``plot_*`` functions draw on an axes you give them);
nets are measured as they are and left as they were: hybridization, BatchNorm running
statistics and parameters are restored after a measurement that runs in training mode
(only the parameters' gradient buffers are overwritten).
"""
import contextlib
import math
import os
import re

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from mxnet.gluon import nn

from .arrays import _blocks, as_current, interface, is_np_array

__all__ = ["Identity", "gradient_norms", "gradient_correlation", "layer_responses",
           "degradation", "history_errors", "deepen", "DEGRADATION_SCHEDULE",
           "plot_gradient_norms", "plot_layer_responses", "plot_degradation"]


# --------------------------------------------------------------------------------------
# Structure: layers, stages, running a net imperatively
# --------------------------------------------------------------------------------------

_STAGE = re.compile(r"stage(\d+)_$")


def _walk(block, path=""):
    """``(path, block)`` for ``block`` and every descendant, in registration order."""
    yield path, block
    for key, child in block._children.items():
        yield from _walk(child, "%s.%s" % (path, key) if path else key)


def _stage_labels(net):
    """Map each block path to its stage: ``stageN`` inside the residual stages (whose
    prefixes end in ``stageN_``), ``stem`` before the first, ``head`` after the last. For
    nets without such stages, the top-level child (``features``, ``output``, ...)."""
    stage_of, order = {}, []
    for path, block in _walk(net):
        if not path:
            continue
        parent = path.rpartition(".")[0]
        match = _STAGE.search(block.prefix or "")
        if parent in stage_of:
            stage_of[path] = stage_of[parent]
        elif match:
            stage_of[path] = "stage" + match.group(1)
        order.append(path)
    if not stage_of:
        return {p: p.split(".")[0] for p in order}
    labels, seen = {}, False
    for path in order:
        seen = seen or path in stage_of
        labels[path] = stage_of.get(path, "head" if seen else "stem")
    return labels


def _check_batch(net, X, what):
    if not isinstance(X, mx.nd.NDArray):
        raise TypeError("%s expects X as an MXNet array (N, C, H, W), got %s"
                        % (what, type(X).__name__))
    if X.ndim != 4:
        raise ValueError("%s expects X of shape (N, C, H, W), got %s" % (what, X.shape))


def _labels_for(X, y, what):
    if y is None:
        raise ValueError("%s needs the labels y of the batch" % what)
    if isinstance(y, (np.ndarray, list, tuple)):
        y = mx.nd.array(np.asarray(y), ctx=X.context)
    y = as_current(y)
    if y.shape != (X.shape[0],):
        raise ValueError("%s expects y of shape (%d,) for X of shape %s, got %s"
                         % (what, X.shape[0], X.shape, y.shape))
    return y


@contextlib.contextmanager
def _kept(net, X):
    """Run ``net`` imperatively (so that forward hooks on its layers fire), with its
    BatchNorm running statistics restored afterwards; hybridization is put back as it
    was (the cached graph is rebuilt on the next call). ``X`` completes a deferred
    initialisation first (in inference mode, which changes nothing)."""
    if any(p._deferred_init for p in net.collect_params().values()):
        with autograd.predict_mode():
            net(X)
    states = [(b, b._active, list(b._flags)) for b in _blocks(net)
              if isinstance(b, gluon.HybridBlock)]
    aux = [(p, [d.copy() for d in p.list_data()]) for p in net.collect_params().values()
           if p.grad_req == "null" and p._data is not None]
    net.hybridize(False)
    try:
        yield
    finally:
        for param, datas in aux:
            for old, new in zip(param.list_data(), datas):
                new.copyto(old)
        for block, active, flags in states:
            block._active, block._flags = active, flags
            block._clear_cached_op()


def _rms(arrays):
    total = sum(float(np.square(a.asnumpy().astype("float64")).sum()) for a in arrays)
    count = sum(a.size for a in arrays)
    return math.sqrt(total / count) if count else float("nan")


# --------------------------------------------------------------------------------------
# 1. Gradients and responses
# --------------------------------------------------------------------------------------

def gradient_norms(net, X, y, loss=None):
    """Gradient RMS of every layer's weight, and of every stage, for one batch in
    training mode (BatchNorm with batch statistics, as in training).

    Parameters
    ----------
    net : HybridBlock
        An initialised net (trained or not), e.g. ``get_model("cifar_plain56")``.
    X : array (N, C, H, W)
        One batch, an array of the net's interface.
    y : array (N,)
        Its labels.
    loss : gluon.loss.Loss, optional
        Default softmax cross-entropy; the mean over the batch is differentiated.

    Returns
    -------
    dict
        ``layers``: one dict per convolution or dense layer, in the net's order, with
        ``layer`` (structural path, as in :func:`~gluon_resnet.summary`), ``stage``
        (``stem``, ``stage1``..., ``head``), ``shape``, ``grad_rms`` and ``weight_rms``;
        ``stages``: ``{stage: grad_rms over all its weights}`` in order; ``loss``.

    Notes
    -----
    The parameters' gradient buffers are overwritten; BatchNorm running statistics are
    restored afterwards.
    """
    _check_batch(net, X, "gradient_norms")
    y = _labels_for(X, y, "gradient_norms")
    loss = loss if loss is not None else gluon.loss.SoftmaxCrossEntropyLoss()
    labels = _stage_labels(net)
    with _kept(net, X):
        with autograd.record(train_mode=True):
            value = loss(net(X), y).mean()
        value.backward()
        rows = []
        for path, param in net._collect_params_with_prefix().items():
            layer, _, kind = path.rpartition(".")
            if kind != "weight" or param.grad_req == "null" or len(param.shape) < 2:
                continue
            grad, weight = param.grad(), param.data()
            rows.append({"layer": layer, "stage": labels.get(layer, layer.split(".")[0]),
                         "shape": list(param.shape), "grad_rms": _rms([grad]),
                         "weight_rms": _rms([weight]), "_grad": grad})
        stages = {}
        for row in rows:
            stages.setdefault(row["stage"], []).append(row.pop("_grad"))
        stage_rms = {stage: _rms(grads) for stage, grads in stages.items()}
        loss_value = float(value.asnumpy())
    return {"layers": rows, "stages": stage_rms, "loss": loss_value}


def _response_layers(net):
    """The layers whose outputs :func:`layer_responses` records: every BatchNorm outside
    projection shortcuts (the paper's "after BN, before the nonlinearity"); for nets
    without BatchNorm, every convolution and dense layer."""
    chosen = []
    for path, block in _walk(net):
        if isinstance(block, nn.BatchNorm) and ".downsample" not in "." + path:
            # ResNet v2 normalises its input with a BN without scale: not a layer's response.
            if block._kwargs.get("fix_gamma") and not block._kwargs.get("use_global_stats"):
                continue
            chosen.append((path, block))
    if not chosen:
        chosen = [(p, b) for p, b in _walk(net) if isinstance(b, (nn.Conv2D, nn.Dense))]
    return chosen


def layer_responses(net, X, train_mode=False):
    """Standard deviation of each layer's response to a batch: the paper's Fig. 7 (He et
    al. 2015), "the outputs of each 3x3 layer, after BN and before nonlinearity".

    Parameters
    ----------
    net : HybridBlock
        An initialised net.
    X : array (N, C, H, W)
        A batch of the net's interface.
    train_mode : bool, default False
        Normalise with batch statistics (training mode) instead of the running ones.
        The paper measures trained nets in inference mode.

    Returns
    -------
    list of dict
        One per BatchNorm outside the projection shortcuts (for nets without BatchNorm:
        per convolution and dense layer), in forward order: ``layer`` (path), ``stage``,
        ``std`` (over the batch, channels and positions of its output).
    """
    _check_batch(net, X, "layer_responses")
    labels = _stage_labels(net)
    stds, handles = {}, []
    order = []

    def hook(path):
        def record(block, inputs, output):
            order.append(path)
            stds[path] = float(output.astype("float64").asnumpy().std())
        return record

    with _kept(net, X):
        try:
            for path, block in _response_layers(net):
                handles.append(block.register_forward_hook(hook(path)))
            with autograd.record(train_mode=train_mode) if train_mode else \
                    autograd.predict_mode():
                net(X).wait_to_read()
        finally:
            for h in handles:
                h.detach()
    return [{"layer": p, "stage": labels.get(p, p.split(".")[0]), "std": stds[p]}
            for p in dict.fromkeys(order)]


def _input_gradients(net, X, direction, train_mode):
    X = X.copy()
    X.attach_grad()
    with autograd.record(train_mode=train_mode):
        out = net(X)
        scalar = (out * direction).sum()
    scalar.backward()
    return X.grad.asnumpy().reshape(X.shape[0], -1).astype("float64")


def _correlation(a, b):
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1), 0.0)


def gradient_correlation(net, X, distances=(0.001, 0.01, 0.1), seed=0, train_mode=True):
    """The shattered-gradients measure (Balduzzi et al. 2017): how correlated the input
    gradients of nearby inputs are.

    For each image ``x`` of the batch and each distance ``d``, a neighbour
    ``x' = x + d * std(X) * noise`` (Gaussian, seeded) is taken, and the Pearson
    correlation of ``dS/dx`` and ``dS/dx'`` over the pixels is computed, where ``S`` is
    the net's output projected on a fixed random direction per image (the same for both).
    A smooth net gives correlations near 1; "shattered" gradients, near 0.

    Parameters
    ----------
    net : HybridBlock
        An initialised net; measured as is (at initialisation, as the paper, or trained).
    X : array (N, C, H, W)
        The images, an array of the net's interface.
    distances : sequence of float, default (0.001, 0.01, 0.1)
        Neighbour distances, relative to the batch's standard deviation.
    seed : int, default 0
        Seeds the noise and the output direction.
    train_mode : bool, default True
        BatchNorm with batch statistics (as when training; right for an untrained net,
        whose running statistics are still 0 and 1). BatchNorm's running statistics are
        restored afterwards either way.

    Returns
    -------
    dict
        ``distances`` (as given), ``correlation`` (the mean over the images, one per
        distance), ``per_image`` (N values per distance).
    """
    _check_batch(net, X, "gradient_correlation")
    distances = [float(d) for d in distances]
    if not distances or any(not d > 0 for d in distances):
        raise ValueError("distances must be positive numbers, got %r" % (distances,))
    rng = np.random.RandomState(seed)
    scale = float(X.astype("float64").asnumpy().std()) or 1.0
    with _kept(net, X):
        out = net(X)
        direction = as_current(mx.nd.array(rng.normal(size=out.shape), ctx=X.context))
        base = _input_gradients(net, X, direction, train_mode)
        per_image = []
        for d in distances:
            noise = rng.normal(size=X.shape) * d * scale
            near = X + as_current(mx.nd.array(noise, ctx=X.context, dtype=X.dtype))
            per_image.append(_correlation(base, _input_gradients(net, near, direction,
                                                                  train_mode)).tolist())
    return {"distances": distances, "correlation": [float(np.mean(c)) for c in per_image],
            "per_image": per_image}


# --------------------------------------------------------------------------------------
# 3. Degradation, and the constructed deeper net
# --------------------------------------------------------------------------------------

@mx.init.register
class Identity(mx.init.Initializer):
    """Initialise a square convolution (``out == in`` channels, odd kernel) as the
    identity: 1 at the centre of channel ``i``'s kernel for output ``i``, 0 elsewhere.
    A 3x3 convolution can compute its input exactly; this is that solution.

    Examples
    --------
    >>> conv = nn.Conv2D(16, 3, padding=1, in_channels=16, use_bias=False)
    >>> conv.initialize(Identity())
    """

    def _init_weight(self, name, arr):
        if arr.ndim != 4 or arr.shape[0] != arr.shape[1] or arr.shape[2] % 2 == 0 \
                or arr.shape[3] % 2 == 0:
            raise ValueError("Identity initialises square convolutions with odd kernels "
                             "(shape (C, C, k, k)), got %s for %s" % (arr.shape, name))
        weight = np.zeros(arr.shape, dtype="float32")
        c, _, kh, kw = arr.shape
        weight[np.arange(c), np.arange(c), kh // 2, kw // 2] = 1
        arr[:] = weight

    def _init_bias(self, name, arr):
        arr[:] = 0


def _residual_blocks(net):
    """``{path: block}`` of the net's residual (or plain) blocks."""
    from .blocks import _Block
    return {p: b for p, b in _walk(net) if isinstance(b, _Block)}


def _set(param, value):
    param.set_data(as_current(mx.nd.full(param.shape, value)))


def _identity_block(block):
    """Make a block added by :func:`deepen` compute the identity (in inference mode, on
    the non-negative inputs a ReLU gives it): a residual block's branch ends at zero; a
    plain basic block gets :class:`Identity` convolutions and pass-through BatchNorms."""
    from .blocks import _BlockV2
    if block.downsample is not None:
        raise ValueError("deepen adds blocks without a projection (shortcut 'A', 'B' or "
                         "plain); this one has %s" % type(block.downsample).__name__)
    convs = [b for _, b in _walk(block) if isinstance(b, nn.Conv2D)]
    bns = [b for _, b in _walk(block) if isinstance(b, nn.BatchNorm)]
    if block.shortcut is not None:
        if isinstance(block, _BlockV2):   # ... + conv(...): zero the last convolution
            _set(convs[-1].weight, 0.0)
        else:                             # ... + BN(...): zero the last BatchNorm
            _set(bns[-1].gamma, 0.0)
            _set(bns[-1].beta, 0.0)
        return
    for conv in convs:
        conv.weight.set_data(as_current(mx.nd.array(_identity_kernel(conv.weight.shape))))
        if conv.bias is not None:
            _set(conv.bias, 0.0)
    for bn in bns:
        # Inference BN: (x - 0) / sqrt(1 + eps) * gamma + 0 = x for gamma = sqrt(1 + eps).
        _set(bn.gamma, math.sqrt(1 + bn._kwargs["eps"]))
        _set(bn.beta, 0.0)
        _set(bn.running_mean, 0.0)
        _set(bn.running_var, 1.0)


def _identity_kernel(shape):
    arr = mx.nd.zeros(shape)
    Identity()._init_weight("weight", arr)
    return arr.asnumpy()


def deepen(net, name, ctx=None):
    """A deeper net of the same family that computes what ``net`` computes: ``net``'s
    blocks first in every stage, then identity blocks (in inference mode).

    The construction of He et al. (2015, section 1): "the added layers are identity
    mapping, and the other layers are copied from the learned shallower model". A plain
    block gets :class:`Identity` convolutions and BatchNorms that pass their input
    through; a residual block gets a zero branch. Compare its training error with the
    same deep net trained from scratch: the degradation problem says SGD does not find
    this solution.

    Parameters
    ----------
    net : HybridBlock
        A trained registered model (``net.model_name``), e.g. ``cifar_plain20``.
    name : str
        A deeper registered model with the same stem, stages, channels and block type,
        and at least as many blocks per stage, e.g. ``cifar_plain56``.
    ctx : Context, optional
        Default the context of ``net``'s parameters.

    Returns
    -------
    HybridBlock
        The deep net, hybridized, in ``net``'s array interface.
    """
    from .registry import get_model
    from .resnet import _ResNetBase
    if not isinstance(net, _ResNetBase) or not getattr(net, "model_name", None):
        raise TypeError("deepen takes a registered ResNet or plain net (built by "
                        "get_model), got %s" % type(net).__name__)
    if any(p._deferred_init or p._data is None for p in net.collect_params().values()):
        raise ValueError("deepen needs %s's parameters initialised; pass a batch through "
                         "it first" % net.model_name)
    ctx = ctx if ctx is not None else list(net.collect_params().values())[0].list_ctx()[0]
    in_channels = net._first_conv().weight.shape[1]
    dense = [p for k, p in net._collect_params_with_prefix().items()
             if k.endswith("weight") and len(p.shape) == 2][-1]
    with interface(net.np_mode):
        deep = get_model(name, classes=dense.shape[0], in_channels=in_channels,
                         thumbnail=net.stem == "thumbnail", ctx=ctx, hybridize=False)
        size = max(net.min_size, 8)
        with autograd.predict_mode():   # completes the deferred shapes (BatchNorm's)
            deep(as_current(mx.nd.zeros((1, in_channels, size, size), ctx=ctx)))
        shallow_params = net._collect_params_with_prefix()
        deep_params = deep._collect_params_with_prefix()
        shallow_blocks, deep_blocks = _residual_blocks(net), _residual_blocks(deep)
        kinds = {(type(b), b.shortcut) for b in shallow_blocks.values()}
        if type(deep) is not type(net) or deep.strides != net.strides or \
                {(type(b), b.shortcut) for b in deep_blocks.values()} != kinds or \
                not set(shallow_blocks) <= set(deep_blocks) or \
                not set(shallow_params) <= set(deep_params):
            raise ValueError("deepen: %s is not a deeper %s (same stem, stages, channels, "
                             "blocks and shortcuts, more blocks)" % (name, net.model_name))
        for key, param in shallow_params.items():
            if deep_params[key].shape != param.shape:
                raise ValueError("deepen: %s's %s has shape %s, %s's %s"
                                 % (name, key, deep_params[key].shape, net.model_name,
                                    param.shape))
            deep_params[key].set_data(param.data(ctx))
        for path, block in deep_blocks.items():
            if path not in shallow_blocks:
                _identity_block(block)
        deep.hybridize(static_alloc=True)
    return deep


#: The one schedule of :func:`degradation` (as the paper's CIFAR-10 runs, section 4.2:
#: SGD, momentum 0.9, weight decay 1e-4, batch 128, rate 0.1 divided by 10 at half and
#: three quarters of the run).
DEGRADATION_SCHEDULE = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "wd": 1e-4,
                        "schedule": "step", "batch_size": 128}


def degradation(models, epochs, out=None, resume=False, batch_size=128, lr=0.1, seed=0,
                num_train=None, num_test=None, data_dir=None, ctx=None, callbacks=None,
                np_mode=None):
    """Train each model on the same Fashion-MNIST data, schedule and seed; return the
    per-epoch training and test error of each.

    Parameters
    ----------
    models : sequence of str
        Registered model names, e.g. ``["cifar_plain20", "cifar_plain56",
        "cifar_resnet20", "cifar_resnet56"]``. ImageNet-stem nets get ``thumbnail=True``.
    epochs : int
    out : str, optional
        A directory: each model trains with its checkpoints in ``out/MODEL``, so the
        comparison can be stopped and resumed (``resume=True``) model by model, epoch by
        epoch.
    resume : bool, default False
        Continue the runs in ``out``.
    batch_size, lr, seed
        The schedule of :data:`DEGRADATION_SCHEDULE` with this batch size and rate; the
        same seed builds every net and orders the data.
    num_train, num_test : int, optional
        Class-stratified subsets (default: all 60,000 and 10,000 images).
    data_dir : str, optional
        Fashion-MNIST directory (see :func:`gluon_resnet.data.read_fashion_mnist`).
    ctx : Context, optional
    callbacks : callable, optional
        ``callbacks(model_name) -> list`` of :func:`~gluon_resnet.train` callbacks (a
        progress bar, a writer).
    np_mode : bool, optional
        Build and train in numpy mode (``npx.set_np()``) or not; default: the interface
        that is on. The results are the same.

    Returns
    -------
    dict
        ``{model: {"train_error": [...], "test_error": [...], "loss": [...],
        "epoch_time": [...]}}`` per epoch. Training error is measured while training
        (as d2l and the paper's curves do), test error after each epoch.
    """
    from .data import FASHION_MNIST_MEAN, FASHION_MNIST_STD, load_data_fashion_mnist
    from .registry import get_model, list_models, unknown_model_message
    from .train import train
    models = list(models)
    if not models:
        raise ValueError("degradation needs at least one model name")
    for name in models:
        if name not in list_models():
            raise ValueError(unknown_model_message(name))
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError("epochs must be a positive int, got %r" % (epochs,))
    if resume and out is None:
        raise ValueError("resume=True needs out, the directory of the runs")
    results = {}
    ctx = ctx or mx.cpu()
    with interface(is_np_array() if np_mode is None else np_mode):
        train_iter, test_iter = load_data_fashion_mnist(
            batch_size, root=data_dir, ctx=ctx, seed=seed, num_train=num_train,
            num_test=num_test, mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD)
        order = train_iter.rng_state()  # every model sees the data in the same order
        for name in models:
            train_iter.set_rng_state(order)
            mx.random.seed(seed)
            np.random.seed(seed)
            net = get_model(name, classes=10, in_channels=1, ctx=ctx,
                            thumbnail=not name.startswith("cifar_"))
            history = train(
                net, train_iter, test_iter, epochs, lr, ctx=ctx,
                optimizer="sgd", momentum=DEGRADATION_SCHEDULE["momentum"],
                wd=DEGRADATION_SCHEDULE["wd"], schedule="step", seed=seed,
                checkpoint_dir=None if out is None else os.path.join(out, name),
                resume=resume, callbacks=list(callbacks(name)) if callbacks else (),
                metadata={"lab": "degradation", "num_train": num_train,
                          "num_test": num_test, "batch_size": batch_size})
            results[name] = history_errors(history)
    return results


def history_errors(history):
    """What :func:`degradation` reports of one model's :class:`~gluon_resnet.History`:
    ``train_error``, ``test_error``, ``loss`` and ``epoch_time`` per epoch."""
    return {"train_error": [1 - a for a in history.train_acc],
            "test_error": [1 - a for a in history.test_acc],
            "loss": list(history.loss), "epoch_time": list(history.epoch_time)}


# --------------------------------------------------------------------------------------
# Plots: on an axes the caller gives
# --------------------------------------------------------------------------------------

def _colors(n):
    from matplotlib import cm
    return [cm.tab10(i % 10) for i in range(n)]


def plot_gradient_norms(ax, norms):
    """Per-layer gradient RMS (log scale) against layer index, one line per net.

    ``norms``: ``{label: gradient_norms(...) result}``."""
    for color, (label, result) in zip(_colors(len(norms)), norms.items()):
        values = [r["grad_rms"] for r in result["layers"]]
        ax.plot(range(1, len(values) + 1), values, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer (input to output)")
    ax.set_ylabel("weight-gradient RMS")
    ax.legend(fontsize="small")


def plot_layer_responses(ax, responses, sort=False):
    """The paper's Fig. 7: std of each layer's response against layer index (or sorted
    by magnitude, ``sort=True``), one line per net. ``responses``: ``{label:
    layer_responses(...) result}``."""
    for color, (label, rows) in zip(_colors(len(responses)), responses.items()):
        values = [r["std"] for r in rows]
        if sort:
            values = sorted(values, reverse=True)
        ax.plot(range(1, len(values) + 1), values, color=color, label=label)
    ax.set_xlabel("layer index (sorted by magnitude)" if sort else "layer index (original)")
    ax.set_ylabel("std")
    ax.legend(fontsize="small")


def plot_degradation(ax, results, percent=True):
    """The paper's Fig. 6: training error (dashed) and test error (solid) against
    epochs, one colour per net. ``results``: what :func:`degradation` returns."""
    scale = 100 if percent else 1
    for color, (label, r) in zip(_colors(len(results)), results.items()):
        epochs = range(1, len(r["train_error"]) + 1)
        ax.plot(epochs, [e * scale for e in r["train_error"]], "--", color=color)
        ax.plot(epochs, [e * scale for e in r["test_error"]], "-", color=color, lw=2,
                label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)" if percent else "error")
    ax.legend(fontsize="small", title="dashed: training, solid: test",
              title_fontsize="small")
