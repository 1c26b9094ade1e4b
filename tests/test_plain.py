"""Plain nets, the paper's shortcut options A/B/C, and the general form (kernel size,
per-stage strides).

References: MXNet's own ``gluon.model_zoo.vision`` ResNets run block by block with the
shortcut left out (plain nets), numpy slicing and padding (option A, "same" padding),
and ONNX Runtime (exports)."""
import importlib.util

import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon.model_zoo import vision

import gluon_resnet
from conftest import randomize
from gluon_resnet import summary
from gluon_resnet.models import blocks
from gluon_resnet.models.resnet import ResNetV1


def _params(net):
    return {k: p.shape for k, p in net._collect_params_with_prefix().items()}


def _copy(src, dst):
    theirs = src._collect_params_with_prefix()
    for key, param in dst._collect_params_with_prefix().items():
        param.set_data(theirs[key].data())


def _without_shortcuts(zoo_net, x, stem_layers):
    """A ResNet v1 of MXNet's zoo run block by block as a plain net: ReLU(body(x))."""
    with mx.autograd.predict_mode():
        for layer in list(zoo_net.features)[:stem_layers]:
            x = layer(x)
        for stage in list(zoo_net.features)[stem_layers:-1]:
            for block in stage:
                x = mx.nd.relu(block.body(x))
        return zoo_net.output(zoo_net.features[-1](x))


@pytest.mark.parametrize("plain, theirs, stem_layers, size", [
    ("plain18", "resnet18_v1", 4, 32),
    pytest.param("cifar_plain20", "cifar_resnet20_v1", 2, 8, marks=pytest.mark.gluoncv),
])
def test_plain_nets_are_the_residual_nets_without_shortcuts(plain, theirs, stem_layers, size):
    """Layer for layer: a plain net's parameters are the residual net's minus the
    projection shortcuts, and it computes what the residual net computes with the
    shortcuts removed."""
    if plain.startswith("cifar"):
        gluoncv = pytest.importorskip("gluoncv")
        zoo_net = gluoncv.model_zoo.get_model(theirs, classes=10)
        # GluonCV's CIFAR ResNet has the structure of cifar_resnet20 (see test_reference_weights).
        residual = gluon_resnet.get_model("cifar_resnet20", hybridize=False)
    else:
        zoo_net = vision.get_model(theirs, classes=10)
        residual = gluon_resnet.get_model("resnet18", classes=10, hybridize=False)
    net = gluon_resnet.get_model(plain, classes=10, hybridize=False)
    x = mx.nd.random.normal(shape=(2, 3, size, size))
    zoo_net.initialize()
    for n in (zoo_net, residual, net):
        n(x)
    ours, full = _params(net), _params(residual)
    assert ours == {k: s for k, s in full.items() if ".downsample." not in k}
    randomize(net, x)
    # Load the plain net's parameters into the zoo's residual net (its projections keep
    # their own values: they are not used below).
    theirs_params = zoo_net._collect_params_with_prefix()
    for key, param in net._collect_params_with_prefix().items():
        theirs_params[key].set_data(param.data())
    expected = _without_shortcuts(zoo_net, x, stem_layers)
    with mx.autograd.predict_mode():
        got = net(x)
    np.testing.assert_allclose(got.asnumpy(), expected.asnumpy(), rtol=1e-4, atol=1e-5)


def test_plain_factories_refuse_shortcuts_and_residual_ones_check_the_option():
    with pytest.raises(ValueError, match="cifar_plain20 is a plain net.*shortcut='A'"):
        gluon_resnet.cifar_plain20(shortcut="A")
    with pytest.raises(ValueError, match="shortcut must be 'A', 'B' or 'C', got 'D'"):
        gluon_resnet.cifar_resnet20(shortcut="D")
    with pytest.raises(ValueError, match="use its plain counterpart"):
        gluon_resnet.cifar_resnet20(shortcut=None)
    with pytest.raises(ValueError, match="published weights have shortcut 'B'"):
        gluon_resnet.resnet18(shortcut="A", pretrained=True)
    with pytest.raises(ValueError, match="shortcut 'A' can only add channels"):
        blocks.BasicBlockV1(4, 1, True, in_channels=8, shortcut="A")
    with pytest.raises(ValueError, match="shortcut 'A' needs the block's in_channels"):
        blocks.BasicBlockV1(8, 2, True, shortcut="A")


