import hashlib

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon.model_zoo import vision

import gluon_resnet
from conftest import get_model_uninitialized, max_diff, randomize, sweep
from gluon_resnet.models import model_store

# The models of resnet.py. The lineage (LeNet ... DenseNet) has its own file,
# test_lineage.py: its nets have dropout, or no BatchNorm, so their training-mode
# outputs are random or equal to the inference ones, which the checks below exclude.
ALL = sorted(gluon_resnet.models.resnet.SPECS)


def small_input(name, channels=3, batch=4, size=32):
    size = 8 if name.startswith("cifar") else size
    return mx.nd.random.normal(shape=(batch, channels, size, size))


def learnable(net):
    return sum(p.data().size for n, p in net.collect_params().items()
               if not n.endswith(("running_mean", "running_var")))


def _both_modes(net, x):
    with mx.autograd.predict_mode():
        inference = net(x)
    with mx.autograd.record(train_mode=True):
        train = net(x)
    return inference, train


@pytest.mark.parametrize("name", sweep(ALL))
def test_hybridized_equals_imperative(name):
    """Hybridized and imperative outputs agree in inference and in training mode.

    In float64 MXNet runs the same kernels both ways, so they must agree to 1e-5. In
    float32 the hybridized graph runs oneDNN's fused kernels, whose rounding differs, so
    there the check is relative to the output's scale, at 64x64 so that the last stage's
    BatchNorm sees more than one value per image.
    """
    x = small_input(name, size=64)
    net = get_model_uninitialized(name, hybridize=False)
    net(x)
    randomize(net, small_input(name, size=64))   # calibrated on another batch than x
    imperative = _both_modes(net, x)
    net.hybridize(static_alloc=True)
    hybrid = _both_modes(net, x)
    assert net._cached_op is not None
    for h, i in zip(hybrid, imperative):
        assert max_diff(h, i) <= 1e-3 * max(1.0, float(i.abs().max().asscalar()))
    # Training mode really differs (batch statistics), so both modes are exercised.
    assert max_diff(*imperative) > 1e-3

    net.cast("float64")
    x = small_input(name).astype("float64")
    hybrid = _both_modes(net, x)
    net.hybridize(active=False)
    imperative = _both_modes(net, x)
    assert imperative[0].dtype == np.float64
    for h, i in zip(hybrid, imperative):
        assert max_diff(h, i) <= 1e-5


@pytest.mark.parametrize("name, theirs", [
    ("resnet18", "resnet18_v1"), ("resnet34", "resnet34_v1"), ("resnet50", "resnet50_v1"),
    ("resnet101", "resnet101_v1"), ("resnet152", "resnet152_v1"),
    ("resnet18_v2", "resnet18_v2"), ("resnet50_v2", "resnet50_v2")])
def test_parameter_count_equals_mxnet_zoo(name, theirs):
    x = small_input(name, batch=1)
    ours, ref = gluon_resnet.get_model(name), vision.get_model(theirs)
    ref.initialize()
    ref(x)
    ours(x)
    assert learnable(ours) == learnable(ref)


def test_published_parameter_counts():
    def count(net):
        net(small_input("resnet", batch=1))     # completes deferred initialisation
        return learnable(net)
    # ResNet-18: 11,689,512 (torchvision's count of the same architecture, "11.7M").
    assert count(gluon_resnet.resnet18()) == 11689512
    # ResNet-50 v1b is torchvision's ResNet-50 exactly: 25,557,032 ("25.6M"); MXNet's v1
    # adds biases to the bottlenecks' 1x1 convolutions and still rounds to 25.6M.
    assert count(gluon_resnet.resnet50_v1b()) == 25557032
    assert round(count(gluon_resnet.resnet50()) / 1e6, 1) == 25.6


