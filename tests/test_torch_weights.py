"""Weights from PyTorch's zoos and back (issue 24): our safetensors reader/writer against
the safetensors package, torchvision's and timm's ResNets (their own model code, random
weights) loaded into ours and giving their outputs, ours written back and loaded by them
with ``strict=True``, and every file that does not fit refused before anything loads."""
import hashlib
import os
import shutil
import struct
import sys

import mxnet as mx
import numpy as np
import pytest

import gluon_resnet
from gluon_resnet import arrays
from gluon_resnet.models import blocks, model_store, torch_hub
from gluon_resnet.models.resnet import ResNetV1b
from gluon_resnet.safetensors_io import read_safetensors, write_safetensors

import _torch_ref
from conftest import run_main, sweep

# 40x40: the stem leaves 10x10, then 5x5 and 3x3: ResNet-D's pooled shortcut meets
# partial (ceil_mode) windows, where count_include_pad matters.
SIZE = 40


def _state(model):
    return {k: v.detach().numpy() for k, v in model.state_dict().items()}


def _randomized(model, seed=0):
    """``model`` with random parameters and BN statistics, in inference mode."""
    torch = _torch_ref.torch()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                noise = torch.rand(t.shape, generator=gen)
                t.copy_(noise + 0.5 if name.endswith("running_var") else (noise - 0.5) * 0.2)
    return model.eval()


def _torch_out(model, x):
    torch = _torch_ref.torch()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def _ours_out(net, x):
    with mx.autograd.predict_mode():
        return arrays.as_legacy(net(arrays.as_current(mx.nd.array(x)))).asnumpy()


def _close(ours, theirs):
    scale = np.abs(theirs).max()
    assert np.abs(ours - theirs).max() <= 1e-4 * scale + 1e-5, (ours[0, :4], theirs[0, :4])


# --- the safetensors format, against the safetensors package --------------------------------

