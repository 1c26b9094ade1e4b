"""Training and inference throughput of gluon_resnet against MXNet's zoo, GluonCV and PyTorch.

Images per second for training (forward + backward + SGD update) and inference, and the
peak memory of each contender, on CPU (or one GPU with ``--ctx gpu0``). Contenders:

* gluon_resnet ``resnetN_v1b`` (the torchvision architecture): imperative; hybridized as
  the library does it (``static_alloc``); hybridized with ``static_alloc`` and
  ``static_shape``; fused by the oneDNN (MKLDNN) subgraph backend for inference
  (``net.optimize_for(x, backend='MKLDNN')``); int8 inference
  (``mx.contrib.quantization.quantize_net``, naive calibration on random data, with
  ``static_shape``, whose output MXNet 1.9 cannot read from the second call on: the
  speed of the computation), and the library's int8 export as users deploy it
  (``export_net(..., format='int8')`` reloaded by ``load_predictor``, ``int8d``); the
  library's ONNX export (MXNet's own exporter) run by ONNX Runtime through
  ``load_predictor`` (``onnx``), and its ``onnx-int8`` export, quantized by ONNX Runtime's
  tool (``onnx8``);
* MXNet's ``gluon.model_zoo.vision.resnetN_v1`` and GluonCV's ``resnetN_v1b``, hybridized
  with ``static_alloc`` and ``static_shape``;
* PyTorch on CPU as the outside reference: a torchvision-equivalent ResNet defined below
  (its parameter count is checked against torchvision's published numbers), eager and
  ``torch.compile``, with ``torch.set_num_threads(2)``.

How it measures
---------------
The orchestrator (this script without ``--worker``) imports neither MXNet nor PyTorch. It
starts persistent worker processes, one per framework and thread setting, because MXNet
reads ``OMP_NUM_THREADS`` when it is imported: MXNet with its default thread settings,
MXNet with ``OMP_NUM_THREADS=2``, and PyTorch. Each configuration (model, input shape,
batch, train or inference) is set up in every worker (built, then warmed up: two
iterations, or the compilation for ``torch.compile``); then the repetitions run
round-robin over all contenders, one contender computing at a time while the others
wait, so a change of machine load hits all of them alike. A repetition is ``n``
iterations, ``n`` chosen from the warm-up so that it lasts about ``--rep-seconds``; MXNet
is waited on (``mx.nd.waitall``) only at the end of a repetition, as a training loop
would. Reported: the median over repetitions of images/s, the spread (min-max), and the
ratio to PyTorch eager in the same configuration. Configurations too large to hold all
contenders in memory at once (ResNet-50 training at 224) rebuild each MXNet contender in
every round (build, one warm-up iteration, then the timed iterations).

Peak memory is the high-water mark of the resident set (``ru_maxrss``) of a fresh
process per contender that imports its framework, builds the net, and runs two
iterations; it includes the framework's own footprint (the RSS after ``import`` alone is
reported beside it).

Usage (from the repository root)::

    python benchmarks/throughput.py                       # everything, about 30 min
    python benchmarks/throughput.py --cases fmnist28,r50  # some cases
    python benchmarks/throughput.py --quick --out /tmp/q  # a few seconds, for the tests
    python benchmarks/throughput.py --ctx gpu0            # MXNet and PyTorch on GPU 0

Cases: ``fmnist28`` (ResNet-18, thumbnail stem, 1x28x28, batch 256), ``fmnist96``
(ResNet-18, 1x96x96, batch 256), ``r50`` (ResNet-50, 3x224x224, batch 32), ``latency``
(ResNet-18, 3x224x224, batch 1), ``depth`` (ResNet-18/34/50/101/152, 3x224x224, batch 8),
``batch`` (ResNet-18 inference at 3x224x224, batch 1 to 64), ``profile`` (ResNet-50
stage by stage), ``data`` (the Fashion-MNIST iterator, for the data-loading target).
Named only: ``precision`` (fp32 against bf16, ours against PyTorch's bf16 autocast and
``torch.compile``, issue 14's sizes), ``int8cmp`` (inference at the same sizes: our
``precision="auto"`` path and int8 exports against PyTorch's fastest of that run) and
``demo`` (the workload of ``make demo``: ResNet-18 at 1x32x32, batch 128, training and
inference, ours in fp32, bf16 and auto against PyTorch fp32 eager and bf16 autocast +
channels_last).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from throughput_cases import (CONTENDERS, DATA_BATCHES, DEFAULT_CASES,  # noqa: E402
                              EXTRA_CASES, INT8_CASES, OPS_SHAPE, PEAK_N, PRECISION_CASES,
                              PROFILE, THREAD_VARS, TORCHVISION_PARAMS, WORKERS, demo_cases,
                              full_cases, int8_cases, precision_cases, quick_cases)
from throughput_report import write_results  # noqa: E402
from throughput_workers import worker_main  # noqa: E402

# ---------------------------------------------------------------------------------------
# Orchestrator
# ---------------------------------------------------------------------------------------

def _env(changes, python_path=True):
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.pop(var, None)
    for key, value in changes.items():
        if value is not None:
            env[key] = value
    return env


class Worker:
    def __init__(self, name, args, log):
        framework, changes = WORKERS[name]
        self.name, self.framework, self.log = name, framework, log
        cmd = [args.python, os.path.abspath(__file__), "--worker", framework, "--ctx", args.ctx]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log, env=_env(changes), text=True, bufsize=1)

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return dict(ok=False, error="worker %s died (see the log)" % self.name)
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()


def load_info():
    load1, load5, load15 = os.getloadavg()
    return dict(load1=round(load1, 2), load5=round(load5, 2), load15=round(load15, 2))


def competitors(me):
    """The processes using CPU now, other than this benchmark's (ps: nice, %CPU, command)."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,ppid,ni,pcpu,args", "--sort=-pcpu"],
                             capture_output=True, text=True, timeout=10).stdout.splitlines()
    except Exception:  # noqa: BLE001
        return []
    rows = []
    for line in out[1:]:
        parts = line.split(None, 4)
        if len(parts) < 5 or float(parts[3]) < 5.0:
            continue
        if int(parts[0]) in me or int(parts[1]) in me or parts[4].startswith("ps "):
            continue
        rows.append("ni %s, %s%% CPU: %s" % (parts[2], parts[3], parts[4][:110]))
    return rows[:6]


