"""gluon_resnet.lab and `gluon-resnet lab`: gradient norms, gradient correlation, layer
responses, degradation runs and the identity construction.

References: MXNet's autograd run directly on the same net (gradients), the net's own
layers called one by one (responses), closed forms (a linear net's gradients do not
change; an identity convolution returns its input), and `train` itself (degradation)."""
import contextlib
import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon
from mxnet.gluon import nn

import gluon_resnet
from conftest import numpy_mode, randomize, run_main
from gluon_resnet import lab
from gluon_resnet.data import FASHION_MNIST_MEAN, FASHION_MNIST_STD, load_data_fashion_mnist
from gluon_resnet.training import train

# "lab" models of every family; thumbnail nets take 8x8 inputs here.
LAB_MODELS = ["cifar_plain20", "cifar_resnet20", "resnet18_v2", "resnet50_v1b"]


def _batch(n=8, channels=1, size=8, seed=0, np_mode=False):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, channels, size, size)).astype("float32")
    y = np.arange(n) % 10
    F = mx.np if np_mode else mx.nd
    return F.array(X), F.array(y)


def _net(name, **kw):
    return gluon_resnet.get_model(name, classes=10, in_channels=1,
                                  thumbnail=not name.startswith("cifar_"), **kw)


def _bn_stats(net):
    return {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()
            if k.endswith(("running_mean", "running_var"))}


@pytest.mark.parametrize("name", LAB_MODELS)
def test_gradient_norms_are_autograds_per_layer_and_leave_the_net(name):
    X, y = _batch()
    net = _net(name)
    net(X)
    stats = _bn_stats(net)
    got = lab.gradient_norms(net, X, y)
    # Every convolution and dense weight, in the net's order.
    weights = [k[:-len(".weight")] for k, p in net._collect_params_with_prefix().items()
               if k.endswith(".weight") and len(p.shape) >= 2]
    assert [r["layer"] for r in got["layers"]] == weights
    assert set(r["stage"] for r in got["layers"]) == set(got["stages"])
    assert list(got["stages"])[0] == "stem" and list(got["stages"])[-1] == "head"
    # The net is left as it was: BN statistics, hybridization.
    after = _bn_stats(net)
    assert all(np.array_equal(stats[k], after[k]) for k in stats)
    assert net._active
    # Reference: autograd on the same net, imperative, in training mode.
    ref = gluon_resnet.get_model(name, classes=10, in_channels=1, hybridize=False,
                                 thumbnail=not name.startswith("cifar_"))
    ref(X)
    for p, q in zip(ref.collect_params().values(), net.collect_params().values()):
        p.set_data(q.data())
    with autograd.record(train_mode=True):
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(ref(X), y).mean()
    loss.backward()
    grads = {k[:-len(".weight")]: p.grad().asnumpy().astype("float64")
             for k, p in ref._collect_params_with_prefix().items() if k.endswith(".weight")}
    for row in got["layers"]:
        g = grads[row["layer"]]
        assert row["grad_rms"] == pytest.approx(np.sqrt(np.mean(g ** 2)), rel=1e-3)
    assert got["loss"] == pytest.approx(float(loss.asscalar()), rel=1e-5)


def test_plain_gradients_explode_towards_the_input_and_residual_ones_do_not():
    """Claim (1) at initialisation: from the last stage to the stem, a deep plain net's
    weight gradients grow by orders of magnitude, a residual net's much less."""
    X, y = _batch(n=16, size=16)
    ratios = {}
    for name in ("cifar_plain56", "cifar_resnet56"):
        mx.random.seed(0)
        stages = lab.gradient_norms(_net(name), X, y)["stages"]
        ratios[name] = stages["stem"] / stages["stage3"]
    assert ratios["cifar_plain56"] > 100
    assert ratios["cifar_resnet56"] < ratios["cifar_plain56"] / 10