def test_our_files_are_read_by_safetensors_and_theirs_by_us(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays_in = {"w": np.random.rand(3, 4).astype(np.float32), "n": np.array(7, np.int64),
                 "h": np.random.rand(5).astype(np.float16), "t": np.ones((2, 3), "f4").T,
                 "b": np.arange(6, dtype=np.uint8)}
    write_safetensors(str(tmp_path / "ours.safetensors"), arrays_in, {"k": "v"})
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    assert set(theirs) == set(arrays_in)
    for k, v in arrays_in.items():
        assert theirs[k].dtype == v.dtype and theirs[k].shape == v.shape
        np.testing.assert_array_equal(theirs[k], v)
    st.save_file(arrays_in, str(tmp_path / "theirs.safetensors"), metadata={"a": "b"})
    ours, metadata = read_safetensors(str(tmp_path / "theirs.safetensors"))
    assert metadata == {"a": "b"}
    for k, v in arrays_in.items():
        want = v.astype(np.float32) if v.dtype == np.float16 else v  # widened
        assert ours[k].dtype == want.dtype
        np.testing.assert_array_equal(ours[k], want)


def test_bfloat16_is_widened_exactly(tmp_path):
    torch = _torch_ref.torch()
    from safetensors.torch import save_file
    t = torch.randn(4, 5)
    save_file({"bf": t.bfloat16()}, str(tmp_path / "bf.safetensors"))
    got, _ = read_safetensors(str(tmp_path / "bf.safetensors"))
    np.testing.assert_array_equal(got["bf"], t.bfloat16().float().numpy())


def _file(header, data=b""):
    raw = header if isinstance(header, bytes) else __import__("json").dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


BAD_FILES = {
    "short": (b"\x01\x02", "shorter than the 8-byte header length"),
    "huge header": (struct.pack("<Q", 1 << 40) + b"{}", "header length"),
    "not json": (_file(b"{nope"), "not UTF-8 JSON"),
    "a list": (_file(b"[1, 2]"), "expected an object"),
    "bad dtype": (_file({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}},
                        b"\0" * 16), "dtype 'F128'"),
    "past the end": (_file({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                           b"\0" * 8), "outside the 8 data bytes"),
    "wrong size": (_file({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}},
                         b"\0" * 16), "needs 12 bytes"),
    "overlap": (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
                      b"\0" * 12), "overlap"),
    "gap": (_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}},
                  b"\0" * 8), "gap at byte 0"),
    "negative shape": (_file({"a": {"dtype": "F32", "shape": [-1],
                                    "data_offsets": [0, 4]}}, b"\0" * 4), "shape"),
    "metadata": (_file({"__metadata__": {"a": 1}}), "__metadata__"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_malformed_safetensors_are_refused_by_name(tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.safetensors is not a valid safetensors file: "
                       ".*" + message):
        read_safetensors(str(path))
    net = gluon_resnet.resnet18_v1b(in_channels=3)
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        gluon_resnet.load_parameters(net, str(path))


# --- torchvision's and timm's nets into ours ----------------------------------------------

TORCHVISION_PAIRS = [("resnet18_v1b", "resnet18"), ("resnet50_v1b", "resnet50"),
                     # MXNet's names, torchvision's computation
                     ("resnet18", "resnet18"), ("resnext50_32x4d", "resnext50_32x4d"),
                     ("resnet34", "resnet34"),
                     ("resnet34_v1b", "resnet34"), ("resnet101_v1b", "resnet101"),
                     ("resnet152_v1b", "resnet152"), ("wide_resnet50_2", "wide_resnet50_2"),
                     ("wide_resnet101_2", "wide_resnet101_2"),
                     ("resnext101_32x8d", "resnext101_32x8d"),
                     ("resnext101_64x4d", "resnext101_64x4d")]
TIMM_PAIRS = [("resnet50_v1d", "resnet50d"), ("resnet50_v1c", "resnet50c"),
              ("resnet101_v1d", "resnet101d"), ("resnet152_v1d", "resnet152d"),
              ("resnet50_v1s", "resnet50s")]


def _load_and_compare(tmp_path, ours_name, ref, np_mode):
    path = str(tmp_path / "ref.safetensors")
    write_safetensors(path, _state(_randomized(ref)))
    x = np.random.RandomState(1).rand(2, 3, SIZE, SIZE).astype(np.float32)
    with arrays.interface(np_mode):
        net = gluon_resnet.get_model(ours_name, pretrained=path)
        _close(_ours_out(net, x), _torch_out(ref, x))


# Every pair in legacy mode, one in numpy mode too (the mapping does not depend on it).
@pytest.mark.parametrize("ours, theirs, np_mode", sweep(
    [pair + (False,) for pair in TORCHVISION_PAIRS] + [("resnet18_v1b", "resnet18", True)]))
def test_torchvision_weights_give_torchvisions_outputs(tmp_path, ours, theirs, np_mode):
    tv = _torch_ref.torchvision()
    _load_and_compare(tmp_path, ours, getattr(tv.models, theirs)(), np_mode)


@pytest.mark.parametrize("ours, theirs", sweep(TIMM_PAIRS))
def test_timm_weights_give_timms_outputs(tmp_path, ours, theirs):
    timm = _torch_ref.timm()
    _load_and_compare(tmp_path, ours, timm.create_model(theirs), np_mode=ours == "resnet50_v1d")


def test_grouped_and_wide_bottlenecks_match_torchvisions_small(tmp_path):
    """groups and width_per_group on a one-block-per-stage net (cheap, in the fast run)."""
    tv = _torch_ref.torchvision()
    ref = tv.models.resnet.ResNet(tv.models.resnet.Bottleneck, [1, 1, 1, 1], num_classes=7,
                                  groups=4, width_per_group=24)
    path = str(tmp_path / "small.pth")
    torch = _torch_ref.torch()
    torch.save(_randomized(ref).state_dict(), path)
    net = ResNetV1b(blocks.BottleneckV1b, [1, 1, 1, 1], [64, 256, 512, 1024, 2048], classes=7,
                    groups=4, bottleneck_width=24)
    gluon_resnet.load_parameters(net, path)
    x = np.random.RandomState(2).rand(2, 3, SIZE, SIZE).astype(np.float32)
    _close(_ours_out(net, x), _torch_out(ref, x))


# The published parameter counts (torchvision's model pages, timm's resnet50d card), and
# the reference nets' own counts.
PUBLISHED_PARAMS = {"wide_resnet50_2": (68.9e6, "wide_resnet50_2"),
                    "wide_resnet101_2": (126.9e6, "wide_resnet101_2"),
                    "resnext101_32x8d": (88.8e6, "resnext101_32x8d"),
                    "resnext101_64x4d": (83.5e6, "resnext101_64x4d"),
                    "resnet50_v1d": (25.6e6, "resnet50d")}


@pytest.mark.parametrize("name", sweep(sorted(PUBLISHED_PARAMS)))
def test_parameter_counts_are_the_published_ones(name):
    published, ref_name = PUBLISHED_PARAMS[name]
    if name == "resnet50_v1d":
        ref = _torch_ref.timm().create_model(ref_name)
    else:
        ref = getattr(_torch_ref.torchvision().models, ref_name)()
    theirs = sum(p.numel() for p in ref.parameters())
    s = gluon_resnet.summary(gluon_resnet.get_model(name, initialize=False), (1, 3, 224, 224))
    assert s.trainable_params == theirs
    assert abs(s.trainable_params - published) <= 0.05e6


# --- files that do not fit ------------------------------------------------------------------

def test_torchvisions_resnet50_is_refused_by_v1_resnet50_naming_v1b(tmp_path):
    tv = _torch_ref.torchvision()
    path = str(tmp_path / "tv50.safetensors")
    write_safetensors(path, _state(tv.models.resnet50()))
    net = gluon_resnet.get_model("resnet50", initialize=False)
    with pytest.raises(ValueError, match=r"tv50.safetensors holds a torchvision/timm ResNet "
                       r"\(bottleneck blocks \[3, 4, 6, 3\].*does not fit resnet50; load it "
                       r"into get_model\('resnet50_v1b'.*strides on the 1x1"):
        gluon_resnet.load_parameters(net, path)
    # nothing was loaded
    assert all(p._data is None for p in net.collect_params().values())
    with pytest.raises(ValueError, match=r"deep stem of width 32.*does not fit resnet50_v1b; "
                       r"load it into get_model\('resnet50_v1d'"):
        write_safetensors(path, _state(_torch_ref.timm().create_model("resnet50d")))
        gluon_resnet.get_model("resnet50_v1b", pretrained=path)


def test_wrong_classes_are_refused_with_the_hint(tmp_path):
    tv = _torch_ref.torchvision()
    path = str(tmp_path / "tv18.safetensors")
    write_safetensors(path, _state(tv.models.resnet18(num_classes=10)))
    with pytest.raises(ValueError, match="pass classes=10"):
        gluon_resnet.get_model("resnet18_v1b", pretrained=path)
    net = gluon_resnet.get_model("resnet18_v1b", pretrained=path, classes=10)
    assert net.fc.weight.shape == (10, 512)


def test_a_pth_is_read_with_weights_only_and_never_runs_code(tmp_path):
    torch = _torch_ref.torch()
    marker = tmp_path / "ran"

    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = str(tmp_path / "planted.pth")
    torch.save({"fc.weight": torch.zeros(2, 2), "x": Planted()}, path)
    with pytest.raises(ValueError, match="planted.pth could not be read as PyTorch weights "
                       r"\(weights_only=True\)"):
        gluon_resnet.load_parameters(gluon_resnet.resnet18_v1b(), path)
    assert not marker.exists()


def test_without_torch_a_pth_names_the_conversion(tmp_path, monkeypatch):
    path = tmp_path / "w.pth"
    path.write_bytes(b"PK\x03\x04")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ValueError, match=r"w.pth is a PyTorch pickle; it is read only through "
                       r"torch.load\(weights_only=True\).*save_file.*w.safetensors"):
        gluon_resnet.load_parameters(gluon_resnet.resnet18_v1b(), str(path))


