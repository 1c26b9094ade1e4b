"""What the ``gluon-resnet`` commands share: the program name, the error they end
with, argument types, ``--ctx`` parsing, run directories, Fashion-MNIST loading, and the
thread setting made before MXNet loads (see :mod:`gluon_resnet.cli`)."""
import argparse
import os
import re
import sys

__all__ = ["PROG", "CLIError", "parse_ctx"]


PROG = "gluon-resnet"


_MAX_RESIZE = 1024


_SPLITS = {"num_train": 60000, "num_test": 10000}


class CLIError(Exception):
    """A bad argument: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CLIError("%s (see %s --help)" % (message, self.prog))


def _int_in(low, high=None, what="a number"):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (what, text)) from None
        if value < low or (high is not None and value > high):
            bounds = ">= %d" % low if high is None else "between %d and %d" % (low, high)
            raise argparse.ArgumentTypeError("must be %s, got %d" % (bounds, value))
        return value
    return parse


def _float_in(low, high=None, high_open=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected a number, got %r" % text) from None
        if not (value >= low and (high is None or (value < high if high_open else value <= high))):
            bounds = ">= %g" % low if high is None else "in [%g, %g%s" % (
                low, high, ")" if high_open else "]")
            raise argparse.ArgumentTypeError("must be %s, got %r" % (bounds, text))
        return value
    return parse


def _milestones(text):
    try:
        return [float(m) for m in text.split(",") if m.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected comma-separated epochs such as 30,60, got %r" % text) from None


def parse_ctx(text):
    """``'cpu'``, ``'gpu0'``, ``'gpu0,gpu1'`` -> a list of MXNet contexts.

    Raises
    ------
    CLIError
        For anything else, for repeated contexts, or for GPUs that are not there.
    """
    import mxnet as mx
    ctxs = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(cpu|gpu)(\d*)\s*", part.lower())
        if not match:
            raise CLIError("--ctx: expected cpu, gpuN or a comma-separated list such as "
                           "gpu0,gpu1; got %r" % text)
        kind, index = match.group(1), int(match.group(2) or 0)
        ctxs.append(mx.cpu(index) if kind == "cpu" else mx.gpu(index))
    if len(set(ctxs)) != len(ctxs):
        raise CLIError("--ctx lists a device twice: %r" % text)
    from ..context import GPUUnavailableError, check_ctx
    try:
        check_ctx(ctxs, "--ctx %s" % text)
    except GPUUnavailableError as err:
        raise CLIError(str(err)) from None
    return ctxs


def _check_model(name):
    from ..models.registry import list_models, unknown_model_message
    if name not in list_models():
        raise CLIError(unknown_model_message(name))


def _prepare_out(out, resume):
    """Create the run directory and check it can be written; refuse to overwrite a run."""
    import tempfile

    from ..training.checkpoint import CHECKPOINT_FILE
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise CLIError("cannot write to --out %s: %s" % (out, err.strerror or err)) from None
    if os.path.isfile(os.path.join(out, CHECKPOINT_FILE)) and not resume:
        raise CLIError("%s already holds a trained run; add --resume to continue it, or "
                       "choose another --out" % out)


def _load_data(args, batch_size, resize, ctx, **kwargs):
    from ..data import DatasetNotFoundError, load_data_fashion_mnist
    try:
        return load_data_fashion_mnist(batch_size, resize=resize, root=args.data_dir, ctx=ctx,
                                       **kwargs)
    except (DatasetNotFoundError, ValueError) as err:
        raise CLIError(str(err)) from None


def _default_threads():
    """Set OMP_NUM_THREADS if the user did not; re-execute if MXNet is already loaded."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    os.environ["OMP_NUM_THREADS"] = str(os.cpu_count() or 1)
    if "mxnet" in sys.modules and os.name == "posix":
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-m", "gluon_resnet"] + sys.argv[1:])
