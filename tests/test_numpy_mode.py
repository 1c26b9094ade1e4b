"""MXNet's numpy interface (``npx.set_np()``, d2l's) beside legacy ``mx.nd``.

The reference is the legacy mode: a net of the same parameters must give the same
outputs, gradients and files in numpy mode, and every file one mode writes must load
in the other. Parameter files written by MXNet itself in each mode (``save_parameters``,
``HybridBlock.export``) are the other references.
"""
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, npx

import gluon_resnet
from conftest import (REPO, REPRESENTATIVE, get_model_uninitialized, numpy_mode, randomize,
                      sweep)
from gluon_resnet import data
from gluon_resnet.models import blocks, lineage
from gluon_resnet.training import evaluate_accuracy, load_checkpoint, train

FAMILIES = ["resnet18", "resnet50", "resnet18_v2", "resnet50_v2", "resnet18_v1b",
            "resnet50_v1b", "resnext50_32x4d", "cifar_resnet20"]


def _input_shape(name):
    if name in lineage.SPECS:
        # The smallest images the net takes (8x8 at least); one image of the 224x224
        # that DenseNet and GoogLeNet need.
        spec = lineage.SPECS[name]
        size = max(spec.min_size, 8)
        return (1 if size > 100 else 2, spec.input_shape[0], size, size)
    return (2, 3, 8, 8) if name.startswith("cifar") else (2, 3, 32, 32)


def _without_dropout(block):
    """``block`` with its dropout layers off (rate 0: MXNet's Dropout is then a copy),
    so that its training-mode outputs and gradients are not random. (Gradients of an
    inference-mode pass are no way out: MXNet's max-pooling keeps what its backward
    needs only in training mode.)"""
    if isinstance(block, mx.gluon.nn.Dropout):
        block._rate = 0
    for child in block._children.values():
        _without_dropout(child)
    return block


def _concatenates(block):
    """Whether ``block`` concatenates (DenseNet, GoogLeNet): in numpy mode through
    ``np.concatenate``, another operator than legacy ``Concat`` (without oneDNN)."""
    return isinstance(block, (lineage.Concurrent, lineage.Inception, lineage.DenseBlock)) \
        or any(_concatenates(child) for child in block._children.values())


def _legacy_reference(net, x, backward=True):
    """Inference output, training output and gradients of a legacy-mode net."""
    with autograd.predict_mode():
        infer = net(mx.nd.array(x, dtype=x.dtype)).asnumpy()
    with autograd.record():
        out = net(mx.nd.array(x, dtype=x.dtype))
        loss = (out * out).sum()
    if not backward:
        return infer, out.asnumpy(), {}
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()
             if p.grad_req != "null"}
    return infer, out.asnumpy(), grads


def _np_run(net, x, backward=True):
    with autograd.predict_mode():
        infer = net(mx.np.array(x, dtype=x.dtype))
    with autograd.record():
        out = net(mx.np.array(x, dtype=x.dtype))
        loss = (out * out).sum()
    assert isinstance(infer, mx.np.ndarray) and isinstance(out, mx.np.ndarray)
    grads = {}
    if backward:
        loss.backward()
        for k, p in net._collect_params_with_prefix().items():
            if p.grad_req != "null":
                assert isinstance(p.data(), mx.np.ndarray), k
                grads[k] = p.grad().asnumpy()
    return infer.asnumpy(), out.asnumpy(), grads


def _close(a, b, rtol):
    scale = max(float(np.abs(b).max()), 1e-3)
    return float(np.abs(a - b).max()) <= rtol * scale


