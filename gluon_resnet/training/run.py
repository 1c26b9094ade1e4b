"""What a training run hangs on d2l's loop (:mod:`gluon_resnet.training.loop`), one seam
per concern:

* **precision** is the forward function (:class:`Forward`): the net itself in fp32, its
  bfloat16 graph, or, with ``"auto"``, whichever timed faster at the first batch;
* **distributed training** is the sharder (the iterators' shards, the batch split over
  contexts) and the gradient reducer (:class:`~gluon_resnet.training.distributed.Distributed`),
  plus one start in step for every worker (:meth:`Run.first_batch`);
* **checkpoints** are restored when the run is set up and written at the end of each
  whole epoch (:class:`CheckpointHook`); **history** is appended at each epoch's end;
  **divergence** is watched on the device per batch and checked per epoch
  (:class:`DivergenceWatch`); the caller's callbacks follow, as Keras's do.
"""
import math
import time

import mxnet as mx
from mxnet import autograd, gluon

from ..arrays import as_legacy
from .callbacks import _call
from .checkpoint import CHECKPOINT_FILE, Checkpointer, read_checkpoint
from .distributed import Distributed, check_kvstore_args
from .evaluate import _correct, _count_correct, _resolve_ctx
from .loss import SmoothedCrossEntropyLoss
from .precision import Fp32Training, for_training, training_precision
from .schedule import _check_args, _make_schedule
from .state import History, TrainingDiverged, TrainState

_NOT_SEEN = 1e30  # "no bad batch yet" in the on-device divergence tracker


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


class Forward:
    """The precision seam: what the loop calls in place of the net.

    fp32 is the net itself. bf16 and auto need a batch's shape, so they are set up at
    the first batch (:meth:`prepare`, before ``autograd.record``): auto times a step in
    both, and with several workers bf16 is kept only if every worker chose it.
    """

    def __init__(self, net, precision, reason, ctx, dist, kept=None):
        self.net, self.ctx, self.dist = net, ctx, dist
        self.precision, self.reason = precision, reason
        self.kept = kept  # the precision a resumed auto run takes from its checkpoint
        self.fn = net if precision == "fp32" else None

    def prepare(self, Xs, ys):
        """Set the forward up on the first batch; True when it was set up now."""
        if self.fn is not None:
            return False
        fwd = for_training(self.net, Xs[0].shape, self.precision, self.ctx, (Xs[0], ys[0]))
        self.fn = _agree_on_precision(self.dist, fwd, self.net)
        self.precision = self.fn.precision
        if self.fn.precision != self.kept:
            self.reason = self.fn.reason
        return True

    def __call__(self, x):
        return self.fn(x)


class DivergenceWatch:
    """The first batch whose loss was NaN or infinite, kept on the device (the loop
    never waits for it inside an epoch), and the end-of-epoch check."""

    def begin_epoch(self, ctxs):
        self.first_bad = [mx.nd.full((1,), _NOT_SEEN, ctx=c) for c in ctxs]

    def batch(self, j, i, loss_sum):
        finite = (loss_sum - loss_sum) == 0  # 0 for NaN and +-inf
        self.first_bad[j] = mx.nd.minimum(self.first_bad[j],
                                          finite * _NOT_SEEN + (1 - finite) * i)

    def check(self, epoch, loss_sum, state, net, ctx):
        """Raise :class:`TrainingDiverged` if the epoch's loss or the parameters are not
        finite (the last update can break them)."""
        if not math.isfinite(loss_sum):
            bad = min(float(b.asscalar()) for b in self.first_bad)
            bad = state.batch - 1 if bad >= _NOT_SEEN else bad  # on another worker
            raise TrainingDiverged(epoch + 1, int(bad) + 1, state.checkpoint)
        if not _params_finite(net, ctx):
            raise TrainingDiverged(epoch + 1, state.batch, state.checkpoint)


