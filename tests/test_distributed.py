"""Data-parallel training on MXNet's parameter server, on the loopback interface.

The jobs are real: ``gluon-resnet launch`` starts a scheduler, a server and two workers
(tests/_dist_worker.py). The reference for two workers with batch B is one process with
batch 2B whose every batch is the two workers' batches of that step, side by side.
"""
import glob
import importlib.util
import os
import signal
import subprocess
import sys
import time
import uuid

import mxnet as mx
import numpy as np
import pytest

from conftest import REPO, is_count_of, run_main
from gluon_resnet.data import ImageArrayIter
from gluon_resnet.training.distributed import create_kvstore, shard_indices
from gluon_resnet.training.launcher import LaunchError, read_hosts, worker_command
from gluon_resnet.params import load_arrays, read_json, save_parameters

sys.path.insert(0, os.path.join(REPO, "tests"))
import _dist_worker as worker  # noqa: E402

WORKER = os.path.join(REPO, "tests", "_dist_worker.py")


def _env(fmnist_dir, tag=None):
    env = dict(os.environ, FASHION_MNIST_DIR=str(fmnist_dir), OMP_NUM_THREADS="1")
    if tag:
        env["DIST_TEST_TAG"] = tag
    return env


def launch(args, fmnist_dir, timeout=120, tag=None):
    """``gluon-resnet launch --workers 2 ARGS`` -> CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "gluon_resnet", "launch", "--workers", "2"]
                          + args, env=_env(fmnist_dir, tag), capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _tagged(tag):
    """Processes whose environment holds DIST_TEST_TAG=tag (the job's, if any is left)."""
    found = []
    for path in glob.glob("/proc/[0-9]*/environ"):
        try:
            with open(path, "rb") as f:
                if ("DIST_TEST_TAG=%s" % tag).encode() in f.read().split(b"\0"):
                    found.append(int(path.split("/")[2]))
        except OSError:
            pass
    return found


def _max_diff(a, b):
    assert sorted(a) == sorted(b)
    return max(float(np.abs(a[k].asnumpy() - b[k].asnumpy()).max()) for k in a)


# ---------------------------------------------------------------------------------------
# Sharding and arguments (no processes)

def test_shards_are_disjoint_equal_seeded_and_cover_what_they_keep():
    parts = [shard_indices(103, 4, i, seed=7) for i in range(4)]
    assert [len(p) for p in parts] == [25] * 4  # 103 // 4; 3 examples left out
    joined = np.concatenate(parts)
    assert len(set(joined)) == 100 and joined.max() < 103
    assert all(np.array_equal(p, shard_indices(103, 4, i, seed=7)) for i, p in enumerate(parts))
    assert not np.array_equal(parts[0], shard_indices(103, 4, 0, seed=8))
    every = np.concatenate([shard_indices(103, 4, i, equal=False) for i in range(4)])
    assert sorted(every) == list(range(103))  # evaluation keeps every example
    with pytest.raises(ValueError, match="index must be < num_parts"):
        shard_indices(10, 2, 2)
    with pytest.raises(ValueError, match="3 examples cannot be cut into 4"):
        shard_indices(3, 4, 0)


def test_iterator_shards_hold_their_images_and_copy_the_random_state():
    images = np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2)
    it = ImageArrayIter(images, np.arange(10), 2, shuffle=True, seed=3)
    a, b = it.shard(2, 0), it.shard(2, 1)
    assert len(a) == len(b) == 3
    labels = [set(int(v) for _, y in part for v in y.asnumpy()) for part in (a, b)]
    assert not labels[0] & labels[1] and len(labels[0] | labels[1]) == 10
    assert labels[0] == set(shard_indices(10, 2, 0).tolist())
    assert a.rng_state()[1].tolist() == b.rng_state()[1].tolist()  # both drew alike
    assert len(it) == 5  # the original is untouched


def test_kvstore_arguments_fail_clearly_outside_a_job(monkeypatch):
    with pytest.raises(ValueError, match="kvstore must be one of local, device, dist_sync"):
        create_kvstore("dist")
    for name in ("DMLC_ROLE", "DMLC_PS_ROOT_URI"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="gluon-resnet launch --workers 2 --servers 1 -- "
                       "train --kvstore dist_sync.*lacks DMLC_ROLE"):
        create_kvstore("dist_sync")
    code, _, err = run_main(["train", "--kvstore", "dist_async", "--epochs", "1"])
    assert code == 2 and "gluon-resnet launch" in err and "lacks DMLC_ROLE" in err


