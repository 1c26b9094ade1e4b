"""Parameter files saved from MXNet's and GluonCV's zoos load into our nets and give the
same outputs, in inference and in training mode (the point of a port).

Reference weights are the zoos' own nets with random parameters (no downloads): if our
child structure, layer order, strides or biases differed, names, shapes or outputs would.
"""
import mxnet as mx
import pytest
from mxnet.gluon.model_zoo import vision

import gluon_resnet
from conftest import get_model_uninitialized, max_diff, randomize, sweep

MXNET_PAIRS = [("resnet%d%s" % (depth, suffix), "resnet%d_v%d" % (depth, version))
               for version, suffix in ((1, ""), (2, "_v2"))
               for depth in (18, 34, 50, 101, 152)]
GLUONCV_PAIRS = [("resnet%d_v1b" % d, "resnet%d_v1b" % d) for d in (18, 34, 50, 101, 152)] + [
    ("resnext50_32x4d", "resnext50_32x4d"), ("resnext101_32x4d", "resnext101_32x4d")] + [
    ("resnet%d_v1%s" % (d, v), "resnet%d_v1%s" % (d, v)) for v in "dcs" for d in (50, 101, 152)
] + [("resnet50_v1e", "resnet50_v1e"),
    ("cifar_resnet20", "cifar_resnet20_v1"), ("cifar_resnet56", "cifar_resnet56_v1"),
    ("cifar_resnet110", "cifar_resnet110_v1")]


def _check_same_outputs(tmp_path, ours_name, ref, **kwargs):
    size = 8 if ours_name.startswith("cifar") else 64
    x = mx.nd.random.normal(shape=(4, 3, size, size))
    ref.initialize()
    ref(x)
    randomize(ref, mx.nd.random.normal(shape=(4, 3, size, size)))
    path = str(tmp_path / "ref.params")
    ref.save_parameters(path)
    # Like against like: imperative against imperative first, then both hybridized.
    plain = get_model_uninitialized(ours_name, hybridize=False, **kwargs)
    plain.load_parameters(path)
    with mx.autograd.predict_mode():
        assert max_diff(plain(x), ref(x)) <= 1e-5
    net = gluon_resnet.get_model(ours_name, pretrained=path, **kwargs)
    ref.hybridize(static_alloc=True)
    # Inference mode: running statistics; training mode: batch statistics.
    with mx.autograd.predict_mode():
        assert max_diff(net(x), ref(x)) <= 1e-5
    with mx.autograd.record(train_mode=True):
        ours, theirs = net(x), ref(x)
    assert max_diff(ours, theirs) <= 1e-5


@pytest.mark.parametrize("ours, theirs", sweep(MXNET_PAIRS))
def test_mxnet_zoo_weights(tmp_path, ours, theirs):
    _check_same_outputs(tmp_path, ours, vision.get_model(theirs))


@pytest.mark.parametrize("ours, theirs", [("resnet18", "resnet18_v1"),
                                          ("resnet18_v2", "resnet18_v2")])
def test_mxnet_zoo_thumbnail_weights(tmp_path, ours, theirs):
    ref = vision.get_model(theirs, thumbnail=True, classes=10)
    x = mx.nd.random.normal(shape=(2, 3, 28, 28))
    ref.initialize()
    ref(x)
    randomize(ref, mx.nd.random.normal(shape=(2, 3, 28, 28)))
    path = str(tmp_path / "ref.params")
    ref.save_parameters(path)
    net = gluon_resnet.get_model(ours, pretrained=path, thumbnail=True, classes=10)
    ref.hybridize(static_alloc=True)
    with mx.autograd.predict_mode():
        assert max_diff(net(x), ref(x)) <= 1e-5


@pytest.mark.gluoncv
@pytest.mark.parametrize("ours, theirs", sweep(GLUONCV_PAIRS))
def test_gluoncv_weights(tmp_path, ours, theirs):
    from gluoncv.model_zoo import get_model
    _check_same_outputs(tmp_path, ours, get_model(theirs))
