"""Time to accuracy: Fashion-MNIST test accuracy against wall-clock training time.

Trains one configuration on the full training set (60,000 images) with the library's
:func:`gluon_resnet.train` and records ``(training seconds, test accuracy)`` after every
epoch and, with ``--eval-every N``, every ``N`` batches. Stops when ``--minutes`` of
training are spent, when ``--stop-at`` test accuracy is reached, or after ``--epochs``.

**The clock.** Training seconds count from the first batch and exclude the time spent
evaluating the test set: the clock is paused while evaluating (after every ``N``
batches, and from the end of an epoch's last batch until :func:`train` hands the epoch
to the callbacks, which covers its end-of-epoch evaluation and bookkeeping). The
device is waited on after every batch (``mx.nd.waitall``) so the clock never runs
ahead of the work, and the budget check is exact to one batch. Reading the files,
building the net and writing results are not counted either.

**The schedule.** ``--schedule cosine`` (default) with ``--epochs E`` anneals over ``E``
epochs in update steps, as :func:`train` does. With ``--minutes M`` and no
``--epochs``, the cosine runs on the training clock instead: after the warm-up steps,
``p`` = (training seconds since warm-up) / (seconds left in the budget), so the rate
reaches ``--final-lr`` when the budget is spent whatever the machine's speed.

A time to reach a target is the training time of the first evaluation at or above it,
so it is resolved to the evaluation interval.

Outputs, in ``--out`` (default ``benchmarks/results``; a temporary directory with
``--quick``): ``time_to_accuracy.json`` holds every run by ``--run`` name (config,
machine, curve, times to targets; a run of the same name is replaced), rewritten after
every evaluation so an interrupted run keeps its curve; ``time_to_accuracy.png`` plots
every run's curve with the targets; ``time_to_accuracy.md`` gets the table of times
between the ``<!-- table -->`` markers (created if missing).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/time_to_accuracy.py --run short --minutes 5 \\
        --model resnet18 --resize 32 --lr 0.2 --eval-every 100
    OMP_NUM_THREADS=2 python benchmarks/time_to_accuracy.py --quick
"""
import argparse
import datetime
import json
import math
import os
import platform
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import gluon_resnet  # noqa: E402  (must come before mxnet)
from gluon_resnet.data import (FASHION_MNIST_MEAN, FASHION_MNIST_STD,  # noqa: E402
                               load_data_fashion_mnist)
from gluon_resnet.params import atomic_path  # noqa: E402
from gluon_resnet.training import Callback, evaluate_accuracy, train  # noqa: E402
import mxnet as mx  # noqa: E402

TARGETS = (0.90, 0.91, 0.92, 0.93, 0.935)
BASENAME = "time_to_accuracy"
TABLE_BEGIN, TABLE_END = "<!-- table: begin -->", "<!-- table: end -->"


class TrainingClock:
    """Seconds of training so far, pausable; waits for the device before reading.

    Keeps wall-clock seconds and, alongside, this process's CPU seconds (all threads),
    which say how much of the machine the run actually got when others compete.
    """

    def __init__(self):
        self._start = self._paused_at = None
        self._paused = [0.0, 0.0]

    @staticmethod
    def _now():
        return time.perf_counter(), time.process_time()

    def start(self):
        self._start = self._now()

    def pause(self):
        mx.nd.waitall()
        self._paused_at = self._now()

    def resume(self):
        if self._paused_at is not None:
            now = self._now()
            self._paused = [p + n - a for p, n, a in zip(self._paused, now, self._paused_at)]
            self._paused_at = None

    def _elapsed(self, i):
        if self._start is None:
            return 0.0
        now = self._paused_at if self._paused_at is not None else self._now()
        return now[i] - self._start[i] - self._paused[i]

    def seconds(self):
        """Wall-clock training seconds."""
        return self._elapsed(0)

    def cpu_seconds(self):
        """CPU seconds this process spent training (all threads)."""
        return self._elapsed(1)


class TimeCosine:
    """Linear warm-up over ``warmup_steps`` updates, then cosine on the training clock.

    After warm-up, ``lr = final + (base - final) * (1 + cos(pi * p)) / 2`` with ``p``
    the fraction of the budget left at the end of warm-up that has since been spent.
    """

    def __init__(self, base_lr, budget_s, clock, warmup_steps=0, final_lr=0.0):
        self.base_lr, self.budget_s, self.clock = base_lr, budget_s, clock
        self.warmup_steps, self.final_lr = warmup_steps, final_lr
        self._warm_end = None

    def __call__(self, step):
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        now = self.clock.seconds()
        if self._warm_end is None:
            self._warm_end = now
        p = min((now - self._warm_end) / max(self.budget_s - self._warm_end, 1e-9), 1.0)
        return self.final_lr + (self.base_lr - self.final_lr) * (1 + math.cos(math.pi * p)) / 2

    def __repr__(self):
        return ("TimeCosine(base_lr=%g, budget_s=%g, warmup_steps=%d, final_lr=%g)"
                % (self.base_lr, self.budget_s, self.warmup_steps, self.final_lr))