def test_dist_async_and_horovod_refuse_what_they_cannot_do_before_joining_a_job():
    from gluon_resnet.training.distributed import check_kvstore_args
    with pytest.raises(ValueError, match="dist_async' applies updates on the servers.*"
                       "schedule='cosine'"):
        check_kvstore_args("dist_async", "cosine")
    with pytest.raises(ValueError, match="dist_async' applies updates.*warm-up 0.5"):
        check_kvstore_args("dist_async", "constant", warmup_epochs=0.5)
    with pytest.raises(ValueError, match="dist_async' keeps the optimizer state on the "
                       "servers, which MXNet 1.9.1 cannot save"):
        check_kvstore_args("dist_async", checkpoint_dir="runs/x")
    with pytest.raises(ValueError, match="horovod' every process trains on one context"):
        check_kvstore_args("horovod", ctxs=[mx.cpu(0), mx.cpu(1)])
    check_kvstore_args("dist_sync", "cosine", 3, 0, "runs/x", [mx.cpu(0), mx.cpu(1)])
    code, _, err = run_main(["train", "--kvstore", "dist_async", "--schedule", "cosine"])
    assert code == 2 and "use schedule='constant' without warm-up" in err
    code, _, err = run_main(["train", "--kvstore", "dist_async", "--resume"])
    assert code == 2 and "nothing to --resume" in err
    # the launcher's own argument check needs no Horovod installed
    code, _, err = run_main(["launch", "--engine", "horovod", "--servers", "2", "--workers",
                             "2", "--", "train"])
    assert code == 2 and "Horovod has no servers" in err


def test_launcher_arguments(tmp_path):
    assert worker_command(["--", "train", "--epochs", "1"]) == [
        sys.executable, "-m", "gluon_resnet", "train", "--epochs", "1"]
    assert worker_command(["python", "x.py"]) == [sys.executable, "x.py"]
    assert worker_command(["./run.sh", "a"]) == ["./run.sh", "a"]
    with pytest.raises(LaunchError, match="give the workers' command after --"):
        worker_command([])
    hosts = tmp_path / "hosts"
    hosts.write_text("# machines\nnode1\n\nuser@10.0.0.2  # the second\n")
    assert read_hosts(str(hosts)) == ["node1", "user@10.0.0.2"]
    hosts.write_text("node1 node2\n")
    with pytest.raises(LaunchError, match="line 1: expected one host name or address per "
                       "line, got 'node1 node2'"):
        read_hosts(str(hosts))
    hosts.write_text("# nobody\n")
    with pytest.raises(LaunchError, match="names no host"):
        read_hosts(str(hosts))
    code, _, err = run_main(["launch", "--workers", "2"])
    assert code == 2 and "give the workers' command after --" in err


def test_local_kvstore_over_two_contexts_equals_the_default(fmnist_dir):
    from gluon_resnet.training import train
    mx.random.seed(0)
    init = worker.net()
    results = []
    for kvstore in (None, "local"):
        net = worker.net()
        for p, q in zip(net.collect_params().values(), init.collect_params().values()):
            p.set_data(q.data())
        net.collect_params().reset_ctx([mx.cpu(0), mx.cpu(1)])
        train(net, worker.data(64, 16), None, 1, worker.LR, kvstore=kvstore, **worker.SETTINGS)
        results.append([p.data(mx.cpu(1)).asnumpy() for p in net.collect_params().values()])
    assert max(np.abs(a - b).max() for a, b in zip(*results)) < 1e-6
    assert max(np.abs(a - p.data().asnumpy()).max()
               for a, p in zip(results[1], init.collect_params().values())) > 1e-3


def test_horovodrun_is_waited_for_as_workers_are(monkeypatch):
    # (servers get SERVER_GRACE once the workers are done; horovodrun is the workers)
    import io

    from gluon_resnet.training import launcher
    monkeypatch.setattr(launcher, "SERVER_GRACE", 0.1)
    proc = launcher._Process("horovodrun", 0, None,
                             ["sh", "-c", "sleep 1; echo '[0]<stdout>:done'"],
                             dict(os.environ))
    out = io.StringIO()
    job = launcher._Job([proc], out)
    job.start()
    result = job.supervise()
    job.stop()
    assert result == (0, None)
    assert out.getvalue() == "[0]<stdout>:done\n"  # horovodrun's lines as they come


# ---------------------------------------------------------------------------------------
# Training jobs