def test_option_a_has_no_shortcut_parameters_and_the_papers_size():
    """Paper, Table 6: ResNet-20 (option A) has 0.27 M parameters, as plain-20; B adds
    the two projections (+ BN), C one per block."""
    def count(name, **kw):
        return summary(gluon_resnet.get_model(name, initialize=False, **kw),
                       (1, 3, 32, 32)).total_params
    a, b, c = (count("cifar_resnet20", shortcut=s) for s in "ABC")
    assert a == count("cifar_plain20") == 269_722  # 10 classes
    assert round(a / 1e6, 2) == 0.27
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    # C: a 1x1 projection and BN in all 9 blocks.
    assert c - a == 3 * (16 * 16 + 32) + (16 * 32 + 64) + 2 * (32 * 32 + 64) + \
        (32 * 64 + 128) + 2 * (64 * 64 + 128)
    net = gluon_resnet.cifar_resnet20(shortcut="A", initialize=False)
    assert not any(".downsample." in k for k in _params(net))


def test_option_a_shortcut_is_subsampled_zero_padded_identity():
    x = np.random.RandomState(0).normal(size=(2, 4, 7, 7)).astype("float32")
    for channels, stride in ((8, 2), (12, 2), (6, 1), (4, 3)):
        sc = blocks.ZeroPadShortcut(channels, stride, 4)
        got = sc(mx.nd.array(x)).asnumpy()
        sub = x[:, :, ::stride, ::stride]
        expected = np.concatenate(
            [sub, np.zeros((2, channels - 4) + sub.shape[2:], "float32")], axis=1)
        np.testing.assert_array_equal(got, expected)
    block = blocks.BasicBlockV1(8, 2, True, in_channels=4, shortcut="A")
    block.initialize()
    xs = mx.nd.array(x)
    with mx.autograd.predict_mode():
        expected = np.maximum(block.body(xs).asnumpy() + np.concatenate(
            [x[:, :, ::2, ::2], np.zeros((2, 4, 4, 4), "float32")], axis=1), 0)
        np.testing.assert_allclose(block(xs).asnumpy(), expected, rtol=1e-6, atol=1e-6)


def test_option_c_projects_every_block():
    def stage_blocks(net):
        return [b for s in net.features if isinstance(s, mx.gluon.nn.HybridSequential)
                for b in s]
    net = gluon_resnet.resnet18_v2(shortcut="C", initialize=False)
    assert len(stage_blocks(net)) == 8
    assert all(isinstance(b.downsample, mx.gluon.nn.Conv2D) for b in stage_blocks(net))
    net = gluon_resnet.resnet18(shortcut="B", initialize=False)
    assert [b.downsample is not None for b in stage_blocks(net)] == \
        [False, False, True, False, True, False, True, False]