def key_of(cfg, mode, worker, contender):
    return "%s|d%d|b%d|%s|%s|%s" % (cfg["case"], cfg["depth"], cfg["batch"], mode, worker,
                                    contender)


def run_config(cfg, mode, workers, args, log_print):
    """Set up every contender in its worker, run the repetitions round-robin, drop."""
    pairs = [(w, c) for w, cs in cfg["contenders"].items() if w in workers for c in cs
             if mode in CONTENDERS[c][1]]
    results = {}
    rebuild = cfg["heavy"] and not args.quick

    def setup(w, c, warmup):
        if c == "gluoncv" and cfg["thumbnail"]:
            return dict(ok=False, error="n/a: GluonCV's resnet_v1b has no thumbnail stem")
        return workers[w].ask(op="setup", key=key_of(cfg, mode, w, c), contender=c, cfg=cfg,
                              mode=mode, warmup=warmup)

    for w, c in pairs:
        res = dict(worker=w, contender=c, label=CONTENDERS[c][2], samples=[])
        if rebuild and CONTENDERS[c][0] == "mx":
            res["setup"] = dict(ok=True, rebuilt_each_round=True)
        else:
            res["setup"] = setup(w, c, 1 if args.quick else 2)
        results[(w, c)] = res
    reps = 1 if args.quick else max(1, int(round(cfg["reps"] * args.reps_scale)))
    start_load = load_info()
    for rep in range(reps):
        order = pairs[rep % len(pairs):] + pairs[:rep % len(pairs)] if pairs else []
        for w, c in order:
            res = results[(w, c)]
            key = key_of(cfg, mode, w, c)
            if rebuild and CONTENDERS[c][0] == "mx":
                s = setup(w, c, 1)
                if not s["ok"]:
                    res["setup"] = s
                    continue
                res.setdefault("warmup_s", []).extend(s["warmup_s"])
                per_iter = s["warmup_s"][-1]
            elif not res["setup"]["ok"]:
                continue
            else:
                per_iter = res["setup"]["warmup_s"][-1]
            iters = 1 if args.quick else max(1, int(round(args.rep_seconds / max(per_iter, 1e-4))))
            time.sleep(0.3)  # let the previous worker's OpenMP threads stop spinning
            ans = workers[w].ask(op="run", key=key, iters=iters)
            if ans["ok"]:
                res["samples"].append(ans["images"] / ans["seconds"])
                res["iters"] = iters
            else:
                res["setup"] = ans
            if rebuild and CONTENDERS[c][0] == "mx":
                workers[w].ask(op="drop", key=key)
    for w, c in pairs:
        workers[w].ask(op="drop", key=key_of(cfg, mode, w, c))
    end_load = load_info()
    rows = []
    for (w, c), res in results.items():
        s = res["samples"]
        row = dict(worker=w, contender=c, label=res["label"], mode=mode, case=cfg["case"],
                   depth=cfg["depth"], batch=cfg["batch"], shape=cfg["shape"],
                   images_per_s=statistics.median(s) if s else None,
                   min=min(s) if s else None, max=max(s) if s else None, reps=len(s),
                   iters_per_rep=res.get("iters"), samples=s,
                   setup_s=res["setup"].get("setup_s"),
                   error=None if res["setup"]["ok"] else res["setup"]["error"])
        rows.append(row)
        log_print("  %-10s %-11s %-6s %s" % (w, c, mode, "%.1f img/s" % row["images_per_s"]
                                             if s else row["error"]))
    ref = next((r["images_per_s"] for r in rows if r["contender"] == "torch" and r["images_per_s"]),
               None)
    for r in rows:
        r["vs_torch_eager"] = (r["images_per_s"] / ref) if (ref and r["images_per_s"]) else None
    return rows, dict(start=start_load, end=end_load)