def _check_same_as_legacy(build, x, tmp_path, imperative=True):
    """``build()`` in legacy mode, random parameters, then in numpy mode with the same
    parameters, imperative and hybridized: same outputs and gradients as the legacy net
    run imperatively (the reference: a legacy hybridized graph rounds differently, which
    the small inputs' last-stage BatchNorm over two values amplifies). Without
    ``imperative`` (the per-model sweep), the numpy-mode net runs hybridized only, and
    outputs (inference and training mode) are compared, not gradients. Dropout is off
    (see ``_without_dropout``).

    Nets that concatenate are compared in float64 where gradients are: numpy mode's
    ``np.concatenate`` is another operator than legacy ``Concat``, so in float32 the
    layers after it round differently, and a deep net with random weights amplifies that
    in its gradients (DenseNet-121's float32 gradients are 6% off its float64 ones even
    in legacy mode). In float64 both modes run the same kernels."""
    net = _without_dropout(build(hybridize=False))
    net(mx.nd.array(x))
    randomize(net, mx.nd.array(x))
    path = str(tmp_path / "legacy.params")
    gluon_resnet.save_parameters(net, path)
    dtype = "float64" if imperative and _concatenates(net) else "float32"
    x = x.astype(dtype)
    net.cast(dtype)
    infer, train_out, grads = _legacy_reference(net, x, backward=imperative)
    with numpy_mode():
        for hybridize in (False, True) if imperative else (True,):
            net = _without_dropout(build(hybridize=False))
            gluon_resnet.load_parameters(net, path)
            net.cast(dtype)
            if hybridize:
                net.hybridize(static_alloc=True)
            got_infer, got_train, got_grads = _np_run(net, x, backward=imperative)
            # Same operators: identical imperatively. Hybridized, oneDNN fuses and orders
            # the graph's operators its own way, so float32 rounding differs: checked
            # relative to the scale, as test_resnet checks hybridized against imperative.
            tol = 1e-3 if hybridize else 1e-6
            assert _close(got_infer, infer, tol), hybridize
            assert _close(got_train, train_out, tol), hybridize
            assert sorted(got_grads) == sorted(grads)
            for k in grads:
                assert _close(got_grads[k], grads[k], tol), (hybridize, k)