class Recorder(Callback):
    """Records the test-accuracy curve against training time; stops at budget or target."""

    def __init__(self, clock, test_iter, eval_every, budget_s, stop_at, on_point):
        self.clock, self.test_iter, self.eval_every = clock, test_iter, eval_every
        self.budget_s, self.stop_at, self.on_point = budget_s, stop_at, on_point
        self.curve = []
        self.stopped = None
        self.precision = None  # what train() runs (``--precision auto`` chooses at batch 1)

    def on_train_begin(self, state):
        self.clock.start()

    def on_batch_end(self, state):
        self.clock.pause()  # waits for the device; the clock stays paused if we evaluate
        if state.batch == state.num_batches:
            return  # train() evaluates now; resumed in on_epoch_end
        if self.budget_s is not None and self.clock.seconds() >= self.budget_s:
            # train() cuts the epoch here, evaluates and calls on_epoch_end
            return self._stop(state, "time budget of %.0f s spent" % self.budget_s)
        if self.eval_every and state.batch % self.eval_every == 0:
            self._record(state, evaluate_accuracy(state.net, self.test_iter))
        if not state.stop_training:
            self.clock.resume()

    def on_epoch_end(self, state):
        self.precision = state.precision
        point = dict(train_acc=state.history.train_acc[-1], loss=state.history.loss[-1])
        if self.curve and self.curve[-1]["epoch"] == self._epoch(state):
            self.curve[-1].update(point)  # already evaluated at this batch
        else:
            self._record(state, state.history.test_acc[-1], **point)
        if self.budget_s is not None and self.clock.seconds() >= self.budget_s:
            self._stop(state, "time budget of %.0f s spent" % self.budget_s)
        self.clock.resume()

    @staticmethod
    def _epoch(state):
        return round(state.epoch + state.batch / state.num_batches, 4)

    def _record(self, state, acc, **extra):
        point = dict(seconds=round(self.clock.seconds(), 3),
                     cpu_seconds=round(self.clock.cpu_seconds(), 3),
                     epoch=self._epoch(state), test_acc=acc, lr=state.lr,
                     load1=round(os.getloadavg()[0], 2), **extra)
        self.curve.append(point)
        print("  %.1f s, epoch %.2f: test acc %.4f (lr %.4g)"
              % (point["seconds"], point["epoch"], acc, state.lr), flush=True)
        self.on_point(self)
        if self.stop_at is not None and acc >= self.stop_at:
            self._stop(state, "reached test accuracy %.4f >= %.4f" % (acc, self.stop_at))

    def _stop(self, state, why):
        """Ends training through the library: train() returns after this batch or epoch."""
        if self.stopped is None:
            self.stopped = why
        state.stop_training = True


def machine_info():
    """CPU model, cores, thread settings, library versions, load average, date."""
    report = gluon_resnet.cpu_report()
    return {"cpu": report["model"], "cpu_count": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "mxnet": mx.__version__, "python": platform.python_version(),
            "gpus": mx.context.num_gpus() if hasattr(mx.context, "num_gpus") else 0,
            "platform": platform.platform(),
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "cpu_report": report}


def times_to_targets(curve, targets=TARGETS, key="seconds"):
    """``{target: curve[key] at the first point with test_acc >= target, or None}``."""
    out = {}
    for target in targets:
        hit = next((p for p in curve if p["test_acc"] is not None and p["test_acc"] >= target), None)
        out["%.3f" % target] = None if hit is None else hit.get(key)
    return out


def _fmt_time(seconds, cpu_seconds, budget_min):
    if seconds is None:
        return "not reached in %g min" % round(budget_min, 1)
    cpu = "" if cpu_seconds is None else " [cpu/2: %.1f]" % (cpu_seconds / 120)
    return "%.1f min%s" % (seconds / 60, cpu)


