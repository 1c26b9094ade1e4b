"""Fine-tuning: start from trained weights, give the net a new output layer, freeze the rest.

``load_base(source)`` builds a net from a training run, a ``.params`` file or a model
name with published weights; ``replace_output(net, classes)`` swaps its final ``Dense``
for a new, freshly initialised one; ``freeze_features(net)`` leaves only that layer
trainable.
"""
import os

import mxnet as mx
from mxnet.gluon import nn

from ..data import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["load_base", "replace_output", "freeze_features", "output_layer_name"]

# The same initialisation as a new net's (He et al.), see gluon_resnet.models.resnet._INIT.
_INIT = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


def output_layer_name(net):
    """The attribute holding the net's final ``Dense``: ``output`` (v1/v2) or ``fc`` (v1b)."""
    for name in ("output", "fc"):
        if isinstance(getattr(net, name, None), nn.Dense):
            return name
    raise ValueError("%s has no output layer named output or fc; cannot replace it"
                     % type(net).__name__)


def _ctx_list(net):
    return next(iter(net.collect_params().values())).list_ctx()


def replace_output(net, classes):
    """Give ``net`` a new output ``Dense`` with ``classes`` units, initialised afresh.

    The new layer takes the same inputs as the old one and lives on the same contexts;
    the rest of the net keeps its weights. Its parameters keep the structural name
    (``output.weight`` / ``fc.weight``), so checkpoints of the result load into
    ``get_model(name, classes=classes)``. Returns ``net``.
    """
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
        raise ValueError("classes must be a positive int, got %r" % (classes,))
    name = output_layer_name(net)
    old = getattr(net, name)
    in_units = old.weight.shape[1]
    ctx = _ctx_list(net)
    with net.name_scope():
        new = nn.Dense(classes, in_units=in_units)
    new.initialize(_INIT, ctx=ctx)
    setattr(net, name, new)
    net._clear_cached_op()  # the hybridized graph still holds the old layer
    return net


def freeze_features(net):
    """Train only the output layer: every other parameter gets ``grad_req='null'``.

    BatchNorm layers also switch to ``use_global_stats``: they normalise with their
    running statistics in training too and no longer update them, so the frozen part
    computes exactly what it computes at inference. Returns the names of the parameters
    left trainable.
    """
    head = getattr(net, output_layer_name(net))
    trainable = set(head.collect_params().keys())
    for pname, param in net.collect_params().items():
        if pname not in trainable:
            param.grad_req = "null"
    _global_stats(net)
    net._clear_cached_op()
    return sorted(trainable)


def _global_stats(block):
    if isinstance(block, nn.BatchNorm):
        block._kwargs["use_global_stats"] = True
    for child in block._children.values():
        _global_stats(child)


def _params_classes(path):
    from ..params import read_params_file
    loaded = read_params_file(path)
    for key in ("output.weight", "fc.weight"):
        if key in loaded:
            return int(loaded[key].shape[0])
    raise ValueError("%s has no output.weight or fc.weight; expected a .params file saved "
                     "from a gluon_resnet, MXNet or GluonCV ResNet" % path)


def load_base(source, model=None, thumbnail=False, ctx=None):
    """Build the starting net for fine-tuning.

    Parameters
    ----------
    source : str
        A training run directory or its ``checkpoint.json``; a ``.params`` file (of
        ``model``); or a registered model name, meaning its published weights
        (``get_model(name, pretrained=True)``).
    model : str, optional
        The architecture of a ``.params`` file; checked against the others.
    thumbnail : bool, default False
        For a ``.params`` file or a model name: the stem the weights were trained with.
    ctx : Context or list of Context, optional

    Returns
    -------
    net, info
        The net (still with its old output layer) and a dict: ``model`` (name),
        ``in_channels``, ``mean``/``std`` (the normalisation the weights expect: the
        run's own for a checkpoint; ImageNet's for 3-channel weights from a file or a
        name, as the published weights were trained with it; None for 1 channel),
        ``class_names`` (a checkpoint's, if any).

    Raises
    ------
    ValueError
        ``source`` is none of these, or the weights do not fit ``model``.
    """
    from ..models.registry import get_model, list_models
    from .checkpoint import CHECKPOINT_FILE, load_checkpoint
    ctx = ctx if ctx is not None else mx.cpu()
    path = os.fspath(source)
    if os.path.isdir(path) or os.path.basename(path) == CHECKPOINT_FILE:
        net, doc = load_checkpoint(path, ctx=ctx)
        if model is not None and model != doc["model"]["name"]:
            raise ValueError("%s is a %s run, not %s" % (path, doc["model"]["name"], model))
        meta = doc.get("metadata") or {}
        return net, {"model": doc["model"]["name"], "in_channels": doc["model"]["in_channels"],
                     "mean": meta.get("mean"), "std": meta.get("std"),
                     "class_names": meta.get("class_names"), "source": "checkpoint"}
    if os.path.isfile(path):
        if model is None:
            raise ValueError("say which architecture %s holds (model=, --model)" % path)
        net = get_model(model, classes=_params_classes(path), thumbnail=thumbnail, ctx=ctx,
                        pretrained=path)
        kind = "params"
    elif path in list_models():
        if model is not None and model != path:
            raise ValueError("--from %s names another model than %s" % (path, model))
        model = path
        net = get_model(model, thumbnail=thumbnail, ctx=ctx, pretrained=True)
        kind = "published"
    else:
        raise ValueError("cannot fine-tune from %r: expected a training run directory, a "
                         "checkpoint.json, a .params file or a model name (see "
                         "`gluon-resnet models`)" % path)
    in_channels = net._first_conv().weight.shape[1]
    rgb = in_channels == 3
    return net, {"model": model, "in_channels": int(in_channels),
                 "mean": list(IMAGENET_MEAN) if rgb else None,
                 "std": list(IMAGENET_STD) if rgb else None, "class_names": None,
                 "source": kind}