def test_the_d2l_snippet_runs_verbatim():
    code = ("import gluon_resnet\n"
            "from mxnet import np, npx\n"
            "npx.set_np()\n"
            "blk = gluon_resnet.Residual(3); blk.initialize()\n"
            "print(blk(np.random.uniform(size=(4, 3, 6, 6))).shape)\n"
            "print(gluon_resnet.resnet18(classes=10)(np.ones((1, 3, 64, 64))).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["(4,", "3,", "6,", "6)", "(1,", "10)"]


@pytest.mark.parametrize("build, shape", [
    (lambda **kw: blocks.Residual(6, use_1x1conv=True, strides=2), (2, 3, 6, 6)),
    (lambda **kw: blocks.Residual(3), (2, 3, 6, 6)),
    (lambda **kw: blocks.BasicBlockV1(8, 2, True, in_channels=4), (2, 4, 6, 6)),
    (lambda **kw: blocks.BottleneckV1(16, 2, True, in_channels=8, groups=2,
                                      bottleneck_width=32, stride_on_3x3=True), (2, 8, 6, 6)),
    (lambda **kw: blocks.BasicBlockV2(8, 2, True, in_channels=4), (2, 4, 6, 6)),
    (lambda **kw: blocks.BottleneckV2(16, 1, True, in_channels=8), (2, 8, 6, 6)),
    (lambda **kw: blocks.BasicBlockV1b(8, 1, False, in_channels=8), (2, 8, 6, 6)),
    (lambda **kw: blocks.BottleneckV1b(16, 2, True, in_channels=8), (2, 8, 6, 6)),
    (lambda **kw: blocks.BasicBlockV1(8, 2, True, in_channels=4, shortcut="A"), (2, 4, 6, 6)),
    (lambda **kw: blocks.BasicBlockV2(12, 2, True, in_channels=4, shortcut="A",
                                      kernel_size=4), (2, 4, 7, 7)),
    (lambda **kw: blocks.BottleneckV1(16, 1, False, in_channels=16, shortcut="C"),
     (2, 16, 6, 6)),
    (lambda **kw: blocks.BasicBlockV1(8, 2, True, in_channels=4, shortcut=None), (2, 4, 6, 6)),
], ids=["Residual-1x1", "Residual", "BasicBlockV1", "BottleneckV1-groups", "BasicBlockV2",
        "BottleneckV2", "BasicBlockV1b", "BottleneckV1b", "shortcut-A", "V2-A-even-kernel",
        "shortcut-C", "plain"])
def test_every_block_matches_legacy_mode(build, shape, tmp_path):
    def make(hybridize):
        blk = build()
        blk.initialize(mx.init.Xavier())
        return blk
    x = np.random.RandomState(1).normal(size=shape).astype("float32")
    _check_same_as_legacy(make, x, tmp_path)


@pytest.mark.parametrize("name", sweep(gluon_resnet.list_models()))
def test_every_model_matches_legacy_mode(name, tmp_path):
    x = np.random.RandomState(2).normal(size=_input_shape(name)).astype("float32")
    _check_same_as_legacy(lambda **kw: get_model_uninitialized(name, classes=7, **kw), x,
                          tmp_path, imperative=name in REPRESENTATIVE)


def test_deferred_channels_are_inferred_and_then_checked(np_mode):
    net = gluon_resnet.resnet18(classes=10, thumbnail=True)
    assert net.features[0].weight.shape[1] == -1  # numpy mode's "unknown"
    assert net(mx.np.ones((1, 1, 8, 8))).shape == (1, 10)
    with pytest.raises(ValueError, match="resnet18 expects 1 input channels, got 3"):
        net(mx.np.ones((1, 3, 8, 8)))


def test_arrays_of_the_other_interface_get_a_clear_error():
    legacy_net = gluon_resnet.cifar_resnet20()
    with pytest.raises(TypeError, match=r"legacy mode \(mx.nd\).*as_nd_ndarray\(\)"):
        legacy_net(mx.nd.ones((1, 3, 8, 8)).as_np_ndarray())
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20()
        with pytest.raises(TypeError, match=r"cifar_resnet20 runs in numpy mode "
                                            r"\(npx.set_np\(\)\).*legacy mx.nd.NDArray.*"
                                            r"as_np_ndarray\(\)"):
            net(mx.nd.ones((1, 3, 8, 8)))
        # A net runs in the interface it was built in (MXNet fixes its convolutions').
        with pytest.raises(TypeError, match=r"was built in legacy mode .* numpy mode "
                                            r"\(npx.set_np\(\)\) is on now.*npx.reset_np"):
            legacy_net(mx.np.ones((1, 3, 8, 8)))
    with pytest.raises(TypeError, match=r"was built in numpy mode .*npx.set_np\(\)"):
        net(mx.nd.ones((1, 3, 8, 8)).as_np_ndarray())


@pytest.mark.parametrize("np_save", [False, True], ids=["legacy-file", "numpy-file"])
@pytest.mark.parametrize("np_load", [False, True], ids=["into-legacy", "into-numpy"])
def test_params_files_of_either_mode_load_in_either_mode(tmp_path, np_save, np_load):
    """Files written by MXNet's own ``save_parameters`` in each mode (the zoos' files are
    legacy ones), loaded by ``load_parameters`` and ``pretrained=path``."""
    from mxnet.gluon.model_zoo import vision
    x = np.random.RandomState(3).normal(size=(2, 3, 32, 32)).astype("float32")
    ref = vision.resnet18_v1(classes=5)
    ref.initialize()
    ref(mx.nd.array(x))
    randomize(ref, mx.nd.array(x))
    with autograd.predict_mode():
        want = ref(mx.nd.array(x)).asnumpy()
    path = str(tmp_path / "zoo.params")
    if np_save:
        legacy_file = str(tmp_path / "legacy.params")
        ref.save_parameters(legacy_file)
        with numpy_mode():
            twin = vision.resnet18_v1(classes=5)
            twin.load_parameters(legacy_file)
            twin.save_parameters(path)  # MXNet's numpy-mode file
    else:
        ref.save_parameters(path)
    with numpy_mode(np_load):
        for net in (gluon_resnet.resnet18(classes=5, pretrained=path),
                    gluon_resnet.load_parameters(gluon_resnet.resnet18(classes=5), path)):
            with autograd.predict_mode():
                got = net(mx.np.array(x) if np_load else mx.nd.array(x))
            assert isinstance(got, mx.np.ndarray) == np_load
            assert _close(got.asnumpy(), want, 1e-5)


def test_files_saved_in_numpy_mode_load_in_plain_mxnet_legacy_mode(tmp_path):
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20(in_channels=3)
        net(mx.np.ones((1, 3, 8, 8)))
        gluon_resnet.save_parameters(net, str(tmp_path / "ours.params"))
        want = {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}
    loaded = mx.nd.load(str(tmp_path / "ours.params"))  # MXNet's own loader, legacy mode
    assert sorted(loaded) == sorted(want)
    assert all(np.array_equal(loaded[k].asnumpy(), want[k]) for k in want)


def test_published_weights_load_in_numpy_mode(tmp_path, monkeypatch):
    """``pretrained=True``: the zoo's (legacy) file, found in the model root."""
    import hashlib

    from gluon_resnet.models import model_store
    ref = gluon_resnet.cifar_resnet20(in_channels=3)
    ref(mx.nd.ones((1, 3, 8, 8)))
    randomize(ref)
    weights = tmp_path / "w.params"
    ref.save_parameters(str(weights))  # MXNet's legacy file, as published
    sha1 = hashlib.sha1(weights.read_bytes()).hexdigest()
    monkeypatch.setitem(model_store.PUBLISHED, "cifar_resnet20",
                        ("gluoncv", "cifar_resnet20_v1", sha1))
    root = tmp_path / "models"
    root.mkdir()
    os.replace(str(weights), str(root / ("cifar_resnet20_v1-%s.params" % sha1[:8])))
    x = np.random.RandomState(4).normal(size=(2, 3, 8, 8)).astype("float32")
    with autograd.predict_mode():
        want = ref(mx.nd.array(x)).asnumpy()
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20(pretrained=True, root=str(root))
        with autograd.predict_mode():
            assert _close(net(mx.np.array(x)).asnumpy(), want, 1e-6)


def test_iterators_yield_numpy_arrays_in_numpy_mode(fmnist_dir):
    kwargs = dict(num_train=64, num_test=32, seed=0, augment=True, resize=20)
    legacy = [next(iter(it)) for it in data.load_data_fashion_mnist(16, **kwargs)]
    with numpy_mode():
        got = [next(iter(it)) for it in data.load_data_fashion_mnist(16, **kwargs)]
    for (X, y), (Xl, yl) in zip(got, legacy):
        assert isinstance(X, mx.np.ndarray) and isinstance(y, mx.np.ndarray)
        assert type(Xl) is mx.nd.NDArray and type(yl) is mx.nd.NDArray
        assert X.dtype == np.float32 and y.dtype == np.int32 and X.shape == (16, 1, 20, 20)
        assert np.array_equal(X.asnumpy(), Xl.asnumpy())
        assert np.array_equal(y.asnumpy(), yl.asnumpy())


def test_image_folder_iterator_yields_numpy_arrays():
    images = np.random.RandomState(0).randint(0, 256, size=(6, 10, 12, 3)).astype(np.uint8)

    def first_batch():
        it = data.ImageFolderIter(images, np.arange(6) % 2, 4, augment=True, resize=8,
                                  mean=(0.5, 0.4, 0.3), std=(0.2, 0.3, 0.4), seed=0)
        return next(iter(it))
    Xl, yl = first_batch()
    with numpy_mode():
        X, y = first_batch()
    assert isinstance(X, mx.np.ndarray) and isinstance(y, mx.np.ndarray)
    assert type(Xl) is mx.nd.NDArray and X.shape == (4, 3, 8, 8)
    assert np.array_equal(X.asnumpy(), Xl.asnumpy())
    assert np.array_equal(y.asnumpy(), yl.asnumpy())


def _tiny_data(fmnist_dir):
    return data.load_data_fashion_mnist(32, num_train=128, num_test=64, seed=0, augment=True,
                                        root=str(fmnist_dir))


class _StopAfterFirstEpoch:
    def on_epoch_end(self, state):
        state.stop_training = True


def _train_run(np_on, init_path, out, stop_early=False, **kwargs):
    """cifar_resnet20 from the parameters at init_path (imperative: bit-exact in both
    modes), trained for 2 epochs with checkpoints in out (or stopped after the first)."""
    with numpy_mode(np_on):
        tr, te = data.load_data_fashion_mnist(32, num_train=128, num_test=64, seed=0,
                                              augment=True)
        net = gluon_resnet.cifar_resnet20(pretrained=init_path, hybridize=False)
        history = train(net, tr, te, 2, 0.05, checkpoint_dir=out, resume=True, seed=0,
                        label_smoothing=0.1, schedule="cosine",
                        callbacks=[_StopAfterFirstEpoch()] if stop_early else [], **kwargs)
        params = {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}
        acc = evaluate_accuracy(net, te)
        return history, params, acc


@pytest.fixture(scope="module")
def init_params(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("init") / "init.params")
    net = gluon_resnet.cifar_resnet20(in_channels=1)
    net(mx.nd.zeros((1, 1, 28, 28)))
    gluon_resnet.save_parameters(net, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_and_resume_across_modes_equal_legacy(init_params, tmp_path, fmnist_dir,
                                                       monkeypatch, optimizer):
    """Two epochs in legacy mode are the reference; a numpy-mode run, and runs stopped
    after one epoch and resumed in the other mode, end with the same history and
    parameters."""
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))
    ref_hist, ref_params, ref_acc = _train_run(False, init_params, str(tmp_path / "ref"),
                                               optimizer=optimizer)
    np_hist, np_params, np_acc = _train_run(True, init_params, str(tmp_path / "np"),
                                            optimizer=optimizer)
    assert np_hist.loss == ref_hist.loss and np_hist.test_acc == ref_hist.test_acc
    assert np_acc == ref_acc == ref_hist.test_acc[-1]
    for first, second in ((False, True), (True, False)):
        out = str(tmp_path / ("resume-%s" % first))
        _train_run(first, init_params, out, stop_early=True, optimizer=optimizer)
        hist, params, _ = _train_run(second, init_params, out, optimizer=optimizer)
        assert hist.loss == ref_hist.loss and hist.test_acc == ref_hist.test_acc
        assert all(np.array_equal(params[k], ref_params[k]) for k in ref_params), first
    # The checkpoint loads in both modes, as arrays of the mode that loads it.
    for np_on in (False, True):
        with numpy_mode(np_on):
            net, _ = load_checkpoint(str(tmp_path / "np"))
            assert isinstance(net.output.weight.data(), mx.np.ndarray) == np_on
            assert np.array_equal(net.output.weight.data().asnumpy(),
                                  ref_params["output.weight"])