# --- ours back to PyTorch -------------------------------------------------------------------

def _ours_random(name, **kwargs):
    net = gluon_resnet.get_model(name, **kwargs)
    size = 8 if name.startswith("cifar") else SIZE
    net(arrays.as_current(mx.nd.zeros((1, 3, size, size))))  # infers the deferred shapes
    for p in net.collect_params().values():
        shape = p.shape
        value = np.random.RandomState(len(p.name)).rand(*shape).astype(np.float32)
        p.set_data(arrays.as_current(mx.nd.array(
            value + 0.5 if p.name.endswith("var") else (value - .5) * .2)))
    return net


@pytest.mark.parametrize("name, np_mode", [("resnet18_v1b", False), ("resnet18_v1b", True),
                                           ("resnet18", False)])
def test_torchvision_loads_what_we_write_strictly(tmp_path, name, np_mode):
    tv = _torch_ref.torchvision()
    from safetensors.torch import load_file
    with arrays.interface(np_mode):
        net = _ours_random(name)
        path = gluon_resnet.save_parameters(net, str(tmp_path / "r18.safetensors"),
                                            layout="torchvision")
        x = np.random.RandomState(3).rand(2, 3, SIZE, SIZE).astype(np.float32)
        ours = _ours_out(net, x)
    ref = tv.models.resnet18()
    ref.load_state_dict(load_file(path), strict=True)
    _close(ours, _torch_out(ref.eval(), x))