def test_layer_responses_are_the_batchnorm_outputs():
    X, _ = _batch(size=8)
    net = _net("cifar_plain20")
    net(X)
    randomize(net, X)
    rows = lab.layer_responses(net, X)
    # 1 stem BN + 2 per block; projections' BNs are not layer responses.
    assert len(rows) == 1 + 2 * 9
    assert rows[0]["layer"] == "features.1" and rows[0]["stage"] == "stem"
    assert rows[-1]["layer"] == "features.4.2.body.4" and rows[-1]["stage"] == "stage3"
    with autograd.predict_mode():
        stem = net.features[1](net.features[0](X))
        first_block = net.features[2][0].body
        first_bn = first_block[1](first_block[0](stem))
    assert rows[0]["std"] == pytest.approx(float(stem.asnumpy().std()), rel=1e-5)
    assert rows[1]["std"] == pytest.approx(float(first_bn.asnumpy().std()), rel=1e-5)
    residual = _net("cifar_resnet20")
    names = [r["layer"] for r in lab.layer_responses(residual, X)]
    assert names == [r["layer"] for r in rows]


def test_at_initialisation_plain_and_residual_responses_are_of_the_same_order():
    """Untrained nets are measured in training mode (batch statistics): every BN output is
    then normalised per channel, so plain-56 and ResNet-56 respond alike. In inference mode
    the default running statistics (mean 0, var 1) let ResNet-56's residual stream grow
    (about 650x plain-56's here), which a learner would misread as "residual nets explode"."""
    X, _ = _batch(n=16, size=8)
    means = {}
    for name in ("cifar_plain56", "cifar_resnet56"):
        mx.random.seed(0)
        rows = lab.layer_responses(_net(name), X, train_mode=True)
        means[name] = np.mean([r["std"] for r in rows])
        # batch statistics, gamma 1, beta 0: each response's std is 1 (numpy's arithmetic)
        assert means[name] == pytest.approx(1.0, abs=0.01)
    assert 0.1 < means["cifar_resnet56"] / means["cifar_plain56"] < 10


def test_gradient_correlation_is_one_for_a_linear_net_and_falls_for_deep_plain_nets():
    X, _ = _batch(n=8, size=16)
    linear = nn.HybridSequential()
    linear.add(nn.Conv2D(4, 3, padding=1), nn.Dense(10))
    linear.initialize()
    got = lab.gradient_correlation(linear, X, distances=(0.01, 1.0))
    assert got["correlation"] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert len(got["per_image"][0]) == 8
    # Shattered gradients: at initialisation a deep plain net's input gradients
    # decorrelate where a residual net's of the same depth do not.
    corr = {}
    for name in ("cifar_plain56", "cifar_resnet56"):
        mx.random.seed(0)
        corr[name] = lab.gradient_correlation(_net(name), X, distances=(0.01,))
    assert corr["cifar_plain56"]["correlation"][0] < 0.2
    assert corr["cifar_resnet56"]["correlation"][0] > corr["cifar_plain56"]["correlation"][0] + 0.2
    with pytest.raises(ValueError, match="distances must be positive"):
        lab.gradient_correlation(linear, X, distances=(0,))


def test_identity_initializer_makes_a_convolution_pass_its_input():
    conv = nn.Conv2D(6, 3, padding=1, in_channels=6)
    conv.initialize(lab.Identity())
    x = mx.nd.random.normal(shape=(2, 6, 5, 5))
    np.testing.assert_array_equal(conv(x).asnumpy(), x.asnumpy())
    bad = nn.Conv2D(6, 3, padding=1, in_channels=3)
    with pytest.raises(ValueError, match=r"square convolutions.*\(6, 3, 3, 3\)"):
        bad.initialize(lab.Identity())


@pytest.mark.parametrize("use_np", [False, True], ids=["legacy", "numpy"])
@pytest.mark.parametrize("shallow, deep", [("cifar_plain20", "cifar_plain56"),
                                           ("cifar_resnet20", "cifar_resnet56"),
                                           ("resnet18_v2", "resnet34_v2")])