def test_callbacks_and_label_smoothing_in_numpy_mode(np_mode, fmnist_dir, tmp_path):
    from gluon_resnet import (Animator, PrintLines, ProgressBar, SaveCurves)
    from gluon_resnet.training import SaveHistory, SmoothedCrossEntropyLoss
    import io
    # The smoothed loss in numpy mode equals the legacy one.
    pred = np.random.RandomState(0).normal(size=(4, 5)).astype("float32")
    label = np.array([0, 3, 4, 1], dtype="int32")
    loss = SmoothedCrossEntropyLoss(0.2)
    got = loss(mx.np.array(pred), mx.np.array(label)).asnumpy()
    with numpy_mode(False):
        want = loss(mx.nd.array(pred), mx.nd.array(label)).asnumpy()
    npx.set_np()
    assert _close(got, want, 1e-6)
    tr, te = _tiny_data(fmnist_dir)
    net = gluon_resnet.cifar_resnet20()
    text, bar = io.StringIO(), io.StringIO()
    animator = Animator()
    history = train(net, tr, te, 1, 0.05, callbacks=[
        PrintLines(text), ProgressBar(every=1, file=bar), animator,
        SaveCurves(str(tmp_path / "c.png")), SaveHistory(str(tmp_path / "h.json"))])
    assert "epoch 1/1: loss %.3f" % history.loss[0] in text.getvalue()
    assert "loss" in bar.getvalue() and os.path.getsize(str(tmp_path / "c.png")) > 1000
    assert json.load(open(str(tmp_path / "h.json")))["loss"] == history.loss
    assert len(animator.points["train loss"][0]) >= 4


