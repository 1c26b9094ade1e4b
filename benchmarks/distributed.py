"""Distributed training on loopback: step time and bytes moved per step, 1 and 2 workers.

    python benchmarks/distributed.py [--models resnet18,resnet50] [--steps 12]
        [--batch-size 32] [--size 32] [--out benchmarks/results]

For each model, one training step (forward, backward, gradient exchange, SGD update on
the workers, as ``gluon_resnet.train`` does it) is timed in four set-ups:

* ``1 process``: ``train()``'s path without a kvstore, all cores;
* ``1 process, 1 thread``: the same with ``OMP_NUM_THREADS=1``, the compute one worker
  of the 2-worker job has;
* ``dist_sync, 1 worker``: one worker and one server via ``gluon-resnet launch``: the
  parameter server's cost alone;
* ``dist_sync, 2 workers``: two workers (one thread each) and one server, batch per
  worker as above (so the global batch is twice as large);
* ``horovod (Gloo), 2 workers``: the same two workers with Horovod's ring allreduce
  (``--engine horovod``), when Horovod is installed.

Bytes per step are measured, not computed: the loopback interface's transmitted bytes
(``/proc/net/dev``, ``lo``) over the timed steps, divided by the steps; the gradient
size each worker pushes and pulls is printed beside them. A 2-core machine cannot show
a speed-up (two workers share the two cores); the table shows the overhead, and
``distributed.md`` works out, on paper, what N machines would gain.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def _lo_tx_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                return int(rest.split()[8])
    return 0


def measure(model, steps, batch_size, size, kvstore):
    """Time ``steps`` training steps (after 3 warm-up steps); runs in a worker."""
    import gluon_resnet
    import mxnet as mx
    from mxnet import autograd, gluon

    from gluon_resnet.arrays import as_legacy
    from gluon_resnet.training.distributed import Distributed
    dist = Distributed(kvstore)
    mx.random.seed(dist.rank)
    net = gluon_resnet.get_model(model, classes=10, in_channels=1, thumbnail=False)
    net.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.random.uniform(shape=(batch_size, 1, size, size))
    y = mx.nd.array(mx.nd.random.randint(0, 10, shape=(batch_size,)).asnumpy())
    net(x)
    dist.broadcast_parameters(net)
    trainer = dist.make_trainer(net.collect_params(), "sgd",
                                {"learning_rate": 0.01, "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    times, sent = [], None
    for i in range(3 + steps):
        if i == 3:
            sent = _lo_tx_bytes()
        tic = time.perf_counter()
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        if dist.dist and dist.hvd is None:  # (reduce_gradients skips a job of one worker)
            dist.allreduce("gradients", [as_legacy(p.grad()) for p in trainer._params
                                         if p.grad_req != "null"])
        trainer.step(dist.step_size(batch_size))
        mx.nd.waitall()
        if i >= 3:
            times.append(time.perf_counter() - tic)
    sent = _lo_tx_bytes() - sent
    dist.barrier()
    times.sort()
    return {"rank": dist.rank, "num_workers": dist.num_workers,
            "step_s_median": times[len(times) // 2], "step_s_min": times[0],
            "lo_tx_bytes_per_step": sent / steps,
            "gradient_bytes": dist.bytes_per_step(trainer._params) // 2,
            "params": sum(int(p.data().size) for p in net.collect_params().values()
                          if p.grad_req != "null")}


def _has_horovod():
    try:
        import horovod.mxnet  # noqa: F401  (pyflakes: used only to probe)
    except ImportError:
        return False
    return True


def _run(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    if out.returncode:
        raise SystemExit("failed: %s\n%s\n%s" % (" ".join(cmd), out.stdout[-2000:], out.stderr[-2000:]))
    return [json.loads(line.split("RESULT ", 1)[1]) for line in out.stdout.splitlines()
            if "RESULT " in line]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="resnet18,resnet50")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--worker", nargs=2, metavar=("MODEL", "KVSTORE"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.worker:
        kv = None if a.worker[1] == "none" else a.worker[1]
        print("RESULT " + json.dumps(measure(a.worker[0], a.steps, a.batch_size, a.size, kv)),
              flush=True)
        return
    import _machine
    cores = str(os.cpu_count() or 1)
    rows = []
    for model in a.models.split(","):
        me = [sys.executable, os.path.abspath(__file__), "--steps", str(a.steps),
              "--batch-size", str(a.batch_size), "--size", str(a.size), "--worker", model]
        launch = [sys.executable, "-m", "gluon_resnet", "launch", "--workers"]
        env = dict(os.environ)
        env.pop("OMP_NUM_THREADS", None)
        setups = [("1 process", me + ["none"], dict(env, OMP_NUM_THREADS=cores)),
                  ("1 process, 1 thread", me + ["none"], dict(env, OMP_NUM_THREADS="1")),
                  ("dist_sync, 1 worker", launch + ["1", "--"] + me + ["dist_sync"],
                   dict(env, OMP_NUM_THREADS=cores)),
                  ("dist_sync, 2 workers", launch + ["2", "--"] + me + ["dist_sync"],
                   dict(env, OMP_NUM_THREADS="1"))]
        if _has_horovod():
            setups.append(("horovod (Gloo), 2 workers",
                           launch + ["2", "--engine", "horovod", "--"] + me + ["horovod"],
                           dict(env, OMP_NUM_THREADS="1")))
        for name, cmd, e in setups:
            results = _run(cmd, e)
            r0 = min(results, key=lambda r: r["rank"])
            row = dict(model=model, setup=name, threads_per_worker=int(e["OMP_NUM_THREADS"]),
                       workers=r0["num_workers"], batch_per_worker=a.batch_size,
                       step_s_median=max(r["step_s_median"] for r in results),
                       lo_tx_bytes_per_step=r0["lo_tx_bytes_per_step"],
                       gradient_bytes=r0["gradient_bytes"], params=r0["params"])
            row["images_per_s"] = row["workers"] * a.batch_size / row["step_s_median"]
            rows.append(row)
            print("%-9s %-22s step %.3f s  %6.1f img/s  loopback %.1f MB/step (gradients %.1f MB)"
                  % (model, name, row["step_s_median"], row["images_per_s"],
                     row["lo_tx_bytes_per_step"] / 1e6, row["gradient_bytes"] / 1e6), flush=True)
    info = _machine.machine_info()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "distributed.json"), "w") as f:
        json.dump({"machine": info, "settings": vars(a), "rows": rows}, f, indent=1)
    print("\n".join(_machine.machine_lines(info)))


if __name__ == "__main__":
    main()