def test_deepen_adds_identity_blocks_that_leave_outputs_unchanged(shallow, deep, use_np,
                                                                  tmp_path):
    X, _ = _batch(size=8)
    net = _net(shallow)
    net(X)
    randomize(net, X)   # a "trained" net: every parameter and statistic matters
    gluon_resnet.save_parameters(net, str(tmp_path / "shallow.params"))
    with numpy_mode() if use_np else contextlib.nullcontext():
        if use_np:
            X = X.as_np_ndarray()
            net = _net(shallow)
            gluon_resnet.load_parameters(net, str(tmp_path / "shallow.params"))
        bigger = lab.deepen(net, deep)
        with autograd.predict_mode():
            expected, got = net(X).asnumpy(), bigger(X).asnumpy()
        assert bigger.model_name == deep and bigger.np_mode == use_np
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    assert len(bigger._collect_params_with_prefix()) > len(net._collect_params_with_prefix())


def test_deepen_refuses_other_families():
    net = _net("cifar_plain20")
    net(_batch()[0])
    with pytest.raises(ValueError, match="cifar_resnet56 is not a deeper cifar_plain20"):
        lab.deepen(net, "cifar_resnet56")
    with pytest.raises(ValueError, match="deepen needs cifar_plain20's parameters"):
        lab.deepen(_net("cifar_plain20"), "cifar_plain56")


def test_degradation_is_train_on_the_same_data_schedule_and_seed(fmnist_dir, tmp_path):
    kw = dict(batch_size=32, lr=0.1, seed=3, num_train=96, num_test=40,
              data_dir=str(fmnist_dir))
    got = lab.degradation(["cifar_plain20"], 2, out=str(tmp_path / "a"), **kw)
    # Reference: train() itself with the documented schedule.
    train_iter, test_iter = load_data_fashion_mnist(
        32, root=str(fmnist_dir), seed=3, num_train=96, num_test=40, mean=FASHION_MNIST_MEAN,
        std=FASHION_MNIST_STD)
    mx.random.seed(3)
    np.random.seed(3)
    net = gluon_resnet.cifar_plain20(classes=10, in_channels=1)
    history = train(net, train_iter, test_iter, 2, 0.1, optimizer="sgd", momentum=0.9,
                    wd=1e-4, schedule="step", seed=3)
    assert got["cifar_plain20"]["train_error"] == [1 - a for a in history.train_acc]
    assert got["cifar_plain20"]["test_error"] == [1 - a for a in history.test_acc]
    # Stopped after one epoch and resumed: the same as the uninterrupted run.
    class StopAfterOne:
        def on_epoch_end(self, state):
            state.stop_training = True
    lab.degradation(["cifar_plain20"], 2, out=str(tmp_path / "b"),
                    callbacks=lambda name: [StopAfterOne()], **kw)
    resumed = lab.degradation(["cifar_plain20"], 2, out=str(tmp_path / "b"), resume=True,
                              **kw)
    for key in ("train_error", "test_error", "loss"):
        assert resumed["cifar_plain20"][key] == got["cifar_plain20"][key]
    # Several models in one call: each trains on the data in the same order as alone.
    both = lab.degradation(["cifar_plain20", "cifar_resnet20"], 1, **kw)
    alone = lab.degradation(["cifar_resnet20"], 1, **kw)
    assert both["cifar_resnet20"]["loss"] == alone["cifar_resnet20"]["loss"]
    assert both["cifar_resnet20"]["train_error"] == alone["cifar_resnet20"]["train_error"]
    with pytest.raises(ValueError, match="unknown model 'cifar_plain21'"):
        lab.degradation(["cifar_plain21"], 1)


def test_lab_functions_give_the_same_numbers_in_numpy_mode(tmp_path):
    X, y = _batch()
    legacy = _net("cifar_plain20", hybridize=False)
    legacy(X)
    randomize(legacy, X)
    path = str(tmp_path / "p.params")
    gluon_resnet.save_parameters(legacy, path)
    expected = (lab.gradient_norms(legacy, X, y), lab.layer_responses(legacy, X),
                lab.gradient_correlation(legacy, X))
    with numpy_mode():
        net = _net("cifar_plain20", hybridize=False)
        gluon_resnet.load_parameters(net, path)
        Xn, yn = X.as_np_ndarray(), y.as_np_ndarray()
        got = (lab.gradient_norms(net, Xn, yn), lab.layer_responses(net, Xn),
               lab.gradient_correlation(net, Xn))
    assert [r["grad_rms"] for r in got[0]["layers"]] == pytest.approx(
        [r["grad_rms"] for r in expected[0]["layers"]], rel=1e-5)
    assert [r["std"] for r in got[1]] == pytest.approx([r["std"] for r in expected[1]],
                                                       rel=1e-5)
    assert got[2]["correlation"] == pytest.approx(expected[2]["correlation"], abs=1e-4)


