"""Training the d2l way: ``train(...) -> History``.

:func:`train` is d2l's ``train_ch6`` loop (``autograd.record``, ``backward``,
``trainer.step``), shaped as d2l 1.0's ``Trainer.fit`` / ``fit_epoch``: :func:`fit_epoch`
is the per-batch path on one screen (forward, loss, backward, step, accumulate). What a
real run adds (several contexts, SGD/NAG/Adam, learning-rate schedules with warm-up,
label smoothing, bfloat16, distributed training, checkpoints that survive a crash and
resume to the same result, a clear stop when the loss diverges) enters through one seam
each, set up by :class:`~gluon_resnet.training.run.Run`. It prints and plots nothing:
:class:`PrintLines`, :class:`ProgressBar`, :class:`Animator`, :class:`SaveCurves` and
:class:`SaveHistory` (:mod:`gluon_resnet.training.callbacks`) are callbacks the caller
attaches, called as Keras calls its callbacks.

The loop never waits for the device inside an epoch: loss sums and correct counts are
kept as NDArrays and read once at the end of the epoch (callbacks such as
:class:`ProgressBar` may read them more often; that is their cost).
"""
import time

from mxnet import autograd

from .callbacks import (Animator, Callback, PrintLines, ProgressBar, SaveCurves,  # noqa: F401
                        SaveHistory, _call)
from .checkpoint import CHECKPOINT_FILE, load_checkpoint, read_checkpoint  # noqa: F401
from .evaluate import _split, evaluate_accuracy  # noqa: F401
from .loss import SmoothedCrossEntropyLoss  # noqa: F401
from .run import Run
from .schedule import LRSchedule  # noqa: F401
from .state import History, TrainingDiverged, TrainState  # noqa: F401

__all__ = [
    "train", "fit_epoch", "evaluate_accuracy", "History", "TrainState", "TrainingDiverged",
    "LRSchedule", "SmoothedCrossEntropyLoss",
    # Re-exported from gluon_resnet.training.callbacks and .checkpoint:
    "Callback", "PrintLines", "ProgressBar", "Animator", "SaveCurves", "SaveHistory",
    "read_checkpoint", "load_checkpoint", "CHECKPOINT_FILE",
]


def fit_epoch(run, epoch):
    """One epoch of d2l's loop over ``run.train_iter``: forward, loss, backward, step,
    accumulate. ``run`` (:class:`~gluon_resnet.training.run.Run`) brings the seams: the
    forward function (the precision), the batch split and gradient reducer (the
    distribution), the schedule and the callbacks."""
    for i, (X, y) in enumerate(run.train_iter):
        run.next_lr()
        Xs, ys = _split(X, y, run.ctxs)  # the batch over this worker's contexts
        run.first_batch(Xs, ys, epoch)  # (once: same start everywhere, the precision)
        with autograd.record():
            outs = [run.forward(x) for x in Xs]
            losses = [run.loss_fn(o, t) for o, t in zip(outs, ys)]
        autograd.backward(losses)
        run.dist.reduce_gradients(run.trainer._params)  # (over workers, if any)
        run.trainer.step(run.dist.step_size(X.shape[0]))
        run.accumulate(i, X, outs, ys, losses)
        if run.end_batch():
            break