def measure_memory(cfg, mode, args):
    """Peak RSS of a fresh process per contender (only under OMP_NUM_THREADS=2)."""
    out = []
    for w, cs in cfg["contenders"].items():
        if w == "mx-default":
            continue
        for c in cs:
            if mode not in CONTENDERS[c][1] or (c == "gluoncv" and cfg["thumbnail"]):
                continue
            if cfg["memory"] is not True and c not in cfg["memory"]:
                continue
            framework, changes = WORKERS[w]
            cmd = [args.python, os.path.abspath(__file__), "--worker", framework, "--ctx",
                   args.ctx]
            line = json.dumps(dict(op="memory", contender=c, cfg=cfg, mode=mode)) + "\n"
            try:
                proc = subprocess.run(cmd, input=line, capture_output=True, text=True,
                                      env=_env(changes), timeout=900)
                ans = json.loads(proc.stdout.strip().splitlines()[-1])
            except Exception as err:  # noqa: BLE001
                ans = dict(ok=False, error=str(err)[:200])
            out.append(dict(worker=w, contender=c, mode=mode, **ans))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes, 1 repetition, few contenders (for the tests)")
    parser.add_argument("--cases", default=None,
                        help="comma-separated, from: %s (default: the first %d); precision "
                        "= %s; int8cmp = %s" % (", ".join(DEFAULT_CASES + EXTRA_CASES),
                                                len(DEFAULT_CASES), ",".join(PRECISION_CASES),
                                                ",".join(INT8_CASES)))
    parser.add_argument("--out", default=None,
                        help="results directory (default benchmarks/results; with --quick a "
                             "temporary directory)")
    parser.add_argument("--ctx", default="cpu", help="cpu or gpuN (MXNet and PyTorch)")
    parser.add_argument("--rep-seconds", type=float, default=2.0,
                        help="target length of one repetition")
    parser.add_argument("--reps-scale", type=float, default=1.0,
                        help="multiply every case's number of repetitions")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory runs")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other cases' results from the existing throughput.json "
                             "(to rerun some cases, e.g. after a disturbed measurement)")
    parser.add_argument("--python", default=sys.executable, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("mx", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.ctx)

    cases = dict(quick_cases() if args.quick else full_cases(),
                 **precision_cases(args.quick), **({} if args.quick else int8_cases()),
                 **({} if args.quick else demo_cases()))
    wanted = (args.cases.split(",") if args.cases else
              (list(cases) + ["peak"] if args.quick else DEFAULT_CASES))
    for group, members in (("precision", PRECISION_CASES), ("int8cmp", INT8_CASES)):
        if group in wanted:
            at = wanted.index(group)
            wanted[at:at + 1] = [c for c in members if c in cases]
    unknown = [c for c in wanted if c not in DEFAULT_CASES + EXTRA_CASES]
    if unknown:
        parser.error("unknown case(s) %s; choose from %s" % (unknown, DEFAULT_CASES))
    out_dir = args.out or (tempfile.mkdtemp(prefix="throughput-") if args.quick
                           else os.path.join(HERE, "results"))
    os.makedirs(out_dir, exist_ok=True)
    log = open(os.path.join(tempfile.gettempdir(), "throughput-workers.log"), "a")

    def log_print(msg):
        print(msg)
        sys.stdout.flush()

    started = time.time()
    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               command="python benchmarks/" + " ".join(
                   [os.path.basename(__file__)] + (argv if argv is not None else sys.argv[1:])),
               quick=args.quick, ctx=args.ctx, machine=machine(args.ctx), load_start=load_info(),
               competitors_start=competitors(set()), results=[], memory=[], loads={},
               profile={}, data=[], macs={}, params={}, peak={})
    needed = {"mx-omp2", "torch"} | {w for case in wanted for cfg in cases.get(case, [])
                                     for w in cfg["contenders"]}
    workers = {name: Worker(name, args, log) for name in WORKERS if name in needed}
    me = {os.getpid()} | {w.proc.pid for w in workers.values()}
    doc["competitors_start"] = competitors(me)
    doc["versions"] = {name: w.ask(op="info") for name, w in workers.items()}
    for depth in (18, 34, 50, 101, 152) if not args.quick else (18,):
        doc["params"][str(depth)] = dict(
            torchvision_published=TORCHVISION_PARAMS[depth],
            torch_reference=workers["torch"].ask(op="params", depth=depth).get("params"),
            gluon_resnet_v1b=workers["mx-omp2"].ask(op="params", depth=depth).get("params"))
    try:
        for case in wanted:
            if case in ("profile", "data", "peak"):
                continue
            for cfg in cases.get(case, []):
                log_print("%s: ResNet-%d, %s, batch %d (load %s)" % (
                    case, cfg["depth"], "x".join(map(str, cfg["shape"])), cfg["batch"],
                    load_info()["load1"]))
                for c in sorted({c for cs in cfg["contenders"].values() for c in cs}):
                    if CONTENDERS[c][0] == "mx":
                        mk = "%s|%s|d%d|%s" % (case, c, cfg["depth"], "x".join(map(str, cfg["shape"])))
                        if mk not in doc["macs"]:
                            doc["macs"][mk] = workers["mx-omp2"].ask(
                                op="macs", cfg=cfg, contender=c).get("macs")
                for mode in cfg["modes"]:
                    before = competitors(me)
                    rows, loads = run_config(cfg, mode, workers, args, log_print)
                    for r in rows:
                        r["run_date"] = doc["date"]
                    doc["results"].extend(rows)
                    doc["loads"][key_of(cfg, mode, "", "")] = dict(
                        loads, competitors_start=before, competitors=competitors(me))
                    if cfg["memory"] and not args.no_memory:
                        doc["memory"].extend(dict(case=case, depth=cfg["depth"],
                                                  batch=cfg["batch"], **m)
                                             for m in measure_memory(cfg, mode, args))
            if not args.quick:  # save what is done so far
                partial = dict(doc, load_end=load_info(), competitors_end=[],
                               wall_s=time.time() - started,
                               runs=[dict(date=doc["date"], command=doc["command"],
                                          load_start=doc["load_start"],
                                          load_end=load_info(), cases=wanted,
                                          competitors_start=doc["competitors_start"],
                                          wall_s=time.time() - started)])
                with open(os.path.join(out_dir, "throughput.partial.json"), "w") as f:
                    json.dump(partial, f)
        if "profile" in wanted and not args.quick:
            cfg = PROFILE
            log_print("profile: ResNet-%d stage by stage, batch %d (load %s)"
                      % (cfg["depth"], cfg["batch"], load_info()["load1"]))
            doc["profile"] = dict(
                cfg=cfg, load_start=load_info(),
                mx_static=workers["mx-omp2"].ask(op="profile", cfg=cfg, reps=3),
                mx_fused=workers["mx-omp2"].ask(op="profile", cfg=cfg, reps=3, fused=True),
                torch_eager=workers["torch"].ask(op="profile", cfg=cfg, reps=3),
                ops_shape=OPS_SHAPE,
                mx_ops=workers["mx-omp2"].ask(op="ops", shape=OPS_SHAPE, reps=5),
                torch_ops=workers["torch"].ask(op="ops", shape=OPS_SHAPE, reps=5),
                load_end=load_info())
        if "peak" in wanted:
            n, reps = (256, 3) if args.quick else (PEAK_N, 15)
            log_print("peak: fp32 matrix product %dx%d (load %s)" % (n, n, load_info()["load1"]))
            doc["peak"] = dict(n=n, load_start=load_info(),
                               mx=workers["mx-omp2"].ask(op="peak", n=n, reps=reps),
                               torch=workers["torch"].ask(op="peak", n=n, reps=reps),
                               mx_bf16=workers["mx-omp2"].ask(op="peak", n=n, reps=reps,
                                                              dtype="bfloat16"),
                               torch_bf16=workers["torch"].ask(op="peak", n=n, reps=reps,
                                                               dtype="bfloat16"),
                               load_end=load_info())
        if "data" in wanted and not args.quick:
            for resize in (28, 96):
                log_print("data: Fashion-MNIST iterator at %dx%d with augmentation" % (resize, resize))
                ans = workers["mx-omp2"].ask(op="data", resize=resize, batches=DATA_BATCHES)
                ans["load"] = load_info()
                doc["data"].append(ans)
    finally:
        for w in workers.values():
            w.close()
    doc["load_end"] = load_info()
    doc["competitors_end"] = competitors(set())
    doc["wall_s"] = time.time() - started
    doc["runs"] = [dict((k, doc[k]) for k in ("date", "command", "load_start", "load_end",
                                              "competitors_start", "wall_s"))]
    doc["runs"][0]["cases"] = wanted
    if args.merge:
        doc = merge(doc, os.path.join(out_dir, "throughput.json"), wanted)
    write_results(doc, out_dir)
    if os.path.exists(os.path.join(out_dir, "throughput.partial.json")):
        os.remove(os.path.join(out_dir, "throughput.partial.json"))
    log_print("wrote %s/throughput.json and throughput.md (%.0f s)" % (out_dir, doc["wall_s"]))
    return 0


