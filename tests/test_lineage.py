"""The lineage (gluon_resnet.lineage) against its references.

* ImageNet forms: MXNet's zoo nets (GluonCV's GoogLeNet) with random parameters, saved
  with their own ``save_parameters``, load into ours and give the same outputs.
* Parameter counts and multiply-adds: the published figures (torchvision's counts of
  the same architectures, which its model documentation lists), or the paper's layers.
* d2l forms: the chapters' nets (``_d2l_chapters``: from the installed d2l 0.17.6 and
  1.0.3 where they hold them, else written from the chapters' descriptions) build the
  reference net in numpy mode; its saved parameters load into ours, in numpy and in
  legacy mode, with the same outputs; the layer output shapes are the chapters'.

Numpy mode against legacy mode for one net of each family: test_numpy_mode's per-model
sweep (these names are in conftest.REPRESENTATIVE).
"""
import hashlib
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd
from mxnet.base import MXNetError
from mxnet.gluon.model_zoo import vision

import _d2l_chapters as chapters
import gluon_resnet
from conftest import numpy_mode, randomize, sweep
from _published import TORCHVISION_SIZES
from gluon_resnet.models import lineage, model_store

LINEAGE = sorted(lineage.SPECS)
REQUIRED = os.environ.get("GLUON_RESNET_D2L") == "required"


def _close(a, b, rtol=1e-5):
    """``a`` equals the reference ``b`` to ``rtol`` of ``b``'s scale."""
    a, b = a.asnumpy(), b.asnumpy()
    return a.shape == b.shape and \
        float(np.abs(a - b).max()) <= rtol * max(1.0, float(np.abs(b).max()))


def _has_dropout(block):
    return isinstance(block, mx.gluon.nn.Dropout) or any(
        _has_dropout(child) for child in block._children.values())


def _batch(shape, seed, np_mode=False):
    x = np.random.RandomState(seed).normal(size=shape).astype("float32")
    return mx.np.array(x) if np_mode else mx.nd.array(x)


# --- the zoos' weights ----------------------------------------------------------------

# (ours, MXNet's zoo name, input size): a small input where the net allows it (VGG's five
# 2x2 pools take 32x32; DenseNet's final 7x7 average pool needs 221 at least).
MXNET_PAIRS = [("alexnet", "alexnet", 64)] + [
    ("vgg%d%s" % (d, bn), "vgg%d%s" % (d, bn), 32) for bn in ("", "_bn")
    for d in (11, 13, 16, 19)] + [
    ("densenet%d" % d, "densenet%d" % d, 224) for d in (121, 161, 169, 201)]


def _check_same_outputs(tmp_path, name, ref, size):
    x = _batch((2, 3, size, size), 0)
    ref.initialize()
    ref(x)
    randomize(ref, _batch((2, 3, size, size), 1))  # BN statistics of another batch
    path = str(tmp_path / "ref.params")
    ref.save_parameters(path)
    # Like against like: imperative against imperative, then both hybridized.
    plain = gluon_resnet.get_model(name, hybridize=False, pretrained=path)
    with autograd.predict_mode():
        assert _close(plain(x), ref(x))
    net = gluon_resnet.get_model(name, pretrained=path)
    ref.hybridize(static_alloc=True)
    with autograd.predict_mode():
        assert _close(net(x), ref(x))
    if not _has_dropout(ref):  # training mode: batch statistics (dropout would be random)
        with autograd.record():
            assert _close(net(x), ref(x))


@pytest.mark.parametrize("name, theirs, size", sweep(MXNET_PAIRS))
def test_mxnet_zoo_weights(tmp_path, name, theirs, size):
    _check_same_outputs(tmp_path, name, vision.get_model(theirs), size)


@pytest.mark.gluoncv
def test_gluoncv_googlenet_weights(tmp_path):
    from gluoncv.model_zoo import get_model
    _check_same_outputs(tmp_path, "googlenet", get_model("googlenet"), 224)


# --- sizes ----------------------------------------------------------------------------

# torchvision's published sizes of the same architectures (see _published).
PUBLISHED = {name: size for name, size in TORCHVISION_SIZES.items()
             if name.startswith(("alexnet", "vgg", "densenet", "googlenet"))}


def _summary(name, shape):
    return gluon_resnet.summary(gluon_resnet.get_model(name, initialize=False), shape)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_and_macs_are_the_published_ones(name):
    s = _summary(name, (1, 3, 224, 224))
    params, gmacs = PUBLISHED[name]
    assert s.total_params == params
    assert round(s.total_macs / 1e9, 2) == gmacs


