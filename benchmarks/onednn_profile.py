"""An operator profile of a training step or an inference batch from oneDNN's own log:
MXNet bf16 beside PyTorch's.

    python benchmarks/onednn_profile.py [--mode train|infer] [--depth 18] [--size 112]
        [--channels 3] [--classes 1000] [--batch-size 32] [--steps 4]
        [--contenders mx:bf16,mx:static,torch:bf16cl] [--out DIR] [--name SUFFIX]

``make demo``'s step (issue 22): ``--size 32 --channels 1 --classes 10 --batch-size 128
--contenders mx:hybrid,mx:bf16,torch:torch,torch:bf16cl --name _demo``.

MXNet 1.9.1's wheel is built without its profiler (``mx.runtime.Features()``: PROFILER
off). Its oneDNN (v2.4) still logs every primitive it executes, with the milliseconds it
took, when ``DNNL_VERBOSE=1`` is set before MXNet loads; PyTorch's oneDNN does the same
with ``ONEDNN_VERBOSE=1``. Each contender runs in a child process with the log on: warm-up
steps, then ``--steps`` timed steps between two marker lines. The log's lines between the
markers are summed by primitive kind (convolution forward / backward data / backward
weights, batch normalisation, reorder, ...) and by implementation (``brg...:avx512_core_amx``
is an AMX kernel); the wall time not spent in oneDNN primitives is everything else:
MXNet's or PyTorch's own operators (casts, additions, the optimizer), scheduling and
Python. The log itself costs some time per primitive, so the step times here are a
little longer than in ``throughput.py``.

The contenders are those of ``benchmarks/throughput.py`` (``mx:bf16`` is what
``train(..., precision="bf16")`` runs, or in inference ``optimize_for_inference(...,
"bf16")``; ``mx:static`` its fp32 training, ``mx:mkldnn`` the oneDNN-fused fp32 graph,
``mx:int8d`` the int8 export as deployed; ``torch:bf16cl`` PyTorch's bf16 autocast on a
channels_last model, ``torch:bf16compile`` its ``torch.compile``). The results go to
``onednn_profile.md/json`` (training) or ``onednn_profile_infer.md/json`` (inference),
with ``--name``'s suffix before the extension.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START, END = "@@profile-start", "@@profile-end"


def child(framework, contender, depth, size, batch, steps, mode="train", channels=3,
          classes=1000):
    """Run in the child: warm up, then the timed steps between the markers."""
    sys.path.insert(0, HERE)
    import throughput_workers as tw
    from throughput_cases import _config
    worker = tw.MXWorker("cpu") if framework == "mx" else tw.TorchWorker("cpu")
    cfg = _config("profile", depth, (channels, size, size), batch, (mode,), {},
                  classes=classes)
    runner = worker.setup(contender, cfg, mode)
    runner.timed(3)
    sys.stdout.flush()
    print(START, flush=True)
    seconds = runner.timed(steps)
    sys.stdout.flush()
    print(END, json.dumps({"seconds": seconds}), flush=True)


def _kind(fields):
    """(primitive kind, propagation, implementation) of a verbose ``exec`` line."""
    # oneDNN 2.x: dnnl_verbose,exec,cpu,convolution,IMPL,PROP,...,TIME
    # oneDNN 3.x: onednn_verbose,[timestamp,]primitive,exec,cpu,convolution,IMPL,PROP,...,TIME
    i = fields.index("exec")
    return fields[i + 2], fields[i + 4], fields[i + 3]


def parse(lines):
    """Sum the primitives' milliseconds between the markers -> (rows, wall seconds)."""
    inside, wall = False, None
    by_kind = collections.defaultdict(lambda: [0.0, 0])
    for line in lines:
        if line.startswith(START):
            inside = True
            continue
        if line.startswith(END):
            wall = json.loads(line[len(END):])["seconds"]
            break
        if not inside or "verbose" not in line.split(",", 1)[0]:
            continue
        fields = line.strip().split(",")
        if "exec" not in fields:
            continue
        try:
            kind, prop, impl = _kind(fields)
            ms = float(fields[-1])
        except (ValueError, IndexError):
            continue
        entry = by_kind[(kind, prop, impl)]
        entry[0] += ms
        entry[1] += 1
    return by_kind, wall


