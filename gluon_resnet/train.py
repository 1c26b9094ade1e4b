"""Training the d2l way: ``train(...) -> History`` and ``evaluate_accuracy``.

:func:`train` is d2l's ``train_ch6`` loop (``autograd.record``, ``backward``,
``trainer.step``) with what a real run needs added: several contexts, SGD/NAG/Adam,
learning-rate schedules with warm-up, label smoothing, checkpoints that survive a crash
and resume to the same result (:mod:`gluon_resnet.checkpoint`), and a clear stop when
the loss diverges. It prints and plots nothing; :class:`PrintLines`, :class:`ProgressBar`,
:class:`Animator`, :class:`SaveCurves` and :class:`SaveHistory`
(:mod:`gluon_resnet.callbacks`) are callbacks the caller attaches.

The loop never waits for the device inside an epoch: loss sums and correct counts are
kept as NDArrays and read once at the end of the epoch (callbacks such as
:class:`ProgressBar` may read them more often; that is their cost).
"""
import math
import time
from dataclasses import dataclass, field, fields

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from .arrays import as_legacy, is_np_array
from .callbacks import (Animator, Callback, PrintLines, ProgressBar, SaveCurves,  # noqa: F401
                        SaveHistory, _call, _ctx_text)
from .context import check_ctx
from .checkpoint import (CHECKPOINT_FILE, Checkpointer, load_checkpoint,  # noqa: F401
                         read_checkpoint)
from .distributed import Distributed, check_kvstore_args
from .precision import Fp32Training, for_training, training_precision

__all__ = [
    "train", "evaluate_accuracy", "History", "TrainState", "TrainingDiverged", "LRSchedule",
    "SmoothedCrossEntropyLoss",
    # Re-exported from gluon_resnet.callbacks and gluon_resnet.checkpoint:
    "Callback", "PrintLines", "ProgressBar", "Animator", "SaveCurves", "SaveHistory",
    "read_checkpoint", "load_checkpoint", "CHECKPOINT_FILE",
]

