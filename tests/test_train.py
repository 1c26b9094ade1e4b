"""Tests for gluon_resnet.training (the loop) against independent references.

References: numpy log-softmax cross-entropy and argmax accuracy on the same batches,
the schedule formulas written out by hand, an uninterrupted run (for resume), a
single-context run (for data parallelism), and the real Fashion-MNIST test set.
"""
import errno
import importlib
import io
import json
import math
import os
import pathlib
import re
import time

import numpy as np
import pytest

import gluon_resnet  # noqa: F401  (must come before mxnet)
T = importlib.import_module("gluon_resnet.training.loop")  # the loop and what it re-exports
from gluon_resnet.data import DatasetNotFoundError, load_data_fashion_mnist
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402
from mxnet.gluon import nn  # noqa: E402




@pytest.fixture
def data(fmnist_dir, monkeypatch):
    """``data(batch_size, num_train, num_test, **kw)`` -> (train_iter, test_iter)."""
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))

    def make(batch_size, num_train, num_test, **kwargs):
        return load_data_fashion_mnist(batch_size, num_train=num_train, num_test=num_test,
                                       **kwargs)
    return make


def small_net(seed=0, name="cifar_resnet20", ctx=None):
    mx.random.seed(seed)
    net = gluon_resnet.get_model(name, classes=10, in_channels=1, ctx=ctx)
    net(mx.nd.zeros((1, 1, 28, 28)))  # completes BatchNorm's deferred initialisation
    return net


def params_np(net):
    return {k: p.data(p.list_ctx()[0]).asnumpy().copy()
            for k, p in net._collect_params_with_prefix().items()}


def np_cross_entropy(logits, labels, smoothing=0.0):
    """Per-example (smoothed) softmax cross-entropy, in float64."""
    z = logits.astype(np.float64)
    logp = z - z.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    k = z.shape[1]
    target = np.full(z.shape, smoothing / k)
    target[np.arange(len(labels)), labels] += 1 - smoothing
    return -(target * logp).sum(1)


class Record(T.Callback):
    def __init__(self):
        self.lrs, self.calls = [], []

    def on_train_begin(self, state):
        self.calls.append("train_begin")

    def on_epoch_begin(self, state):
        self.calls.append("epoch_begin")

    def on_batch_end(self, state):
        self.lrs.append(state.trainer.learning_rate)

    def on_epoch_end(self, state):
        self.calls.append("epoch_end")

    def on_train_end(self, state):
        self.calls.append("train_end")


# --- real data -------------------------------------------------------------------------

@pytest.mark.slow
def test_real_fashion_mnist_one_epoch_reaches_75_percent(data):
    train_iter, test_iter = data(32, 6000, 2000, seed=0, mean=0.286, std=0.353)
    net = small_net(0)
    out = io.StringIO()
    tic = time.time()
    history = T.train(net, train_iter, test_iter, 1, 0.005, optimizer="adam",
                      schedule="cosine", warmup_epochs=0.1, callbacks=[T.PrintLines(out)])
    print("real data: test acc %.4f in %.1f s" % (history.test_acc[-1], time.time() - tic))
    assert history.test_acc[-1] >= 0.75
    assert history.test_acc[-1] == pytest.approx(T.evaluate_accuracy(net, test_iter), abs=1e-12)
    assert re.fullmatch(r"epoch 1/1: loss \d\.\d{3}, train acc 0\.\d{3}, test acc 0\.\d{3}\n"
                        r"\d+\.\d examples/sec on cpu\(0\)\n", out.getvalue())


# --- numbers against independent recomputation ---------------------------------------

def centroid_classifier(train_iter):
    """A linear classifier from class means: decent accuracy without training."""
    xs, ys = zip(*[(X.asnumpy().reshape(len(X), -1), y.asnumpy()) for X, y in train_iter])
    x, y = np.concatenate(xs), np.concatenate(ys)
    means = np.stack([x[y == k].mean(0) for k in range(10)])
    net = nn.Dense(10, in_units=x.shape[1])
    net.initialize()
    net.weight.set_data(mx.nd.array(means))
    net.bias.set_data(mx.nd.array(-0.5 * (means ** 2).sum(1)))
    return net