def markdown_table(runs):
    """One row per run: times to each target, best accuracy and training time.

    A time is wall-clock training minutes; in brackets, the CPU seconds the process
    spent training divided by 2 cores, in minutes (the share of the machine it got).
    """
    head = ["run", "config"] + ["%g%%" % (100 * t) for t in TARGETS] + [
        "best test acc", "trained", "load avg (1 min) during run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, run in runs.items():
        c, curve, result = run["config"], run["curve"], run["result"]
        budget = c["minutes"] if c.get("minutes") else result["seconds"] / 60
        config = "%s @%dpx, bs %d, %s lr %g, %s%s, ls %g%s" % (
            c["model"], c["resize"], c["batch_size"], c["optimizer"], c["lr"], c["schedule"],
            " (time)" if c["schedule_by"] == "time" else " (%d ep)" % c["epochs"],
            c["label_smoothing"], ", crop+flip" if c["augment"] else "")
        if c.get("precision", "fp32") != "fp32":
            config += ", %s" % c["precision"]
        wall = times_to_targets(curve)
        cpu = times_to_targets(curve, key="cpu_seconds")
        row = [name, config] + [_fmt_time(wall[k], cpu[k], budget) for k in wall]
        best = max((p["test_acc"] for p in curve if p["test_acc"] is not None), default=None)
        last_cpu = curve[-1].get("cpu_seconds") if curve else None
        loads = [p["load1"] for p in curve] or [float("nan")]
        row += ["-" if best is None else "%.4f" % best,
                "%.1f min%s, %.2f epochs" % (
                    result["seconds"] / 60,
                    "" if last_cpu is None else " [cpu/2: %.1f]" % (last_cpu / 120),
                    result["epochs"]),
                "start %.1f, %.1f-%.1f at evaluations" % (
                    run["machine"]["loadavg_start"][0], min(loads), max(loads))]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot(runs, path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    for name, run in runs.items():
        xs = [p["seconds"] / 60 for p in run["curve"] if p["test_acc"] is not None]
        ys = [p["test_acc"] for p in run["curve"] if p["test_acc"] is not None]
        ax.plot(xs, ys, ".-", label="%s (%s @%dpx)" % (name, run["config"]["model"],
                                                       run["config"]["resize"]))
    for t in TARGETS:
        ax.axhline(t, color="gray", lw=0.7, ls="--")
        ax.text(0, t, " %g%%" % (100 * t), va="bottom",
                fontsize=7, color="gray")
    ax.axvline(5, color="red", lw=0.7, ls=":")
    ax.axvline(60, color="red", lw=0.7, ls=":")
    ax.set_ylim(0.80, 0.96)  # the targets; earlier points fall below
    ax.set_xlabel("training time, minutes (test evaluation excluded)")
    ax.set_ylabel("Fashion-MNIST test accuracy")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)


def write_results(out, run_name, run, final):
    """Merge ``run`` into the JSON; on ``final`` also the PNG and the markdown table."""
    os.makedirs(out, exist_ok=True)
    json_path = os.path.join(out, BASENAME + ".json")
    runs = {}
    if os.path.exists(json_path):
        with open(json_path) as f:
            runs = json.load(f).get("runs", {})
    runs[run_name] = run
    with atomic_path(json_path) as tmp:
        with open(tmp, "w") as f:
            json.dump({"targets": list(TARGETS), "runs": runs}, f, indent=1)
    if not final:
        return
    plot(runs, os.path.join(out, BASENAME + ".png"))
    md_path = os.path.join(out, BASENAME + ".md")
    table = TABLE_BEGIN + "\n" + markdown_table(runs) + "\n" + TABLE_END
    text = "# Time to accuracy on Fashion-MNIST\n\n%s\n\n![curve](%s.png)\n" % (table, BASENAME)
    if os.path.exists(md_path):
        with open(md_path) as f:
            old = f.read()
        if TABLE_BEGIN in old and TABLE_END in old:
            text = old[:old.index(TABLE_BEGIN)] + table + old[old.index(TABLE_END) + len(TABLE_END):]
    with atomic_path(md_path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    print(markdown_table({run_name: run}))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--run", default="run", help="name of this run in the results")
    p.add_argument("--model", default="resnet18")
    p.add_argument("--thumbnail", action="store_true", help="3x3/1 stem instead of 7x7/2 + pool")
    p.add_argument("--resize", type=int, default=32, help="input size (28 = no resize)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", default="sgd", choices=("sgd", "nag", "adam"))
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--schedule", default="cosine", choices=("constant", "step", "cosine"))
    p.add_argument("--warmup-epochs", type=float, default=0.2)
    p.add_argument("--final-lr", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs (cosine length in steps); default: run until --minutes")
    p.add_argument("--minutes", type=float, default=None, help="training-time budget")
    p.add_argument("--stop-at", type=float, default=None, help="stop at this test accuracy")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--augment", action="store_true", help="random crop (pad) + horizontal flip")
    p.add_argument("--pad", type=int, default=2)
    p.add_argument("--no-normalize", action="store_true", help="inputs in [0, 1], no mean/std")
    p.add_argument("--eval-every", type=int, default=0, help="also evaluate every N batches")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", default="fp32", choices=("auto", "fp32", "bf16"),
                   help="train()'s precision (bf16: bfloat16 mixed precision)")
    p.add_argument("--root", default=None, help="Fashion-MNIST directory")
    p.add_argument("--out", default=None, help="results directory")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 512 training / 256 test images, batch 64, evaluated every "
                        "4 batches, 1 epoch (unless --epochs), no --out default")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.batch_size, args.eval_every = args.epochs or 1, 64, 4
    if args.epochs is None and args.minutes is None:
        p.error("give --epochs, --minutes, or both")
    if args.out is None:
        args.out = (tempfile.mkdtemp(prefix="tta-") if args.quick else
                    os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    return args


def main(argv=None):
    args = parse_args(argv)
    mx.random.seed(args.seed)
    norm = {} if args.no_normalize else dict(mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD)
    train_iter, test_iter = load_data_fashion_mnist(
        args.batch_size, resize=None if args.resize == 28 else args.resize, root=args.root,
        augment=args.augment, pad=args.pad, seed=args.seed,
        num_train=512 if args.quick else None, num_test=256 if args.quick else None, **norm)
    kwargs = {"thumbnail": True} if args.thumbnail else {}
    net = gluon_resnet.get_model(args.model, classes=10, in_channels=1, **kwargs)

    clock = TrainingClock()
    budget_s = None if args.minutes is None else 60.0 * args.minutes
    warmup_steps = round(args.warmup_epochs * len(train_iter))
    schedule_by = "steps" if args.epochs is not None or args.schedule != "cosine" else "time"
    if schedule_by == "time":
        schedule = TimeCosine(args.lr, budget_s, clock, warmup_steps, args.final_lr)
        epochs = 10 ** 6  # the budget stops it
    else:
        schedule, epochs = args.schedule, args.epochs or 10 ** 6

    config = {k: v for k, v in vars(args).items() if k not in ("out", "root", "run")}
    config.update(schedule_by=schedule_by, epochs=args.epochs, warmup_steps=warmup_steps,
                  num_train=train_iter.num_examples, num_test=test_iter.num_examples,
                  normalize=None if args.no_normalize else [FASHION_MNIST_MEAN, FASHION_MNIST_STD])
    run = {"config": config, "machine": machine_info(), "command": " ".join(sys.argv),
           "curve": [], "result": {}}

    def save(recorder, final=False):
        run["curve"] = recorder.curve
        last = recorder.curve[-1] if recorder.curve else {"seconds": 0.0, "epoch": 0}
        run["result"] = {"seconds": last["seconds"], "epochs": last["epoch"],
                         "precision": recorder.precision, "stopped": recorder.stopped, "times": times_to_targets(recorder.curve),
                         "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
        write_results(args.out, args.run, run, final)

    recorder = Recorder(clock, test_iter, args.eval_every, budget_s, args.stop_at, save)
    print("%s: %s, %d batches/epoch, results in %s"
          % (args.run, json.dumps(config), len(train_iter), args.out), flush=True)
    log = _EvalLog()
    history = train(net, train_iter, test_iter, epochs, args.lr, optimizer=args.optimizer,
                    momentum=args.momentum, wd=args.wd, schedule=schedule,
                    warmup_steps=warmup_steps, final_lr=args.final_lr,
                    label_smoothing=args.label_smoothing, no_wd_bn_bias=True, seed=args.seed,
                    callbacks=[log, recorder], precision=args.precision)
    if recorder.stopped is None:
        recorder.stopped = "ran %d epochs" % epochs
    run["eval_seconds"] = round(sum(history.eval_time), 3)
    save(recorder, final=True)
    return run


class _EvalLog(Callback):
    """Prints every epoch's line."""

    def on_epoch_end(self, state):
        h = state.history
        print("epoch %d: loss %.4f, train acc %.4f, test acc %.4f, %.0f img/s in %s, load %.2f"
              % (len(h), h.loss[-1], h.train_acc[-1], h.test_acc[-1], h.throughput[-1],
                 state.precision, os.getloadavg()[0]), flush=True)


if __name__ == "__main__":
    main()
