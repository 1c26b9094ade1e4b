import os

import mxnet as mx
import pytest

import gluon_resnet
from conftest import get_model_uninitialized, max_diff, randomize

# One model of every family and block type.
FAMILIES = ["resnet18", "resnet50", "resnet18_v2", "resnet50_v2", "resnet18_v1b",
            "resnet50_v1b", "resnext50_32x4d", "cifar_resnet20"]


def _trained_like(name, **kwargs):
    size = 8 if name.startswith("cifar") else 32
    net = get_model_uninitialized(name, **kwargs)
    net(mx.nd.zeros((1, 3, size, size)))
    randomize(net, mx.nd.random.normal(shape=(4, 3, size, size)))
    return net, (3, size, size)


@pytest.mark.parametrize("name", FAMILIES)
def test_export_then_import_gives_same_output(tmp_path, name):
    net, shape = _trained_like(name)
    prefix = str(tmp_path / name)
    sym_path, params_path = gluon_resnet.export(net, prefix, shape)
    assert sym_path == prefix + "-symbol.json" and params_path == prefix + "-0000.params"
    loaded = gluon_resnet.load_exported(prefix)
    assert isinstance(loaded, mx.gluon.SymbolBlock)
    x = mx.nd.random.normal(shape=(3,) + shape)
    with mx.autograd.predict_mode():
        assert max_diff(loaded(x), net(x)) <= 1e-5
    # MXNet's own loader reads the files too.
    plain = mx.gluon.SymbolBlock.imports(sym_path, ["data"], params_path)
    assert max_diff(plain(x), net(x)) <= 1e-5
    assert sorted(os.listdir(tmp_path)) == sorted([os.path.basename(sym_path),
                                                   os.path.basename(params_path)])


def test_export_does_not_need_or_change_hybridization(tmp_path):
    net, shape = _trained_like("resnet18", hybridize=False)
    gluon_resnet.export(net, str(tmp_path / "m"), (2,) + shape, epoch=7)
    assert not net._active
    assert os.path.isfile(str(tmp_path / "m-0007.params"))
    loaded = gluon_resnet.load_exported(str(tmp_path / "m"), epoch=7)
    x = mx.nd.random.normal(shape=(2,) + shape)
    assert max_diff(loaded(x), net(x)) <= 1e-5


def test_export_rejects_bad_shapes(tmp_path):
    net, _ = _trained_like("resnet18", in_channels=3)
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\) or \(N, C, H, W\)"):
        gluon_resnet.export(net, str(tmp_path / "m"), (32, 32))
    with pytest.raises(ValueError, match="expects 3 input channels, got 1"):
        gluon_resnet.export(net, str(tmp_path / "m"), (1, 32, 32))
    assert os.listdir(tmp_path) == []


def test_export_into_missing_directory_names_it(tmp_path):
    net, shape = _trained_like("cifar_resnet20")
    with pytest.raises(FileNotFoundError, match="nodir"):
        gluon_resnet.export(net, str(tmp_path / "nodir" / "m"), shape)


def test_load_exported_names_missing_files(tmp_path):
    net, shape = _trained_like("cifar_resnet20")
    prefix = str(tmp_path / "m")
    gluon_resnet.export(net, prefix, shape)
    os.remove(prefix + "-0000.params")
    with pytest.raises(FileNotFoundError, match=r"missing: .*m-0000\.params"):
        gluon_resnet.load_exported(prefix)


def test_load_exported_rejects_mismatched_files(tmp_path):
    a, shape = _trained_like("cifar_resnet20")
    b, _ = _trained_like("resnet18")
    gluon_resnet.export(a, str(tmp_path / "a"), shape)
    gluon_resnet.export(b, str(tmp_path / "b"), (3, 32, 32))
    os.replace(str(tmp_path / "b-0000.params"), str(tmp_path / "a-0000.params"))
    with pytest.raises(ValueError, match="cannot load the export"):
        gluon_resnet.load_exported(str(tmp_path / "a"))


def _ops(sym):
    import json
    return [n["op"] for n in json.loads(sym.tojson())["nodes"]]


@pytest.mark.parametrize("name, left", [("resnet18_v1b", 0), ("resnet50_v2", 18),
                                        ("vgg11_bn", 0), ("cifar_resnet20", 0)])
def test_fold_batchnorm_computes_the_inference_graph(name, left):
    """Folded into the convolutions before them (vgg11_bn's have biases; a v2 net's
    pre-activation BatchNorms follow additions and stay): the same outputs as the net in
    inference mode, fewer parameters, and a graph that imports from its files."""
    from gluon_resnet.deploy.export import fold_batchnorm, trace
    from gluon_resnet.deploy.inference import _build
    net, shape = _trained_like(name, classes=10)
    x = mx.nd.random.normal(shape=(2,) + shape)
    with mx.autograd.predict_mode():
        expected = net(x)
    sym, params = trace(net, (2,) + shape)
    folded, fparams = fold_batchnorm(sym, params)
    assert _ops(sym).count("BatchNorm") > left and _ops(folded).count("BatchNorm") == left
    gone = {k for k in params if k not in fparams}
    assert gone and all(k.split(":")[1].split("_")[-1] in ("gamma", "beta", "mean", "var",
                                                             "bias") for k in gone)
    got = _build(folded, fparams, mx.cpu(), (2,) + shape, fuse=False)(x)
    assert max_diff(got, expected) <= 1e-4 * max(1.0, float(expected.abs().max().asscalar()))


def test_fold_batchnorm_leaves_a_convolution_whose_output_is_read_twice():
    class Twice(mx.gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.conv = mx.gluon.nn.Conv2D(4, 3, padding=1, in_channels=3)
            self.bn = mx.gluon.nn.BatchNorm(in_channels=4)

        def hybrid_forward(self, F, x):
            y = self.conv(x)
            return self.bn(y) + y

    from gluon_resnet.deploy.export import fold_batchnorm, trace
    net = Twice()
    net.initialize()
    randomize(net, mx.nd.random.normal(shape=(2, 3, 5, 5)))
    sym, params = trace(net, (2, 3, 5, 5))
    folded, fparams = fold_batchnorm(sym, params)
    assert _ops(folded).count("BatchNorm") == 1 and sorted(fparams) == sorted(params)
