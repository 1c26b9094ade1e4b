"""Learning-rate schedules (:class:`LRSchedule`: constant, step, cosine, with linear
warm-up), made from :func:`~gluon_resnet.training.train`'s arguments, and those
arguments checked."""
import math

import numpy as np


__all__ = ["LRSchedule"]


_OPTIMIZERS = ("sgd", "nag", "adam")


_SCHEDULES = ("constant", "step", "cosine")


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