def test_published_rounded_figures():
    """The figures papers and zoos quote: AlexNet 61.1 M, VGG-16 138.4 M, VGG-19
    143.7 M, DenseNet-121 8.0 M, DenseNet-201 20.0 M, GoogLeNet about 7 M (6.6 M)."""
    def millions(name):
        return round(_summary(name, (1, 3, 224, 224)).total_params / 1e6, 1)
    assert [millions(n) for n in ("alexnet", "vgg16", "vgg19", "densenet121", "densenet201",
                                  "googlenet")] == [61.1, 138.4, 143.7, 8.0, 20.0, 6.6]


def _conv_params(layers):
    return sum(c_out * c_in * k * k + c_out for c_in, c_out, k in layers)


def test_lenet_and_nin_have_the_papers_layers():
    # LeNet-5 (C3 fully connected to S2): C1 6@5x5, C3 16@5x5, then 400-120-84-10.
    lenet = _conv_params([(1, 6, 5), (6, 16, 5), (400, 120, 1), (120, 84, 1), (84, 10, 1)])
    assert _summary("lenet", (1, 1, 32, 32)).total_params == lenet == 61706
    # NiN for ImageNet (the authors' Caffe model): conv1 11x11 and cccp1-2, conv2 5x5 and
    # cccp3-4, conv3 3x3 and cccp5-6, conv4 3x3 1024, cccp7 1024, cccp8 1000.
    nin = _conv_params([(3, 96, 11), (96, 96, 1), (96, 96, 1), (96, 256, 5), (256, 256, 1),
                        (256, 256, 1), (256, 384, 3), (384, 384, 1), (384, 384, 1),
                        (384, 1024, 3), (1024, 1024, 1), (1024, 1000, 1)])
    assert _summary("nin", (1, 3, 224, 224)).total_params == nin
    # Caffe's pooling rounds up: 54 -> 27 -> 13 -> 6, the 6x6 its last average pool takes.
    net = gluon_resnet.nin(initialize=False)
    sym = net[:8](mx.sym.var("data"))
    assert sym.infer_shape(data=(1, 3, 224, 224))[1][0] == (1, 1000, 6, 6)


def _runs(net, shape):
    try:
        net(mx.sym.var("data")).infer_shape(data=shape)
        return True
    except MXNetError:
        return False


@pytest.mark.parametrize("name", LINEAGE)
def test_min_size_is_the_smallest_input_mxnet_takes(name, capsys):
    spec = lineage.SPECS[name]
    net = gluon_resnet.get_model(name, initialize=False)
    channels = spec.input_shape[0]
    assert _runs(net, (1, channels, spec.min_size, spec.min_size))
    if spec.min_size > 1:
        assert not _runs(net, (1, channels, spec.min_size - 1, spec.min_size - 1))
    assert _runs(net, (1,) + spec.input_shape)  # and the images it is made for
    capsys.readouterr()  # infer_shape prints its arguments when it fails


def test_input_checks_name_what_is_expected():
    with pytest.raises(ValueError, match=r"alexnet needs inputs of at least 63x63 pixels, "
                                         r"got 62x62; resize the images"):
        gluon_resnet.alexnet()(mx.nd.ones((1, 3, 62, 62)))
    net = gluon_resnet.d2l_lenet(in_channels=1)
    with pytest.raises(ValueError, match="d2l_lenet expects 1 input channels, got 3; pass "
                                         "in_channels=3"):
        net(mx.nd.ones((1, 3, 28, 28)))
    inferred = gluon_resnet.d2l_densenet()
    inferred(mx.nd.ones((1, 1, 32, 32)))
    with pytest.raises(ValueError, match="expects 1 input channels, got 3"):
        inferred(mx.nd.ones((1, 3, 32, 32)))
    with pytest.raises(ValueError, match=r"4-D batch \(N, C, H, W\), got shape \(1, 28, 28\)"):
        net(mx.nd.ones((1, 28, 28)))
    with pytest.raises(ValueError, match="vgg11 has no thumbnail form"):
        gluon_resnet.vgg11(thumbnail=True)
    with pytest.raises(ValueError, match="classes must be a positive int, got 0"):
        gluon_resnet.lenet(classes=0)
    # The default classes: ImageNet's, or Fashion-MNIST's for the d2l forms and LeNet.
    assert gluon_resnet.googlenet(initialize=False).output._units == 1000
    assert gluon_resnet.d2l_resnet18(initialize=False)[-1]._units == 10
    assert gluon_resnet.lenet(initialize=False)[-1]._units == 10


