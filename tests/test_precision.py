"""bfloat16 mixed-precision training (gluon_resnet.precision, train(precision=...)):
float32 master weights, accuracy as fp32's on real Fashion-MNIST images, both array
interfaces, resume, and the choice ``auto`` makes. (Inference: test_deploy.py.)"""
import io

import numpy as np
import pytest

import gluon_resnet  # noqa: F401  (before mxnet)
from gluon_resnet import cpu, data
from gluon_resnet.training import precision
from gluon_resnet.training import PrintLines, load_checkpoint, train
import mxnet as mx

from conftest import numpy_mode

# oneDNN 2.4 runs bfloat16 on AVX-512 CPUs (natively with AVX512_BF16 or AMX).
pytestmark = pytest.mark.cpu_kind
needs_avx512 = pytest.mark.skipif("avx512f" not in cpu.read_cpuinfo()[1],
                                  reason="oneDNN 2.4 has no bfloat16 without AVX-512")
SIZE = 12


def _data(fmnist_dir, num_train=3840, num_test=1000):
    return data.load_data_fashion_mnist(64, resize=SIZE, num_train=num_train,
                                        num_test=num_test, seed=0, root=str(fmnist_dir))


@pytest.fixture(scope="module")
def init(tmp_path_factory):
    """One initialisation for every run (the same in both array interfaces)."""
    path = str(tmp_path_factory.mktemp("init") / "init.params")
    mx.random.seed(0)
    net = gluon_resnet.cifar_resnet20(in_channels=1)
    net(mx.nd.zeros((1, 1, SIZE, SIZE)))
    gluon_resnet.save_parameters(net, path)
    return path


def _run(fmnist_dir, init, precision_, out=None, epochs=1, np_on=False, **kwargs):
    with numpy_mode(np_on):
        tr, te = _data(fmnist_dir, **kwargs)
        net = gluon_resnet.cifar_resnet20(in_channels=1, pretrained=init, hybridize=False)
        text = io.StringIO()
        history = train(net, tr, te, epochs, 0.005, optimizer="adam", seed=0,
                        checkpoint_dir=out, resume=out is not None, precision=precision_,
                        callbacks=[PrintLines(text)])
        params = {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}
    return history, params, text.getvalue(), net


@needs_avx512
@pytest.mark.slow  # 30 s of training: in the main run of make test, not the 3.12+ one
def test_bf16_training_keeps_fp32_accuracy_with_float32_master_weights(fmnist_dir, init):
    fp32, _, _, _ = _run(fmnist_dir, init, "fp32", epochs=3, num_test=2000)
    low, params, text, _ = _run(fmnist_dir, init, "bf16", epochs=3, num_test=2000)
    assert fp32.test_acc[-1] >= 0.7, "the reference run did not learn"
    # The same data, initialisation and steps: bf16 rounding changes the path, not where
    # it gets to.
    assert abs(low.test_acc[-1] - fp32.test_acc[-1]) <= 0.02, (low.test_acc, fp32.test_acc)
    assert abs(low.loss[-1] - fp32.loss[-1]) <= 0.05
    # Master weights stay float32, and they were trained (not only a bf16 copy).
    assert all(v.dtype == np.float32 for v in params.values())
    assert "examples/sec on cpu(0) in bf16" in text


