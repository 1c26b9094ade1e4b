"""What the training loop reports, outside the loop: d2l's lines, progress bars, plots.

:func:`gluon_resnet.train` prints and plots nothing itself; it calls these callbacks'
``on_train_begin``, ``on_epoch_begin``, ``on_batch_end``, ``on_epoch_end`` and
``on_train_end`` with its :class:`~gluon_resnet.training.TrainState`.
"""
import os
import sys

from ..params import atomic_path, write_json

__all__ = ["Callback", "PrintLines", "ProgressBar", "Animator", "SaveCurves", "SaveHistory"]


class Callback:
    """No-op base of the callback protocol; override what you need.

    ``train`` calls ``on_train_begin(state)``, then per epoch ``on_epoch_begin(state)``,
    ``on_batch_end(state)`` after every update and ``on_epoch_end(state)`` once
    ``state.history`` holds the epoch, and ``on_train_end(state)`` at the end, also when
    training stops with an exception. Any object with some of these methods works.
    """

    def on_train_begin(self, state):
        pass

    def on_epoch_begin(self, state):
        pass

    def on_batch_end(self, state):
        pass

    def on_epoch_end(self, state):
        pass

    def on_train_end(self, state):
        pass


def _ctx_text(ctx):
    return str(ctx[0]) if len(ctx) == 1 else "[%s]" % ", ".join(map(str, ctx))


class PrintLines(Callback):
    """Print d2l's lines after every epoch::

        epoch 1/10: loss 0.512, train acc 0.812, test acc 0.845
        3150.2 examples/sec on cpu(0)

    (``... on cpu(0) in bf16`` when training in bfloat16; ``... on 2 workers (cpu(0)
    each)`` for a distributed job, whose examples are all the workers'.)

    Parameters
    ----------
    file : file-like, optional
        Default ``sys.stdout`` (looked up at print time).
    """

    def __init__(self, file=None):
        self.file = file

    def on_epoch_end(self, state):
        h, out = state.history, self.file or sys.stdout
        test = "n/a" if h.test_acc[-1] is None else "%.3f" % h.test_acc[-1]
        print("epoch %d/%d: loss %.3f, train acc %.3f, test acc %s"
              % (len(h), state.num_epochs, h.loss[-1], h.train_acc[-1], test), file=out)
        low = " in bf16" if getattr(state, "precision", "fp32") != "fp32" else ""
        where = _ctx_text(state.ctx)
        workers = getattr(state, "num_workers", 1)
        if workers > 1:
            where = "%d workers (%s each)" % (workers, where)
        print("%.1f examples/sec on %s%s" % (h.throughput[-1], where, low), file=out)
        out.flush()


class ProgressBar(Callback):
    """A tqdm bar per epoch with the running loss and accuracy.

    Parameters
    ----------
    every : int, default 10
        Refresh loss and accuracy every ``every`` batches (each refresh waits for the
        device once).
    file : file-like, optional
        Default ``sys.stderr``.
    """

    def __init__(self, every=10, file=None):
        self.every, self.file, self._bar = max(int(every), 1), file, None

    def on_epoch_begin(self, state):
        from tqdm import tqdm
        self._close()
        self._bar = tqdm(total=state.num_batches, unit="batch", file=self.file or sys.stderr,
                         desc="epoch %d/%d" % (state.epoch + 1, state.num_epochs),
                         dynamic_ncols=True)

    def on_batch_end(self, state):
        self._bar.update(1)
        if state.batch % self.every == 0:
            loss, acc = state.running()
            self._bar.set_postfix_str("loss %.3f, acc %.3f" % (loss, acc), refresh=False)

    def on_epoch_end(self, state):
        h = state.history
        test = "" if h.test_acc[-1] is None else ", test acc %.3f" % h.test_acc[-1]
        self._bar.set_postfix_str("loss %.3f, acc %.3f%s" % (h.loss[-1], h.train_acc[-1], test))
        self._close()

    def on_train_end(self, state):
        self._close()

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _plot_curves(ax, points, num_epochs):
    for label, style in (("train loss", "-"), ("train acc", "m--"), ("test acc", "g.-")):
        xs, ys = points[label]
        if xs:
            ax.plot(xs, ys, style, label=label)
    ax.set_xlabel("epoch")
    ax.set_xlim(1 if num_epochs > 1 else 0, max(num_epochs, 1))
    ax.grid(True)
    ax.legend()