def test_evaluate_accuracy_matches_numpy_argmax(data):
    train_iter, test_iter = data(64, 500, 200, shuffle=False)  # 200 = 3 x 64 + 8
    net = centroid_classifier(train_iter)
    correct = n = 0
    for X, y in test_iter:
        pred = net(X).asnumpy().argmax(1)
        correct += int((pred == y.asnumpy()).sum())
        n += len(y)
    assert n == 200 and 0.3 < correct / n < 0.95
    assert T.evaluate_accuracy(net, test_iter) == correct / n
    net.collect_params().reset_ctx([mx.cpu(0), mx.cpu(1)])
    assert T.evaluate_accuracy(net, test_iter, [mx.cpu(0), mx.cpu(1)]) == correct / n


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_history_with_lr_zero_equals_direct_computation(data, smoothing):
    train_iter, test_iter = data(32, 96, 64, shuffle=False)
    net = small_net(1)
    before = params_np(net)
    history = T.train(net, train_iter, test_iter, 2, 0.0, label_smoothing=smoothing)
    for k, v in params_np(net).items():
        if not k.endswith(("running_mean", "running_var")):
            np.testing.assert_array_equal(v, before[k], err_msg=k)
    # Test accuracy first: training-mode forwards below move the BN running statistics.
    correct = sum(int((net(X).asnumpy().argmax(1) == y.asnumpy()).sum()) for X, y in test_iter)
    assert history.test_acc[-1] == correct / 64
    losses, hits = [], 0
    with autograd.train_mode():
        for X, y in train_iter:
            logits, labels = net(X).asnumpy(), y.asnumpy()
            losses.append(np_cross_entropy(logits, labels, smoothing))
            hits += int((logits.argmax(1) == labels).sum())
    assert history.loss[-1] == pytest.approx(np.concatenate(losses).mean(), rel=1e-5)
    assert history.train_acc[-1] == hits / 96
    assert len(history) == 2 and history.lr == [0.0, 0.0]
    assert all(t > 0 for t in history.epoch_time) and all(r > 0 for r in history.throughput)
    assert history.epoch_time[-1] > 96 / history.throughput[-1]  # evaluation included
    assert all(0 < e < t for e, t in zip(history.eval_time, history.epoch_time))
    # Training and evaluation are disjoint parts of the epoch.
    assert history.epoch_time[-1] >= 96 / history.throughput[-1] + history.eval_time[-1] - 1e-6


