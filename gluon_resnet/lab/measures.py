"""Measures of a net as it is: each layer's gradient RMS for one batch
(:func:`gradient_norms`), the spread of each layer's output (:func:`layer_responses`),
and how correlated the gradients of nearby inputs are (:func:`gradient_correlation`).
Nets are left as they were (see :mod:`gluon_resnet.lab`)."""
import contextlib
import math
import re

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from mxnet.gluon import nn

from ..arrays import _blocks, as_current

__all__ = ["gradient_norms", "layer_responses", "gradient_correlation"]


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
        ``layer`` (structural path, as in :func:`~gluon_resnet.models.summary`), ``stage``
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
        The paper measures trained nets in inference mode; use ``True`` for an untrained
        net, whose running statistics are still the defaults (mean 0, variance 1).

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