def test_summary_is_the_same_in_both_modes():
    legacy = str(gluon_resnet.summary(gluon_resnet.resnet50_v1b(), (3, 64, 64)))
    with numpy_mode():
        net = gluon_resnet.resnet50_v1b()
        in_numpy_mode = str(gluon_resnet.summary(net, (3, 64, 64)))
        # The net still runs in numpy mode after being traced.
        assert net(mx.np.ones((1, 3, 64, 64))).shape == (1, 1000)
    assert in_numpy_mode == legacy and "Total params: 25,557,032" in legacy


def _reference_net(name, shape, tmp_path):
    """A legacy-mode net with random parameters, and their file, for numpy-mode twins
    (``get_model(name, classes=6, pretrained=path)``)."""
    ref = gluon_resnet.get_model(name, classes=6, hybridize=False)
    ref(mx.nd.zeros((1,) + shape))
    randomize(ref, mx.nd.array(np.random.RandomState(5).normal(size=(4,) + shape)))
    path = str(tmp_path / "ref.params")
    gluon_resnet.save_parameters(ref, path)
    return ref, path


def test_export_in_numpy_mode_writes_the_legacy_export(tmp_path):
    shape = (3, 8, 8)
    ref, path = _reference_net("cifar_resnet20", shape, tmp_path)
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20(classes=6, pretrained=path)
        sym_path, params_path = gluon_resnet.export(net, str(tmp_path / "np"), shape)
        assert net(mx.np.ones((1,) + shape)).shape == (1, 6)  # still a numpy-mode net
    gluon_resnet.export(ref, str(tmp_path / "legacy"), shape)
    # The same graph and arrays; only the nets' name prefixes differ.
    with open(sym_path) as f, open(str(tmp_path / "legacy-symbol.json")) as g:
        assert f.read().replace(net.prefix, ref.prefix) == g.read()
    a, b = mx.nd.load(params_path), mx.nd.load(str(tmp_path / "legacy-0000.params"))
    assert sorted(k.replace(net.prefix, ref.prefix) for k in a) == sorted(b)
    assert all(np.array_equal(a[k].asnumpy(), b[k.replace(net.prefix, ref.prefix)].asnumpy())
               for k in a)