_OPTIMIZERS = ("sgd", "nag", "adam")
_SCHEDULES = ("constant", "step", "cosine")
_NOT_SEEN = 1e30  # "no bad batch yet" in the on-device divergence tracker


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite.

    Attributes
    ----------
    epoch, batch : int
        Where it first happened, both counted from 1.
    checkpoint : str or None
        The last good ``checkpoint.json``, untouched by the diverged epoch.
    """

    def __init__(self, epoch, batch, checkpoint):
        self.epoch, self.batch, self.checkpoint = epoch, batch, checkpoint
        where = ("the last good checkpoint is %s" % checkpoint if checkpoint
                 else "no checkpoint was written")
        super().__init__(
            "the training loss became NaN or infinite in epoch %d at batch %d; %s. "
            "Lower the learning rate, or add warm-up" % (epoch, batch, where))


@dataclass
class History:
    """Per-epoch results of :func:`train`, one list entry per epoch.

    Attributes
    ----------
    loss : list of float
        Mean training loss over the epoch's examples (as d2l: measured while training).
    train_acc, test_acc : list of float
        Training accuracy measured while training; test accuracy after the epoch
        (None without a test iterator).
    epoch_time : list of float
        Seconds for the epoch, evaluation included.
    throughput : list of float
        Training examples per second, evaluation excluded (d2l's ``examples/sec``).
    lr : list of float
        Learning rate of the epoch's last update.
    eval_time : list of float
        Seconds of ``epoch_time`` spent evaluating the test set (0 without a test
        iterator).
    """

    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)
    throughput: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    eval_time: list = field(default_factory=list)

    def __len__(self):
        return len(self.loss)

    def to_dict(self):
        """A JSON-ready dict of lists."""
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`; checks that every list is there and as long.

        ``eval_time`` may be absent (histories written before it was recorded): it is
        then filled with None."""
        names = [f.name for f in fields(cls)]
        if not isinstance(d, dict):
            raise ValueError("a History is a dict of lists, got %s" % type(d).__name__)
        if "eval_time" not in d and isinstance(d.get("loss"), list):
            d = dict(d, eval_time=[None] * len(d["loss"]))
        missing = [n for n in names if n not in d]
        if missing:
            raise ValueError("a History needs the lists %s; missing %s"
                             % (", ".join(names), ", ".join(missing)))
        if not all(isinstance(d[n], list) for n in names):
            raise ValueError("History entries must be lists, got %s"
                             % {n: type(d[n]).__name__ for n in names})
        lengths = {n: len(d[n]) for n in names}
        if len(set(lengths.values())) > 1:
            raise ValueError("History lists must be equally long, got %s" % lengths)
        return cls(**{n: list(d[n]) for n in names})


class LRSchedule:
    """Learning rate as a function of the update step ``t = 0, 1, ...``.

    Update ``t`` uses ``schedule(t)``:

    * warm-up, ``t < warmup_steps``: ``base_lr * (t + 1) / warmup_steps`` (linear, the
      last warm-up step reaches ``base_lr``);
    * ``constant``: ``base_lr``;
    * ``step``: ``base_lr * factor ** k``, ``k`` = number of ``milestones <= t``;
    * ``cosine``: ``final_lr + (base_lr - final_lr) * (1 + cos(pi * p)) / 2`` with
      ``p = (t - warmup_steps) / (total_steps - warmup_steps)``, clipped to 1.

    Parameters
    ----------
    base_lr : float
    total_steps : int
        Updates in the whole run (``epochs * batches per epoch``); used by ``cosine``.
    kind : {'constant', 'step', 'cosine'}
    milestones : sequence of int
        Steps at which ``step`` multiplies the rate by ``factor``.
    factor : float, default 0.1
    warmup_steps : int, default 0
    final_lr : float, default 0
        Where ``cosine`` ends.
    """

    def __init__(self, base_lr, total_steps, kind="constant", milestones=(), factor=0.1,
                 warmup_steps=0, final_lr=0.0):
        if kind not in _SCHEDULES:
            raise ValueError("schedule must be one of %s, got %r" % (", ".join(_SCHEDULES), kind))
        if not (base_lr >= 0 and math.isfinite(base_lr)):
            raise ValueError("lr must be a finite number >= 0, got %r" % (base_lr,))
        if warmup_steps < 0:
            raise ValueError("warm-up must be >= 0 steps, got %r" % (warmup_steps,))
        if kind == "step" and not milestones:
            raise ValueError("the step schedule needs milestones (when to multiply by factor)")
        self.base_lr, self.total_steps, self.kind = float(base_lr), int(total_steps), kind
        self.milestones = sorted(int(m) for m in milestones)
        self.factor, self.warmup_steps, self.final_lr = float(factor), int(warmup_steps), float(final_lr)

    def __call__(self, step):
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        if self.kind == "step":
            return self.base_lr * self.factor ** sum(step >= m for m in self.milestones)
        if self.kind == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            p = min((step - self.warmup_steps) / span, 1.0)
            return self.final_lr + (self.base_lr - self.final_lr) * (1 + math.cos(math.pi * p)) / 2
        return self.base_lr

    def __repr__(self):
        return ("LRSchedule(base_lr=%g, total_steps=%d, kind=%r, milestones=%s, factor=%g, "
                "warmup_steps=%d, final_lr=%g)" % (self.base_lr, self.total_steps, self.kind,
                                                   self.milestones, self.factor,
                                                   self.warmup_steps, self.final_lr))


class SmoothedCrossEntropyLoss(gluon.loss.Loss):
    """Softmax cross-entropy against labels smoothed towards the uniform distribution.

    With ``K`` classes the target is ``(1 - smoothing) * one_hot(label) + smoothing / K``,
    so the loss per example is ``(1 - smoothing) * -log p[label] + smoothing * mean_k
    -log p[k]`` (Szegedy et al., "Rethinking the Inception Architecture", 2016).
    Takes sparse integer labels, as ``SoftmaxCrossEntropyLoss``; hybridizable.
    """

    def __init__(self, smoothing, weight=None, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)
        if not 0 <= smoothing < 1:
            raise ValueError("label_smoothing must be in [0, 1), got %r" % (smoothing,))
        self._smoothing = float(smoothing)

    def hybrid_forward(self, F, pred, label):
        if is_np_array():  # the numpy interface's operators (npx.set_np())
            log_softmax, pick, mean = F.npx.log_softmax, F.npx.pick, F.np.mean
        else:
            log_softmax, pick, mean = F.log_softmax, F.pick, F.mean
        logp = log_softmax(pred, axis=-1)
        nll = -pick(logp, label, axis=-1)
        uniform = -mean(logp, axis=-1)
        return (1 - self._smoothing) * nll + self._smoothing * uniform


class TrainState:
    """What callbacks see: the run so far. Read-only by convention.

    Attributes
    ----------
    net, trainer
        The network and its ``gluon.Trainer``.
    ctx : list of Context
    num_epochs : int
    epoch : int
        The current epoch, counted from 0.
    num_batches : int or None
        Batches per epoch (``len(train_iter)``).
    batch, examples : int
        Batches and examples done in the current epoch.
    lr : float
        Learning rate of the last update.
    history : History
    precision : {'fp32', 'bf16'}
        What the training steps run in (``'auto'`` until the first batch decides).
    rank, num_workers : int
        This worker's rank and the number of workers (0 and 1 without a distributed
        kvstore): callbacks that print or write files act on rank 0 only.
    checkpoint : str or None
        The latest ``checkpoint.json`` written.
    stop_training : bool
        The one attribute a callback may set: True ends training after the current
        batch (from ``on_batch_end``) or epoch (from ``on_epoch_end``); :func:`train`
        then returns the History as usual.
    """

    def __init__(self, net, trainer, ctx, num_epochs, num_batches, history):
        self.net, self.trainer, self.ctx = net, trainer, ctx
        self.num_epochs, self.num_batches, self.history = num_epochs, num_batches, history
        self.epoch = self.batch = self.examples = 0
        self.lr = None
        self.precision = "fp32"
        self.rank, self.num_workers = 0, 1
        self.checkpoint = None
        self.stop_training = False
        self._loss_sums = self._correct = None

    def running(self):
        """``(loss, accuracy)`` over the current epoch so far. Waits for the device."""
        if not self.examples:
            return float("nan"), float("nan")
        loss = sum(s.asscalar() for s in self._loss_sums)
        correct = sum(c.asscalar() for c in self._correct)
        return float(loss) / self.examples, float(correct) / self.examples


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


def _epoch_seed(seed, epoch):
    return (int(seed) * 1000003 + epoch) % (2 ** 31)


def _no_wd_bn_bias(net):
    """Set wd_mult 0 on BatchNorm gamma/beta and biases; return the old values."""
    saved = {}
    for name, param in net.collect_params().items():
        if name.endswith(("gamma", "beta", "bias")):
            saved[param] = param.wd_mult
            param.wd_mult = 0.0
    return saved


def _check_args(num_epochs, lr, optimizer, schedule, label_smoothing, warmup_epochs,
                warmup_steps, checkpoint_dir, resume):
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, (int, np.integer)) \
            or num_epochs < 0:
        raise ValueError("num_epochs must be an int >= 0, got %r" % (num_epochs,))
    if not (isinstance(lr, (int, float)) and lr >= 0 and math.isfinite(lr)):
        raise ValueError("lr must be a finite number >= 0, got %r" % (lr,))
    if optimizer not in _OPTIMIZERS:
        raise ValueError("optimizer must be one of %s, got %r" % (", ".join(_OPTIMIZERS), optimizer))
    if not callable(schedule) and schedule not in _SCHEDULES:
        raise ValueError("schedule must be one of %s or an LRSchedule, got %r"
                         % (", ".join(_SCHEDULES), schedule))
    if not 0 <= label_smoothing < 1:
        raise ValueError("label_smoothing must be in [0, 1), got %r" % (label_smoothing,))
    if warmup_epochs < 0 or (warmup_steps is not None and warmup_steps < 0):
        raise ValueError("warm-up must be >= 0, got warmup_epochs=%r, warmup_steps=%r"
                         % (warmup_epochs, warmup_steps))
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir, the directory to resume from")


