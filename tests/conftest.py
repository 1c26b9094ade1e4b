import contextlib
import io
import os
import pathlib
import socket

import gluon_resnet  # first: bridges numpy/distutils gaps before mxnet loads)
from gluon_resnet.arrays import as_current
import mxnet as mx
import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# GluonCV (a reference) refuses to import beside torch >= 2, which the tests also use as
# a reference: import its MXNet half once, torch hidden (gluon_resnet._compat).
try:
    from gluon_resnet._compat import import_gluoncv
    import_gluoncv()
except ImportError:
    pass



# The longest test files, longest first: `make test` runs files on parallel workers in
# collection order, and starting these first keeps one from finishing alone at the end
# (test_distributed first: its jobs run four processes each, best beside lighter files).
_LONG_FILES = ["test_distributed.py", "test_numpy_mode.py", "test_resnet.py", "test_lineage.py",
               "test_reference_weights.py", "test_benchmarks.py", "test_checkpoint.py",
               "test_train.py", "test_deploy.py", "test_d2l.py", "test_notebook.py"]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(_LONG_FILES)}
    items.sort(key=lambda item: rank.get(os.path.basename(str(item.fspath)), len(rank)))


@pytest.fixture(scope="session")
def fmnist_dir():
    """The real Fashion-MNIST files: $FASHION_MNIST_DIR, else ../shared/data/fashion-mnist
    beside the repository (as .ci/run sets it). Missing files fail, never skip."""
    from gluon_resnet.data import FILES
    path = pathlib.Path(os.environ.get("FASHION_MNIST_DIR") or
                        os.path.join(os.path.dirname(REPO), "shared", "data", "fashion-mnist"))
    missing = [name for name in FILES if not (path / name).is_file()]
    assert not missing, "Fashion-MNIST files %s missing from %s; set FASHION_MNIST_DIR" % (
        missing, path)
    return path


@pytest.fixture
def closed_url(monkeypatch):
    """Point Fashion-MNIST downloads at a local port nobody listens on: they fail at once."""
    from gluon_resnet.data import fashion_mnist as data  # where the download reads BASE_URL
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(data, "BASE_URL", "http://127.0.0.1:%d/" % port)
    return data.BASE_URL


def run_main(argv):
    """``gluon_resnet.cli.main(argv)`` in-process -> (exit code, stdout, stderr)."""
    from gluon_resnet import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _seed():
    mx.random.seed(0)
    np.random.seed(0)
    yield
    mx.npx.reset_np()  # a failed test must not leave numpy mode on for the next


@contextlib.contextmanager
def numpy_mode(on=True):
    """MXNet's numpy interface on (as d2l's ``npx.set_np()``), or off, for the block;
    off afterwards."""
    if on:
        mx.npx.set_np()
    else:
        mx.npx.reset_np()
    try:
        yield
    finally:
        mx.npx.reset_np()


@pytest.fixture
def np_mode():
    """Numpy mode on for the test, off afterwards."""
    with numpy_mode():
        yield


def randomize(net, x=None, seed=0):
    """Give every parameter, BN running statistics included, random non-trivial values.

    Running means/variances stay at 0/1 after initialisation, which would let a wrong
    BN wiring pass an inference-mode comparison; this makes every value matter. With a
    batch ``x``, the running statistics are then set to that batch's statistics (one
    training step's forward and backward with BN momentum 0), so deep nets stay at a sane scale in
    inference mode instead of overflowing.
    """
    rng = np.random.RandomState(seed)
    for name, param in sorted(net.collect_params().items()):
        shape = param.shape
        if name.endswith(("running_var", "gamma")):
            value = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("running_mean", "beta", "bias")):
            value = rng.uniform(-0.2, 0.2, shape)
        else:
            fan_in = int(np.prod(shape[1:]))
            value = rng.normal(0, np.sqrt(2.0 / fan_in), shape)
        param.set_data(as_current(mx.nd.array(value)))  # mx.np in numpy mode
    if x is not None:
        bns = []
        _collect_batchnorms(net, bns)
        for bn in bns:
            bn._kwargs["momentum"], bn._saved_momentum = 0.0, bn._kwargs["momentum"]
        try:
            # With oneDNN, MXNet updates BN running statistics during backward.
            with mx.autograd.record():
                out = net(x)
            out.backward()
            mx.nd.waitall()
        finally:
            for bn in bns:
                bn._kwargs["momentum"] = bn._saved_momentum


def _collect_batchnorms(block, out):
    if isinstance(block, mx.gluon.nn.BatchNorm):
        out.append(block)
    for child in block._children.values():
        _collect_batchnorms(child, out)


# One model of each family and block type. `make test` checks these (on both Pythons) and
# leaves the rest of the per-model sweeps (marked `sweep`) to `make test-sweep`.
REPRESENTATIVE = {"resnet18", "resnet50", "resnet18_v2", "resnet50_v2", "resnet18_v1b",
                  "resnet50_v1b", "resnext50_32x4d", "cifar_resnet20", "cifar_plain20",
                  # the deep stem and average-pooled shortcut (v1c/v1d/v1s/v1e)
                  "resnet50_v1d",
                  # the lineage: one per architecture (d2l's DenseNet stands for the
                  # concatenating nets' numpy-mode gradients: densenet121's take 10 s),
                  # and one d2l chapter form
                  "lenet", "alexnet", "vgg11_bn", "nin", "googlenet", "d2l_densenet",
                  "d2l_lenet"}


def sweep(names):
    """pytest params for ``names``; those outside REPRESENTATIVE are marked ``sweep``."""
    params = []
    for n in names:
        values = n if isinstance(n, tuple) else (n,)
        marks = () if values[0] in REPRESENTATIVE else (pytest.mark.sweep,)
        params.append(pytest.param(*values, marks=marks))
    return params


def get_model_uninitialized(name, **kwargs):
    """``get_model(name, **kwargs)`` with zeros for parameters, for tests that set every
    parameter themselves (``randomize``, ``load_parameters``): the library's He-normal
    initialisation draws 60M Gaussian numbers for a ResNet-152 (3 s on one thread)."""
    net = gluon_resnet.get_model(name, initialize=False, **kwargs)
    net.initialize(mx.init.Zero())
    return net


def max_diff(a, b):
    return float(np.abs(a.asnumpy() - b.asnumpy()).max())


def is_count_of(accuracy, n, decimals=None):
    """Whether ``accuracy`` is k/n for a whole k in 0..n: right answers counted over n
    examples (a mean of batch means over a short last batch, another denominator or
    another set would miss it). With ``decimals``: k/n as printed to that many."""
    k = round(accuracy * n)
    slack = 1e-6 / n if decimals is None else 0.5 * 10 ** -decimals + 1e-9
    return 0 <= k <= n and abs(accuracy - k / n) <= slack


# Debian's chromium, driven headless through playwright (never playwright's own browser
# download), for the browser tests (the serve page, the docs site).
CHROMIUM = "/usr/bin/chromium"
_CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """A headless chromium; skipped without it, except under CI, where it must be there."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("%s is missing: install Debian's chromium (make browser)" % CHROMIUM)
        pytest.skip("%s is missing: `make browser` installs Debian's chromium" % CHROMIUM)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=_CHROMIUM_ARGS)
        yield chromium
        chromium.close()