def test_ctx_list_and_in_channels():
    net = gluon_resnet.resnet18(ctx=[mx.cpu(0), mx.cpu(1)], in_channels=1, classes=10,
                                thumbnail=True)
    w = net.features[0].weight
    assert w.shape == (64, 1, 3, 3) and w.list_ctx() == [mx.cpu(0), mx.cpu(1)]
    assert net(mx.nd.ones((2, 1, 28, 28))).shape == (2, 10)


def test_thumbnail_keeps_resolution_for_28x28():
    net = gluon_resnet.resnet18(thumbnail=True, in_channels=1, classes=10)
    feats = net.features[:-1](mx.nd.ones((1, 1, 28, 28)))
    assert feats.shape == (1, 512, 4, 4)    # 28 -> 28, 14, 7, 4: stride 8, no max-pool


def test_wrong_channel_count_is_named():
    net = gluon_resnet.resnet18(in_channels=3)
    with pytest.raises(ValueError, match="resnet18 expects 3 input channels, got 1; "
                                         "pass in_channels=1"):
        net(mx.nd.ones((1, 1, 64, 64)))
    inferred = gluon_resnet.resnet18()
    inferred(mx.nd.ones((1, 3, 64, 64)))
    with pytest.raises(ValueError, match="expects 3 input channels, got 4"):
        inferred(mx.nd.ones((1, 4, 64, 64)))


def test_too_small_input_is_named():
    with pytest.raises(ValueError, match=r"at least 32x32 pixels, got 28x28.*thumbnail=True"):
        gluon_resnet.resnet18()(mx.nd.ones((1, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"at least 4x4 pixels, got 3x3"):
        gluon_resnet.cifar_resnet20()(mx.nd.ones((1, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"4-D batch \(N, C, H, W\), got shape \(3, 64, 64\)"):
        gluon_resnet.resnet18()(mx.nd.ones((3, 64, 64)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(in_channels=-1), "in_channels must be a non-negative int"),
    (dict(classes=0), "classes must be a positive int, got 0"),
    (dict(classes=2.5), "classes must be a positive int, got 2.5"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gluon_resnet.resnet18(**kwargs)


def test_thumbnail_does_not_apply_to_cifar():
    with pytest.raises(ValueError, match="already has a 3x3 stem"):
        gluon_resnet.cifar_resnet20(thumbnail=True)


def test_pretrained_true_loads_the_published_file(tmp_path, monkeypatch):
    """pretrained=True finds a file with the published name and checksum in root."""
    ref = vision.resnet18_v1()
    ref.initialize()
    x = small_input("resnet18")
    ref(x)
    randomize(ref, x)
    name = model_store.published_file_name("resnet18")
    ref.save_parameters(str(tmp_path / name))
    sha1 = hashlib.sha1((tmp_path / name).read_bytes()).hexdigest()
    zoo, published, _ = model_store.PUBLISHED["resnet18"]
    monkeypatch.setitem(model_store.PUBLISHED, "resnet18", (zoo, published, sha1))
    monkeypatch.setattr(model_store, "published_file_name", lambda n: name)
    net = gluon_resnet.resnet18(pretrained=True, root=str(tmp_path))
    assert max_diff(net(x), ref(x)) <= 1e-5


def test_pretrained_true_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(model_store, "REPO_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("MXNET_GLUON_REPO", raising=False)
    with pytest.raises(model_store.WeightsNotFoundError, match=str(tmp_path)):
        gluon_resnet.resnet18(pretrained=True, root=str(tmp_path))


def test_initialize_false_leaves_parameters_uninitialised_for_summary():
    net = gluon_resnet.cifar_resnet20(initialize=False)
    assert all(p._data is None and not p._deferred_init for p in net.collect_params().values())
    ref = gluon_resnet.cifar_resnet20(in_channels=3)
    ref(mx.nd.zeros((1, 3, 32, 32)))
    learnable = sum(int(np.prod(p.shape)) for p in ref.collect_params().values()
                    if p.grad_req != "null")
    assert gluon_resnet.summary(net, (3, 32, 32)).total_params == learnable == 272474