def _make_schedule(schedule, lr, num_epochs, num_batches, milestones, factor,
                   warmup_epochs, warmup_steps, final_lr):
    """An :class:`LRSchedule` from train()'s arguments, converting epochs to steps."""
    if callable(schedule):
        return schedule
    if num_batches is None and (schedule != "constant" or warmup_epochs):
        raise ValueError("train_iter has no len(), so schedule %r and warmup_epochs cannot be "
                         "converted to steps; pass an LRSchedule" % schedule)
    per_epoch = num_batches or 0
    if schedule == "step":
        if milestones is None:
            milestones = (num_epochs / 2, num_epochs * 3 / 4)
        milestones = [round(m * per_epoch) for m in milestones]
    if warmup_steps is None:
        warmup_steps = round(warmup_epochs * per_epoch)
    return LRSchedule(lr, num_epochs * per_epoch, schedule, milestones=milestones or (),
                      factor=factor, warmup_steps=warmup_steps, final_lr=final_lr)


def _params_finite(net, ctx):
    """Whether every parameter on ``ctx`` is finite (waits for the device once)."""
    bad = [(mx.nd.contrib.isfinite(as_legacy(p.data(ctx))) == 0).sum()
           for p in net.collect_params().values()]
    return not mx.nd.add_n(*bad).asscalar()