# --- published weights ----------------------------------------------------------------

def test_published_weights_are_in_the_table():
    for name in ["alexnet", "googlenet"] + [n for n in LINEAGE if n.startswith(("vgg",
                                                                               "dense"))]:
        zoo, published, sha1 = model_store.PUBLISHED[name]
        assert (zoo, published) == ("gluoncv" if name == "googlenet" else "mxnet", name)
    with pytest.raises(ValueError, match="no published weights for model 'd2l_lenet'"):
        gluon_resnet.d2l_lenet(pretrained=True)


def test_pretrained_true_loads_the_file_in_root(tmp_path, monkeypatch):
    """GoogLeNet's output layer is also its head's: our file holds it once, and loads."""
    ref = gluon_resnet.googlenet(hybridize=False)
    x = _batch((1, 3, 224, 224), 0)
    ref(x)
    randomize(ref)
    name = model_store.published_file_name("googlenet")
    gluon_resnet.save_parameters(ref, str(tmp_path / name))
    saved = mx.nd.load(str(tmp_path / name))
    assert "output.weight" in saved and "head.2.weight" not in saved
    sha1 = hashlib.sha1((tmp_path / name).read_bytes()).hexdigest()
    monkeypatch.setitem(model_store.PUBLISHED, "googlenet", ("gluoncv", "googlenet", sha1))
    monkeypatch.setattr(model_store, "published_file_name", lambda n: name)
    net = gluon_resnet.googlenet(pretrained=True, root=str(tmp_path))
    with autograd.predict_mode():
        assert _close(net(x), ref(x))


