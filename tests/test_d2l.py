"""d2l's own MXNet code drives gluon_resnet's nets, in numpy mode as d2l runs.

The ``d2l`` package is the reference: version 0.17.6 (``train_ch6``, ``Residual``) is
installed in the test environment with ``pip install --no-deps`` (its pins predate
MXNet 1.9's numpy), and 1.0.3 (``Classifier``/``Trainer``) is unpacked beside it into
``<venv>/d2l-1.0.3`` and loaded from its file; `make test` installs both. Without
them these tests are skipped, unless GLUON_RESNET_D2L=required (as `make test` sets).
"""
import importlib.util
import os
import re
import sys

import mxnet as mx
import numpy as np
import pytest

import gluon_resnet
from gluon_resnet import data
from gluon_resnet.training import evaluate_accuracy
from conftest import REPO

D2L_V1 = os.path.join(sys.prefix, "d2l-1.0.3", "d2l", "mxnet.py")
REQUIRED = os.environ.get("GLUON_RESNET_D2L") == "required"


def _missing(what):
    if REQUIRED:
        pytest.fail("%s is not installed; `make test` installs it (GLUON_RESNET_D2L=required)"
                    % what)
    pytest.skip("%s is not installed (pip install --no-deps d2l==0.17.6; see the Makefile)"
                % what)


@pytest.fixture(scope="module")
def d2l():
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        from d2l import mxnet as d2l_mxnet
    except ImportError:
        _missing("d2l 0.17.6")
    return d2l_mxnet


