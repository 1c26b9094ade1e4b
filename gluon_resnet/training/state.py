"""What a training run keeps and shows: :class:`History` (per-epoch results, what
:func:`~gluon_resnet.training.train` returns), :class:`TrainState` (what callbacks see),
:class:`TrainingDiverged`."""
from dataclasses import dataclass, field, fields


__all__ = ["History", "TrainState", "TrainingDiverged"]


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

    def append(self, loss, train_acc, test_acc, epoch_time, eval_time, throughput, lr):
        """Record one epoch."""
        self.loss.append(loss)
        self.train_acc.append(train_acc)
        self.test_acc.append(test_acc)
        self.epoch_time.append(epoch_time)
        self.eval_time.append(eval_time)
        self.throughput.append(throughput)
        self.lr.append(lr)

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