def test_smoothed_loss_equals_hand_computed_and_gluon_dense_labels():
    rng = np.random.RandomState(0)
    logits = rng.normal(0, 3, (6, 5)).astype(np.float32)
    labels = np.array([0, 4, 2, 2, 1, 3])
    loss = T.SmoothedCrossEntropyLoss(0.1)
    loss.hybridize()
    got = loss(mx.nd.array(logits), mx.nd.array(labels, dtype="int32")).asnumpy()
    np.testing.assert_allclose(got, np_cross_entropy(logits, labels, 0.1), rtol=1e-5)
    dense = np.full((6, 5), 0.1 / 5)
    dense[np.arange(6), labels] += 0.9
    ref = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False)(mx.nd.array(logits),
                                                                  mx.nd.array(dense))
    np.testing.assert_allclose(got, ref.asnumpy(), rtol=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        T.SmoothedCrossEntropyLoss(1.0)


def test_core_loop_reads_the_device_once_per_epoch_not_per_batch(data, monkeypatch):
    train_iter, test_iter = data(16, 128, 32)  # 8 batches per epoch
    net = small_net(2)
    reads = []
    original = mx.nd.NDArray.asnumpy
    monkeypatch.setattr(mx.nd.NDArray, "asnumpy", lambda self: reads.append(1) or original(self))
    T.train(net, train_iter, test_iter, 2, 0.05)
    # per epoch: loss sum, correct count, the finiteness of the weights, test correct count
    assert len(reads) <= 2 * 4


# --- schedules ------------------------------------------------------------------------

def test_lr_schedules_against_hand_computed_values():
    const = T.LRSchedule(0.1, 100)
    assert [const(t) for t in (0, 50, 99)] == [0.1, 0.1, 0.1]
    step = T.LRSchedule(0.1, 100, "step", milestones=[30, 60], factor=0.5)
    assert [step(t) for t in (0, 29, 30, 59, 60, 99)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    cos = T.LRSchedule(0.2, 110, "cosine", warmup_steps=10, final_lr=0.01)
    # warm-up: 0.2 * (t + 1) / 10; then 0.01 + 0.19 * (1 + cos(pi * (t - 10) / 100)) / 2
    assert [cos(t) for t in (0, 4, 9)] == pytest.approx([0.02, 0.1, 0.2])
    assert cos(10) == pytest.approx(0.2)
    assert cos(60) == pytest.approx(0.01 + 0.19 * 0.5)
    assert cos(35) == pytest.approx(0.01 + 0.19 * (1 + math.cos(math.pi / 4)) / 2)
    assert cos(110) == pytest.approx(0.01) and cos(500) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="milestones"):
        T.LRSchedule(0.1, 10, "step")
    with pytest.raises(ValueError, match="schedule must be one of"):
        T.LRSchedule(0.1, 10, "linear")


@pytest.mark.parametrize("kind", ["cosine", "step"])
def test_train_applies_the_schedule_per_update(data, kind):
    train_iter, test_iter = data(32, 128, 32)  # 4 updates per epoch, 12 in all
    rec = Record()
    history = T.train(small_net(3), train_iter, test_iter, 3, 0.1, schedule=kind,
                      milestones=[1, 2], factor=0.5, warmup_steps=2, callbacks=[rec])
    expected = []
    for t in range(12):
        if t < 2:
            expected.append(0.1 * (t + 1) / 2)
        elif kind == "cosine":
            expected.append(0.1 * (1 + math.cos(math.pi * (t - 2) / 10)) / 2)
        else:
            expected.append(0.1 * 0.5 ** ((t >= 4) + (t >= 8)))
    assert rec.lrs == pytest.approx(expected)
    assert history.lr == pytest.approx([expected[3], expected[7], expected[11]])
    assert rec.calls == ["train_begin"] + ["epoch_begin", "epoch_end"] * 3 + ["train_end"]


# --- the net as given -------------------------------------------------------------------

def test_train_never_initialises_and_keeps_weights(data, monkeypatch):
    train_iter, test_iter = data(32, 64, 32)
    net = small_net(4)
    before = params_np(net)

    def refuse(*args, **kwargs):
        raise AssertionError("train() called initialize")
    monkeypatch.setattr(gluon.Block, "initialize", refuse)
    monkeypatch.setattr(gluon.Parameter, "initialize", refuse)
    monkeypatch.setattr(gluon.ParameterDict, "initialize", refuse)
    assert len(T.train(net, train_iter, test_iter, 0, 0.1)) == 0
    for k, v in params_np(net).items():
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    T.train(net, train_iter, test_iter, 1, 0.1)
    changed = [k for k, v in params_np(net).items() if not np.array_equal(v, before[k])]
    assert len(changed) == len(before)  # trained from the given weights, all moved


def test_uninitialised_net_and_wrong_ctx_are_clear_errors(data):
    train_iter, test_iter = data(32, 64, 32)
    raw = gluon_resnet.ResNetV1(gluon_resnet.BasicBlockV1, [1, 1, 1], [16, 16, 32, 64],
                                classes=10, stem="cifar")
    with pytest.raises(ValueError, match=r"not initialised.*net\.initialize.*get_model"):
        T.train(raw, train_iter, test_iter, 1, 0.1)
    net = small_net(5)
    with pytest.raises(ValueError, match=r"on cpu\(0\) but ctx is \[cpu\(0\), cpu\(1\)\].*"
                                         r"reset_ctx\(\[cpu\(0\), cpu\(1\)\]\)"):
        T.train(net, train_iter, test_iter, 1, 0.1, ctx=[mx.cpu(0), mx.cpu(1)])
    for kwargs, match in [(dict(optimizer="rmsprop"), "optimizer must be one of"),
                          (dict(schedule="linear"), "schedule must be one of"),
                          (dict(label_smoothing=1.5), "label_smoothing"),
                          (dict(resume=True), "resume=True needs checkpoint_dir")]:
        with pytest.raises(ValueError, match=match):
            T.train(net, train_iter, test_iter, 1, 0.1, **kwargs)


def test_two_contexts_equal_one_context_without_batchnorm(data):
    train_iter, test_iter = data(32, 128, 32, shuffle=False)

    def build(ctx):
        mx.random.seed(6)
        net = nn.HybridSequential()
        net.add(nn.Conv2D(8, 3, strides=2, activation="relu", in_channels=1), nn.GlobalAvgPool2D(),
                nn.Dense(10, in_units=8))
        net.initialize(mx.init.Xavier(), ctx=ctx)
        net.hybridize()
        return net
    one, two = build(mx.cpu(0)), build([mx.cpu(0), mx.cpu(1)])
    h1 = T.train(one, train_iter, test_iter, 2, 0.5, optimizer="nag")
    h2 = T.train(two, train_iter, test_iter, 2, 0.5, optimizer="nag")
    p1, p2 = params_np(one), params_np(two)
    assert p1.keys() == p2.keys()
    for k in p1:
        np.testing.assert_allclose(p2[k], p1[k], rtol=1e-4, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(h2.loss, h1.loss, rtol=1e-5)
    assert h1.train_acc == h2.train_acc and h1.test_acc == h2.test_acc


def test_resnet_trains_on_two_contexts(data):
    train_iter, test_iter = data(32, 256, 64, seed=0)
    net = small_net(7, ctx=[mx.cpu(0), mx.cpu(1)])
    out = io.StringIO()
    history = T.train(net, train_iter, test_iter, 2, 0.005, optimizer="adam",
                      callbacks=[T.PrintLines(out)])
    assert history.loss[1] < history.loss[0] < 2.4
    assert "examples/sec on [cpu(0), cpu(1)]" in out.getvalue()
    for name, p in net.collect_params().items():
        if p.grad_req != "null":  # weights stay in sync; BN statistics are per context
            a, b = p.list_data()
            np.testing.assert_array_equal(a.asnumpy(), b.asnumpy(), err_msg=name)


# --- checkpoints ----------------------------------------------------------------------

class StopAfter(T.Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, state):
        if len(state.history) == self.epochs:
            raise KeyboardInterrupt("StopAfter(%d)" % self.epochs)


def run_for_resume(data, ckpt_dir, callbacks=(), resume=False, net_seed=8):
    train_iter, test_iter = data(32, 192, 64, seed=3, augment=True)
    net = small_net(net_seed)
    history = T.train(net, train_iter, test_iter, 2, 0.05, schedule="cosine", wd=1e-4,
                      warmup_epochs=0.5, checkpoint_dir=ckpt_dir, resume=resume, seed=11,
                      callbacks=callbacks)
    return net, history


def test_resume_gives_the_same_params_and_history(data, tmp_path):
    straight, h_straight = run_for_resume(data, tmp_path / "a")
    with pytest.raises(KeyboardInterrupt, match=r"StopAfter\(1\)"):
        run_for_resume(data, tmp_path / "b", callbacks=[StopAfter(1)])
    doc = T.read_checkpoint(tmp_path / "b")
    assert doc["epoch"] == 1 and doc["model"]["name"] == "cifar_resnet20"
    assert doc["model"]["input_shape"] == [1, 28, 28] and doc["model"]["classes"] == 10
    # A fresh net with other weights and a fresh iterator: all state comes from disk.
    resumed, h_resumed = run_for_resume(data, tmp_path / "b", resume=True, net_seed=99)
    a, b = params_np(straight), params_np(resumed)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-6, atol=1e-6, err_msg=k)
    for key in ("loss", "train_acc", "test_acc", "lr"):
        assert getattr(h_resumed, key) == pytest.approx(getattr(h_straight, key), rel=1e-6), key
    assert sorted(os.listdir(tmp_path / "b")) == [
        ".lock", "checkpoint.json", "epoch-0002.params", "epoch-0002.rng.json",
        "epoch-0002.states"]
    # Resuming a finished run trains nothing and returns its history.
    again = T.train(resumed, *data(32, 192, 64), 2, 0.05, schedule="cosine",
                    checkpoint_dir=tmp_path / "b", resume=True)
    assert again.loss == h_resumed.loss
    loaded, _ = T.load_checkpoint(tmp_path / "b" / "checkpoint.json")
    for k, v in params_np(loaded).items():
        np.testing.assert_array_equal(v, b[k], err_msg=k)


def test_sgd_without_momentum_resumes(data, tmp_path):
    """No optimizer state arrays at all (d2l's plain SGD): the empty state file resumes."""
    def run(directory, callbacks=(), resume=False):
        net = small_net(8)
        history = T.train(net, *data(32, 96, 32, seed=3), 2, 0.05, momentum=0.0,
                          checkpoint_dir=directory, resume=resume, seed=11,
                          callbacks=callbacks)
        return net, history
    straight, h_straight = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt, match=r"StopAfter\(1\)"):
        run(tmp_path / "b", callbacks=[StopAfter(1)])
    resumed, h_resumed = run(tmp_path / "b", resume=True)
    assert h_resumed.loss == pytest.approx(h_straight.loss, rel=1e-6)
    a, b = params_np(straight), params_np(resumed)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-6, atol=1e-6, err_msg=k)