class CheckpointHook:
    """The run directory: locked while training, restored from at the start, written at
    the end of every whole epoch (rank 0; the other workers wait for it)."""

    def __init__(self, checkpoint_dir, dist):
        self.ckpt = Checkpointer(checkpoint_dir) if checkpoint_dir is not None else None
        self.dist = dist

    def restore(self, run, resume, allow_pickle):
        """Lock the directory and load its checkpoint into ``run`` (if there is one)."""
        ckpt, dist = self.ckpt, self.dist
        if ckpt is None:
            _start_together(dist, run.num_batches, None)
            return
        if dist.is_root:
            ckpt.lock()  # held until training ends
        try:
            if ckpt.exists() and not resume:
                raise ValueError("%s already holds a checkpoint (%s); pass resume=True to "
                                 "continue it, or use another directory"
                                 % (ckpt.dir, CHECKPOINT_FILE))
            _start_together(dist, run.num_batches, ckpt)
            if ckpt.exists():
                run.start, saved, settings = ckpt.restore(
                    run.net, run.trainer, run.train_iter, run.ctxs, run.optimizer,
                    allow_pickle=allow_pickle)
                run.history = History.from_dict(saved)
                run.resumed(settings)
        except BaseException:
            ckpt.unlock()
            raise

    def latest(self):
        return self.ckpt.json if self.ckpt is not None and self.ckpt.exists() else None

    def epoch_end(self, run, epoch, partial):
        if self.ckpt is None or partial:
            return
        if self.dist.is_root:
            self.ckpt.save(epoch + 1, run.net, run.trainer, run.train_iter,
                           run.history.to_dict(), run.info)
        self.dist.barrier()  # the others wait for the checkpoint
        run.state.checkpoint = self.ckpt.json

    def close(self):
        if self.ckpt is not None:
            self.ckpt.unlock()


