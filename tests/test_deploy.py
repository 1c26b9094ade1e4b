"""Tests for gluon_resnet.deploy: export formats, the sidecar, and Predictor.

References: the original Gluon net's outputs, the training data pipeline
(``ImageArrayIter``), ONNX Runtime run directly, and a fresh Python process that sees
only the exported files.
"""
import hashlib
import importlib.util
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import gluon_resnet  # noqa: F401  (must come before mxnet)
from gluon_resnet import _compat
from gluon_resnet import data as D
from gluon_resnet.deploy import (FORMATS, Predictor, checkpoint_meta, export_checkpoint,
                                 export_net, load_predictor)
from gluon_resnet.deploy.export import load_exported
from gluon_resnet.models.registry import get_model
from gluon_resnet.training import load_checkpoint
import mxnet as mx  # noqa: E402

from conftest import randomize, run_main

REPO = pathlib.Path(__file__).resolve().parent.parent
# The test extras bring onnx, ONNX Runtime and ml_dtypes on every supported Python (on
# 3.12+ through gluon_resnet._compat's onnx.mapping bridge).
HAVE_ONNX = all(importlib.util.find_spec(m) is not None
                for m in ("onnx", "onnxruntime", "ml_dtypes"))
needs_onnx = pytest.mark.skipif(not HAVE_ONNX, reason="pip install -e '.[onnx]'")
AVAILABLE = [f for f in FORMATS if not f.startswith("onnx") or HAVE_ONNX]


def test_onnx_is_installed():
    """Guards the skips below: the test extras bring onnx on every Python."""
    assert HAVE_ONNX


def test_onnx_mapping_bridge_gives_the_tables_mxnets_exporter_reads():
    """onnx < 1.16's ``onnx.mapping`` tables, with the type numbers of the ONNX spec
    (onnx.proto's TensorProto.DataType), from whichever onnx is installed."""
    mapping = _compat.bridge_onnx_mapping()
    spec = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
            7: np.int64, 8: object, 9: np.bool_, 10: np.float16, 11: np.float64,
            12: np.uint32, 13: np.uint64, 14: np.complex64, 15: np.complex128}
    # (onnx < 1.16's own tables, on Python <= 3.11, hold a few more rows: bfloat16, float8)
    assert {k: mapping.TENSOR_TYPE_TO_NP_TYPE[k] for k in spec} == {
        k: np.dtype(v) for k, v in spec.items()}
    assert {np.dtype(v): mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(v)] for v in spec.values()} \
        == {np.dtype(v): k for k, v in spec.items()}
    import onnx.mapping
    assert onnx.mapping is mapping
SIZE = 12  # the tiny run trains cifar_resnet20 on Fashion-MNIST resized to 12x12


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, fmnist_dir):
    """A briefly trained net: cifar_resnet20 at 12x12, 60 Adam steps through the CLI."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    code, _, stderr = run_main([
        "train", "--model", "cifar_resnet20", "--resize", str(SIZE), "--epochs", "1",
        "--batch-size", "64", "--lr", "0.005", "--optimizer", "adam", "--num-train", "3840",
        "--num-test", "100", "--seed", "0", "--precision", "fp32", "--out", str(out),
        "--data-dir", str(fmnist_dir)])
    assert code == 0, stderr
    return out


@pytest.fixture(scope="module")
def exports(tiny_run, fmnist_dir, tmp_path_factory):
    """The tiny run exported in every format: {format: prefix}."""
    directory = tmp_path_factory.mktemp("exports")
    prefixes = {}
    for fmt in AVAILABLE:
        prefixes[fmt] = str(directory / fmt / "net")
        os.makedirs(os.path.dirname(prefixes[fmt]))
        export_checkpoint(str(tiny_run), prefixes[fmt], format=fmt, calib_images=64,
                          data_dir=str(fmnist_dir))
    return prefixes


@pytest.fixture(scope="module")
def test_images(fmnist_dir):
    """The first 64 Fashion-MNIST test images (uint8, 28x28) and their labels."""
    images, labels = D.read_fashion_mnist(str(fmnist_dir), train=False)
    return images[:64], labels[:64]


def _reference_logits(run, images):
    """The checkpointed Gluon net on images prepared by the training pipeline."""
    net, doc = load_checkpoint(str(run))
    it = D.ImageArrayIter(images, np.zeros(len(images)), len(images),
                          resize=doc["metadata"]["resize"])
    X, _ = next(iter(it))
    with mx.autograd.predict_mode():
        return X.asnumpy(), net(X).asnumpy()


def _gluon_proba(run, images):
    """Softmax of the checkpointed Gluon net's logits, in numpy: the reference."""
    logits = _reference_logits(run, images)[1].astype(np.float64)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