def _start_together(dist, num_batches, ckpt):
    """With several workers: check that they agree.

    Every worker must make the same number of steps and resume the same epoch (a run
    directory that not every worker sees would split them).
    """
    if not dist.dist:
        return
    dist.check_same("the number of batches per epoch", num_batches or 0)
    if ckpt is not None:
        epoch = read_checkpoint(ckpt.json)["epoch"] if ckpt.exists() else 0
        dist.check_same("the epoch to resume from (every worker must see the run directory "
                        "%s)" % ckpt.dir, epoch)


def _same_start(dist, net, x):
    """Before the first step: every worker gets rank 0's parameters (a forward pass of
    one example first sets the shapes of parameters still deferred)."""
    if not dist.sync or dist.num_workers == 1:
        return
    if any(p._deferred_init for p in net.collect_params().values()):
        with autograd.predict_mode():
            net(x[:1])
    dist.broadcast_parameters(net)


def _agree_on_precision(dist, fwd, net):
    """With several workers, bf16 only if every worker chose it (``'auto'`` times it)."""
    if not dist.sync or dist.num_workers == 1:
        return fwd
    votes, = dist.totals([fwd.precision == "bf16"])
    if fwd.precision == "bf16" and votes < dist.num_workers:
        return Fp32Training(net, "auto: fp32 (%d of %d workers timed fp32 faster)"
                            % (dist.num_workers - votes, dist.num_workers))
    return fwd