def _history_points(history):
    epochs = list(range(1, len(history) + 1))
    tested = [(e, a) for e, a in zip(epochs, history.test_acc) if a is not None]
    return {"train loss": (list(epochs), list(history.loss)),
            "train acc": (list(epochs), list(history.train_acc)),
            "test acc": ([e for e, _ in tested], [a for _, a in tested])}


class Animator(Callback):
    """d2l's live plot of train loss, train acc and test acc against epochs.

    The figure (``self.fig``, a matplotlib ``Figure``) is redrawn in place in a
    Jupyter notebook through IPython's display; elsewhere it is only updated.

    Parameters
    ----------
    points_per_epoch : int, default 5
        Training points per epoch, as d2l (each waits for the device once).
    figsize : tuple, default (3.5, 2.5)
    """

    def __init__(self, points_per_epoch=5, figsize=(3.5, 2.5)):
        from matplotlib.figure import Figure
        self.points_per_epoch = max(int(points_per_epoch), 1)
        self.fig = Figure(figsize=figsize)
        self.ax = self.fig.add_subplot()
        self.points = None

    def on_train_begin(self, state):
        self.points = _history_points(state.history)
        self._num_epochs = state.num_epochs

    def on_batch_end(self, state):
        n = state.num_batches
        if not n:
            return
        every = max(n // self.points_per_epoch, 1)
        if state.batch % every == 0 or state.batch == n:
            loss, acc = state.running()
            x = state.epoch + state.batch / n
            for label, y in (("train loss", loss), ("train acc", acc)):
                self.points[label][0].append(x)
                self.points[label][1].append(y)
            self._draw()

    def on_epoch_end(self, state):
        if state.history.test_acc[-1] is not None:
            self.points["test acc"][0].append(state.epoch + 1)
            self.points["test acc"][1].append(state.history.test_acc[-1])
        self._draw()

    def on_train_end(self, state):
        # Show the final figure without a pending clear, so output printed after
        # training does not wipe the plot.
        self._draw(final=True)

    def _draw(self, final=False):
        self.ax.cla()
        _plot_curves(self.ax, self.points, self._num_epochs)
        try:
            from IPython import display, get_ipython
        except ImportError:
            return
        if get_ipython() is not None:
            display.display(self.fig)
            if not final:
                display.clear_output(wait=True)


class SaveCurves(Callback):
    """Write a PNG of loss, train acc and test acc against epoch after every epoch.

    The file is written to a temporary name and renamed, so it is always a whole image.
    """

    def __init__(self, path, figsize=(5, 3.5), dpi=100):
        self.path, self.figsize, self.dpi = os.fspath(path), figsize, dpi

    def on_epoch_end(self, state):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        fig = Figure(figsize=self.figsize)
        FigureCanvasAgg(fig)
        _plot_curves(fig.add_subplot(), _history_points(state.history), state.num_epochs)
        fig.tight_layout()
        with atomic_path(self.path) as tmp:
            fig.savefig(tmp, format="png", dpi=self.dpi)


class SaveHistory(Callback):
    """Write ``History.to_dict()`` as JSON after every epoch (temporary name, rename)."""

    def __init__(self, path):
        self.path = os.fspath(path)

    def on_epoch_end(self, state):
        write_json(self.path, state.history.to_dict())


def _call(callbacks, hook, state):
    for cb in callbacks:
        method = getattr(cb, hook, None)
        if method is not None:
            method(state)