# --- symbol -----------------------------------------------------------------------------

def test_symbol_export_writes_sidecar_and_predicts_like_the_checkpoint(exports, tiny_run,
                                                                       test_images):
    prefix = exports["symbol"]
    assert sorted(os.listdir(os.path.dirname(prefix))) == [
        "net-0000.params", "net-meta.json", "net-symbol.json"]
    meta = json.loads(pathlib.Path(prefix + "-meta.json").read_text())
    assert meta == {
        "version": 1, "format": "symbol", "model": "cifar_resnet20", "input_name": "data",
        "input_shape": [1, 1, SIZE, SIZE], "pixel_scale": 1 / 255, "mean": None, "std": None,
        "classes": 10, "class_names": list(D.CLASS_NAMES),
        "files": {"symbol": "net-symbol.json", "params": "net-0000.params"},
        "sha256": {"symbol": _sha256(prefix + "-symbol.json"),
                   "params": _sha256(prefix + "-0000.params")}}
    images, _ = test_images
    X, expected = _reference_logits(tiny_run, images)
    predictor = load_predictor(prefix)
    assert predictor.meta == meta
    assert predictor.input_shape == (1, 1, SIZE, SIZE)
    assert predictor.class_names == list(D.CLASS_NAMES)
    batch = predictor.preprocess(list(images))
    np.testing.assert_allclose(batch, X, rtol=0, atol=1e-5)  # as the training pipeline
    np.testing.assert_allclose(predictor(batch), expected, rtol=0, atol=1e-4)
    proba = predictor.predict_proba(list(images))
    assert proba.shape == (64, 10) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert (proba.argmax(1) == expected.argmax(1)).all()
    # The old loader reads the same files (and so does MXNet's own).
    block = load_exported(prefix)
    assert isinstance(block, mx.gluon.SymbolBlock)
    np.testing.assert_allclose(block(mx.nd.array(X)).asnumpy(), expected, rtol=0, atol=1e-4)


def test_load_predictor_accepts_the_sidecar_or_symbol_path(exports, tiny_run, test_images):
    prefix = exports["symbol"]
    images = list(test_images[0][:4])
    expected = _gluon_proba(tiny_run, np.array(images))  # the Gluon net's own forward
    for path in (prefix, prefix + "-meta.json", prefix + "-symbol.json"):
        np.testing.assert_allclose(load_predictor(path).predict_proba(images), expected,
                                   rtol=0, atol=1e-5, err_msg=path)


def test_from_block_matches_the_symbol_export(exports, tiny_run, test_images):
    net, doc = load_checkpoint(str(tiny_run))
    predictor = Predictor.from_block(net, checkpoint_meta(doc))
    images = list(test_images[0][:8])
    expected = _gluon_proba(tiny_run, np.array(images))
    for got in (predictor, load_predictor(exports["symbol"])):
        np.testing.assert_allclose(got.predict_proba(images), expected, rtol=0, atol=1e-5)
    assert predictor.meta["format"] == "gluon" and predictor.input_shape == (1, 1, SIZE, SIZE)


def test_preprocess_resizes_scales_and_normalises_per_channel():
    meta = {"input_shape": (3, 4, 4), "mean": [0.5, 0.25, 0.0], "std": [0.5, 0.25, 2.0]}
    predictor = Predictor.from_block(mx.gluon.nn.Dense(2, in_units=48), meta, ctx=mx.cpu())
    rng = np.random.RandomState(0)
    same = rng.randint(0, 256, (4, 4, 3)).astype(np.uint8)
    big = np.repeat(np.repeat(same, 2, axis=0), 2, axis=1)  # 8x8, each pixel twice
    out = predictor.preprocess([same, big])
    expected = (same.transpose(2, 0, 1) / 255.0 - np.array([0.5, 0.25, 0.0])[:, None, None]) \
        / np.array([0.5, 0.25, 2.0])[:, None, None]
    assert out.dtype == np.float32 and out.shape == (2, 3, 4, 4)
    np.testing.assert_allclose(out[0], expected, atol=1e-6)
    # Halving a pixel-doubled image with align_corners=False samples between the copies.
    np.testing.assert_allclose(out[1], expected, atol=1e-6)


