"""Your own images end to end: split -> train --data -> predict, through the CLI in-process.

A real image folder (Fashion-MNIST test images of four classes written as PNG files) is
split, a small net is trained on it, and ``predict`` must classify the held-out images
far above chance (0.25). References: the folder names of the images (their true
classes), the checkpointed net run by hand on the same pixels, and file hashes (the
user's files are never modified).
"""
import contextlib
import io
import json
import os
import re
import shutil

import numpy as np
import pytest

import gluon_resnet  # noqa: F401  (must come before mxnet)
from gluon_resnet import cli
from gluon_resnet.training import load_checkpoint, read_checkpoint
import mxnet as mx  # noqa: E402
from _fmnist_images import CLASSES, tree_hashes, write_fmnist_folder

from PIL import Image  # noqa: E402
from conftest import run_main  # noqa: E402

@pytest.fixture(scope="module")
def trained(tmp_path_factory, fmnist_dir):
    """The user's folder, its split, and a cifar_resnet20 trained on it via the CLI."""
    root = tmp_path_factory.mktemp("own")
    src = write_fmnist_folder(str(root / "photos"), fmnist_dir, per_class=80)
    hashes = tree_hashes(src)
    code, out, err = run_main(["split-data", src, str(root / "split"), "--seed", "0"])
    assert code == 0, err
    for cls in CLASSES:
        assert re.search(r"^%s\s+64\s+16$" % cls, out, re.M), out
    run = str(root / "run")
    code, out, err = run_main([
        "train", "--data", str(root / "split"), "--model", "cifar_resnet20", "--epochs", "3",
        "--batch-size", "32", "--optimizer", "adam", "--lr", "0.002", "--seed", "0",
        "--precision", "fp32", "--out", run])
    assert code == 0, err
    assert "val acc" in out
    return {"src": src, "hashes": hashes, "split": str(root / "split"), "run": run,
            "root": root}


def _accuracy(results):
    right = [r["top"][0][0] == os.path.basename(os.path.dirname(r["path"])) for r in results]
    return float(np.mean(right))


def test_checkpoint_keeps_class_names_and_normalisation(trained):
    doc = read_checkpoint(trained["run"])
    meta = doc["metadata"]
    assert meta["dataset"] == "image-folder" and meta["class_names"] == sorted(CLASSES)
    assert meta["channels"] == 1 and meta["split"] == "folders"
    assert (meta["num_train"], meta["num_val"]) == (256, 64)
    assert doc["model"]["classes"] == 4 and doc["model"]["input_shape"] == [1, 28, 28]
    code, out, err = run_main(["evaluate", trained["run"]])
    assert code == 0, err
    acc = float(re.search(r"val acc (\d\.\d+) on 64 images", out).group(1))
    assert acc == pytest.approx(json.load(open(os.path.join(trained["run"], "history.json")))
                                ["test_acc"][-1], abs=1e-3)