def run(framework, contender, a):
    env = dict(os.environ, DNNL_VERBOSE="1", ONEDNN_VERBOSE="1", MKLDNN_VERBOSE="1")
    env.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    cmd = [sys.executable, os.path.abspath(__file__), "--child", framework, contender,
           "--mode", a.mode, "--depth", str(a.depth), "--size", str(a.size),
           "--channels", str(a.channels), "--classes", str(a.classes),
           "--batch-size", str(a.batch_size), "--steps", str(a.steps)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if out.returncode:
        raise SystemExit("%s:%s failed:\n%s" % (framework, contender, out.stderr[-3000:]))
    return parse(out.stdout.splitlines())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", default="train", choices=("train", "infer"))
    p.add_argument("--depth", type=int, default=18)
    p.add_argument("--size", type=int, default=112)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--contenders", default="mx:bf16,mx:static,torch:bf16cl")
    p.add_argument("--out", default=os.path.join(HERE, "results", "precision"))
    p.add_argument("--name", default="", help="suffix of the results' file names")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        return child(a.child[0], a.child[1], a.depth, a.size, a.batch_size, a.steps, a.mode,
                     a.channels, a.classes)
    sys.path.insert(0, HERE)
    import _machine
    results = {}
    for item in a.contenders.split(","):
        framework, contender = item.split(":")
        by_kind, wall = run(framework, contender, a)
        results[item] = {"wall_ms_per_step": 1e3 * wall / a.steps, "primitives": [
            {"kind": k, "prop": prop, "impl": impl, "ms_per_step": ms / a.steps,
             "calls_per_step": n / a.steps}
            for (k, prop, impl), (ms, n) in sorted(by_kind.items(), key=lambda kv: -kv[1][0])]}
    info = _machine.machine_info()
    step = "training step" if a.mode == "train" else "inference batch"
    lines = ["# oneDNN operator profile: ResNet-%d %s, batch %d, %dx%dx%d, %d classes"
             % (a.depth, step, a.batch_size, a.channels, a.size, a.size, a.classes), "",
             "```", "python benchmarks/onednn_profile.py --mode %s --depth %d --size %d "
             "--channels %d --classes %d --batch-size %d --steps %d --contenders %s%s" % (
                 a.mode, a.depth, a.size, a.channels, a.classes, a.batch_size, a.steps,
                 a.contenders, " --name " + a.name if a.name else ""), "```", ""]
    lines += _machine.machine_lines(info) + [
        "- each contender in a child process with OMP_NUM_THREADS=%s (PyTorch: "
        "torch.set_num_threads(2)), the oneDNN log on" % os.environ.get(
            "OMP_NUM_THREADS", os.cpu_count() or 1), ""]
    for item, r in results.items():
        inside = sum(x["ms_per_step"] for x in r["primitives"])
        lines += ["## %s: %.1f ms per %s; %.1f ms in oneDNN primitives, %.1f ms (%.0f%%) "
                  "elsewhere" % (item, r["wall_ms_per_step"], step.split()[-1], inside,
                                 r["wall_ms_per_step"] - inside,
                                 100 * (1 - inside / r["wall_ms_per_step"])), "",
                  "| primitive | propagation | implementation | ms / %s | calls / %s |" % (
                      step.split()[-1], step.split()[-1]),
                  "|---|---|---|---:|---:|"]
        for x in r["primitives"]:
            if x["ms_per_step"] >= 0.5:
                lines.append("| %s | %s | %s | %.1f | %.0f |" % (
                    x["kind"], x["prop"], x["impl"], x["ms_per_step"], x["calls_per_step"]))
        rest = [x for x in r["primitives"] if x["ms_per_step"] < 0.5]
        if rest:
            lines.append("| (%d more, each < 0.5 ms) | | | %.1f | %.0f |" % (
                len(rest), sum(x["ms_per_step"] for x in rest),
                sum(x["calls_per_step"] for x in rest)))
        lines.append("")
    os.makedirs(a.out, exist_ok=True)
    stem = os.path.join(a.out, "onednn_profile" + ("" if a.mode == "train" else "_infer")
                        + a.name)
    with open(stem + ".json", "w") as f:
        json.dump({"machine": info, "settings": {k: v for k, v in vars(a).items()
                                                 if k != "child"},
                   "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   "results": results}, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
