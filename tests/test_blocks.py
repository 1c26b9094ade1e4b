import mxnet as mx
import numpy as np
import pytest
from mxnet.gluon.model_zoo.vision import resnet as mxresnet

from conftest import max_diff, randomize
from gluon_resnet.models import blocks


def test_residual_keeps_shape():
    blk = blocks.Residual(3)
    blk.initialize()
    assert blk(mx.nd.random.uniform(shape=(4, 3, 6, 6))).shape == (4, 3, 6, 6)


def test_residual_1x1_halves_and_projects():
    blk = blocks.Residual(6, use_1x1conv=True, strides=2)
    blk.initialize()
    assert blk(mx.nd.random.uniform(shape=(4, 3, 6, 6))).shape == (4, 6, 3, 3)


def test_residual_computes_d2l_formula():
    """relu(bn2(conv2(relu(bn1(conv1 x)))) + conv3 x), written out with raw ops."""
    blk = blocks.Residual(4, use_1x1conv=True, strides=2)
    blk.initialize(mx.init.Normal(0.5))
    x = mx.nd.random.normal(shape=(2, 3, 8, 8))
    blk(x)
    randomize(blk)
    nd = mx.nd

    def conv(c, x, stride, pad):
        return nd.Convolution(x, c.weight.data(), c.bias.data(), kernel=c._kwargs["kernel"],
                              stride=(stride, stride), pad=(pad, pad),
                              num_filter=c._channels)

    def bn(b, x):
        mean, var = b.running_mean.data(), b.running_var.data()
        scale = b.gamma.data() / nd.sqrt(var + 1e-5)
        return nd.broadcast_add(nd.broadcast_mul(x - mean.reshape((1, -1, 1, 1)),
                                                 scale.reshape((1, -1, 1, 1))),
                                b.beta.data().reshape((1, -1, 1, 1)))

    y = nd.relu(bn(blk.bn1, conv(blk.conv1, x, 2, 1)))
    y = bn(blk.bn2, conv(blk.conv2, y, 1, 1))
    expected = nd.relu(y + conv(blk.conv3, x, 2, 0))
    assert max_diff(blk(x), expected) < 1e-5


def test_resnet_block_stage_shapes():
    stage = blocks.resnet_block(8, 2)
    stage.initialize()
    assert stage(mx.nd.ones((1, 4, 8, 8))).shape == (1, 8, 4, 4)
    first = blocks.resnet_block(4, 2, first_block=True)
    first.initialize()
    assert first(mx.nd.ones((1, 4, 8, 8))).shape == (1, 4, 8, 8)


@pytest.mark.parametrize("ours, theirs, channels", [
    (blocks.BasicBlockV1, mxresnet.BasicBlockV1, 8),
    (blocks.BottleneckV1, mxresnet.BottleneckV1, 16),
    (blocks.BasicBlockV2, mxresnet.BasicBlockV2, 8),
    (blocks.BottleneckV2, mxresnet.BottleneckV2, 16),
])
@pytest.mark.parametrize("stride, downsample", [(1, False), (2, True)])
def test_blocks_match_mxnet_zoo_blocks(tmp_path, ours, theirs, channels, stride, downsample):
    in_channels = channels if not downsample else 4
    x = mx.nd.random.normal(shape=(2, in_channels, 8, 8))
    ref = theirs(channels, stride, downsample, in_channels=in_channels)
    ref.initialize()
    ref(x)
    randomize(ref)
    ref.save_parameters(str(tmp_path / "b.params"))
    blk = ours(channels, stride, downsample, in_channels=in_channels)
    blk.load_parameters(str(tmp_path / "b.params"))
    assert max_diff(blk(x), ref(x)) < 1e-5
    with mx.autograd.train_mode():
        assert max_diff(blk(x), ref(x)) < 1e-5


@pytest.mark.parametrize("block, channels", [
    (blocks.BasicBlockV1, 8), (blocks.BottleneckV1, 16), (blocks.BasicBlockV1b, 8),
    (blocks.BottleneckV1b, 16), (blocks.BasicBlockV2, 8), (blocks.BottleneckV2, 16)])
def test_zero_init_residual_makes_identity_blocks(block, channels):
    """With the residual branch zeroed, an identity block returns relu(x) (v1) or x (v2)."""
    x = mx.nd.random.normal(shape=(2, channels, 6, 6))
    blk = block(channels, 1, False, in_channels=channels, zero_init_residual=True)
    blk.initialize(mx.init.Xavier())
    expected = x if block in (blocks.BasicBlockV2, blocks.BottleneckV2) else mx.nd.relu(x)
    assert max_diff(blk(x), expected) < 1e-6
    plain = block(channels, 1, False, in_channels=channels)
    plain.initialize(mx.init.Xavier())
    assert max_diff(plain(x), expected) > 1e-2


def test_resnext_block_groups_and_width():
    blk = blocks.BottleneckV1(256, 1, True, in_channels=64, groups=32, bottleneck_width=4,
                              stride_on_3x3=True, use_bias=False)
    blk.initialize()
    blk(mx.nd.ones((1, 64, 4, 4)))
    grouped = blk.body[3]
    assert grouped.weight.shape == (128, 4, 3, 3)   # 32 groups of 4 channels
    assert grouped._kwargs["num_group"] == 32 and grouped._kwargs["stride"] == (1, 1)
    assert np.all([blk.body[i].bias is None for i in (0, 6)])
