"""Tests for the gluon-resnet command, run in-process through ``main([...])``.

References: the files a run must leave (read back with matplotlib and json), the
checkpointed net itself (for ``export`` and ``evaluate``), ``summary`` (for ``models``).
"""
import contextlib
import io
import json
import os
import pathlib
import re
import socket
import subprocess
import sys

import numpy as np
import pytest

import gluon_resnet  # (must come before mxnet)
from gluon_resnet import cli, data as D
from gluon_resnet.deploy.export import load_exported
from gluon_resnet.models.registry import list_models
from gluon_resnet.training import load_checkpoint, read_checkpoint
import mxnet as mx  # noqa: E402
from conftest import run_main  # noqa: E402
from _published import TORCHVISION_SIZES, zoo_counts  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run(tmp_path_factory, fmnist_dir):
    """One tiny training run: resnet18 --thumbnail, 600 images, 1 epoch, 28x28."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    code, stdout, stderr = run_main([
        "train", "--model", "resnet18", "--thumbnail", "--epochs", "1", "--batch-size", "50",
        "--lr", "0.002", "--optimizer", "adam", "--num-train", "600", "--num-test", "200",
        "--seed", "0", "--precision", "fp32", "--out", str(out), "--data-dir", str(fmnist_dir)])
    assert code == 0, stderr
    return out, stdout, stderr


@pytest.mark.cpu_kind
def test_train_writes_checkpoint_history_and_curves(run):
    import matplotlib.image
    out, stdout, stderr = run
    assert re.search(r"^epoch 1/1: loss \d\.\d{3}, train acc 0\.\d{3}, test acc 0\.\d{3}$",
                     stdout, re.M)
    doc = read_checkpoint(out)
    # pinned to fp32, so the net does not depend on auto's timing (test_precision rigs auto)
    assert doc["train"]["precision"] == "fp32"
    assert doc["train"]["precision_reason"] == "asked for fp32"
    assert re.search(r"^\d+\.\d examples/sec on cpu\(0\)$", stdout, re.M)
    assert "epoch 1/1" in stderr and "12/12" in stderr  # the progress bar
    for name in ("checkpoint.json", "history.json", "curves.png"):
        assert str(out / name) in stdout
    assert doc["epoch"] == 1 and doc["model"] == {
        "name": "resnet18", "classes": 10, "in_channels": 1, "input_shape": [1, 28, 28],
        "thumbnail": True}
    assert all(os.path.isfile(doc["files"][k]) for k in ("params", "states", "rng"))
    history = json.loads((out / "history.json").read_text())
    assert history == doc["history"] and len(history["loss"]) == 1
    assert "test acc %.3f" % history["test_acc"][0] in stdout
    image = matplotlib.image.imread(out / "curves.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


def test_evaluate_reports_the_checkpoint_accuracy(run, fmnist_dir):
    out, _, _ = run
    code, stdout, _ = run_main(["evaluate", str(out / "checkpoint.json"), "--num-test", "200",
                                "--data-dir", str(fmnist_dir)])
    assert code == 0
    acc = json.loads((out / "history.json").read_text())["test_acc"][0]
    assert re.fullmatch(r"test acc %.3f on 200 images \(resnet18 after 1 epochs, .*\)\n" % acc,
                        stdout)


def test_export_gives_the_predictions_of_the_checkpointed_net(run, fmnist_dir, tmp_path):
    out, _, _ = run
    prefix = tmp_path / "deploy" / "net"
    code, stdout, _ = run_main(["export", str(out), "--out", str(prefix)])
    assert code == 0
    assert stdout.split() == [str(prefix) + "-symbol.json", str(prefix) + "-0000.params",
                              str(prefix) + "-meta.json"]
    deployed = load_exported(str(prefix))
    net, _ = load_checkpoint(out)
    _, test_iter = D.load_data_fashion_mnist(32, root=fmnist_dir, num_train=10, num_test=32)
    X, _ = next(iter(test_iter))
    expected = net(X).asnumpy()
    np.testing.assert_allclose(deployed(X).asnumpy(), expected, rtol=1e-4, atol=1e-4)
    assert (deployed(X).asnumpy().argmax(1) == expected.argmax(1)).all()


def test_existing_run_needs_resume(run, fmnist_dir):
    out, _, _ = run
    code, stdout, stderr = run_main(["train", "--model", "resnet18", "--thumbnail",
                                     "--out", str(out), "--data-dir", str(fmnist_dir)])
    assert code == 2 and stdout == ""
    assert stderr == "gluon-resnet: error: %s already holds a trained run; add --resume to " \
                     "continue it, or choose another --out\n" % out


def test_models_lists_every_model_with_published_parameter_counts():
    code, stdout, _ = run_main(["models"])
    assert code == 0
    rows = {line.split()[0]: line.split() for line in stdout.splitlines()[1:]}
    assert sorted(rows) == list_models()
    params = {name: int(row[1].replace(",", "")) for name, row in rows.items()}
    shapes = {name: tuple(int(d) for d in row[4].split("x")) for name, row in rows.items()}
    for name, (count, gmacs) in TORCHVISION_SIZES.items():
        assert params[name] == count, name
        assert float(rows[name][2]) == pytest.approx(gmacs, abs=0.011), name
    # MXNet's model zoo, counted here: its ResNet v1 (stride in the 1x1) and v2
    for depth in (18, 34, 50, 101, 152):
        for version in ("v1", "v2"):
            ours = "resnet%d%s" % (depth, "_v2" if version == "v2" else "")
            assert params[ours] == zoo_counts("resnet%d_%s" % (depth, version), (1, 3, 224, 224))[0], ours
    # The images each is made for.
    assert shapes["resnet18"] == shapes["alexnet"] == shapes["densenet121"] == (3, 224, 224)
    assert shapes["cifar_resnet20"] == (3, 32, 32) and shapes["lenet"] == (1, 32, 32)
    assert shapes["d2l_lenet"] == (1, 28, 28) and shapes["d2l_resnet18"] == (1, 96, 96)
    assert shapes["d2l_nin"] == (1, 224, 224)


@pytest.mark.parametrize("args, message", [
    (["train", "--model", "resnet19"], r"unknown model 'resnet19'; did you mean resnet18"),
    (["train", "--batch-size", "0"], r"argument --batch-size: must be >= 1, got 0"),
    (["train", "--batch-size", "many"], r"argument --batch-size: expected an integer"),
    (["train", "--resize", "0"], r"argument --resize: must be between 1 and 1024, got 0"),
    (["train", "--resize", "5000"], r"argument --resize: must be between 1 and 1024, got 5000"),
    (["train", "--ctx", "tpu0"], r"--ctx: expected cpu, gpuN or a comma-separated list"),
    (["train", "--ctx", "gpu0"], r"--ctx gpu0 asks for gpu\(0\), but 0 GPU\(s\) are visible to MXNet: the `mxnet` package is built for the CPU only"),
    (["train", "--optimizer", "rmsprop"], r"argument --optimizer: invalid choice: 'rmsprop'"),
    (["train", "--label-smoothing", "1"], r"argument --label-smoothing: must be in \[0, 1\)"),
    (["train", "--out", "{file}/run"], r"cannot write to --out .*file/run"),
    (["train", "--data-dir", "{empty}"], r"Fashion-MNIST file .* is not in .*empty"),
    (["train", "--model", "resnet18"], r"resnet18 \(stem 'imagenet'\) downsamples by 32 .*"
                                       r"got 28x28; resize the images; pass thumbnail=True"),
    (["train", "--model", "cifar_resnet20", "--thumbnail"], r"thumbnail=True does not apply"),
    (["evaluate", "{empty}"], r"no checkpoint at .*empty"),
    (["export"], r"the following arguments are required: RUN_DIR"),
    (["fit"], r"argument COMMAND: invalid choice: 'fit'"),
    ([], r"the following arguments are required: COMMAND"),
])
def test_bad_arguments_give_one_line_and_exit_code_2(args, message, tmp_path, fmnist_dir,
                                                      closed_url):
    (tmp_path / "file").write_text("not a directory")
    (tmp_path / "empty").mkdir()
    args = [a.format(file=tmp_path / "file", empty=tmp_path / "empty") for a in args]
    if args[:1] == ["train"]:
        args += ["--num-train", "20", "--num-test", "20", "--epochs", "1"]
        if "--out" not in args:
            args += ["--out", str(tmp_path / "out")]
        if "--data-dir" not in args:
            args += ["--data-dir", str(fmnist_dir)]
    code, stdout, stderr = run_main(args)
    assert code == 2
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert re.match(r"gluon-resnet: error: .*%s" % message, stderr), stderr
    assert not (tmp_path / "out" / "checkpoint.json").exists()


def test_help_covers_every_subcommand_and_option():
    code, stdout, _ = run_main(["--help"])
    assert code == 0
    for command in ("train", "evaluate", "export", "models"):
        assert re.search(r"^\s+%s\s+\w" % command, stdout, re.M), command
        code, sub_help, _ = run_main([command, "--help"])
        assert code == 0 and sub_help.startswith("usage: gluon-resnet %s" % command)
    _, train_help, _ = run_main(["train", "--help"])
    for option in ("--model", "--epochs", "--batch-size", "--lr", "--resize", "--ctx", "--out",
                   "--thumbnail", "--optimizer", "--momentum", "--wd", "--schedule",
                   "--milestones", "--factor", "--warmup", "--label-smoothing", "--augment",
                   "--seed", "--num-train", "--num-test", "--resume", "--data-dir"):
        assert re.search(r"^\s+%s\b.*\S" % option, train_help, re.M), option


def test_parse_ctx(monkeypatch):
    assert cli.parse_ctx("cpu") == [mx.cpu()]
    assert cli.parse_ctx("cpu0,cpu1") == [mx.cpu(0), mx.cpu(1)]
    monkeypatch.setattr(mx.context, "num_gpus", lambda: 2)
    assert cli.parse_ctx("gpu0") == [mx.gpu(0)]
    assert cli.parse_ctx("gpu0, GPU1") == [mx.gpu(0), mx.gpu(1)]
    assert cli.parse_ctx("gpu") == [mx.gpu(0)]
    for bad, match in [("gpu2", r"asks for gpu\(2\), but 2 GPU\(s\) are visible to MXNet \(gpu\(0\), gpu\(1\)\)"), ("gpu0,gpu0", "twice"),
                       ("cuda:0", "expected cpu, gpuN"), ("", "expected cpu, gpuN")]:
        with pytest.raises(cli.CLIError, match=match):
            cli.parse_ctx(bad)


def test_threads_default_to_cpu_count_and_never_override_the_user(monkeypatch):
    calls = []
    monkeypatch.setattr(os, "execv", lambda *a: calls.append(a))
    monkeypatch.setattr(sys, "argv", ["gluon-resnet", "models"])
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    cli._default_threads()
    assert os.environ["OMP_NUM_THREADS"] == "3" and calls == []
    monkeypatch.delenv("OMP_NUM_THREADS")
    cli._default_threads()
    assert os.environ["OMP_NUM_THREADS"] == str(os.cpu_count())
    # MXNet is already imported, so the setting needs a fresh process.
    assert calls == [(sys.executable, [sys.executable, "-m", "gluon_resnet", "models"])]


def test_python_dash_m_without_omp_setting_runs_the_command():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("OMP_NUM_THREADS", None)
    proc = subprocess.run([sys.executable, "-m", "gluon_resnet", "train", "--batch-size", "0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == ("gluon-resnet: error: argument --batch-size: must be >= 1, got 0 "
                           "(see gluon-resnet train --help)\n")