# --- ONNX -------------------------------------------------------------------------------

# One registered model of every family; small inputs.
ONNX_FAMILIES = {"resnet18": 32, "resnet18_v2": 32, "resnet18_v1b": 32,
                 "resnext50_32x4d": 32, "cifar_resnet20": 8}


@needs_onnx
@pytest.mark.parametrize("name", sorted(ONNX_FAMILIES))
def test_onnx_export_matches_mxnet_in_onnx_runtime(name, tmp_path):
    import onnxruntime
    size = ONNX_FAMILIES[name]
    net = get_model(name, classes=10, in_channels=3)
    x = mx.nd.random.normal(shape=(3, 3, size, size))
    net(x)
    randomize(net, x)
    with mx.autograd.predict_mode():
        logits = net(x)
    # Scale the output layer so logits are of a trained net's size (about 10), where
    # float32 rounding differences stay well below the tolerance.
    dense = net.fc if hasattr(net, "fc") else net.output
    scale = 10.0 / float(logits.abs().max().asscalar())
    dense.weight.set_data(dense.weight.data() * scale)
    dense.bias.set_data(dense.bias.data() * scale)
    with mx.autograd.predict_mode():
        expected = net(x).asnumpy()
    paths = export_net(net, str(tmp_path / name), (3, size, size), "onnx")
    assert paths == [str(tmp_path / name) + ".onnx", str(tmp_path / name) + "-meta.json"]
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(paths[0], options,
                                           providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["data"]
    got = session.run(None, {"data": x.asnumpy()})[0]  # batch 3: the batch axis is dynamic
    assert np.abs(got - expected).max() <= 1e-4
    predictor = load_predictor(str(tmp_path / name))
    assert predictor.meta["format"] == "onnx" and predictor.meta["files"] == {
        "onnx": name + ".onnx"}
    np.testing.assert_array_equal(predictor(x.asnumpy()), got)


# --- int8 -------------------------------------------------------------------------------

def test_int8_is_quantized_and_agrees_with_fp32(exports, test_images):
    prefix = exports["int8"]
    meta = json.loads(pathlib.Path(prefix + "-meta.json").read_text())
    assert meta["format"] == "int8" and meta["quantization"]["calib_images"] == 64
    graph = json.loads(pathlib.Path(prefix + "-symbol.json").read_text())
    quantized = [n for n in graph["nodes"]
                 if n["op"] == "_sg_mkldnn_conv" and n.get("attrs", {}).get("quantized") == "true"]
    assert len(quantized) >= 19  # every convolution of cifar_resnet20
    images, labels = test_images
    fp32 = load_predictor(exports["symbol"]).predict_proba(list(images)).argmax(1)
    int8 = load_predictor(prefix).predict_proba(list(images)).argmax(1)
    assert (fp32 == labels).mean() >= 0.6, "the tiny run did not learn"
    assert (int8 == fp32).mean() >= 0.9
    # Repeated calls with changing batch sizes (oneDNN layouts must not leak out).
    predictor = load_predictor(prefix)
    batch = predictor.preprocess(list(images[:8]))
    first = predictor(batch)
    for n in (8, 1, 8, 8):
        np.testing.assert_array_equal(predictor(batch[:n]), first[:n])


@needs_onnx
def test_onnx_int8_is_quantized_and_agrees_with_fp32(exports, test_images):
    import onnx
    from onnx import numpy_helper
    prefix = exports["onnx-int8"]
    assert sorted(os.listdir(os.path.dirname(prefix))) == ["net-meta.json", "net.onnx"]
    meta = json.loads(pathlib.Path(prefix + "-meta.json").read_text())
    assert meta["format"] == "onnx-int8" and meta["files"] == {"onnx": "net.onnx"}
    assert meta["quantization"]["calib_images"] == 64
    assert meta["quantization"]["backend"] == "onnxruntime"
    model = onnx.load(prefix + ".onnx")
    ops = [n.op_type for n in model.graph.node]
    assert "BatchNormalization" not in ops  # folded into the convolutions
    # Every convolution's weight comes from an int8 tensor through DequantizeLinear.
    int8 = {t.name for t in model.graph.initializer
            if numpy_helper.to_array(t).dtype == np.int8}
    dequantized = {n.output[0]: n.input[0] for n in model.graph.node
                   if n.op_type == "DequantizeLinear"}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert len(convs) >= 19  # every convolution of cifar_resnet20
    assert all(dequantized.get(n.input[1]) in int8 for n in convs)
    images, labels = test_images
    fp32 = load_predictor(exports["symbol"]).predict_proba(list(images)).argmax(1)
    predictor = load_predictor(prefix)
    got = predictor.predict_proba(list(images)).argmax(1)
    assert (fp32 == labels).mean() >= 0.6, "the tiny run did not learn"
    assert (got == fp32).mean() >= 0.9
    batch = predictor.preprocess(list(images[:8]))
    first = predictor(batch)
    for n in (8, 1, 8):
        np.testing.assert_allclose(predictor(batch[:n]), first[:n], rtol=0, atol=1e-5)


@needs_onnx
def test_onnx_int8_entropy_refuses_what_would_not_fit_in_memory(tmp_path, monkeypatch):
    """Entropy calibration keeps every layer output of every image; past the limit the
    export says so, with the number of images that would fit, and writes nothing."""
    from gluon_resnet.deploy import formats as deploy
    net = get_model("cifar_resnet20", classes=10, in_channels=1)
    calib = np.random.RandomState(0).normal(size=(64, 1, SIZE, SIZE)).astype(np.float32)
    per_image = deploy._activation_bytes(deploy.trace(net, (1, 1, SIZE, SIZE))[0],
                                         (1, 1, SIZE, SIZE))
    monkeypatch.setattr(deploy, "_ENTROPY_BYTES", 10 * per_image)
    with pytest.raises(ValueError, match=r"entropy calibration keeps every layer's output .* "
                                         r"for 64 images of 1x12x12, .* use at most 10 "
                                         r"calibration images, or calib_mode='naive'"):
        export_net(net, str(tmp_path / "q"), (1, SIZE, SIZE), "onnx-int8", calib_data=calib,
                   calib_mode="entropy")
    assert os.listdir(str(tmp_path)) == []
    paths = export_net(net, str(tmp_path / "q"), (1, SIZE, SIZE), "onnx-int8",
                       calib_data=calib[:10], calib_mode="entropy")
    assert json.loads(pathlib.Path(paths[-1]).read_text())["quantization"]["calib_images"] == 10


# --- a fresh process --------------------------------------------------------------------

_FRESH = """
import sys
import numpy as np
import gluon_resnet
images = list(np.load(sys.argv[1]))
for prefix, out in zip(sys.argv[2::2], sys.argv[3::2]):
    np.save(out, gluon_resnet.load_predictor(prefix).predict_proba(images))
"""


def test_every_export_predicts_the_same_in_a_fresh_process(exports, tiny_run, test_images,
                                                          tmp_path):
    images = test_images[0][:16]
    np.save(str(tmp_path / "images.npy"), images)
    argv = [sys.executable, "-c", _FRESH, str(tmp_path / "images.npy")]
    for fmt, prefix in exports.items():
        # Only the export's own files, in a directory of their own.
        alone = tmp_path / ("alone-" + fmt)
        alone.mkdir()
        for name in os.listdir(os.path.dirname(prefix)):
            shutil.copy(os.path.join(os.path.dirname(prefix), name), str(alone))
        argv += [str(alone / "net"), str(tmp_path / (fmt + ".npy"))]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(argv, cwd=str(tmp_path), env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    # against the Gluon net's own forward: float32 formats to rounding, the reduced ones
    # within what their precision loses (bf16: 8 bits of mantissa; int8: calibrated)
    expected = _gluon_proba(tiny_run, images)
    for fmt in exports:
        got = np.load(str(tmp_path / (fmt + ".npy")))
        atol = {"bf16": 0.05, "int8": 0.15, "onnx-int8": 0.1}.get(fmt, 1e-4)
        np.testing.assert_allclose(got, expected, rtol=0, atol=atol, err_msg=fmt)
        assert (got.argmax(1) == expected.argmax(1)).mean() >= 14 / 16, fmt


# --- bf16 -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def full_test_set(fmnist_dir):
    """All 10,000 Fashion-MNIST test images (uint8, 28x28) and their labels."""
    return D.read_fashion_mnist(str(fmnist_dir), train=False)


@pytest.mark.cpu_kind
def test_bf16_export_runs_bfloat16_convolutions_and_keeps_the_accuracy(exports, full_test_set):
    prefix = exports["bf16"]
    meta = json.loads(pathlib.Path(prefix + "-meta.json").read_text())
    assert meta["format"] == "bf16"
    graph = json.loads(pathlib.Path(prefix + "-symbol.json").read_text())
    casts = [n for n in graph["nodes"] if n["op"] in ("amp_cast", "amp_multicast")]
    convs = [n for n in graph["nodes"] if n["op"] == "Convolution"]
    assert len(convs) >= 19 and casts  # every convolution of cifar_resnet20, behind casts
    params = mx.nd.load(prefix + "-0000.params")
    bf16 = np.dtype([("bfloat16", np.uint16)])
    weights = [k for k in params if re.search(r"conv\d+_weight$", k)]
    assert len(weights) == len(convs)
    assert all(params[k].dtype == bf16 for k in weights)
    assert all(params[k].dtype == np.float32 for k in params if "batchnorm" in k)
    images, labels = full_test_set
    fp32 = load_predictor(exports["symbol"]).predict_proba(list(images)).argmax(1)
    low = load_predictor(prefix).predict_proba(list(images)).argmax(1)
    assert (fp32 == labels).mean() >= 0.6, "the tiny run did not learn"
    # What the issue asks of bf16: the same top-1 on >= 99% of the test set and at most
    # 0.2 points of accuracy lost.
    assert (low == fp32).mean() >= 0.99
    assert (low == labels).mean() >= (fp32 == labels).mean() - 0.002


def _prepared_test_set(run, images, labels):
    """The test images prepared as the run's training pipeline prepares them."""
    doc = load_checkpoint(str(run))[1]
    it = D.ImageArrayIter(images, labels, 500, resize=doc["metadata"]["resize"])
    return [(X, y.asnumpy()) for X, y in it]


def _top1(fn, batches):
    return np.concatenate([fn(X).asnumpy().argmax(1) for X, _ in batches])


@pytest.mark.cpu_kind
def test_optimize_for_inference_keeps_the_accuracy_in_bf16_and_fp32(tiny_run, full_test_set):
    from gluon_resnet.deploy.inference import optimize_for_inference
    net, _ = load_checkpoint(str(tiny_run))
    batches = _prepared_test_set(tiny_run, *full_test_set)
    labels = np.concatenate([y for _, y in batches])
    shape = batches[0][0].shape
    with mx.autograd.predict_mode():
        ref = _top1(net, batches)
        X = batches[0][0]
        ref_logits = net(X).asnumpy()
    fp32 = optimize_for_inference(net, shape, "fp32")
    assert fp32.precision == "fp32"
    out = fp32(X)
    assert isinstance(out, mx.nd.NDArray) and out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), ref_logits, rtol=1e-4, atol=1e-4)
    bf16 = optimize_for_inference(net, shape, "bf16")
    assert bf16.precision == "bf16" and bf16(X).dtype == np.float32
    low = _top1(bf16, batches)
    assert (ref == labels).mean() >= 0.6, "the tiny run did not learn"
    assert (low == ref).mean() >= 0.99
    assert (low == labels).mean() >= (ref == labels).mean() - 0.002
    # The net itself is not changed (it still runs imperatively in fp32).
    assert all(p.data().dtype == np.float32 for p in net.collect_params().values())
    auto = optimize_for_inference(net, shape)
    assert auto.precision in ("fp32", "bf16") and auto.reason.startswith("auto: ")