def _train_job(d, out, fmnist_dir, *extra):
    run = launch(["--", "python", WORKER, "train", str(d / out), "--init", str(d / "init.params"),
                  "--epochs", "2"] + list(extra), fmnist_dir)
    assert run.returncode == 0, (out, run.stdout[-3000:], run.stderr[-3000:])
    return run


class _SaveAfterEachEpoch:
    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, state):
        save_parameters(state.net, "%s.%d" % (self.path, state.epoch + 1))


@pytest.fixture(scope="module")
def jobs(fmnist_dir, tmp_path_factory):
    """One initialisation; the reference, one process with batch 2B whose every batch is
    the two workers' batches of that step side by side, for 2 epochs (parameters saved
    after each); and a 2-worker job with batch B, stopped after epoch 1 of the same
    2-epoch schedule, with a checkpoint."""
    from gluon_resnet.training import train
    d = tmp_path_factory.mktemp("dist")
    mx.random.seed(0)
    save_parameters(worker.net(), str(d / "init.params"))
    b, n = worker.BATCH, worker.NUM
    parts = [shard_indices(n, 2, r) for r in range(2)]  # what ImageArrayIter.shard takes
    order = np.concatenate([np.concatenate([p[t * b:(t + 1) * b] for p in parts])
                            for t in range(n // 2 // b)])
    net = worker.net()
    net.load_parameters(str(d / "init.params"))
    history = train(net, worker.data(n, 2 * b, order), None, 2, worker.LR, seed=0,
                    callbacks=[_SaveAfterEachEpoch(str(d / "reference.params"))],
                    **worker.SETTINGS)
    half = _train_job(d, "half.params", fmnist_dir, "--checkpoint", str(d / "run"),
                      "--stop-after", "1")
    return d, history, half


@pytest.mark.slow
def test_two_workers_with_batch_b_equal_one_process_with_batch_2b(jobs):
    d, history, half = jobs
    reference = load_arrays(str(d / "reference.params.1"))
    assert _max_diff(reference, load_arrays(str(d / "init.params"))) > 1e-2  # 8 SGD steps
    assert _max_diff(reference, load_arrays(str(d / "half.params"))) < 2e-5
    # The job's history (rank 0's line) is the whole job's: losses over all examples.
    line = [l for l in half.stdout.splitlines() if l.startswith("[worker 0] loss")]
    assert np.allclose(eval(line[0].split("loss", 1)[1]), history.loss[:1], rtol=1e-4)


@pytest.mark.slow
def test_a_job_resumed_in_numpy_mode_ends_where_the_reference_does(jobs, fmnist_dir):
    d, history, _ = jobs
    _train_job(d, "resumed.params", fmnist_dir, "--checkpoint", str(d / "run"), "--resume", "--np")
    reference = load_arrays(str(d / "reference.params.2"))
    assert _max_diff(reference, load_arrays(str(d / "reference.params.1"))) > 1e-2
    assert _max_diff(reference, load_arrays(str(d / "resumed.params"))) < 2e-5
    doc = read_json(str(d / "run" / "checkpoint.json"))
    assert doc["epoch"] == 2 and doc["train"]["kvstore"] == "dist_sync"
    assert doc["train"]["num_workers"] == 2
    assert np.allclose(doc["history"]["loss"], history.loss, rtol=1e-4)


# ---------------------------------------------------------------------------------------
# Supervision

@pytest.mark.slow
def test_a_killed_worker_ends_the_job_within_a_minute_and_leaves_nothing(fmnist_dir, tmp_path):
    tag = uuid.uuid4().hex
    pids = str(tmp_path / "pid")
    proc = subprocess.Popen([sys.executable, "-m", "gluon_resnet", "launch", "--workers", "2",
                             "--", "python", WORKER, "forever", pids],
                            env=_env(fmnist_dir, tag), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        # events, not a time window: both workers wrote their pid (however long it took)
        while not all(os.path.exists("%s.%d" % (pids, r)) for r in range(2)):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        with open(pids + ".1") as f:
            victim = int(f.read())
        os.kill(victim, signal.SIGKILL)
        killed = time.time()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.time() - killed < 60
    assert proc.returncode == 128 + signal.SIGKILL
    assert "worker (rank 1, started" in err and "killed by SIGKILL" in err
    assert "stopping the other 3 processes" in err
    assert _tagged(tag) == []


@pytest.mark.slow
def test_ctrl_c_stops_every_process(fmnist_dir, tmp_path):
    tag = uuid.uuid4().hex
    pids = str(tmp_path / "pid")
    # Workers that only sleep: what is tested is the launcher's part. The shell writes its
    # pid with builtins (no short-lived child that would carry the tag), then becomes sleep.
    proc = subprocess.Popen([sys.executable, "-m", "gluon_resnet", "launch", "--workers", "2",
                             "--", "sh", "-c", "echo $$ > %s.$$; exec sleep 120" % pids],
                            env=_env(fmnist_dir, tag), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        # events: both workers' pids are written, and they have become sleep
        while len(glob.glob(pids + ".*")) < 2 or len(_tagged(tag)) < 5:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        workers = sorted(int(open(f).read()) for f in glob.glob(pids + ".*"))
        tagged = _tagged(tag)
        assert len(tagged) == 5 and set(workers) <= set(tagged), (tagged, workers)
        # the launcher, the scheduler, a server, two workers
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in err
    assert _tagged(tag) == []


def test_hosts_file_over_ssh_and_a_failing_worker_named_by_rank(fmnist_dir, tmp_path):
    # (the one job of the Python 3.12+ run: servers and workers there import MXNet
    # through gluon_resnet's bridges)
    # A stand-in for ssh that runs the remote command here: the launcher's ssh path,
    # end to end, on loopback.
    ssh = tmp_path / "ssh"
    ssh.write_text('#!/bin/sh\nfor last; do :; done\necho "ssh $*" | cut -c1-40 >&2\n'
                   'exec sh -c "$last"\n')
    ssh.chmod(0o755)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1\nlocalhost\n")
    run = launch(["--servers", "2", "--hosts", str(hosts), "--ssh", str(ssh), "--interface",
                  "lo", "--", "python", WORKER, "hello", "1", "3"], fmnist_dir)
    # rank 1 exits with status 3 once it has said hello: the job ends with its status
    assert run.returncode == 3, run.stderr
    assert "[worker 1] rank 1 gives up" in run.stdout
    assert "worker (rank 1, started" in run.stderr and "exited with status 3" in run.stderr
    for rank in range(2):
        assert "[worker %d] hello from rank %d of 2 on worker, sum 3" % (rank, rank) in run.stdout
        # BatchNorm's running statistics, rank + 1 and 10 (rank + 1), averaged
        assert ("[worker %d] running statistics [1.5, 1.5, 1.5] [15.0, 15.0, 15.0]" % rank
                in run.stdout)
    # servers and workers went through ssh, alternating over the two hosts
    assert run.stdout.count("ssh -tt -o BatchMode=yes 127.0.0.1") == 2
    assert run.stdout.count("ssh -tt -o BatchMode=yes localhost") == 2


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("horovod") is None,
                    reason="Horovod is an optional extra: make horovod")
def test_horovod_workers_in_numpy_mode_equal_the_reference(jobs, fmnist_dir):
    d, _, _ = jobs
    run = launch(["--engine", "horovod", "--", "python", WORKER, "train",
                  str(d / "horovod.params"), "--init", str(d / "init.params"), "--epochs", "2",
                  "--kvstore", "horovod", "--np"], fmnist_dir)
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert "[0]<stdout>:loss" in run.stdout
    assert _max_diff(load_arrays(str(d / "reference.params.2")),
                     load_arrays(str(d / "horovod.params"))) < 2e-5


@pytest.mark.slow
def test_the_cli_trains_a_dist_async_job_and_rank_0_reports(fmnist_dir, tmp_path):
    out = tmp_path / "run"
    run = launch(["--", "train", "--kvstore", "dist_async", "--model", "cifar_resnet20",
                  "--num-train", "256", "--num-test", "128", "--batch-size", "16", "--epochs",
                  "2", "--lr", "0.02", "--out", str(out), "--precision", "fp32", "--seed", "0"],
                 fmnist_dir)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "[worker 0] epoch 2/2: loss" in run.stdout
    assert "examples/sec on 2 workers (cpu(0) each)" in run.stdout
    assert "[worker 1] epoch" not in run.stdout  # rank 0 reports for the job
    assert "[worker 0] no checkpoint: with dist_async" in run.stdout
    assert not (out / "checkpoint.json").exists()
    history = read_json(str(out / "history.json"))
    # It learns: the training loss falls. (Test accuracy after 32 asynchronous steps
    # swings with BatchNorm's young running statistics, so no level is asserted; rank 0
    # counts all 128 test images, so each accuracy is k/128 for a whole k.)
    assert len(history["loss"]) == 2 and history["loss"][1] < history["loss"][0]
    for acc in history["test_acc"]:
        assert is_count_of(acc, 128), acc