def merge(doc, path, wanted):
    """``doc`` (this run's cases) plus everything of the other cases in ``path``."""
    if not os.path.exists(path):
        return doc
    with open(path) as f:
        old = json.load(f)
    keep = lambda entry: entry.get("case") not in wanted  # noqa: E731
    doc["results"] = [r for r in old["results"] if keep(r)] + doc["results"]
    doc["memory"] = [m for m in old["memory"] if keep(m)] + doc["memory"]
    doc["loads"] = dict({k: v for k, v in old["loads"].items()
                         if k.split("|")[0] not in wanted}, **doc["loads"])
    doc["macs"] = dict(old["macs"], **doc["macs"])
    if "profile" not in wanted:
        doc["profile"] = old.get("profile", {})
    if "data" not in wanted:
        doc["data"] = old.get("data", [])
    if "peak" not in wanted:
        doc["peak"] = old.get("peak", {})
    old_runs = []  # each earlier run with the cases it still provides
    for run in old.get("runs") or []:
        cases = [c for c in run.get("cases", []) if c not in wanted]
        if cases:
            old_runs.append(dict(run, cases=cases))
    doc["runs"] = old_runs + doc["runs"]
    return doc


def _isa_flags():
    """The ISA flags that decide oneDNN's kernels, read by gluon_resnet/cpu.py loaded on
    its own (importing the package would import MXNet into the orchestrator)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "_gluon_resnet_cpu", os.path.join(REPO, "gluon_resnet", "cpu.py"))
    cpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu)
    flags = cpu.read_cpuinfo()[1]
    return [f for f in cpu.REPORTED_FLAGS if f in flags]


def machine(ctx="cpu"):
    info = dict(python=platform.python_version(), cpus=os.cpu_count())
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        info["cpu"] = m.group(1).strip() if m else None
    except Exception:  # noqa: BLE001
        info["cpu"] = None
    try:
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2 ** 20, 1)
    except Exception:  # noqa: BLE001
        info["mem_gib"] = None
    info["omp_num_threads_env"] = os.environ.get("OMP_NUM_THREADS")
    info["isa_flags"] = _isa_flags()
    if ctx.startswith("gpu"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                  "--format=csv,noheader"], capture_output=True, text=True,
                                 timeout=30).stdout.strip().splitlines()
            info["gpu"] = out[int(ctx[3:] or 0)] if out else None
        except Exception:  # noqa: BLE001
            info["gpu"] = None
    return info


if __name__ == "__main__":
    sys.exit(main())
