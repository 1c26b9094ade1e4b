"""Checkpoints: no code runs on load, crashes and full disks lose nothing, one writer.

References: an uninterrupted run with the same seeds (bit-identical parameters after a
crash and resume), MXNet's own ``mx.nd.save`` (byte-identical array files), and MXNet's
pickled ``Trainer.save_states`` for the old format.
"""
import json
import os
import pickle
import resource
import signal
import subprocess
import sys
import time

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import gluon_resnet
from conftest import REPO, run_main
from gluon_resnet import params
from gluon_resnet.training import checkpoint
from gluon_resnet.training.checkpoint import RunLocked, load_checkpoint, read_checkpoint
from gluon_resnet.training import train

CRASH = os.path.join(REPO, "tests", "_crash.py")


def _args(fmnist_dir, out, epochs=2):
    # fp32, not the command's default auto: with AMX, auto times both precisions at the
    # first batch, and a busy machine can make the reference run choose otherwise
    return ["train", "--model", "cifar_resnet20", "--epochs", str(epochs), "--batch-size",
            "32", "--num-train", "128", "--num-test", "64", "--lr", "0.05", "--optimizer",
            "adam", "--augment", "--seed", "3", "--data-dir", str(fmnist_dir), "--out",
            str(out), "--precision", "fp32"]


def _params(run):
    net, _ = load_checkpoint(run)
    return {k: p.data().asnumpy() for k, p in net._collect_params_with_prefix().items()}


def _crash(point, argv, **kwargs):
    return subprocess.run([sys.executable, CRASH, point] + argv, cwd=REPO, capture_output=True,
                          text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, fmnist_dir):
    """Two epochs in one go (Adam, augmentation, seeds): the parameters to match."""
    out = tmp_path_factory.mktemp("ref") / "run"
    code, _, err = run_main(_args(fmnist_dir, out))
    assert code == 0, err
    return _params(str(out))


def _bomb(marker):
    """A pickle that creates ``marker`` when it is unpickled."""
    class Bomb:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    return pickle.dumps(Bomb())


def test_array_files_are_what_mxnet_writes_and_reads(tmp_path):
    arrays = {"a.weight": mx.nd.random.uniform(shape=(3, 4)),
              "b": mx.nd.array([1, 2], dtype="int32"), "c": mx.nd.ones((1,), dtype="float16")}
    mx.nd.save(str(tmp_path / "mxnet.params"), arrays)
    params.save_arrays(str(tmp_path / "ours.params"), arrays)
    assert (tmp_path / "ours.params").read_bytes() == (tmp_path / "mxnet.params").read_bytes()