def _test_accuracy(dist, net, test_iter, ctxs):
    """Test accuracy; each worker's part summed over the workers (dist_sync), else rank
    0's alone (others get None)."""
    correct, n = _count_correct(net, test_iter, ctxs) if test_iter is not None else (0, 0)
    if not dist.sync:
        return correct / n if n else None
    correct, n = dist.totals([correct, n])
    return correct / n


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
        checkpoints you trust (see :mod:`gluon_resnet.checkpoint`).
    precision : {'fp32', 'bf16', 'auto'}, default 'fp32'
        ``'bf16'``: mixed precision on the CPU (bfloat16 convolutions and dense layers
        through oneDNN, float32 master weights, loss and evaluation); ``'auto'``: on a
        CPU with bfloat16 instructions (AVX512_BF16 or AMX), a training step of the
        first batch is timed in both and the faster kept; fp32 elsewhere (see
        :mod:`gluon_resnet.precision`). The net must then be a HybridBlock. Recorded in
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
        to resume. See :mod:`gluon_resnet.distributed` for what is synchronised and
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
    gluon_resnet.checkpoint.RunLocked
        If another process is training with the same ``checkpoint_dir``.
    gluon_resnet.checkpoint.CheckpointError
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
    _check_args(num_epochs, lr, optimizer, schedule, label_smoothing, warmup_epochs,
                warmup_steps, checkpoint_dir, resume)
    ctxs = _resolve_ctx(net, ctx)
    check_kvstore_args(kvstore, schedule, warmup_steps, warmup_epochs, checkpoint_dir, ctxs)
    dist = Distributed(kvstore)
    has_test = test_iter is not None
    train_iter, test_iter = dist.shard(train_iter, test_iter)
    precision, why = training_precision(precision, ctxs[0])
    if precision in ("bf16", "auto") and not isinstance(net, gluon.HybridBlock):
        raise ValueError("precision=%r needs a HybridBlock (the net is traced to a graph); "
                         "got a %s" % (precision, type(net).__name__))
    # bf16 (and auto's timing of both) is set up at the first batch, whose shape it needs
    fwd = net if precision == "fp32" else None
    num_batches = len(train_iter) if hasattr(train_iter, "__len__") else None
    sched = _make_schedule(schedule, lr, num_epochs, num_batches, milestones, factor,
                           warmup_epochs, warmup_steps, final_lr)
    opt_params = {"learning_rate": lr, "wd": wd}
    if optimizer in ("sgd", "nag"):
        opt_params["momentum"] = momentum
    # Updates on the workers, not in a kvstore: the learning rate set per step reaches
    # them, and the optimizer state is ours to checkpoint (dist_async aside).
    trainer = dist.make_trainer(net.collect_params(), optimizer, opt_params)
    loss_fn = (SmoothedCrossEntropyLoss(label_smoothing) if label_smoothing
               else gluon.loss.SoftmaxCrossEntropyLoss())
    loss_fn.hybridize()

    history, start = History(), 0
    ckpt, kept = None, None  # kept: the precision a resumed auto run takes from its checkpoint
    if checkpoint_dir is not None:
        ckpt = Checkpointer(checkpoint_dir)
        if dist.is_root:
            ckpt.lock()  # held until training ends
        try:
            if ckpt.exists() and not resume:
                raise ValueError("%s already holds a checkpoint (%s); pass resume=True to "
                                 "continue it, or use another directory"
                                 % (checkpoint_dir, CHECKPOINT_FILE))
            _start_together(dist, num_batches, ckpt)
            if ckpt.exists():
                start, saved, settings = ckpt.restore(net, trainer, train_iter, ctxs,
                                                      optimizer, allow_pickle=allow_pickle)
                history = History.from_dict(saved)
                if precision == "auto" and settings.get("precision") in ("fp32", "bf16"):
                    # a resumed run computes as the interrupted one did: auto's timing
                    # could choose the other precision on a busier machine
                    precision = kept = settings["precision"]
                    why = "auto: %s, as the run being resumed chose (%s)" % (
                        precision, settings.get("precision_reason"))
                    fwd = net if precision == "fp32" else None
        except BaseException:
            ckpt.unlock()
            raise
    else:
        _start_together(dist, num_batches, None)
    info = {"model": None, "train": {
        "optimizer": optimizer, "lr": lr, "momentum": momentum, "wd": wd,
        "schedule": schedule if isinstance(schedule, str) else repr(schedule),
        "num_epochs": num_epochs, "label_smoothing": label_smoothing, "seed": seed,
        "ctx": [str(c) for c in ctxs], "precision": precision, "precision_reason": why,
        "kvstore": dist.kind, "num_workers": dist.num_workers},
        "metadata": dict(metadata or {})}

    state = TrainState(net, trainer, ctxs, num_epochs, num_batches, history)
    state.precision = precision
    state.rank, state.num_workers = dist.rank, dist.num_workers
    state.checkpoint = ckpt.json if ckpt is not None and ckpt.exists() else None
    saved_wd = _no_wd_bn_bias(net) if no_wd_bn_bias else {}
    step = start * (num_batches or 0)  # updates done; the schedule's argument
    started = False
    try:
        _call(callbacks, "on_train_begin", state)
        for epoch in range(start, num_epochs):
            if seed is not None:
                mx.random.seed(_epoch_seed(seed, epoch))
            state.epoch, state.batch, state.examples = epoch, 0, 0
            state._loss_sums = [mx.nd.zeros((1,), ctx=c) for c in ctxs]
            state._correct = [mx.nd.zeros((1,), ctx=c) for c in ctxs]
            first_bad = [mx.nd.full((1,), _NOT_SEEN, ctx=c) for c in ctxs]
            _call(callbacks, "on_epoch_begin", state)
            tic = time.time()
            for i, (X, y) in enumerate(train_iter):
                state.lr = sched(step)
                step += 1
                trainer.set_learning_rate(state.lr)
                Xs, ys = _split(X, y, ctxs)
                if not started:
                    _same_start(dist, net, Xs[0])
                    started = True
                if fwd is None:
                    fwd = for_training(net, Xs[0].shape, precision, ctxs[0], (Xs[0], ys[0]))
                    fwd = _agree_on_precision(dist, fwd, net)
                    precision, why = fwd.precision, (why if fwd.precision == kept
                                                     else fwd.reason)
                    info["train"].update(precision=precision, precision_reason=why)
                    state.precision = precision
                    if seed is not None:  # auto's timing may have drawn random numbers
                        mx.random.seed(_epoch_seed(seed, epoch))
                with autograd.record():
                    outs = [fwd(x) for x in Xs]
                    losses = [loss_fn(o, t) for o, t in zip(outs, ys)]
                autograd.backward(losses)
                dist.reduce_gradients(trainer._params)
                trainer.step(dist.step_size(X.shape[0]))
                for j, (o, t, l) in enumerate(zip(outs, ys, losses)):
                    s = as_legacy(l).sum()  # the running sums are legacy arrays
                    state._loss_sums[j] += s
                    state._correct[j] += _correct(o, t)
                    finite = (s - s) == 0  # 0 for NaN and +-inf
                    first_bad[j] = mx.nd.minimum(first_bad[j], finite * _NOT_SEEN + (1 - finite) * i)
                if info["model"] is None:
                    info["model"] = {
                        "name": getattr(net, "model_name", None), "classes": int(outs[0].shape[1]),
                        "in_channels": int(X.shape[1]), "input_shape": [int(d) for d in X.shape[1:]],
                        "thumbnail": getattr(net, "stem", None) == "thumbnail"}
                state.batch, state.examples = i + 1, state.examples + X.shape[0]
                _call(callbacks, "on_batch_end", state)
                if state.stop_training:
                    break
            partial = num_batches is not None and state.batch < num_batches
            if not state.examples:
                raise ValueError("train_iter yielded no batches in epoch %d" % (epoch + 1))
            loss_sum, correct, examples = dist.totals([
                sum(s.asscalar() for s in state._loss_sums),
                sum(c.asscalar() for c in state._correct), state.examples])
            train_time = time.time() - tic
            if not math.isfinite(loss_sum):
                bad = min(float(b.asscalar()) for b in first_bad)
                bad = state.batch - 1 if bad >= _NOT_SEEN else bad  # on another worker
                raise TrainingDiverged(epoch + 1, int(bad) + 1, state.checkpoint)
            if not _params_finite(net, ctxs[0]):  # the last update can break them
                raise TrainingDiverged(epoch + 1, state.batch, state.checkpoint)
            dist.average_running_stats(net)
            eval_tic = time.time()
            test_acc = _test_accuracy(dist, net, test_iter, ctxs) if has_test else None
            eval_time = time.time() - eval_tic
            history.loss.append(loss_sum / examples)
            history.train_acc.append(correct / examples)
            history.test_acc.append(test_acc)
            history.epoch_time.append(time.time() - tic)
            history.eval_time.append(eval_time)
            history.throughput.append(examples / train_time)
            history.lr.append(state.lr)
            if ckpt is not None and not partial:
                if dist.is_root:
                    ckpt.save(epoch + 1, net, trainer, train_iter, history.to_dict(), info)
                dist.barrier()  # the others wait for the checkpoint
                state.checkpoint = ckpt.json
            _call(callbacks, "on_epoch_end", state)
            if state.stop_training:
                break
    finally:
        for param, mult in saved_wd.items():
            param.wd_mult = mult
        if ckpt is not None:
            ckpt.unlock()
        _call(callbacks, "on_train_end", state)
    return history
