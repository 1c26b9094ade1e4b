"""The degradation experiment: plain and residual nets trained side by side on the same
data, schedule and seed (:func:`degradation`), and the deeper net that copies a shallower
one with identity layers (:func:`deepen`, :class:`Identity`)."""
import math
import os

import mxnet as mx
import numpy as np
from mxnet import autograd
from mxnet.gluon import nn

from ..arrays import as_current, interface, is_np_array
from .measures import _walk

__all__ = ["Identity", "deepen", "DEGRADATION_SCHEDULE", "degradation", "history_errors"]


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
    from ..models.blocks import _Block
    return {p: b for p, b in _walk(net) if isinstance(b, _Block)}


def _set(param, value):
    param.set_data(as_current(mx.nd.full(param.shape, value)))


def _identity_block(block):
    """Make a block added by :func:`deepen` compute the identity (in inference mode, on
    the non-negative inputs a ReLU gives it): a residual block's branch ends at zero; a
    plain basic block gets :class:`Identity` convolutions and pass-through BatchNorms."""
    from ..models.blocks import _BlockV2
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
    from ..models.registry import get_model
    from ..models.resnet import _ResNetBase
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
    from ..data import FASHION_MNIST_MEAN, FASHION_MNIST_STD, load_data_fashion_mnist
    from ..models.registry import get_model, list_models, unknown_model_message
    from ..training.loop import train
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