def test_checkpoint_files_hold_no_pickle_and_resume_exactly(reference, fmnist_dir, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_main(_args(fmnist_dir, out, epochs=1))
    assert code == 0, err
    names = sorted(os.listdir(str(out)))
    assert names == [".lock", "checkpoint.json", "curves.png", "epoch-0001.params",
                     "epoch-0001.rng.json", "epoch-0001.states", "history.json"]
    # Every file is JSON, an MXNet array file, a PNG or the lock's pid: none a pickle.
    for name in names:
        data = (out / name).read_bytes()
        if name.endswith(".json"):
            json.loads(data)
        elif name.endswith((".params", ".states")):
            params.check_array_file(str(out / name))
        elif name.endswith(".png"):
            assert data.startswith(b"\x89PNG")
        else:
            assert data.decode().isdigit()
    doc = read_checkpoint(str(out))
    assert doc["format"] == 2 and doc["optimizer"]["type"] == "adam"
    assert doc["optimizer"]["num_update"] == 4  # Adam's bias correction needs the count
    code, _, err = run_main(_args(fmnist_dir, out) + ["--resume"])
    assert code == 0, err
    got = _params(str(out))
    assert all(np.array_equal(got[k], reference[k]) for k in reference)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["step=6", "write=4", "rename=checkpoint.json:2"],
                         ids=["mid-epoch", "writing-states", "before-commit"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(reference, fmnist_dir, tmp_path,
                                                         point):
    out = tmp_path / "run"
    result = _crash(point, _args(fmnist_dir, out))
    assert result.returncode == -signal.SIGKILL, result.stderr
    # What is on disk is the first epoch's checkpoint, whole.
    doc = read_checkpoint(str(out))
    assert doc["epoch"] == 1
    for name in ("params", "states"):
        params.check_array_file(doc["files"][name])
    code, _, err = run_main(_args(fmnist_dir, out) + ["--resume"])
    assert code == 0, err
    got = _params(str(out))
    assert all(np.array_equal(got[k], reference[k]) for k in reference)
    assert not [n for n in os.listdir(str(out)) if n.startswith("epoch-0001")]


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory, fmnist_dir):
    out = tmp_path_factory.mktemp("one") / "run"
    code, _, err = run_main(_args(fmnist_dir, out, epochs=1))
    assert code == 0, err
    return out


def _copy_run(src, dst):
    import shutil
    shutil.copytree(str(src), str(dst))
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("point", ["write=1", "rename=-meta.json:1"],
                         ids=["writing-params", "before-sidecar"])
def test_sigkill_during_export_leaves_no_half_file_under_a_final_name(one_epoch, tmp_path,
                                                                      point):
    prefix = tmp_path / "exp" / "net"
    result = _crash(point, ["export", str(one_epoch), "--out", str(prefix)])
    assert result.returncode == -signal.SIGKILL, result.stderr
    final = [n for n in os.listdir(str(prefix.parent)) if not n.startswith(".tmp-")]
    assert "net-meta.json" not in final  # the sidecar is written last
    if "net-0000.params" in final:
        params.check_array_file(str(prefix) + "-0000.params")  # whole
    with pytest.raises(FileNotFoundError, match="no export sidecar"):
        gluon_resnet.load_predictor(str(prefix))
    code, _, err = run_main(["export", str(one_epoch), "--out", str(prefix)])  # again: fine
    assert code == 0, err
    assert gluon_resnet.load_predictor(str(prefix)).input_shape == (1, 1, 28, 28)


def _file_size_limit(limit):
    def set_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return set_limit


@pytest.mark.slow
def test_full_disk_gives_a_clear_error_and_keeps_the_last_checkpoint(reference, one_epoch,
                                                                     fmnist_dir, tmp_path):
    out = _copy_run(one_epoch, tmp_path / "run")
    before = {n: (out / n).read_bytes() for n in os.listdir(str(out))
              if n.startswith(("epoch-", "checkpoint"))}
    # 200 KB per file: the history and curves fit, the next checkpoint's params do not.
    result = _crash("none", _args(fmnist_dir, out) + ["--resume"],
                    preexec_fn=_file_size_limit(200 * 1024))
    assert result.returncode == 1, result.stderr
    assert "could not write a checkpoint in %s: File too large" % out in result.stderr
    assert "the previous checkpoint (%s) is intact and resumable" % (
        out / "checkpoint.json") in result.stderr
    assert not [n for n in os.listdir(str(out)) if n.startswith(".tmp-")]
    for name, data in before.items():
        assert (out / name).read_bytes() == data, name
    code, _, err = run_main(_args(fmnist_dir, out) + ["--resume"])
    assert code == 0, err
    got = _params(str(out))
    assert all(np.array_equal(got[k], reference[k]) for k in reference)


@pytest.mark.slow
def test_a_second_training_process_on_the_same_directory_is_refused(fmnist_dir, tmp_path):
    out = tmp_path / "run"
    # The first waits at its first update, holding the lock, until the test releases it
    # (events, not a time window: the second may take as long as the machine needs).
    release = tmp_path / "release"
    first = subprocess.Popen([sys.executable, CRASH, "pause=%s" % release]
                             + _args(fmnist_dir, out, 3), cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        while not (tmp_path / "release.paused").exists():  # it holds the lock and waits
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        assert (out / ".lock").read_text().strip() == str(first.pid)
        code, _, err = run_main(_args(fmnist_dir, out, 3) + ["--resume"])
        assert code == 2
        assert "%s is in use: another training process (pid %d)" % (out, first.pid) in err
        release.touch()
        _, first_err = first.communicate(timeout=300)
    finally:
        first.kill()
    assert first.returncode == 0, first_err
    doc = read_checkpoint(str(out))  # the first run's result, whole
    assert doc["epoch"] == 3 and len(doc["history"]["loss"]) == 3
    load_checkpoint(str(out))
    with pytest.raises(RunLocked, match=r"is in use: another training process \(pid %d\)"
                       % os.getpid()):  # the library's lock, the same in-process
        other = checkpoint.Checkpointer(str(out))
        mine = checkpoint.Checkpointer(str(out))
        mine.lock()
        try:
            other.lock()
        finally:
            mine.unlock()


# --- the old format: pickles, refused unless trusted -----------------------------------

def _as_format_1(run, marker=None):
    """Rewrite a checkpoint as format 1 wrote it: MXNet's pickled Trainer.save_states and
    a pickled dict of numpy random states (or, with ``marker``, pickles that create it)."""
    doc = read_checkpoint(str(run))
    net, _ = load_checkpoint(str(run))
    trainer = gluon.Trainer(net.collect_params(), doc["train"]["optimizer"],
                            update_on_kvstore=False)
    checkpoint.restore_optimizer(trainer, doc["files"]["states"], doc["optimizer"], "x")
    stem = "epoch-%04d" % doc["epoch"]
    trainer.save_states(str(run / (stem + ".states")))
    rng = json.loads(open(doc["files"]["rng"]).read())
    with open(str(run / (stem + ".rng")), "wb") as f:
        pickle.dump({"numpy": checkpoint._rng_from_json(rng["numpy"], "x"),
                     "iterator": checkpoint._rng_from_json(rng["iterator"], "x")}, f)
    if marker is not None:
        for name in (stem + ".states", stem + ".rng"):
            (run / name).write_bytes(_bomb(marker))
    os.remove(doc["files"]["rng"])
    old = {k: v for k, v in json.loads((run / "checkpoint.json").read_text()).items()
           if k != "optimizer"}
    old.update(format=1, files={"params": stem + ".params", "trainer": stem + ".states",
                                "rng": stem + ".rng"})
    (run / "checkpoint.json").write_text(json.dumps(old))


def test_old_format_is_refused_then_converted_on_request(reference, one_epoch, fmnist_dir,
                                                         tmp_path):
    out = _copy_run(one_epoch, tmp_path / "run")
    _as_format_1(out)
    message = "format 1, whose optimizer and random states are Python pickles"
    for call in (lambda: read_checkpoint(str(out)), lambda: load_checkpoint(str(out))):
        with pytest.raises(ValueError, match=message):
            call()
    code, _, err = run_main(_args(fmnist_dir, out) + ["--resume"])
    assert code == 2 and message in err and "--trust-pickle" in err
    code, out_text, err = run_main(["convert", str(out), "--trust-pickle"])
    assert code == 0, err
    assert "format 2" in out_text and not (out / "epoch-0001.rng").exists()
    code, _, err = run_main(_args(fmnist_dir, out) + ["--resume"])
    assert code == 0, err
    got = _params(str(out))
    assert all(np.array_equal(got[k], reference[k]) for k in reference)


def test_planted_pickles_never_run(one_epoch, fmnist_dir, tmp_path):
    """A pickle that would create a file, in every file of a run that is neither JSON nor
    .params, through the library and the CLI: nothing runs, clear errors."""
    marker = tmp_path / "pwned"
    new = _copy_run(one_epoch, tmp_path / "new")
    for name in os.listdir(str(new)):
        if not name.endswith((".json", ".params")):
            (new / name).write_bytes(_bomb(marker))
    old = _copy_run(one_epoch, tmp_path / "old")
    _as_format_1(old, marker)
    image = tmp_path / "a.png"
    from PIL import Image
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(str(image))
    from gluon_resnet.training.finetune import load_base
    from gluon_resnet.deploy.predict import predict
    os.makedirs(str(tmp_path / "x"))
    for run in (new, old):
        attempts = [
            lambda: load_checkpoint(str(run)), lambda: load_base(str(run)),
            lambda: predict(str(run), [str(image)]),
            lambda: gluon_resnet.export_checkpoint(str(run), str(tmp_path / "x" / run.name)),
            lambda: train(gluon_resnet.cifar_resnet20(), [], None, 2, 0.1,
                          checkpoint_dir=str(run), resume=True, optimizer="adam")]
        # the new format reads only JSON and .params: the first four never open the planted
        # files, resuming opens the .states and refuses it; format 1 is refused by every call
        refusals = ([None] * 4 + [r"\.states is not a readable MXNet \.params file"]
                    if run is new else [r"is a checkpoint of format 1, .*pickle"] * 5)
        for attempt, refusal in zip(attempts, refusals):
            if refusal is None:
                attempt()
            else:
                with pytest.raises(ValueError, match=refusal):
                    attempt()
        for argv in (_args(fmnist_dir, run) + ["--resume"],
                     ["evaluate", str(run), "--num-test", "64", "--data-dir", str(fmnist_dir)],
                     ["export", str(run), "--out", str(tmp_path / "x" / ("m" + run.name))],
                     ["predict", str(run), str(image)],
                     _args(fmnist_dir, tmp_path / ("ft-" + run.name)) + ["--from", str(run)]):
            code, _, err = run_main(argv)
            if run is old or argv[0] == "train" and "--resume" in argv:
                assert code == 2, (argv, err)
        assert not marker.exists()
