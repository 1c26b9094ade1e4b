"""Where a net trains (its contexts, checked against its parameters), batches split over
them, and test accuracy (:func:`evaluate_accuracy`, as d2l's)."""

import mxnet as mx
from mxnet import autograd, gluon

from ..arrays import as_legacy
from ..context import check_ctx
from .callbacks import _ctx_text

__all__ = ["evaluate_accuracy"]


def _as_ctx_list(ctx):
    ctxs = list(ctx) if isinstance(ctx, (list, tuple)) else [ctx]
    if not ctxs or not all(isinstance(c, mx.Context) for c in ctxs):
        raise ValueError("ctx must be an mxnet.Context or a non-empty list of them, got %r"
                         % (ctx,))
    if len(set(ctxs)) != len(ctxs):
        raise ValueError("ctx lists a context twice: %s" % _ctx_text(ctxs))
    return ctxs


def _net_contexts(net):
    """The contexts of ``net``'s parameters; a clear error if some are uninitialised."""
    where, uninitialised = [], []
    for name, param in net.collect_params().items():
        try:
            ctxs = param.list_ctx()  # deferred initialisation counts as initialised
        except RuntimeError:
            uninitialised.append(name)
            continue
        where.extend(c for c in ctxs if c not in where)
    if uninitialised:
        raise ValueError(
            "%d of the net's parameters are not initialised (%s%s); call "
            "net.initialize(ctx=...) first, or build the net with gluon_resnet.get_model(...), "
            "which initialises it. train() never initialises a net itself, so that a net "
            "being fine-tuned keeps its weights"
            % (len(uninitialised), ", ".join(uninitialised[:3]),
               ", ..." if len(uninitialised) > 3 else ""))
    if not where:
        raise ValueError("the net has no parameters to train")
    return where


def _resolve_ctx(net, ctx):
    """``ctx`` as a list, checked against where the net's parameters are."""
    where = _net_contexts(net)
    check_ctx(ctx, "train(ctx=%s)" % (ctx,))
    check_ctx(where, "train: the net (its parameters are on %s)" % _ctx_text(where))
    if ctx is None:
        return where
    ctxs = _as_ctx_list(ctx)
    if set(ctxs) != set(where):
        raise ValueError(
            "the net's parameters are on %s but ctx is %s; move them first with "
            "net.collect_params().reset_ctx(%s)"
            % (_ctx_text(where), _ctx_text(ctxs), _ctx_text(ctxs)))
    return ctxs


def _split(X, y, ctxs):
    k = min(len(ctxs), X.shape[0])
    return (gluon.utils.split_and_load(X, ctxs[:k], even_split=False),
            gluon.utils.split_and_load(y, ctxs[:k], even_split=False))


def _correct(out, y):
    """Correct predictions in a batch, as a legacy (1,) array (either interface in)."""
    out, y = as_legacy(out), as_legacy(y)
    return (out.argmax(axis=1) == y.astype("float32")).sum()


def evaluate_accuracy(net, data_iter, ctx=None):
    """Fraction of examples whose arg-max prediction equals the label (d2l).

    Runs in inference mode and waits for the device once, at the end.

    Parameters
    ----------
    net : Block
    data_iter : iterable of (X, y)
    ctx : Context or list of Context, optional
        Default: where the net's parameters are. With several, batches are split.

    Returns
    -------
    float
    """
    correct, n = _count_correct(net, data_iter, _resolve_ctx(net, ctx))
    return correct / n


def _count_correct(net, data_iter, ctxs):
    """(correct predictions, examples) over ``data_iter``."""
    correct = [mx.nd.zeros((1,), ctx=c) for c in ctxs]
    n = 0
    with autograd.predict_mode():
        for X, y in data_iter:
            Xs, ys = _split(X, y, ctxs)
            for j, (x, t) in enumerate(zip(Xs, ys)):
                correct[j] += _correct(net(x), t)
            n += X.shape[0]
    if not n:
        raise ValueError("data_iter yielded no examples")
    return float(sum(c.asscalar() for c in correct)), n