def test_existing_checkpoint_is_not_overwritten_without_resume(data, tmp_path):
    train_iter, test_iter = data(32, 64, 32)
    T.train(small_net(9), train_iter, test_iter, 1, 0.05, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="already holds a checkpoint.*resume=True"):
        T.train(small_net(9), train_iter, test_iter, 1, 0.05, checkpoint_dir=tmp_path)


class Snapshot(T.Callback):
    def on_epoch_end(self, state):
        self.params = params_np(state.net)


def test_failed_save_leaves_the_previous_checkpoint_loadable(data, tmp_path, monkeypatch):
    train_iter, test_iter = data(32, 64, 32)
    snap = Snapshot()
    T.train(small_net(10), train_iter, test_iter, 1, 0.05, checkpoint_dir=tmp_path,
            callbacks=[snap])
    from gluon_resnet import params
    from gluon_resnet.training import checkpoint
    original = params._write_array_file
    calls = []

    def half_then_fail(f, arrays):  # the second file of the next checkpoint: its states
        calls.append(1)
        if len(calls) < 2:
            return original(f, arrays)
        f.write(b"half a file")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(params, "_write_array_file", half_then_fail)
    with pytest.raises(checkpoint.CheckpointError,
                       match="No space left on device; the previous checkpoint .*"
                             "checkpoint.json. is intact and resumable"):
        T.train(small_net(10), train_iter, test_iter, 3, 0.05, checkpoint_dir=tmp_path,
                resume=True)
    monkeypatch.setattr(params, "_write_array_file", original)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]
    net, doc = T.load_checkpoint(tmp_path)
    assert doc["epoch"] == 1 and len(doc["history"]["loss"]) == 1
    for k, v in params_np(net).items():
        np.testing.assert_array_equal(v, snap.params[k], err_msg=k)
    # ... and it resumes.
    history = T.train(small_net(10), train_iter, test_iter, 2, 0.05, checkpoint_dir=tmp_path,
                      resume=True)
    assert len(history) == 2