def train(net, train_iter, test_iter, num_epochs, lr, ctx=None, *, optimizer="sgd",
          momentum=0.9, wd=0.0, schedule="constant", milestones=None, factor=0.1,
          warmup_epochs=0, warmup_steps=None, final_lr=0.0, label_smoothing=0.0,
          no_wd_bn_bias=False, callbacks=(), checkpoint_dir=None, resume=False, seed=None,
          metadata=None, allow_pickle=False, precision="fp32", kvstore=None):
    """Train ``net`` with softmax cross-entropy, as d2l's ``train_ch6``.

    The net is trained as given: it is not initialised or re-initialised here (so
    fine-tuning keeps its weights), hybridized or not as the caller left it. Nothing is
    printed; pass callbacks (:class:`PrintLines`, :class:`ProgressBar`, ...).

    Parameters
    ----------
    net : Block
        An initialised network (e.g. from :func:`gluon_resnet.get_model`).
    train_iter, test_iter : iterable of (X, y)
        Re-iterable batches (X float32 (B, C, H, W), y integer labels (B,)), such as
        :func:`gluon_resnet.data.load_data_fashion_mnist` returns: ``mx.np`` arrays for
        a net built in numpy mode (``npx.set_np()``), ``mx.nd`` arrays otherwise. Both
        interfaces train alike; checkpoints of either load in either. ``train_iter`` must
        have ``len()`` for the ``step``/``cosine`` schedules and epoch warm-up.
        ``test_iter`` may be None.
    num_epochs : int
        The total number of epochs, including any already done when resuming.
    lr : float
        Base learning rate.
    ctx : Context or list of Context, optional
        Where to train; default where the net's parameters are. With several contexts
        every batch is split across them (``gluon.utils.split_and_load``) and gradients
        are summed. They must be the contexts of the net's parameters; move the net
        first with ``net.collect_params().reset_ctx(ctx)``.
    optimizer : {'sgd', 'nag', 'adam'}, default 'sgd'
        SGD and NAG use ``momentum``.
    momentum : float, default 0.9
    wd : float, default 0
        Weight decay (L2).
    schedule : {'constant', 'step', 'cosine'} or callable, default 'constant'
        See :class:`LRSchedule`; a callable maps the update step (from 0) to the rate.
    milestones : sequence of float, optional
        Epochs at which ``step`` multiplies the rate by ``factor``; default at 1/2 and
        3/4 of ``num_epochs``.
    factor : float, default 0.1
    warmup_epochs : float, default 0
        Linear warm-up from ``lr / warmup_steps`` to ``lr``, in epochs...
    warmup_steps : int, optional
        ... or in updates (overrides ``warmup_epochs``).
    final_lr : float, default 0
        Where ``cosine`` ends.
    label_smoothing : float, default 0
        0 uses ``gluon.loss.SoftmaxCrossEntropyLoss``; otherwise
        :class:`SmoothedCrossEntropyLoss`.
    no_wd_bn_bias : bool, default False
        No weight decay on BatchNorm gamma/beta and biases (their ``wd_mult`` is set to
        0 during training and restored afterwards).
    callbacks : sequence
        Objects with any of the :class:`Callback` methods.
    checkpoint_dir : str, optional
        Write a checkpoint after every epoch (see below).
    resume : bool, default False
        Continue from the checkpoint in ``checkpoint_dir`` if there is one (else start
        afresh). Without ``resume``, an existing checkpoint there is an error, never
        overwritten.
    seed : int, optional
        Seeds ``mx.random`` at the start of every epoch (from ``seed`` and the epoch
        number), so that operators drawing random numbers repeat on resume.
    metadata : dict, optional
        JSON-ready data stored in the checkpoint (e.g. how the data was prepared).
    allow_pickle : bool, default False
        Resume a checkpoint of format 1 (pickled states), converting it first; only for
        checkpoints you trust (see :mod:`gluon_resnet.training.checkpoint`).
    precision : {'fp32', 'bf16', 'auto'}, default 'fp32'
        ``'bf16'``: mixed precision on the CPU (bfloat16 convolutions and dense layers
        through oneDNN, float32 master weights, loss and evaluation); ``'auto'``: on a
        CPU with bfloat16 instructions (AVX512_BF16 or AMX), a training step of the
        first batch is timed in both and the faster kept; fp32 elsewhere (see
        :mod:`gluon_resnet.training.precision`). The net must then be a HybridBlock. Recorded in
        the checkpoint, with the reason; a resumed ``'auto'`` run keeps the precision
        recorded there (where it would time both).
    kvstore : {'local', 'device', 'dist_sync', 'dist_device_sync', 'dist_async'} or KVStore, optional
        How gradients move between contexts and processes (default: ``gluon.Trainer``'s
        ``'device'``). The ``dist_*`` kinds train data-parallel in the processes that
        ``gluon-resnet launch`` starts: each worker calls ``train`` with the same
        arguments; ``train_iter`` (which needs a ``shard`` method, as
        :class:`~gluon_resnet.data.ImageArrayIter` has) is cut into equal parts by rank,
        and each update is the mean over all workers' batches (``batch_size *
        num_workers`` examples). Rank 0 writes the checkpoints, which every worker reads
        to resume. See :mod:`gluon_resnet.training.distributed` for what is synchronised and
        what is not, and for ``dist_async``'s limits.

    Returns
    -------
    History

    Raises
    ------
    TrainingDiverged
        If the loss becomes NaN or infinite; checked at the end of each epoch (without
        waiting for the device per batch), before anything of that epoch is saved.
    ValueError
        For bad arguments, an uninitialised net, parameters on other contexts, or a
        checkpoint of another model, before any training.
    gluon_resnet.training.checkpoint.RunLocked
        If another process is training with the same ``checkpoint_dir``.
    gluon_resnet.training.checkpoint.CheckpointError
        If a checkpoint cannot be written (disk full, a file-size limit); the previous
        checkpoint is left intact and resumable.

    Notes
    -----
    **Checkpoints.** After epoch ``e`` the directory holds ``epoch-000e.params``
    (the net), ``epoch-000e.states`` (the optimizer's arrays: momentum, Adam moments),
    ``epoch-000e.rng.json`` (numpy's global random state and the training iterator's,
    if it has ``rng_state()``) and, written last, ``checkpoint.json`` (epoch, file
    names, history, model name/classes/input shape, settings, the optimizer's update
    counts). Nothing is pickled. Each file is written under a temporary name and
    renamed, so a crash leaves the previous checkpoint complete; the directory is
    locked while training runs. :func:`load_checkpoint` rebuilds the net.

    **Reproducibility.** On CPU, a run with the same seeds (``mx.random.seed`` before
    building the net, the data iterator's ``seed``, ``seed`` here), the same contexts
    and the same thread count (``OMP_NUM_THREADS``) repeats to the last bit, and a run
    stopped after any epoch and resumed gives the same parameters and history (times
    aside). Not covered: GPUs (cuDNN may pick non-deterministic algorithms; set
    ``MXNET_CUDNN_AUTOTUNE_DEFAULT=0`` and ``MXNET_ENFORCE_DETERMINISM=1`` to get
    closer), different thread counts or contexts (summation order changes), and
    iterators whose randomness is not in numpy's global state or ``rng_state()``.
    Interrupting in the middle of an epoch loses that epoch.

    **Stopping early.** A callback that sets ``state.stop_training = True`` (a time
    budget spent, a target accuracy reached) ends training after the current batch or
    epoch, and the History so far is returned. An epoch cut short this way is
    evaluated and recorded like the others (its loss and accuracy over the batches it
    did), but no checkpoint is written for it: ``resume`` repeats it in full.
    """
    opts = dict(optimizer=optimizer, momentum=momentum, wd=wd, schedule=schedule,
                milestones=milestones, factor=factor, warmup_epochs=warmup_epochs,
                warmup_steps=warmup_steps, final_lr=final_lr, label_smoothing=label_smoothing,
                no_wd_bn_bias=no_wd_bn_bias, callbacks=callbacks,
                checkpoint_dir=checkpoint_dir, resume=resume, seed=seed, metadata=metadata,
                allow_pickle=allow_pickle, precision=precision, kvstore=kvstore)
    run = Run(net, train_iter, test_iter, num_epochs, lr, ctx, opts)
    run.setup()
    try:
        _call(callbacks, "on_train_begin", run.state)
        for epoch in range(run.start, num_epochs):
            run.begin_epoch(epoch)
            tic = time.time()
            fit_epoch(run, epoch)
            if run.end_epoch(epoch, tic):
                break
    finally:
        run.close()
    return run.history