def test_optimize_for_inference_refuses_unknown_precisions():
    from gluon_resnet.deploy.inference import optimize_for_inference
    net = get_model("cifar_resnet20")
    with pytest.raises(ValueError, match=r"precision must be one of 'auto', 'fp32', 'bf16', "
                                         r"got 'fp16'"):
        optimize_for_inference(net, (1, 3, 8, 8), "fp16")
    with pytest.raises(ValueError, match=r"input_shape must be"):
        optimize_for_inference(net, (3, 8), "fp32")


# --- the CLI and the user's files ---------------------------------------------------------

def _snapshot(directory):
    return {name: (_sha256(os.path.join(directory, name)),
                   os.stat(os.path.join(directory, name)).st_mtime_ns)
            for name in os.listdir(directory)}


@pytest.mark.parametrize("fmt, new", [
    ("symbol", ["cifar_resnet20-0000.params", "cifar_resnet20-meta.json",
                "cifar_resnet20-symbol.json"]),
    pytest.param("onnx", ["cifar_resnet20-onnx-meta.json", "cifar_resnet20-onnx.onnx"],
                 marks=needs_onnx),
    pytest.param("onnx-int8", ["cifar_resnet20-onnx-int8-meta.json",
                               "cifar_resnet20-onnx-int8.onnx"], marks=needs_onnx),
])
def test_cli_export_writes_only_the_prefix_files(tiny_run, fmnist_dir, tmp_path, fmt, new):
    run = tmp_path / "run"
    shutil.copytree(str(tiny_run), str(run))
    before = _snapshot(str(run))
    calib = ["--data-dir", str(fmnist_dir), "--calib-images", "32"] if "int8" in fmt else []
    code, stdout, stderr = run_main(["export", str(run), "--format", fmt] + calib)
    assert code == 0, stderr
    after = _snapshot(str(run))
    assert {k: after[k] for k in before} == before  # the run's files are untouched
    assert sorted(set(after) - set(before)) == new
    printed = stdout.split()
    assert sorted(printed) == [str(run / name) for name in new]
    assert printed[-1].endswith("-meta.json")  # the sidecar is written last
    assert load_predictor(str(run / new[-1 if fmt == "symbol" else 0]).replace(
        "-meta.json", "")).meta["format"] == fmt