def test_cli_lab_gradients_prints_a_table_and_writes_json_and_png(fmnist_dir, tmp_path):
    out = tmp_path / "g"
    code, text, _ = run_main(["lab", "gradients", "--models", "cifar_plain20,cifar_resnet20",
                              "--batch-size", "8", "--data-dir", str(fmnist_dir),
                              "--out", str(out)])
    assert code == 0
    rows = [ln.split() for ln in text.splitlines() if ln.startswith("cifar_")]
    assert [r[0] for r in rows] == ["cifar_plain20", "cifar_resnet20"]
    assert [r[1] for r in rows] == ["20", "22"]  # weight layers: + 2 projections
    # untrained nets: responses in training mode, said in the table and the JSON, and of
    # the same order for the plain and the residual net
    assert "resp std (training mode)" in text
    plain, residual = (float(r[-1]) for r in rows)
    assert 0.1 < residual / plain < 10
    assert plain == pytest.approx(1, abs=0.02) and residual == pytest.approx(1, abs=0.02)
    doc = json.loads((out / "gradients.json").read_text())
    assert doc["responses"] == "training mode (batch statistics)"
    assert set(doc["models"]) == {"cifar_plain20", "cifar_resnet20"}
    assert (out / "gradients.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_lab_degradation_resumes_model_by_model_and_writes_curves(fmnist_dir, tmp_path):
    out = str(tmp_path / "d")
    args = ["--num-train", "64", "--num-test", "20", "--batch-size", "32", "--epochs", "2",
            "--data-dir", str(fmnist_dir), "--out", out]
    both = ["lab", "degradation", "--models", "cifar_plain20,cifar_resnet20"]
    assert run_main(["lab", "degradation", "--models", "cifar_plain20"] + args)[0] == 0
    first = json.loads(open(os.path.join(out, "degradation.json")).read())["results"]
    code, _, err = run_main(both + args)
    assert code == 2 and "add --resume" in err
    code, text, _ = run_main(both + args + ["--resume"])
    assert code == 0 and "degradation.png" in text
    doc = json.loads(open(os.path.join(out, "degradation.json")).read())
    # The finished model is read back, not trained again; the other one trains.
    assert doc["results"]["cifar_plain20"] == first["cifar_plain20"]
    r = doc["results"]["cifar_resnet20"]
    assert len(r["train_error"]) == len(r["test_error"]) == 2
    assert doc["settings"]["epochs"] == 2 and doc["settings"]["wd"] == 1e-4
    assert open(os.path.join(out, "degradation.png"), "rb").read(4) == b"\x89PNG"
    code, _, err = run_main(["lab", "degradation", "--models", "cifar_plain2", "--epochs", "1"])
    assert code == 2 and "did you mean" in err


def test_lab_functions_take_nets_without_stages_or_batchnorm():
    """Any HybridBlock (the lineage's LeNet-like nets): per-layer results, the
    top-level child as the stage, and conv/dense outputs as the responses."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(6, 5, padding=2, activation="sigmoid"), nn.AvgPool2D(2, 2),
            nn.Conv2D(16, 5, activation="sigmoid"), nn.AvgPool2D(2, 2),
            nn.Dense(120, activation="sigmoid"), nn.Dense(10))
    net.initialize()
    net.hybridize()
    X, y = _batch(size=28)
    norms = lab.gradient_norms(net, X, y)
    assert [r["layer"] for r in norms["layers"]] == ["0", "2", "4", "5"]
    assert list(norms["stages"]) == ["0", "2", "4", "5"]
    rows = lab.layer_responses(net, X)
    assert [r["layer"] for r in rows] == ["0", "2", "4", "5"]
    with autograd.predict_mode():
        first = net[0](X)
    assert rows[0]["std"] == pytest.approx(float(first.asnumpy().std()), rel=1e-5)