def test_pretrained_true_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(model_store, "REPO_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("MXNET_GLUON_REPO", raising=False)
    with pytest.raises(model_store.WeightsNotFoundError,
                       match=r"densenet121-f27dbf2d\.params"):
        gluon_resnet.densenet121(pretrained=True, root=str(tmp_path))


# --- d2l's chapters -------------------------------------------------------------------

@pytest.fixture(scope="module")
def d2l():
    """The d2l packages the chapters' nets take pieces from (0.17.6, 1.0.3)."""
    for what, load in (("d2l 0.17.6", chapters.d2l_0_17), ("d2l 1.0.3", chapters.d2l_1_0)):
        try:
            load()
        except ImportError as e:
            if REQUIRED:
                pytest.fail("%s is not installed (%s); `make test` installs it" % (what, e))
            pytest.skip("%s is not installed (%s; see the Makefile)" % (what, e))


# Our form, the chapter's net, the size the chapter resizes Fashion-MNIST to.
D2L_FORMS = [("d2l_lenet", chapters.lenet, 28), ("d2l_alexnet", chapters.alexnet, 224),
             ("d2l_vgg11", chapters.vgg11, 224), ("d2l_nin", chapters.nin, 224),
             ("d2l_googlenet", chapters.googlenet, 96),
             ("d2l_resnet18", chapters.resnet18, 96), ("d2l_densenet", chapters.densenet, 96)]


@pytest.mark.parametrize("name, chapter, size", sweep(D2L_FORMS))
def test_d2l_chapter_parameters_load_and_agree(d2l, tmp_path, name, chapter, size):
    shape = (2, 1, size, size)
    path = str(tmp_path / "d2l.params")
    with numpy_mode():
        ref = chapter()
        x = _batch(shape, 0, np_mode=True)
        ref.initialize(force_reinit=True)  # d2l 1.0.3's LeNet initialises itself
        ref(x)
        randomize(ref, _batch(shape, 1, np_mode=True))
        ref.save_parameters(path)  # MXNet's own file, in numpy mode, as d2l saves
        with autograd.predict_mode():
            want = ref(x)
        with autograd.record():
            want_train = ref(x)
        plain = gluon_resnet.get_model(name, hybridize=False, pretrained=path)
        net = gluon_resnet.get_model(name, pretrained=path)
        with autograd.predict_mode():
            assert _close(plain(x), want)
            # Hybridized, oneDNN fuses operators: float32 rounding differs a little.
            assert _close(net(x), want, 1e-4)
        if not _has_dropout(ref):
            with autograd.record():
                assert _close(plain(x), want_train)
    # The same file in legacy mode.
    net = gluon_resnet.get_model(name, pretrained=path)
    with autograd.predict_mode():
        got = net(_batch(shape, 0))
    assert isinstance(got, mx.nd.NDArray) and not isinstance(got, mx.np.ndarray)
    assert _close(got, want.as_nd_ndarray(), 1e-4)


# The layer output shapes the chapters print (for 1-channel images of the chapter's size).
CHAPTER_SHAPES = {
    "d2l_lenet": (28, [(1, 6, 28, 28), (1, 6, 14, 14), (1, 16, 10, 10), (1, 16, 5, 5),
                       (1, 120), (1, 84), (1, 10)]),
    "d2l_alexnet": (224, [(1, 96, 54, 54), (1, 96, 26, 26), (1, 256, 26, 26),
                          (1, 256, 12, 12), (1, 384, 12, 12), (1, 384, 12, 12),
                          (1, 256, 12, 12), (1, 256, 5, 5), (1, 4096), (1, 4096), (1, 4096),
                          (1, 4096), (1, 10)]),
    # The chapter prints VGG-11's; it trains (and we build) a quarter of its channels.
    "d2l_vgg11": (224, [(1, 64 // 4, 112, 112), (1, 128 // 4, 56, 56), (1, 256 // 4, 28, 28),
                        (1, 512 // 4, 14, 14), (1, 512 // 4, 7, 7), (1, 4096), (1, 4096),
                        (1, 4096), (1, 4096), (1, 10)]),
    "d2l_nin": (224, [(1, 96, 54, 54), (1, 96, 26, 26), (1, 256, 26, 26), (1, 256, 12, 12),
                      (1, 384, 12, 12), (1, 384, 5, 5), (1, 384, 5, 5), (1, 10, 5, 5),
                      (1, 10, 1, 1), (1, 10)]),
    "d2l_googlenet": (96, [(1, 64, 24, 24), (1, 192, 12, 12), (1, 480, 6, 6),
                           (1, 832, 3, 3), (1, 1024, 1, 1), (1, 10)]),
    "d2l_resnet18": (224, [(1, 64, 112, 112), (1, 64, 112, 112), (1, 64, 112, 112),
                           (1, 64, 56, 56), (1, 64, 56, 56), (1, 128, 28, 28),
                           (1, 256, 14, 14), (1, 512, 7, 7), (1, 512, 1, 1), (1, 10)]),
}


@pytest.mark.parametrize("name", sorted(CHAPTER_SHAPES))
def test_layer_shapes_are_the_chapters(name):
    size, expected = CHAPTER_SHAPES[name]
    net = gluon_resnet.get_model(name, initialize=False)
    shape, got = (1, 1, size, size), []
    for layer in net:  # as the chapters walk their nets
        shape = layer(mx.sym.var("data")).infer_shape(data=shape)[1][0]
        got.append(shape)
    assert got == expected


def test_densenet_blocks_have_the_chapters_shapes():
    blk = lineage.DenseBlock(2, 10)
    blk.initialize()
    Y = blk(mx.nd.random.uniform(shape=(4, 3, 8, 8)))
    assert Y.shape == (4, 23, 8, 8)
    trans = lineage.densenet._transition_block(10)
    trans.initialize()
    assert trans(Y).shape == (4, 10, 4, 4)


# --- export ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["lenet", "alexnet", "vgg11_bn", "nin", "googlenet",
                                  "densenet121", "d2l_googlenet", "d2l_densenet"])
def test_export_then_import_gives_same_output(tmp_path, name):
    spec = lineage.SPECS[name]
    shape = (spec.input_shape[0],) + (max(spec.min_size, 32),) * 2
    net = gluon_resnet.get_model(name, classes=5)
    net(_batch((1,) + shape, 0))
    randomize(net, _batch((2,) + shape, 1))
    prefix = str(tmp_path / name)
    gluon_resnet.export(net, prefix, shape)
    loaded = gluon_resnet.load_exported(prefix)
    x = _batch((2,) + shape, 2)
    with autograd.predict_mode():
        assert _close(loaded(x), net(x))


def test_numpy_mode_net_exports_the_legacy_graph(tmp_path):
    """Concatenation is traced with the legacy operator when a numpy-mode net exports."""
    shape = (1, 32, 32)
    with numpy_mode():
        net = gluon_resnet.d2l_densenet()
        net(_batch((1,) + shape, 0, np_mode=True))
        randomize(net, _batch((2,) + shape, 1, np_mode=True))
        gluon_resnet.export(net, str(tmp_path / "np"), shape)
        x = _batch((2,) + shape, 2, np_mode=True)
        with autograd.predict_mode():
            want = net(x).as_nd_ndarray()
    loaded = gluon_resnet.load_exported(str(tmp_path / "np"))
    assert _close(loaded(x.as_nd_ndarray()), want)