def test_timm_loads_our_resnet50_v1d_strictly(tmp_path):
    timm = _torch_ref.timm()
    from safetensors.torch import load_file
    net = _ours_random("resnet50_v1d")
    path = gluon_resnet.save_parameters(net, str(tmp_path / "d.safetensors"), layout="timm")
    ref = timm.create_model("resnet50d")
    ref.load_state_dict(load_file(path), strict=True)
    x = np.random.RandomState(4).rand(2, 3, SIZE, SIZE).astype(np.float32)
    _close(_ours_out(net, x), _torch_out(ref.eval(), x))


def test_layouts_are_for_resnetv1b_nets_and_safetensors_paths(tmp_path):
    with pytest.raises(ValueError, match="layout='torchvision' writes safetensors"):
        gluon_resnet.save_parameters(gluon_resnet.resnet18_v1b(), str(tmp_path / "a.params"),
                                     layout="torchvision")
    with pytest.raises(ValueError, match="not resnet18: its 'thumbnail' stem is not "
                       "torchvision's"):
        gluon_resnet.save_parameters(gluon_resnet.resnet18(thumbnail=True),
                                     str(tmp_path / "a.safetensors"), layout="torchvision")
    with pytest.raises(ValueError, match="not resnet50: MXNet's v1 bottleneck strides on "
                       "the 1x1"):
        gluon_resnet.save_parameters(gluon_resnet.resnet50(),
                                     str(tmp_path / "a.safetensors"), layout="torchvision")
    assert not os.path.exists(tmp_path / "a.safetensors")


def test_our_own_names_round_trip_for_any_net(tmp_path):
    net = _ours_random("cifar_resnet20")
    path = gluon_resnet.save_parameters(net, str(tmp_path / "c.safetensors"))
    other = gluon_resnet.get_model("cifar_resnet20", pretrained=path)
    x = np.random.RandomState(5).rand(2, 3, 8, 8).astype(np.float32)
    np.testing.assert_array_equal(_ours_out(other, x), _ours_out(net, x))


def test_a_runs_export_loads_into_torchvision(tmp_path, fmnist_dir):
    """`gluon-resnet export RUN --format safetensors` of a thumbnail resnet18_v1b trained on
    Fashion-MNIST: torchvision's resnet18 with the documented stem changes loads it
    strictly and gives the predictor's probabilities."""
    torch = _torch_ref.torch()
    tv = _torch_ref.torchvision()
    from gluon_resnet import load_predictor
    from gluon_resnet.data import read_fashion_mnist
    from safetensors.torch import load_file
    run = str(tmp_path / "run")
    code, _, err = run_main([
        "train", "--model", "resnet18_v1b", "--thumbnail", "--epochs", "1", "--batch-size",
        "50", "--num-train", "200", "--num-test", "100", "--precision", "fp32", "--seed", "0",
        "--out", run, "--data-dir", str(fmnist_dir)])
    assert code == 0, err
    prefix = str(tmp_path / "export" / "r18")
    code, out, err = run_main(["export", run, "--format", "safetensors", "--out", prefix])
    assert code == 0, err
    assert out.split() == [prefix + ".safetensors", prefix + "-meta.json"]
    ref = tv.models.resnet18(num_classes=10)
    ref.conv1 = torch.nn.Conv2d(1, 64, 3, 1, 1, bias=False)
    ref.maxpool = torch.nn.Identity()
    ref.load_state_dict(load_file(prefix + ".safetensors"), strict=True)
    predictor = load_predictor(prefix)
    images = read_fashion_mnist(str(fmnist_dir), train=False)[0][:8]
    x = predictor.preprocess(list(images))
    theirs = torch.softmax(torch.from_numpy(_torch_out(ref.eval(), x)), dim=1).numpy()
    np.testing.assert_allclose(predictor.predict_proba(list(images)), theirs, atol=1e-5)


# --- published weights by name: the cache, the checksums -----------------------------------

def _serve(monkeypatch, files):
    """model_store._download answers from ``files`` ({url: local path}); else fails."""
    import urllib.error

    def download(url, out, progress):
        if url not in files:
            raise urllib.error.URLError("no route to %s" % url)
        with open(files[url], "rb") as f:
            shutil.copyfileobj(f, out)
    monkeypatch.setattr(model_store, "_download", download)