def test_exports_of_either_mode_load_in_either_mode(tmp_path):
    """Ours (legacy files in both modes) and MXNet's own ``export`` in numpy mode."""
    shape = (3, 8, 8)
    x = np.random.RandomState(6).normal(size=(3,) + shape).astype("float32")
    ref, path = _reference_net("cifar_resnet20", shape, tmp_path)
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20(classes=6, pretrained=path)
        gluon_resnet.export(net, str(tmp_path / "ours"), shape)
        net(mx.np.ones((1,) + shape))
        net.export(str(tmp_path / "mxnet-np"))  # MXNet's numpy-mode files
    with autograd.predict_mode():
        want = ref(mx.nd.array(x)).asnumpy()
    for prefix in ("ours", "mxnet-np"):
        for np_on in (False, True):
            with numpy_mode(np_on):
                block = gluon_resnet.load_exported(str(tmp_path / prefix))
                out = block(mx.np.array(x) if np_on else mx.nd.array(x))
                assert isinstance(out, mx.np.ndarray) == np_on
                assert _close(out.asnumpy(), want, 1e-5), (prefix, np_on)


def test_deploy_formats_exported_in_numpy_mode_predict_like_legacy(tmp_path):
    from gluon_resnet.deploy import Predictor
    import importlib.util
    formats = ["symbol", "int8", "bf16"]
    if all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")):
        formats += ["onnx", "onnx-int8"]  # the test extras bring them (see test_deploy)
    shape = (1, 12, 12)
    rng = np.random.RandomState(7)
    calib = rng.uniform(size=(16,) + shape).astype("float32")
    images = rng.randint(0, 256, size=(5, 12, 12)).astype(np.uint8)
    ref, path = _reference_net("cifar_resnet20", shape, tmp_path)
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20(classes=6, pretrained=path)
        in_memory = Predictor.from_block(net, {"input_shape": shape}).predict_proba(images)
        for fmt in formats:
            gluon_resnet.export_net(net, str(tmp_path / fmt), shape, fmt, calib_data=calib)
    want = Predictor.from_block(ref, {"input_shape": shape}).predict_proba(images)
    assert _close(in_memory, want, 1e-5)
    for np_on in (False, True):
        with numpy_mode(np_on):
            for fmt in formats:
                got = gluon_resnet.load_predictor(str(tmp_path / fmt)).predict_proba(images)
                if fmt.endswith("int8"):  # quantized: the same top class on most images
                    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.8
                elif fmt == "bf16":  # 8 bits of mantissa
                    assert _close(got, want, 3e-2), (fmt, np_on)
                else:
                    assert _close(got, want, 1e-4), (fmt, np_on)