@pytest.mark.parametrize("args, message", [
    (["--format", "tflite"], r"argument --format: invalid choice: 'tflite'"),
    (["--format", "int8", "--calib-images", "0"], r"--calib-images: must be between 1 and"),
    (["--format", "onnx-int8", "--calib-images", "0"], r"--calib-images: must be between 1 and"),
    (["--format", "int8", "--data-dir", "{empty}"], r"Fashion-MNIST file .* is not in .*empty"),
])
def test_cli_export_bad_arguments_give_one_line(tiny_run, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    args = [a.format(empty=tmp_path / "empty") for a in args]
    code, _, stderr = run_main(["export", str(tiny_run), "--out", str(tmp_path / "x" / "m")]
                               + args)
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert re.match(r"gluon-resnet: error: .*%s" % message, stderr), stderr
    assert not (tmp_path / "x").exists() or os.listdir(str(tmp_path / "x")) == []


# --- bad files and bad input ------------------------------------------------------------

def _copy_export(prefix, to):
    to.mkdir()
    for name in os.listdir(os.path.dirname(prefix)):
        shutil.copy(os.path.join(os.path.dirname(prefix), name), str(to))
    return str(to / "net")


def _edit_meta(prefix, **changes):
    path = pathlib.Path(prefix + "-meta.json")
    meta = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    path.write_text(json.dumps(meta))


def test_missing_files_are_named(exports, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no export sidecar .*nowhere-meta\.json"):
        load_predictor(str(tmp_path / "nowhere"))
    prefix = _copy_export(exports["symbol"], tmp_path / "a")
    os.remove(prefix + "-0000.params")
    with pytest.raises(FileNotFoundError, match=r"net-meta\.json names files that are "
                                                r"missing: .*net-0000\.params"):
        load_predictor(prefix)
    # An export of the old kind, without a sidecar.
    os.remove(prefix + "-meta.json")
    with pytest.raises(FileNotFoundError, match=r"net-symbol\.json was exported without "
                                                r"one: load it with load_exported"):
        load_predictor(prefix)


def test_files_of_another_net_are_refused(exports, tmp_path):
    other = get_model("cifar_resnet20", classes=7, in_channels=1)
    other_prefix = str(tmp_path / "other")
    export_net(other, other_prefix, (1, SIZE, SIZE))
    prefix = _copy_export(exports["symbol"], tmp_path / "a")
    shutil.copy(other_prefix + "-0000.params", prefix + "-0000.params")
    with pytest.raises(ValueError, match=r"net-0000\.params is not the file .*net-meta\.json "
                                         r"was written with \(its SHA-256 differs\)"):
        load_predictor(prefix)
    _edit_meta(prefix, sha256=None)  # without the checksums, loading itself must notice
    with pytest.raises(ValueError, match=r"net-symbol\.json and .*net-0000\.params do not "
                                         r"load together"):
        load_predictor(prefix)


@pytest.mark.parametrize("change, message", [
    ({"format": "tflite"}, r"net-meta\.json names format 'tflite'; expected one of symbol, "
                           r"onnx, int8, onnx-int8"),
    ({"version": 2}, r"net-meta\.json has sidecar version 2; this gluon_resnet reads version 1"),
    ({"files": {"onnx": "net.onnx"}}, r"net-meta\.json is incomplete"),
    ({"mean": [0.1, 0.2]}, r"net-meta\.json has a bad normalisation: mean needs 1 or 1 "
                           r"values \(one per input channel\), got 2"),
])
def test_unknown_sidecars_are_refused(exports, tmp_path, change, message):
    prefix = _copy_export(exports["symbol"], tmp_path / "a")
    _edit_meta(prefix, **change)
    with pytest.raises(ValueError, match=message):
        load_predictor(prefix)


def test_bad_json_sidecar(exports, tmp_path):
    prefix = _copy_export(exports["symbol"], tmp_path / "a")
    pathlib.Path(prefix + "-meta.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"net-meta\.json is not valid JSON"):
        load_predictor(prefix)


def test_bad_images_and_batches(exports):
    predictor = load_predictor(exports["symbol"])
    gray = np.zeros((28, 28), np.uint8)
    with pytest.raises(ValueError, match=r"image 1 has shape \(28, 28, 3\); this model takes "
                                         r"1-channel images: pass HxW grayscale"):
        predictor.preprocess([gray, np.zeros((28, 28, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"image 0 is float64; expected uint8"):
        predictor.preprocess([gray / 255.0])
    with pytest.raises(ValueError, match="no images given"):
        predictor.preprocess([])
    with pytest.raises(ValueError, match=r"pass a list of images"):
        predictor.preprocess(gray)
    with pytest.raises(ValueError, match=r"expected a batch of shape \(N, 1, 12, 12\)"):
        predictor(np.zeros((2, 1, 28, 28), np.float32))


def test_export_refuses_to_mix_formats_and_needs_calibration(exports, tmp_path):
    net = get_model("cifar_resnet20", classes=10, in_channels=1)
    prefix = _copy_export(exports["symbol"], tmp_path / "a")
    before = _snapshot(os.path.dirname(prefix))
    with pytest.raises(ValueError, match=r"net-meta\.json describes a symbol export; writing "
                                         r"a onnx export to the same prefix"):
        export_net(net, prefix, (1, SIZE, SIZE), "onnx")
    for fmt in ("int8", "onnx-int8"):
        with pytest.raises(ValueError, match=r"^%s export needs calib_data" % fmt):
            export_net(net, str(tmp_path / "a" / "q"), (1, SIZE, SIZE), fmt)
    with pytest.raises(ValueError, match=r"calib_data must be a float32 batch \(N, 1, 12, 12\)"):
        export_net(net, str(tmp_path / "a" / "q"), (1, SIZE, SIZE), "onnx-int8",
                   calib_data=np.zeros((4, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"format must be one of symbol, onnx, int8, onnx-int8"):
        export_net(net, str(tmp_path / "a" / "q"), (1, SIZE, SIZE), "fp16")
    assert _snapshot(os.path.dirname(prefix)) == before
