"""Tests for gluon_resnet.summary against independent counts and published figures.

References: parameter counts taken from the initialised Gluon parameters themselves,
MACs counted by forward hooks during a real NDArray forward pass (not by shape
inference), hand-computed numbers for small nets, and published figures
(torchvision resnet18: 11,689,512 params; ResNet-50: 25.6 M params, 4.1 G MACs;
ResNeXt-50 32x4d: 25.0 M params, 4.26 G MACs).
"""
import gluon_resnet  # noqa: F401  (compat shim before mxnet)

import mxnet as mx
import numpy as np
import pytest
import gluon_resnet


def get_model(name):
    """Our model of GluonCV's name (weight-compatible), imperative so hooks see arrays."""
    return gluon_resnet.get_model(name, hybridize=False)
from mxnet.gluon import nn
from mxnet.gluon.model_zoo import vision

from gluon_resnet.models.summary import LayerRow, Summary, _human, summary

SHAPE = (1, 3, 224, 224)


def _independent_params(net):
    """(learnable, running stats) counted from initialised parameters, after a forward."""
    net.initialize()
    net(mx.nd.zeros((1, 3, 64, 64)))  # settles deferred shapes
    learn = aux = 0
    for name, p in net.collect_params().items():
        if name.endswith(("running_mean", "running_var")):
            aux += p.data().size
        else:
            learn += p.data().size
    return learn, aux