def test_optimize_for_inference_in_numpy_mode_takes_and_returns_numpy_arrays(tmp_path):
    from gluon_resnet.deploy.inference import optimize_for_inference
    shape = (3, 8, 8)
    x = np.random.RandomState(8).normal(size=(4,) + shape).astype("float32")
    ref, path = _reference_net("cifar_resnet20", shape, tmp_path)
    with autograd.predict_mode():
        want = {"fp32": ref(mx.nd.array(x)).asnumpy()}
    # bf16 against the same conversion in legacy mode (its accuracy: test_deploy.py)
    want["bf16"] = optimize_for_inference(ref, (4,) + shape, "bf16")(mx.nd.array(x)).asnumpy()
    with numpy_mode():
        net = gluon_resnet.cifar_resnet20(classes=6, pretrained=path)
        for precision in ("fp32", "bf16"):
            fast = optimize_for_inference(net, (4,) + shape, precision)
            out = fast(mx.np.array(x))
            assert isinstance(out, mx.np.ndarray) and out.dtype == np.float32
            assert _close(out.asnumpy(), want[precision], 1e-4), precision


def test_checkpoint_predict_finetune_and_cli_resume_of_a_numpy_mode_run(tmp_path,
                                                                         fmnist_dir):
    """A run trained in numpy mode through the library: predict, finetune --from and
    the CLI's evaluate, export and --resume (which run in legacy mode) all read it."""
    from conftest import run_main
    from gluon_resnet.training.finetune import load_base, replace_output
    from gluon_resnet.deploy.predict import predict
    from PIL import Image
    run = str(tmp_path / "run")
    with numpy_mode():
        tr, te = _tiny_data(fmnist_dir)
        net = gluon_resnet.cifar_resnet20(in_channels=1)
        train(net, tr, te, 1, 0.05, checkpoint_dir=run, seed=0,
              metadata={"dataset": "fashion-mnist"})
        acc = evaluate_accuracy(net, te)
        base, info = load_base(run)
        replace_output(base, 4)
        assert base(mx.np.ones((1, 1, 28, 28))).shape == (1, 4)
        X, _ = next(iter(te))
        img = (X[0, 0].asnumpy() * 255).round().astype(np.uint8)
        Image.fromarray(img).save(str(tmp_path / "a.png"))
        top = predict(run, [str(tmp_path / "a.png")])[0]["top"][0]
    assert predict(run, [str(tmp_path / "a.png")])[0]["top"][0] == pytest.approx(top)
    code, out, err = run_main(["evaluate", run, "--data-dir", str(fmnist_dir),
                               "--num-test", "64"])
    assert code == 0, err
    assert "%.4f" % acc in out or "%.3f" % acc in out, out
    code, out, err = run_main(["export", run, "--out", str(tmp_path / "exp")])
    assert code == 0, err
    exported = gluon_resnet.load_predictor(str(tmp_path / "exp"))
    got = exported.predict_proba([img])[0]
    assert got.max() == pytest.approx(top[1], abs=1e-4)
    code, out, err = run_main(["train", "--model", "cifar_resnet20", "--epochs", "2",
                               "--batch-size", "32", "--num-train", "128", "--num-test", "64",
                               "--lr", "0.05", "--seed", "0", "--data-dir", str(fmnist_dir),
                               "--out", run, "--resume"])
    assert code == 0, err
    assert "epoch 2/2" in out and "epoch 1/2" not in out