def test_predict_cli_json_far_above_chance(trained):
    val = os.path.join(trained["split"], "val")
    folders = [os.path.join(val, c) for c in sorted(CLASSES)]
    code, out, err = run_main(["predict", trained["run"], *folders, "--json", "--topk", "3"])
    assert code == 0, err
    results = json.loads(out)
    assert len(results) == 64
    for r in results:
        probs = [t["prob"] for t in r["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-5
        assert {t["class"] for t in r["top"]} <= set(CLASSES)
    acc = _accuracy([{"path": r["path"], "top": [(t["class"], t["prob"]) for t in r["top"]]}
                     for r in results])
    assert acc >= 0.7, acc
    assert tree_hashes(trained["src"]) == trained["hashes"]


def test_predict_matches_the_net_run_by_hand(trained):
    from gluon_resnet.deploy.predict import predict
    paths = sorted(os.path.join(trained["split"], "val", "bag", n)
                   for n in os.listdir(os.path.join(trained["split"], "val", "bag")))[:5]
    results = predict(trained["run"], paths, topk=4)
    net, doc = load_checkpoint(trained["run"])
    x = np.stack([np.asarray(Image.open(p)) for p in paths])[:, None] / 255.0
    probs = mx.nd.softmax(net(mx.nd.array(x))).asnumpy()
    names = doc["metadata"]["class_names"]
    for r, p in zip(results, probs):
        assert r["path"] in paths
        got = dict(r["top"])
        for i, name in enumerate(names):
            assert got[name] == pytest.approx(p[i], abs=1e-4)
    code, out, _ = run_main(["predict", trained["run"], paths[0], "--topk", "2"])
    lines = out.splitlines()
    assert lines[0] == paths[0] and len(lines) == 3
    assert re.fullmatch(r"  \S+\s+\d+\.\d\d%", lines[1])
    assert lines[1].index("%") == lines[2].index("%")  # aligned


def test_predict_converts_rgba_and_16bit_and_rejects_broken_files(trained, tmp_path):
    gray = np.asarray(Image.open(os.path.join(trained["src"], "trouser", "trouser_0000.png")))
    rgba = np.dstack([gray] * 3 + [np.full_like(gray, 255)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    Image.fromarray(gray).convert("RGB").save(tmp_path / "photo.jpg", quality=95)
    data = (tmp_path / "photo.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    hashes = tree_hashes(tmp_path)
    code, out, err = run_main(["predict", trained["run"], str(tmp_path / "rgba.png"),
                               str(tmp_path / "deep.png"), "--json", "--topk", "4"])
    assert code == 0, err
    a, b = json.loads(out)
    pa, pb = ({t["class"]: t["prob"] for t in r["top"]} for r in (a, b))
    for name in CLASSES:  # both hold the same pixels as the 8-bit original
        assert pa[name] == pytest.approx(pb[name], abs=1e-5)
    for name in ("cut.jpg", "corrupt.png"):
        code, out, err = run_main(["predict", trained["run"], str(tmp_path / "rgba.png"),
                                   str(tmp_path / name)])
        assert code == 2 and out == "" and err.count("\n") == 1
        assert name in err and "corrupt, truncated" in err
    assert tree_hashes(tmp_path) == hashes


def test_model_errors(trained, tmp_path):
    code, _, err = run_main(["predict", str(tmp_path / "export" / "resnet18"),
                             os.path.join(trained["src"], "bag")])
    assert code == 2 and "no model at" in err and "export prefix" in err
    code, _, err = run_main(["predict", str(tmp_path), os.path.join(trained["src"], "bag")])
    assert code == 2 and "without a checkpoint.json" in err
    code, _, err = run_main(["predict", trained["run"], str(tmp_path / "missing.png")])
    assert code == 2 and "missing.png" in err
    (tmp_path / "empty").mkdir()
    code, _, err = run_main(["predict", trained["run"], str(tmp_path / "empty")])
    assert code == 2 and "holds no .png/.jpg/.jpeg images" in err


def test_train_data_errors(trained, tmp_path):
    one = tmp_path / "one"
    shutil.copytree(os.path.join(trained["src"], "bag"), one / "bag")
    hashes = tree_hashes(one)
    code, _, err = run_main(["train", "--data", str(one), "--out", str(tmp_path / "r1")])
    assert code == 2 and "at least 2; found 1" in err and err.count("\n") == 1
    assert tree_hashes(one) == hashes
    code, _, err = run_main(["train", "--data", trained["split"], "--num-train", "10",
                             "--out", str(tmp_path / "r2")])
    assert code == 2 and "--num-train applies to Fashion-MNIST" in err
    code, _, err = run_main(["train", "--freeze", "--out", str(tmp_path / "r3")])
    assert code == 2 and "--freeze needs --data" in err
    code, _, err = run_main(["train", "--data", trained["split"], "--from", str(tmp_path / "x"),
                             "--out", str(tmp_path / "r4")])
    assert code == 2 and "--from: cannot fine-tune from" in err


def test_finetune_from_run_freeze_trains_only_the_new_output(trained, tmp_path):
    """--from a run on three of the classes with --freeze: features stay, output is new."""
    src = tmp_path / "three"
    for cls in ("bag", "dress", "trouser"):
        shutil.copytree(os.path.join(trained["src"], cls), src / cls)
    out = str(tmp_path / "ft")
    code, stdout, err = run_main([
        "train", "--data", str(src), "--from", trained["run"], "--freeze", "--epochs", "1",
        "--batch-size", "32", "--optimizer", "adam", "--lr", "0.01", "--seed", "1",
        "--out", out])
    assert code == 0, err
    base, _ = load_checkpoint(trained["run"])
    tuned, doc = load_checkpoint(out)
    assert doc["model"]["name"] == "cifar_resnet20" and doc["model"]["classes"] == 3
    assert doc["metadata"]["class_names"] == ["bag", "dress", "trouser"]
    assert doc["metadata"]["split"] == "on the fly" and doc["metadata"]["num_val"] == 48
    b, t = base._collect_params_with_prefix(), tuned._collect_params_with_prefix()
    assert set(b) == set(t)
    for name in b:
        if name.startswith("output."):
            assert b[name].shape[0] == 4 and t[name].shape[0] == 3
        else:  # weights and BN running statistics untouched
            np.testing.assert_array_equal(b[name].data().asnumpy(), t[name].data().asnumpy(),
                                          err_msg=name)
    assert float(re.search(r"val acc (\d\.\d+)", stdout).group(1)) >= 0.7


def test_predict_through_a_symbol_export(trained, tmp_path):
    prefix = str(tmp_path / "export" / "cifar_resnet20")
    code, _, err = run_main(["export", trained["run"], "--out", prefix])
    assert code == 0, err
    val = os.path.join(trained["split"], "val")
    code, out, err = run_main(["predict", trained["run"], val + "/bag", val + "/dress", "--json"])
    assert code == 0, err
    from_run = json.loads(out)
    code, out, err = run_main(["predict", prefix, val + "/bag", val + "/dress", "--json"])
    assert code == 0, err
    from_export = json.loads(out)
    assert [r["path"] for r in from_export] == [r["path"] for r in from_run]
    for a, b in zip(from_run, from_export):
        assert a["top"][0]["class"] == b["top"][0]["class"]
        assert a["top"][0]["prob"] == pytest.approx(b["top"][0]["prob"], abs=1e-3)
    os.remove(prefix + "-0000.params")  # a half-copied export: a one-line error
    code, out, err = run_main(["predict", prefix, val + "/bag"])
    assert code == 2 and out == "" and err.count("\n") == 1