def _hooked_macs(net, shape=SHAPE):
    """Per-sample MACs and conv/dense output shapes seen during a real forward pass."""
    seen = []

    def hook(block, inputs, output):
        w = block.weight.shape  # conv: (out, in/groups, kh, kw); dense: (out, in)
        per_out = int(np.prod(w[1:]))
        seen.append((output.shape, output.size // shape[0] * per_out))

    def attach(block):
        if isinstance(block, (nn.Conv2D, nn.Dense)):
            block.register_forward_hook(hook)
        for child in block._children.values():
            attach(child)

    attach(net)
    net.initialize()
    net(mx.nd.random.uniform(shape=shape))
    return seen


@pytest.fixture(scope="module")
def r18():
    return summary(vision.resnet18_v1(), SHAPE)


@pytest.fixture(scope="module")
def r50b():
    return summary(get_model("resnet50_v1b"), SHAPE)


# ---------------------------------------------------------------- parameters

def test_resnet18_params_match_independent_count_and_torchvision(r18):
    learn, aux = _independent_params(vision.resnet18_v1())
    assert r18.total_params == learn == 11689512
    assert r18.trainable_params == learn
    assert r18.aux_params == aux
    assert sum(r.params for r in r18.rows) == learn  # no parameter is shared


def test_mxnet_resnet50_v1_params_match_independent_count():
    s = summary(vision.resnet50_v1(), SHAPE)
    learn, aux = _independent_params(vision.resnet50_v1())
    assert s.total_params == learn
    assert s.aux_params == aux
    assert round(s.total_params / 1e6, 1) == 25.6


def test_gluoncv_resnet50_v1b_params(r50b):
    learn, aux = _independent_params(get_model("resnet50_v1b"))
    assert r50b.total_params == learn == 25557032
    assert r50b.aux_params == aux


def test_frozen_parameters_are_not_trainable():
    net = vision.resnet18_v1()
    net.features[0].weight.grad_req = "null"  # 64 * 3 * 7 * 7
    s = summary(net, SHAPE)
    assert s.total_params == 11689512
    assert s.trainable_params == 11689512 - 64 * 3 * 7 * 7


def test_shared_parameter_counted_once_in_total():
    class Twice(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.fc = nn.Dense(4, in_units=4)

        def hybrid_forward(self, F, x):
            return self.fc(self.fc(x))

    s = summary(Twice(), (1, 4, 1, 1))
    assert [r.params for r in s.rows] == [20, 20]
    assert s.total_params == 20


# ---------------------------------------------------------------- MACs

def test_resnet50_v1b_macs(r50b):
    conv1 = next(r for r in r50b.rows if r.name == "conv1")
    # hand count: 64 x 112 x 112 outputs, each over 3 x 7 x 7 inputs
    assert conv1.macs == 64 * 112 * 112 * 3 * 7 * 7 == 118013952
    assert conv1.output_shape == (1, 64, 112, 112)
    assert abs(r50b.total_macs / 4.1e9 - 1) < 0.02
    hooked = _hooked_macs(get_model("resnet50_v1b"))
    assert r50b.total_macs == sum(m for _, m in hooked) == 4089184256


def test_resnet18_macs(r18):
    assert round(r18.total_macs / 1e9, 2) == 1.81
    assert r18.total_macs == sum(m for _, m in _hooked_macs(vision.resnet18_v1()))


def test_resnext50_32x4d_grouped_macs():
    s = summary(get_model("resnext50_32x4d"), SHAPE)
    assert 4.2e9 < s.total_macs < 4.3e9  # published 4.26 G
    assert s.total_macs == sum(m for _, m in _hooked_macs(get_model("resnext50_32x4d")))
    assert round(s.total_params / 1e6, 1) == 25.0
    grouped = [r for r in s.rows if r.name == "features.4.0.body.3"][0]
    # stage 1 grouped 3x3 conv: 128 -> 128 channels, 32 groups, 56 x 56 output
    assert grouped.params == 128 * (128 // 32) * 3 * 3
    assert grouped.macs == 128 * 56 * 56 * (128 // 32) * 3 * 3


def test_tiny_grouped_conv_exact():
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, strides=2, padding=1, groups=4, in_channels=8),
            nn.Activation("relu"), nn.Dense(10))
    s = summary(net, (2, 8, 10, 10))
    conv, act, dense = s.rows
    assert (conv.op, conv.output_shape) == ("Convolution", (2, 8, 5, 5))
    assert conv.params == 8 * (8 // 4) * 3 * 3 + 8
    assert conv.macs == 8 * 5 * 5 * (8 // 4) * 3 * 3  # per sample, batch of 2 given
    assert (act.op, act.macs, act.params) == ("Activation", 0, 0)
    assert dense.output_shape == (2, 10)
    assert dense.params == 200 * 10 + 10
    assert dense.macs == 200 * 10
    assert s.total_macs == 3600 + 2000
    assert [r.name for r in s.rows] == ["0", "1", "2"]


def test_transposed_conv_macs():
    net = nn.HybridSequential()
    net.add(nn.Conv2DTranspose(4, 2, strides=2, in_channels=8, use_bias=False))
    (row,) = summary(net, (8, 5, 5)).rows
    assert row.output_shape == (1, 4, 10, 10)
    assert row.params == 8 * 4 * 2 * 2
    # every input element is multiplied into a 4 x 2 x 2 patch of the output
    assert row.macs == 8 * 5 * 5 * 4 * 2 * 2


def test_macs_are_per_sample():
    net = vision.resnet18_v1()
    one, four = summary(net, (1, 3, 64, 64)), summary(net, (4, 3, 64, 64))
    assert one.total_macs == four.total_macs
    assert four.rows[-1].output_shape == (4, 1000)
    assert summary(net, (3, 64, 64)).rows == one.rows


# ---------------------------------------------------------------- shapes and names

def test_resnet18_shapes_and_names(r18):
    assert r18.rows[-1].output_shape == (1, 1000)
    assert r18.rows[-1].name == "output"
    names = {r.name: r for r in r18.rows}
    assert names["features.8"].output_shape == (1, 512, 1, 1)  # global pool
    pool_at = r18.rows.index(names["features.8"])
    assert r18.rows[pool_at - 1].output_shape == (1, 512, 7, 7)
    assert names["features.4.0.body.0"].op == "Convolution"
    assert names["features.4:_plus0"].op == "elemwise_add"


def test_conv_shapes_match_real_forward(r18):
    hooked = _hooked_macs(vision.resnet18_v1())
    rows = [r for r in r18.rows if r.op in ("Convolution", "FullyConnected")]
    # rows follow graph order, which puts a downsample branch before the body
    # it is added to; the hooks see execution order, so compare as multisets
    assert sorted((r.output_shape, r.macs) for r in rows) == \
        sorted((tuple(s), m) for s, m in hooked)
    assert len(rows) == 21


def test_deferred_init_not_required_and_left_deferred():
    net = vision.resnet18_v1()
    net.initialize()  # deferred: in_channels=0 until the first forward
    s = summary(net, SHAPE)
    assert s.total_params == 11689512
    with pytest.raises(mx.gluon.parameter.DeferredInitializationError, match="deferred"):
        net.features[0].weight.data()


# ---------------------------------------------------------------- no side effects

def test_no_side_effects_on_hybridized_net(capsys):
    net = vision.resnet18_v1()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.random.uniform(shape=(2, 3, 64, 64))
    with mx.autograd.record():  # training mode moves the running statistics
        net(x)
    params = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    before = net(x).asnumpy()
    s = summary(net, (2, 3, 64, 64))
    after = net(x).asnumpy()
    np.testing.assert_array_equal(before, after)
    for k, p in net.collect_params().items():
        np.testing.assert_array_equal(p.data().asnumpy(), params[k], err_msg=k)
    assert net._active
    assert s.total_params == 11689512
    assert capsys.readouterr() == ("", "")


def test_unhybridized_net_stays_unhybridized():
    net = vision.resnet18_v1()
    summary(net, SHAPE)
    assert not net._active
    assert net._cached_op is None


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("bad", [(3, 224), (1, 3, 224, 224, 1), (1, 0, 224, 224),
                                 (1, 3, 224.0, 224), (1, -3, 8, 8), "1,3,224,224",
                                 (True, 3, 8, 8), None])
def test_bad_input_shape(bad):
    with pytest.raises(ValueError, match=r"tuple of 4 positive ints.*got"):
        summary(vision.resnet18_v1(), bad)


def test_shape_the_net_cannot_take(capsys):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(8, 3, in_channels=3))
    with pytest.raises(ValueError, match=r"cannot take an input of shape \(1, 1, 8, 8\)"
                                         r".*Shape inconsistent"):
        summary(net, (1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"\(1, 3, 2, 2\)"):  # smaller than the kernel
        summary(net, (1, 3, 2, 2))
    assert capsys.readouterr() == ("", "")  # MXNet's infer_shape would print here


def test_not_a_hybridblock():
    with pytest.raises(TypeError, match="HybridBlock"):
        summary(nn.Sequential(), SHAPE)


# ---------------------------------------------------------------- rendering

def test_str_table_and_footer(r50b):
    lines = str(r50b).splitlines()
    header = lines[0]
    assert header.split() == ["Layer", "Op", "Output", "shape", "Params", "MACs"]
    op_col, macs_end = header.index("Op"), len(header)
    body = lines[2:2 + len(r50b.rows)]
    for line, row in zip(body, r50b.rows):
        assert line.startswith(row.name + " ")
        assert line[op_col:].split()[0] == row.op
        assert len(line) == macs_end  # numbers right-aligned under "MACs"
    footer = "\n".join(lines[2 + len(r50b.rows):])
    assert "Total params: 25,557,032 (25.56 M)" in footer
    assert "Total MACs: 4,089,184,256 (4.09 G)" in footer
    md = r50b.to_markdown().splitlines()
    assert md[2] == "| conv1 | Convolution | (1, 64, 112, 112) | 9,408 | 118.01 M |"
    assert len([ln for ln in md if ln.startswith("| ")]) == len(r50b.rows) + 1


def test_human_units():
    assert [_human(n) for n in (0, 999, 1000, 25557032, 4089184256)] == \
        ["0", "999", "1.00 K", "25.56 M", "4.09 G"]


def test_types(r18):
    assert isinstance(r18, Summary)
    assert all(isinstance(r, LayerRow) for r in r18.rows)