def _same_conv_reference(x, w, stride):
    """Keras/TensorFlow/PyTorch 'same' padding: (k-1)//2 before, k//2 after."""
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), ((k - 1) // 2, k // 2), ((k - 1) // 2, k // 2)))
    n, c, h, width = xp.shape
    oh, ow = (h - k) // stride + 1, (width - k) // stride + 1
    out = np.zeros((n, w.shape[0], oh, ow), "float64")
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out


@pytest.mark.parametrize("k, stride", [(2, 1), (4, 1), (4, 2), (3, 1), (5, 2)])
def test_any_kernel_size_pads_as_same(k, stride):
    rng = np.random.RandomState(k)
    x = rng.normal(size=(2, 3, 9, 9)).astype("float32")
    conv = blocks._conv(5, stride, 3, kernel_size=k)
    conv.initialize()
    w = rng.normal(size=(5, 3, k, k)).astype("float32")
    conv.weight.set_data(mx.nd.array(w))
    got = conv(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(got, _same_conv_reference(x, w, stride), rtol=1e-4, atol=1e-4)
    assert isinstance(conv, blocks.SameConv2D) == (k % 2 == 0)


def test_the_seeds_general_form():
    """The seed's ResNet(input_shape=[3, 64, 64], layers=[2, 3, 5, 2],
    stride=[1, 2, 2, 1], outputsize=6): bottlenecks with kernel f, per-stage strides."""
    for f in (3, 4):
        net = ResNetV1(blocks.BottleneckV1, [3, 4, 6, 3], [64, 256, 512, 1024, 2048],
                       classes=6, strides=[1, 2, 2, 1], kernel_size=f)
        s = summary(net, (1, 3, 64, 64))
        assert s.rows[-1].output_shape == (1, 6)
        # 64 -> 16 after the stem, then strides 1, 2, 2, 1: 16, 8, 4, 4.
        last = [r for r in s.rows if r.op == "Convolution"][-1]
        assert last.output_shape[2:] == (4, 4)
        middle = [r for r in s.rows if r.op == "Convolution" and r.name.endswith("body.3")]
        assert middle and all(r.params == (r.output_shape[1] ** 2) * f * f for r in middle)
    assert net.min_size == 16
    with pytest.raises(ValueError, match=r"strides needs one positive int per stage \(4\)"):
        ResNetV1(blocks.BasicBlockV1, [2, 2, 2, 2], [64, 64, 128, 256, 512], strides=[1, 2])
    with pytest.raises(ValueError, match="kernel_size must be a positive int, got 0"):
        gluon_resnet.cifar_resnet20(kernel_size=0)


def test_factories_take_strides_and_kernel_size():
    net = gluon_resnet.cifar_resnet20(strides=[1, 1, 2], kernel_size=5, shortcut="A")
    out = summary(net, (1, 3, 16, 16))
    convs = [r for r in out.rows if r.op == "Convolution"]
    # The cifar stem keeps 16x16; the stages stride 1, 1, 2.
    assert convs[-1].output_shape == (1, 64, 8, 8)
    assert {r.params for r in convs[1:]} >= {16 * 16 * 25, 64 * 64 * 25}
    assert net.min_size == 2


HAVE_ONNX = all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


@pytest.mark.skipif(not HAVE_ONNX, reason="pip install -e '.[onnx]'")
def test_option_a_and_even_kernels_export_to_onnx(tmp_path):
    import onnxruntime

    from gluon_resnet.deploy import export_net
    net = gluon_resnet.cifar_resnet20(shortcut="A", kernel_size=4, in_channels=1)
    x = mx.nd.random.normal(shape=(2, 1, 12, 12))
    net(x)
    randomize(net, x)
    with mx.autograd.predict_mode():
        expected = net(x).asnumpy()
    path = export_net(net, str(tmp_path / "a"), (1, 12, 12), "onnx")[0]
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = session.run(None, {"data": x.asnumpy()})[0]
    assert np.abs(got - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())


def test_plain_and_option_a_nets_export_and_reload(tmp_path):
    for name, kw in (("cifar_plain20", {}), ("cifar_resnet20", {"shortcut": "A"})):
        net = gluon_resnet.get_model(name, **kw)
        x = mx.nd.random.normal(shape=(2, 3, 8, 8))
        net(x)
        randomize(net, x)
        with mx.autograd.predict_mode():
            expected = net(x).asnumpy()
        prefix = str(tmp_path / name)
        gluon_resnet.export(net, prefix, (3, 8, 8))
        loaded = gluon_resnet.load_exported(prefix)
        np.testing.assert_allclose(loaded(x).asnumpy(), expected, rtol=1e-4, atol=1e-5)