@needs_avx512
def test_bf16_training_is_the_same_in_both_array_interfaces_and_resumes(fmnist_dir, init,
                                                                       tmp_path):
    kwargs = dict(num_train=256, num_test=64)
    ref, ref_params, _, _ = _run(fmnist_dir, init, "bf16", epochs=2, **kwargs)
    np_hist, np_params, _, _ = _run(fmnist_dir, init, "bf16", epochs=2, np_on=True, **kwargs)
    assert np.allclose(np_hist.loss, ref.loss, rtol=1e-5)
    assert all(np.allclose(np_params[k], ref_params[k], rtol=1e-4, atol=1e-5)
               for k in ref_params)
    # Stopped after one epoch, resumed for the second: the uninterrupted run's result.
    out = str(tmp_path / "run")
    _run(fmnist_dir, init, "bf16", out=out, epochs=1, **kwargs)
    resumed, params, _, _ = _run(fmnist_dir, init, "bf16", out=out, epochs=2, **kwargs)
    assert np.allclose(resumed.loss, ref.loss, rtol=1e-5)
    assert all(np.allclose(params[k], ref_params[k], rtol=1e-4, atol=1e-5) for k in params)
    _, doc = load_checkpoint(out)
    assert doc["train"]["precision"] == "bf16"


@needs_avx512
def test_a_resumed_auto_run_keeps_the_precision_of_the_run_it_resumes(fmnist_dir, init,
                                                                      tmp_path, monkeypatch):
    """auto's timing may choose otherwise on a busier machine: a resumed run must not
    switch precision mid-run. Here the timing always says fp32, the checkpoint bf16."""
    kwargs = dict(num_train=256, num_test=64)
    ref, ref_params, _, _ = _run(fmnist_dir, init, "bf16", epochs=2, **kwargs)
    out = str(tmp_path / "run")
    _run(fmnist_dir, init, "bf16", out=out, epochs=1, **kwargs)
    _as_cpu(monkeypatch, {"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}, True)
    monkeypatch.setattr(precision, "_time_both", lambda *a: {"fp32": 1.0, "bf16": 2.0})
    resumed, params, text, _ = _run(fmnist_dir, init, "auto", out=out, epochs=2, **kwargs)
    assert "in bf16" in text
    assert np.allclose(resumed.loss, ref.loss, rtol=1e-5)
    assert all(np.allclose(params[k], ref_params[k], rtol=1e-4, atol=1e-5) for k in params)
    _, doc = load_checkpoint(out)
    assert doc["train"]["precision"] == "bf16"
    assert doc["train"]["precision_reason"].startswith("auto: bf16, as the run being resumed")
    # A fresh auto run with the same rigged timing does choose fp32 (the rig works).
    fresh, _, text, _ = _run(fmnist_dir, init, "auto", out=str(tmp_path / "new"), **kwargs)
    assert "in bf16" not in text and "examples/sec on cpu(0)" in text


def _as_cpu(monkeypatch, flags, amx):
    """Rig what precision reads of the CPU: its flags and whether oneDNN may use AMX."""
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: ("rigged", set(flags)))
    monkeypatch.setattr(precision, "amx_status",
                        lambda: {"amx": amx, "reason": "granted" if amx else "no AMX flags"})


def test_auto_times_both_wherever_the_cpu_has_bfloat16_instructions(monkeypatch):
    _as_cpu(monkeypatch, {"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}, True)
    assert precision.training_precision("auto", mx.cpu()) == (
        "auto", "auto: this CPU has bfloat16 instructions (AMX on)")
    assert precision.training_precision("auto", mx.gpu(0))[0] == "fp32"
    # An AMD EPYC: AVX512_BF16 without AMX is timed too (bf16 can win there)
    _as_cpu(monkeypatch, {"avx512f", "avx512_bf16"}, False)
    assert precision.training_precision("auto", mx.cpu()) == (
        "auto", "auto: this CPU has bfloat16 instructions (AMX off: no AMX flags)")
    _as_cpu(monkeypatch, {"avx2", "avx512f"}, False)
    assert precision.training_precision("auto", mx.cpu()) == (
        "fp32", "auto: this CPU has no bfloat16 instructions (avx512_bf16 or amx_bf16)")
    assert precision.training_precision("bf16", mx.cpu())[0] == "bf16"
    assert precision.auto_summary().startswith("fp32 (this CPU has no bfloat16")


@needs_avx512
def test_auto_chooses_bf16_on_a_cpu_without_amx_when_bf16_times_faster(monkeypatch):
    """The AMD EPYC case: AVX512_BF16, no AMX; the timing (rigged) says bf16 is faster."""
    _as_cpu(monkeypatch, {"avx512f", "avx512_bf16"}, False)
    assert "bf16 on AVX512_BF16; AMX off" in precision.auto_summary()
    net = gluon_resnet.cifar_resnet20(in_channels=1)
    x = mx.nd.random.uniform(shape=(4, 1, SIZE, SIZE))
    net(x)
    monkeypatch.setattr(precision, "_seconds_per_step",
                        lambda fwd, x, y, repeats=3: 0.3 if fwd is net else 0.2)
    fwd = precision.for_training(net, x.shape, "auto", mx.cpu())
    assert isinstance(fwd, precision.TrainingView) and fwd.precision == "bf16"
    assert fwd.reason == ("auto: bf16 (a step: fp32 300.0 ms, bf16 200.0 ms; AMX off: no AMX "
                          "flags)")
    # ... and fp32 when fp32 times faster
    monkeypatch.setattr(precision, "_seconds_per_step",
                        lambda fwd, x, y, repeats=3: 0.2 if fwd is net else 0.3)
    fwd = precision.for_training(net, x.shape, "auto", mx.cpu())
    assert fwd.precision == "fp32" and fwd.net is net


@needs_avx512
def test_auto_keeps_the_faster_and_leaves_the_net_as_it_was(monkeypatch):
    _as_cpu(monkeypatch, {"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}, True)
    net = gluon_resnet.cifar_resnet20(in_channels=1)
    x = mx.nd.random.uniform(shape=(8, 1, SIZE, SIZE))
    net(x)
    before = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    calls = []
    real = precision._seconds_per_step

    def timed(fwd, x, y, repeats=3):
        calls.append(fwd)
        real(fwd, x, y, repeats=1)  # a real step: it moves BatchNorm's running statistics
        return 1.0 if fwd is net else 0.5  # bf16 "faster"
    monkeypatch.setattr(precision, "_seconds_per_step", timed)
    fwd = precision.for_training(net, x.shape, "auto", mx.cpu())
    assert isinstance(fwd, precision.TrainingView) and fwd.precision == "bf16"
    assert fwd.reason == "auto: bf16 (a step: fp32 1000.0 ms, bf16 500.0 ms; AMX on)"
    assert len(calls) == 2 and calls[0] is net
    after = {k: p.data().asnumpy() for k, p in net.collect_params().items()}
    assert all(np.array_equal(before[k], after[k]) for k in before)  # running stats too
    monkeypatch.setattr(precision, "_seconds_per_step",
                        lambda fwd, x, y, repeats=3: 0.5 if fwd is net else 1.0)
    fwd = precision.for_training(net, x.shape, "auto", mx.cpu())
    assert fwd.precision == "fp32" and fwd.net is net and fwd.reason.startswith("auto: fp32")


def test_bad_precisions_are_refused_before_training(fmnist_dir):
    tr, te = _data(fmnist_dir, num_train=64, num_test=64)
    net = gluon_resnet.cifar_resnet20(in_channels=1)
    with pytest.raises(ValueError, match=r"precision must be one of 'auto', 'fp32', "
                                         r"'bf16', got 'fp16'"):
        train(net, tr, te, 1, 0.1, precision="fp16")
    with pytest.raises(ValueError, match=r"precision='bf16' is for CPUs"):
        precision.training_precision("bf16", mx.gpu(0))
    plain = mx.gluon.nn.Sequential()
    plain.add(mx.gluon.nn.Dense(10))
    plain.initialize()
    plain(mx.nd.zeros((1, 1, SIZE, SIZE)))
    with pytest.raises(ValueError, match=r"needs a HybridBlock .* got a Sequential"):
        train(plain, tr, te, 1, 0.1, precision="bf16")