class Run:
    """One call of :func:`~gluon_resnet.training.train`: its settings checked, the
    seams set up (:meth:`setup`), and what the loop calls at each batch and epoch."""

    def __init__(self, net, train_iter, test_iter, num_epochs, lr, ctx, opts):
        o = opts
        _check_args(num_epochs, lr, o["optimizer"], o["schedule"], o["label_smoothing"],
                    o["warmup_epochs"], o["warmup_steps"], o["checkpoint_dir"], o["resume"])
        self.net, self.num_epochs, self.lr, self.opts = net, num_epochs, lr, o
        self.optimizer, self.seed = o["optimizer"], o["seed"]
        self.callbacks = o["callbacks"]
        self.ctxs = _resolve_ctx(net, ctx)
        check_kvstore_args(o["kvstore"], o["schedule"], o["warmup_steps"], o["warmup_epochs"],
                           o["checkpoint_dir"], self.ctxs)
        self.dist = Distributed(o["kvstore"])
        self.has_test = test_iter is not None
        self.train_iter, self.test_iter = self.dist.shard(train_iter, test_iter)
        precision, why = training_precision(o["precision"], self.ctxs[0])
        if precision in ("bf16", "auto") and not isinstance(net, gluon.HybridBlock):
            raise ValueError("precision=%r needs a HybridBlock (the net is traced to a graph); "
                             "got a %s" % (precision, type(net).__name__))
        self.forward = Forward(net, precision, why, self.ctxs[0], self.dist)
        self.num_batches = len(self.train_iter) if hasattr(self.train_iter, "__len__") else None
        self.sched = _make_schedule(o["schedule"], lr, num_epochs, self.num_batches,
                                    o["milestones"], o["factor"], o["warmup_epochs"],
                                    o["warmup_steps"], o["final_lr"])
        self._make_trainer(lr)
        self.history, self.start, self.started = History(), 0, False
        self.checkpoints = CheckpointHook(o["checkpoint_dir"], self.dist)
        self.watch = DivergenceWatch()

    def _make_trainer(self, lr):
        o = self.opts
        opt_params = {"learning_rate": lr, "wd": o["wd"]}
        if self.optimizer in ("sgd", "nag"):
            opt_params["momentum"] = o["momentum"]
        # Updates on the workers, not in a kvstore: the learning rate set per step reaches
        # them, and the optimizer state is ours to checkpoint (dist_async aside).
        self.trainer = self.dist.make_trainer(self.net.collect_params(), self.optimizer,
                                              opt_params)
        self.loss_fn = (SmoothedCrossEntropyLoss(o["label_smoothing"]) if o["label_smoothing"]
                        else gluon.loss.SoftmaxCrossEntropyLoss())
        self.loss_fn.hybridize()

    def setup(self):
        """Restore a checkpoint (if any) and build what callbacks see."""
        o = self.opts
        self.checkpoints.restore(self, o["resume"], o["allow_pickle"])
        schedule = o["schedule"]
        self.info = {"model": None, "train": {
            "optimizer": self.optimizer, "lr": self.lr,
            "momentum": o["momentum"], "wd": o["wd"],
            "schedule": schedule if isinstance(schedule, str) else repr(schedule),
            "num_epochs": self.num_epochs, "label_smoothing": o["label_smoothing"],
            "seed": self.seed, "ctx": [str(c) for c in self.ctxs],
            "precision": self.forward.precision, "precision_reason": self.forward.reason,
            "kvstore": self.dist.kind, "num_workers": self.dist.num_workers},
            "metadata": dict(o["metadata"] or {})}
        state = self.state = TrainState(self.net, self.trainer, self.ctxs, self.num_epochs,
                                        self.num_batches, self.history)
        state.precision = self.forward.precision
        state.rank, state.num_workers = self.dist.rank, self.dist.num_workers
        state.checkpoint = self.checkpoints.latest()
        self.saved_wd = _no_wd_bn_bias(self.net) if o["no_wd_bn_bias"] else {}
        self.step = self.start * (self.num_batches or 0)  # updates done; the schedule's argument

    def resumed(self, settings):
        """A resumed ``auto`` run computes as the interrupted one did: auto's timing could
        choose the other precision on a busier machine."""
        if self.forward.precision == "auto" and settings.get("precision") in ("fp32", "bf16"):
            kept = settings["precision"]
            why = "auto: %s, as the run being resumed chose (%s)" % (
                kept, settings.get("precision_reason"))
            self.forward = Forward(self.net, kept, why, self.ctxs[0], self.dist, kept=kept)

    # --- what the loop calls ---------------------------------------------------------

    def begin_epoch(self, epoch):
        if self.seed is not None:
            mx.random.seed(_epoch_seed(self.seed, epoch))
        state = self.state
        state.epoch, state.batch, state.examples = epoch, 0, 0
        state._loss_sums = [mx.nd.zeros((1,), ctx=c) for c in self.ctxs]
        state._correct = [mx.nd.zeros((1,), ctx=c) for c in self.ctxs]
        self.watch.begin_epoch(self.ctxs)
        _call(self.callbacks, "on_epoch_begin", state)

    def next_lr(self):
        """Set the learning rate of the next update from the schedule."""
        self.state.lr = self.sched(self.step)
        self.step += 1
        self.trainer.set_learning_rate(self.state.lr)

    def first_batch(self, Xs, ys, epoch):
        """At the first batch: every worker starts from rank 0's parameters, and the
        precision is decided (bf16 and auto need the batch's shape)."""
        if not self.started:
            _same_start(self.dist, self.net, Xs[0])
            self.started = True
        if self.forward.prepare(Xs, ys):
            self.info["train"].update(precision=self.forward.precision,
                                      precision_reason=self.forward.reason)
            self.state.precision = self.forward.precision
            if self.seed is not None:  # auto's timing may have drawn random numbers
                mx.random.seed(_epoch_seed(self.seed, epoch))

    def accumulate(self, i, X, outs, ys, losses):
        """Add the batch's loss and correct predictions to the epoch's running sums (on
        the device), and record the model's shapes once."""
        state = self.state
        for j, (o, t, l) in enumerate(zip(outs, ys, losses)):
            s = as_legacy(l).sum()  # the running sums are legacy arrays
            state._loss_sums[j] += s
            state._correct[j] += _correct(o, t)
            self.watch.batch(j, i, s)
        if self.info["model"] is None:
            self.info["model"] = {
                "name": getattr(self.net, "model_name", None),
                "classes": int(outs[0].shape[1]), "in_channels": int(X.shape[1]),
                "input_shape": [int(d) for d in X.shape[1:]],
                "thumbnail": getattr(self.net, "stem", None) == "thumbnail"}
        state.batch, state.examples = i + 1, state.examples + X.shape[0]

    def end_batch(self):
        """The callbacks' ``on_batch_end``; True when one asked to stop."""
        _call(self.callbacks, "on_batch_end", self.state)
        return self.state.stop_training

    def end_epoch(self, epoch, tic):
        """The epoch's totals over every worker (waiting for the device, so the training
        time counts all of its work), checked, evaluated and recorded; the checkpoint,
        then the callbacks. True when training should stop."""
        state, dist = self.state, self.dist
        partial = self.num_batches is not None and state.batch < self.num_batches
        if not state.examples:
            raise ValueError("train_iter yielded no batches in epoch %d" % (epoch + 1))
        loss_sum, correct, examples = dist.totals([
            sum(s.asscalar() for s in state._loss_sums),
            sum(c.asscalar() for c in state._correct), state.examples])
        train_time = time.time() - tic
        self.watch.check(epoch, loss_sum, state, self.net, self.ctxs[0])
        dist.average_running_stats(self.net)
        eval_tic = time.time()
        test_acc = (_test_accuracy(dist, self.net, self.test_iter, self.ctxs)
                    if self.has_test else None)
        eval_time = time.time() - eval_tic
        self.history.append(loss_sum / examples, correct / examples, test_acc,
                            time.time() - tic, eval_time, examples / train_time, state.lr)
        self.checkpoints.epoch_end(self, epoch, partial)
        _call(self.callbacks, "on_epoch_end", state)
        return state.stop_training

    def close(self):
        for param, mult in self.saved_wd.items():
            param.wd_mult = mult
        self.checkpoints.close()
        _call(self.callbacks, "on_train_end", self.state)