class PoisonAt(T.Callback):
    """Set a weight to NaN after update ``batch`` of epoch ``epoch`` (both from 1)."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, state):
        if state.epoch + 1 == self.epoch and state.batch == self.batch:
            w = state.net.output.weight
            w.set_data(w.data() * float("nan"))


def test_nan_loss_raises_training_diverged_and_keeps_last_good_checkpoint(data, tmp_path):
    train_iter, test_iter = data(16, 96, 32)
    snap = Snapshot()
    with pytest.raises(T.TrainingDiverged, match=r"NaN or infinite in epoch 2 at batch 3") as info:
        T.train(small_net(12), train_iter, test_iter, 3, 0.05, checkpoint_dir=tmp_path,
                callbacks=[snap, PoisonAt(2, 2)])
    err = info.value
    assert (err.epoch, err.batch) == (2, 3)
    assert err.checkpoint == str(tmp_path / "checkpoint.json")
    assert "epoch 2 at batch 3" in str(err) and str(tmp_path / "checkpoint.json") in str(err)
    net, doc = T.load_checkpoint(tmp_path)
    assert doc["epoch"] == 1
    for k, v in params_np(net).items():
        assert np.isfinite(v).all()
        np.testing.assert_array_equal(v, snap.params[k], err_msg=k)


def test_checkpoint_of_another_model_is_a_clear_error(data, tmp_path):
    train_iter, test_iter = data(32, 64, 32)
    T.train(small_net(13), train_iter, test_iter, 1, 0.05, checkpoint_dir=tmp_path)
    other = small_net(13, name="cifar_resnet32")
    with pytest.raises(ValueError, match="checkpoint of cifar_resnet20, but the net is "
                                         "cifar_resnet32"):
        T.train(other, train_iter, test_iter, 2, 0.05, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="cifar_resnet20, but the net is cifar_resnet32"):
        T.load_checkpoint(tmp_path, net=other)
    other.model_name = None  # no name to compare: the parameter check still catches it
    with pytest.raises(ValueError, match="another architecture"):
        T.load_checkpoint(tmp_path, net=other)
    with pytest.raises(ValueError, match="same optimizer"):
        T.train(small_net(13), train_iter, test_iter, 2, 0.05, optimizer="adam",
                checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        T.read_checkpoint(tmp_path / "nothing")


# --- history and callbacks ------------------------------------------------------------

def test_history_round_trips_through_json():
    h = T.History([1.5, 1.0], [0.3, 0.5], [0.4, None], [2.0, 2.1], [900.0, 950.5], [0.1, 0.05],
                  [0.5, 0.0])
    assert T.History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    # Histories saved before eval_time was recorded still load.
    old = T.History.from_dict({k: v for k, v in h.to_dict().items() if k != "eval_time"})
    assert old.eval_time == [None, None] and old.loss == h.loss
    with pytest.raises(ValueError, match="missing lr"):
        T.History.from_dict({k: v for k, v in h.to_dict().items() if k != "lr"})
    with pytest.raises(ValueError, match="equally long"):
        T.History.from_dict(dict(h.to_dict(), loss=[1.0]))


def test_callbacks_print_plot_and_save(data, tmp_path):
    import matplotlib.image
    train_iter, test_iter = data(16, 64, 32)
    out, bar = io.StringIO(), io.StringIO()
    animator = T.Animator(points_per_epoch=2)
    history = T.train(small_net(14), train_iter, test_iter, 2, 0.05, callbacks=[
        T.PrintLines(out), T.ProgressBar(every=2, file=bar), animator,
        T.SaveCurves(tmp_path / "curves.png"), T.SaveHistory(tmp_path / "history.json")])
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    for i in range(2):
        assert lines[2 * i] == "epoch %d/2: loss %.3f, train acc %.3f, test acc %.3f" % (
            i + 1, history.loss[i], history.train_acc[i], history.test_acc[i])
        assert re.fullmatch(r"\d+\.\d examples/sec on cpu\(0\)", lines[2 * i + 1])
    assert "epoch 2/2" in bar.getvalue() and "4/4" in bar.getvalue()
    image = matplotlib.image.imread(tmp_path / "curves.png")
    assert image.ndim == 3 and image.shape[0] > 100
    assert T.History.from_dict(json.loads((tmp_path / "history.json").read_text())) == history
    xs, ys = animator.points["train loss"]
    assert xs == [0.5, 1.0, 1.5, 2.0] and ys[1] == pytest.approx(history.loss[0], rel=1e-6)
    assert animator.points["test acc"] == ([1, 2], history.test_acc)


class StopAt(T.Callback):
    """Sets ``stop_training`` at a given (epoch, batch), counting the batches it sees."""

    def __init__(self, epoch, batch=None):
        self.epoch, self.batch, self.batches = epoch, batch, 0

    def on_batch_end(self, state):
        self.batches += 1
        if self.batch is not None and (state.epoch, state.batch) == (self.epoch, self.batch):
            state.stop_training = True

    def on_epoch_end(self, state):
        if self.batch is None and state.epoch == self.epoch:
            state.stop_training = True


def test_a_callback_stops_training_after_an_epoch(data, tmp_path):
    train_iter, test_iter = data(16, 64, 32)  # 4 batches per epoch
    stop = StopAt(epoch=1)
    history = T.train(small_net(15), train_iter, test_iter, 5, 0.05, callbacks=[stop],
                      checkpoint_dir=tmp_path / "ckpt")
    assert len(history) == 2 and stop.batches == 8
    doc = T.read_checkpoint(tmp_path / "ckpt")
    assert doc["epoch"] == 2 and T.History.from_dict(doc["history"]) == history


def test_a_callback_stops_training_mid_epoch_without_a_checkpoint_for_it(data, tmp_path):
    train_iter, test_iter = data(16, 64, 32)
    net = small_net(16)
    stop = StopAt(epoch=1, batch=3)
    history = T.train(net, train_iter, test_iter, 5, 0.05, callbacks=[stop],
                      checkpoint_dir=tmp_path / "ckpt")
    assert len(history) == 2 and stop.batches == 7
    # The cut epoch is recorded: its test accuracy is the net's as it was left.
    correct = sum(int((net(X).asnumpy().argmax(1) == y.asnumpy()).sum()) for X, y in test_iter)
    assert history.test_acc[-1] == correct / 32
    # ... but the checkpoint is the last full epoch's, so resume repeats the cut one.
    doc = T.read_checkpoint(tmp_path / "ckpt")
    assert doc["epoch"] == 1 and len(doc["history"]["loss"]) == 1


def test_poisoned_last_update_is_caught_before_saving(data, tmp_path):
    train_iter, test_iter = data(16, 48, 32)  # 3 batches
    with pytest.raises(T.TrainingDiverged, match=r"NaN or infinite in epoch 1 at batch 3") as info:
        T.train(small_net(15), train_iter, test_iter, 2, 0.05, checkpoint_dir=tmp_path,
                callbacks=[PoisonAt(1, 3)])
    assert (info.value.epoch, info.value.batch, info.value.checkpoint) == (1, 3, None)
    assert "no checkpoint was written" in str(info.value)
    assert not os.path.exists(tmp_path / "checkpoint.json")


class WeightDecays(T.Callback):
    def on_batch_end(self, state):
        opt = state.trainer._optimizer
        self.wd = {p.name: opt._get_wd(i) for i, p in enumerate(state.trainer._params)}


def test_no_wd_bn_bias_exempts_batchnorm_and_biases_during_training_only(data):
    train_iter, test_iter = data(32, 64, 32)
    net, seen = small_net(16), WeightDecays()
    T.train(net, train_iter, test_iter, 1, 0.05, wd=1e-3, no_wd_bn_bias=True, callbacks=[seen])
    exempt = [n for n in seen.wd if n.endswith(("gamma", "beta", "bias"))]
    assert exempt and len(exempt) < len(seen.wd)
    for name, wd in seen.wd.items():
        assert wd == (0.0 if name in exempt else pytest.approx(1e-3)), name
    assert all(p.wd_mult == 1.0 for p in net.collect_params().values())