@pytest.fixture(scope="module")
def d2l_v1():
    """d2l 1.0.3's MXNet code, loaded from its file under its own module name."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    if not os.path.isfile(D2L_V1):
        _missing("d2l 1.0.3 (in %s)" % os.path.dirname(os.path.dirname(D2L_V1)))
    spec = importlib.util.spec_from_file_location("d2l_v1_mxnet", D2L_V1)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _fmnist(root, num_train, num_test):
    """Real Fashion-MNIST batches of 32, as mx.np arrays when numpy mode is on."""
    return data.load_data_fashion_mnist(32, num_train=num_train, num_test=num_test, seed=0,
                                        root=str(root))


@pytest.fixture
def fmnist(fmnist_dir, np_mode):
    return _fmnist(fmnist_dir, 1024, 500)


@pytest.mark.slow
@pytest.mark.parametrize("build, num_train, num_test, lr, least", [
    (lambda: gluon_resnet.cifar_resnet20(), 1024, 500, 0.1, 0.5),
    # Full-resolution 28x28 stages: 30 s for these 640 images on 2 cores.
    pytest.param(lambda: gluon_resnet.resnet18(classes=10, thumbnail=True), 320, 200, 0.05,
                 0.3, marks=pytest.mark.sweep),
], ids=["cifar_resnet20", "resnet18-thumbnail"])
def test_d2l_train_ch6_trains_our_nets(d2l, fmnist_dir, np_mode, build, num_train, num_test,
                                       lr, least, capsys):
    """``train_ch6`` re-initialises the net with Xavier (force_reinit) and feeds
    1-channel numpy-mode batches to nets built with the default in_channels=0."""
    train_iter, test_iter = _fmnist(fmnist_dir, num_train, num_test)
    X, _ = next(iter(train_iter))
    assert isinstance(X, mx.np.ndarray) and X.shape[1] == 1
    net = build()
    d2l.train_ch6(net, train_iter, test_iter, 2, lr, mx.cpu())
    printed = capsys.readouterr().out
    test_acc = float(printed.rsplit("test acc ", 1)[1].split()[0])
    # d2l's own accuracy of the trained net, and ours, far above chance (0.1).
    assert d2l.evaluate_accuracy_gpu(net, test_iter) == pytest.approx(test_acc, abs=1e-3)
    assert evaluate_accuracy(net, test_iter) == pytest.approx(test_acc, abs=1e-3)
    assert test_acc >= least


@pytest.mark.slow
def test_d2l_v1_classifier_and_trainer_train_our_net(d2l_v1, fmnist):
    train_iter, test_iter = fmnist

    class OurResNet(d2l_v1.Classifier):
        def __init__(self, lr):
            super().__init__()
            self.save_hyperparameters()
            self.net = gluon_resnet.cifar_resnet20()

    class FashionMNIST(d2l_v1.DataModule):
        def get_dataloader(self, train):
            return train_iter if train else test_iter

    model = OurResNet(lr=0.1)
    d2l_v1.Trainer(max_epochs=2).fit(model, FashionMNIST())
    correct = sum(float(model.accuracy(model(X), y, averaged=False).sum())
                  for X, y in test_iter)
    assert correct / 500 == pytest.approx(evaluate_accuracy(model.net, test_iter), abs=1e-6)
    assert correct / 500 >= 0.4


@pytest.mark.parametrize("use_1x1conv, strides", [(False, 1), (True, 2)])
def test_d2l_residual_and_ours_share_parameters(d2l, np_mode, tmp_path, use_1x1conv,
                                                strides):
    channels = 6 if use_1x1conv else 3
    x = mx.np.array(np.random.RandomState(0).normal(size=(4, 3, 6, 6)).astype("float32"))
    theirs = d2l.Residual(channels, use_1x1conv=use_1x1conv, strides=strides)
    ours = gluon_resnet.Residual(channels, use_1x1conv=use_1x1conv, strides=strides)
    for blk in (theirs, ours):
        blk.initialize(mx.init.Xavier())
        blk(x)
    # d2l's parameters into ours, and ours into d2l's: the same outputs, in training
    # (batch statistics) and in inference.
    for src, dst in ((theirs, ours), (ours, theirs)):
        for name, p in src.collect_params().items():
            low = 0.5 if name.endswith("running_var") else -1.0
            p.set_data(mx.np.random.uniform(low, 1.0, size=p.shape))
        path = str(tmp_path / "p.params")
        src.save_parameters(path)
        dst.load_parameters(path)
        with mx.autograd.record():
            train_a, train_b = src(x), dst(x)
        assert np.abs(train_a.asnumpy() - train_b.asnumpy()).max() < 1e-5
        assert np.abs(src(x).asnumpy() - dst(x).asnumpy()).max() < 1e-5


@pytest.mark.parametrize("gpus", [0, 1, 3])
def test_try_gpu_and_try_all_gpus_are_d2ls(d2l, monkeypatch, gpus):
    monkeypatch.setattr(mx.context, "num_gpus", lambda: gpus)
    monkeypatch.setattr(d2l.npx, "num_gpus", lambda: gpus)
    for i in range(4):
        assert gluon_resnet.try_gpu(i) == d2l.try_gpu(i)
    assert gluon_resnet.try_all_gpus() == d2l.try_all_gpus()


# --- nothing copied from d2l's chapters -------------------------------------------------

# SHA-1 (first 12 hex digits) of the normalised code lines of the ResNet chapter's cells that
# are not in the d2l package (the residual block's shape checks, the stem and stages, the
# walk over the layers): fingerprints, not the code. A run of 3 in a row is a copy.
CHAPTER_FINGERPRINTS = {
    "166bd6ab2f5b", "eafbad5f7f63", "38a3682b86a3", "4d43c4171a09", "b18693100c72",
    "3e3600476b9d", "2e60b3ed397a", "c568b695f48f", "63e7863abdc5", "7e1857d6e45e",
    "0414404472f1", "d342e6b00ef0", "c541c34d096b", "0e96687de265", "e3bccda5a125",
    "04650894c5a7", "0c920a8ac898", "becea3b266fe", "5db7549956b3", "c87270be5444",
    "6ab357ee2fd8"}


def _code_lines(text):
    """Code lines without comments or whitespace, the trivial ones (8 characters or
    fewer: ``)``, ``return X``) left out."""
    lines = (re.sub(r"\s+", "", line.split("#")[0]) for line in text.splitlines())
    return [line for line in lines if len(line) > 8]


def _our_code():
    import glob
    import json
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "*.py")) +
                       glob.glob(os.path.join(REPO, "notebooks", "*.ipynb"))):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if path.endswith(".ipynb"):
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"]
                             if c["cell_type"] == "code")
        yield os.path.relpath(path, REPO), _code_lines(text)


def _copied_runs(lines, is_copied, run):
    flags = [is_copied(i) for i in range(len(lines) - run + 1)]
    return [lines[i:i + run] for i, f in enumerate(flags) if f]


def test_no_notebook_or_test_holds_a_verbatim_d2l_chapter(d2l):
    """5 code lines in a row as in the installed d2l package's source (its chapters' saved
    functions and classes: Residual, train_ch6, ...), or 3 in a row of the ResNet
    chapter's own cells, fail."""
    import hashlib
    import inspect
    theirs = _code_lines(inspect.getsource(d2l))
    windows = set(zip(*(theirs[i:] for i in range(5))))
    copies = {}
    for path, lines in _our_code():
        hashed = [hashlib.sha1(line.encode()).hexdigest()[:12] in CHAPTER_FINGERPRINTS
                  for line in lines]
        found = _copied_runs(lines, lambda i: tuple(lines[i:i + 5]) in windows, 5) + \
            _copied_runs(lines, lambda i: all(hashed[i:i + 3]) and i + 3 <= len(lines), 3)
        if found:
            copies[path] = found[0]
    assert not copies, copies