def test_torchvision_names_download_once_and_check_the_published_hash(tmp_path, monkeypatch):
    tv = _torch_ref.torchvision()
    torch = _torch_ref.torch()
    ref = _randomized(tv.models.resnet18())
    served = tmp_path / "served.pth"
    torch.save(ref.state_dict(), str(served))
    digest = hashlib.sha256(served.read_bytes()).hexdigest()
    name = "resnet18-%s.pth" % digest[:8]
    monkeypatch.setitem(torch_hub.TORCHVISION, "resnet18.TEST",
                        ("resnet18_v1b", name, 0.0))
    _serve(monkeypatch, {torch_hub.TORCHVISION_URL + name: str(served)})
    root = tmp_path / "cache"
    net = gluon_resnet.get_model("resnet18_v1b", pretrained="torchvision:resnet18.TEST",
                                 root=str(root))
    assert os.listdir(root / "torchvision") == [name]
    x = np.random.RandomState(6).rand(1, 3, SIZE, SIZE).astype(np.float32)
    _close(_ours_out(net, x), _torch_out(ref, x))
    _serve(monkeypatch, {})  # offline now: the cached file is used
    gluon_resnet.get_model("resnet18_v1b", pretrained="torchvision:resnet18.TEST",
                           root=str(root))
    # a file whose hash is not the published one is refused, and nothing is left behind
    monkeypatch.setitem(torch_hub.TORCHVISION, "resnet18.BAD",
                        ("resnet18_v1b", "resnet18-00000000.pth", 0.0))
    _serve(monkeypatch, {torch_hub.TORCHVISION_URL + "resnet18-00000000.pth": str(served)})
    with pytest.raises(ValueError, match="checksum mismatch .*resnet18-00000000.pth"):
        gluon_resnet.get_model("resnet18_v1b", pretrained="torchvision:resnet18.BAD",
                               root=str(root))
    assert os.listdir(root / "torchvision") == [name]


def test_hf_hub_names_fetch_safetensors_and_config(tmp_path, monkeypatch):
    timm = _torch_ref.timm()
    ref = _randomized(timm.create_model("resnet18"))
    weights = tmp_path / "model.safetensors"
    write_safetensors(str(weights), _state(ref))
    config = tmp_path / "config.json"
    config.write_text('{"architecture": "resnet18", "pretrained_cfg": {"mean": [0.485, '
                      '0.456, 0.406], "std": [0.229, 0.224, 0.225], "input_size": [3, 224, '
                      '224], "crop_pct": 0.95}}')
    repo = "https://huggingface.co/timm/resnet18.a1_in1k/resolve/main/"
    _serve(monkeypatch, {repo + "model.safetensors": str(weights),
                         repo + "config.json": str(config)})
    root = tmp_path / "cache"
    net = gluon_resnet.get_model("resnet18_v1b", pretrained="hf-hub:timm/resnet18.a1_in1k",
                                 root=str(root))
    assert net.pretrained_cfg["crop_pct"] == 0.95
    assert sorted(os.listdir(root / "hf-hub" / "timm--resnet18.a1_in1k")) == [
        "config.json", "model.safetensors"]
    x = np.random.RandomState(7).rand(1, 3, SIZE, SIZE).astype(np.float32)
    _close(_ours_out(net, x), _torch_out(ref, x))
    gluon_resnet.get_model("resnet18", pretrained="hf-hub:timm/resnet18.a1_in1k",
                           root=str(root))  # MXNet's names, the same computation
    with pytest.raises(ValueError, match=r"hf-hub:timm/resnet18.a1_in1k are weights of our "
                       r"resnet18_v1b or resnet18; resnet34 has another structure"):
        gluon_resnet.get_model("resnet34", pretrained="hf-hub:timm/resnet18.a1_in1k",
                               root=str(root))


def test_hub_names_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown torchvision weights 'resnet18.V9'"):
        gluon_resnet.get_model("resnet18_v1b", pretrained="torchvision:resnet18.V9",
                               root=str(tmp_path))
    with pytest.raises(ValueError, match="hub weights are named"):
        gluon_resnet.get_model("resnet18_v1b", pretrained="hf-hub:../etc", root=str(tmp_path))
    with pytest.raises(model_store.WeightsNotFoundError, match="could not be reached"):
        gluon_resnet.get_model("resnet18_v1b", pretrained="hf-hub:timm/resnet18.a1_in1k",
                               root=str(tmp_path))
    assert not any(name.endswith(".part") for _, _, files in os.walk(tmp_path)
                   for name in files)
