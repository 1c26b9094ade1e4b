"""The throughput benchmark's results: targets, the markdown report and the plots."""
import json
import os
import statistics

from throughput_cases import CONTENDERS, WORKERS

NOTES_BEGIN = "<!-- notes: kept when the script rewrites this file -->"
NOTES_END = "<!-- end of notes -->"
MAIN_CASES = {
    "fmnist28": "Fashion-MNIST thumbnails (3x3 stride-1 stem, no max-pool), 10 classes",
    "fmnist96": "Fashion-MNIST resized to 96 (ImageNet stem), 10 classes",
    "r50": "ImageNet shape, 1000 classes",
    "latency": "latency, 1000 classes",
    "bf16_r18_112": "fp32 and bf16, 1000 classes",
    "bf16_r18_224": "fp32 and bf16, 1000 classes",
    "bf16_r50": "fp32 and bf16, 1000 classes",
    "bf16_latency": "fp32 and bf16, latency, 1000 classes",
    "int8_r18_112": "bf16 and int8 inference, 1000 classes",
    "int8_r18_224": "bf16 and int8 inference, 1000 classes",
    "int8_r50": "bf16 and int8 inference, 1000 classes",
    "int8_latency": "bf16 and int8 inference, latency, 1000 classes",
    "demo": "make demo's workload: ImageNet stem, Fashion-MNIST resized to 1x32x32, 10 classes",
}
# Paths that keep fp32's accuracy: fp32 itself, and bf16 where it is tested to (ours:
# tests/test_deploy.py, tests/test_precision.py; PyTorch's autocast keeps fp32 where
# bf16 would lose accuracy).
OURS_FAST = ("static", "mkldnn", "bf16", "auto")
TORCH_FAST = ("torch", "compile", "bf16cl", "bf16compile")
GLUON_FP32 = ("imperative", "hybrid", "static", "mkldnn")
GLUON_TRAIN = ("imperative", "hybrid", "static")
TARGETS = [  # (name, mode, ours, reference, threshold)
    ("training >= 1.3x PyTorch eager", "train", GLUON_TRAIN, "torch", 1.3),
    ("training >= 1.0x torch.compile", "train", GLUON_TRAIN, "compile", 1.0),
    ("fp32 inference >= 2x PyTorch eager", "infer", GLUON_FP32, "torch", 2.0),
    ("fp32 inference >= 1.3x torch.compile", "infer", GLUON_FP32, "compile", 1.3),
    ("fp32 inference >= 2x PyTorch eager (the ONNX export in ONNX Runtime)", "infer",
     ("onnx",), "torch", 2.0),
    ("fp32 inference >= 1.3x torch.compile (the ONNX export in ONNX Runtime)", "infer",
     ("onnx",), "compile", 1.3),
    ("int8 inference >= 5x PyTorch fp32 eager (static_shape graph, output unreadable)",
     "infer", ("int8",), "torch", 5.0),
    ("int8 inference >= 5x PyTorch fp32 eager (a deployable export)", "infer",
     ("int8d", "onnx8"), "torch", 5.0),
    ("fastest training >= 1.3x PyTorch's fastest (fp32, compile, bf16 autocast)", "train",
     OURS_FAST, TORCH_FAST, 1.3),
    ("fastest inference >= 1.3x PyTorch's fastest (fp32, compile, bf16 autocast)", "infer",
     OURS_FAST, TORCH_FAST, 1.3),
    ("fastest inference, int8 exports included (their accuracy: int8.md), >= 1.3x "
     "PyTorch's fastest (fp32, compile, bf16 autocast)", "infer",
     OURS_FAST + ("int8d", "onnx8"), TORCH_FAST, 1.3),
]


def _find(rows, case, mode, contender, worker=None, depth=None, batch=None):
    for r in rows:
        if (r["case"] == case and r["mode"] == mode and r["contender"] == contender
                and (worker is None or r["worker"] == worker)
                and (depth is None or r["depth"] == depth)
                and (batch is None or r["batch"] == batch) and r["images_per_s"]):
            return r
    return None


def _best(rows, case, mode, contenders):
    cands = [r for r in rows if r["case"] == case and r["mode"] == mode
             and r["contender"] in contenders and r["images_per_s"]]
    return max(cands, key=lambda r: r["images_per_s"]) if cands else None


def ceiling(doc, dtype="fp32"):
    """The faster framework's matrix-product GFLOP/s (the ``peak`` case) in fp32 or
    bf16, or None."""
    suffix = "" if dtype == "fp32" else "_bf16"
    peak = doc.get("peak", {})
    peaks = [p["gflops"] for p in (peak.get("mx" + suffix), peak.get("torch" + suffix))
             if p and p.get("ok")]
    return max(peaks) if peaks else None


def flops_per_image(doc, case, mode, depth, shape):
    """2 x multiply-adds of the forward pass (3 times that for a training step)."""
    macs = doc["macs"].get("%s|static|d%d|%s" % (case, depth, "x".join(map(str, shape))))
    return 2.0 * macs * (3 if mode == "train" else 1) if macs else None


def evaluate_targets(doc):
    rows, out = doc["results"], []
    for case in MAIN_CASES:
        for name, mode, ours, ref, threshold in TARGETS:
            best = _best(rows, case, mode, ours)
            other = (_best(rows, case, mode, ref) if isinstance(ref, tuple)
                     else _find(rows, case, mode, ref))
            if best is None or other is None:
                continue
            ratio = best["images_per_s"] / other["images_per_s"]
            flops = flops_per_image(doc, case, mode, best["depth"], best["shape"])
            out.append(dict(case=case, target=name, ours=best["contender"],
                            ref=other["contender"],
                            worker=best["worker"], ours_ips=best["images_per_s"],
                            ref_ips=other["images_per_s"], ratio=ratio,
                            met=ratio >= threshold,
                            needs_gflops=flops * threshold * other["images_per_s"] / 1e9
                            if flops else None))
    for d in doc.get("data", []):
        if not d.get("ok"):
            continue
        case = "fmnist28" if d["resize"] == 28 else "fmnist96"
        best = _best(rows, case, "train", GLUON_TRAIN)
        if best:
            ratio = d["images_per_s"] / best["images_per_s"]
            out.append(dict(case=case, target="data loading >= 10x training", ours="data",
                            worker="mx-omp2", ours_ips=d["images_per_s"],
                            ref_ips=best["images_per_s"], ratio=ratio, met=ratio >= 10))
    return out


def _fmt(v, digits=1):
    if v is None:
        return "—"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.*f" % (digits, v)


def _cell(r):
    if r is None:
        return "—"
    if not r["images_per_s"]:
        return r["error"] or "—"
    spread = " (%s–%s)" % (_fmt(r["min"]), _fmt(r["max"])) if r["reps"] > 1 else ""
    return "%s%s" % (_fmt(r["images_per_s"]), spread)


def _ratio(r):
    return "%.2fx" % r["vs_torch_eager"] if r and r.get("vs_torch_eager") else "—"


def _mem(doc, case, contender, mode):
    for m in doc["memory"]:
        if m["case"] == case and m["contender"] == contender and m["mode"] == mode:
            return "%.0f" % m["peak_mb"] if m.get("ok") else "error"
    return "—"


def _threads(worker):
    return {"mx-default": "MXNet defaults", "mx-omp2": "OMP_NUM_THREADS=2",
            "torch": "set_num_threads(2)"}[worker]


def markdown(doc, notes):
    L = []
    m = doc["machine"]
    v = doc["versions"]
    L.append("# Training and inference throughput" + (" (--quick)" if doc["quick"] else ""))
    L.append("")
    L.append("Measured %s by `benchmarks/throughput.py`, on %s." % (
        doc["date"], "CPU" if doc["ctx"] == "cpu" else doc["ctx"]))
    L.append("")
    L.append("```\n%s\n```" % doc["command"])
    L.append("")
    L.append("- Machine: `%s`, %s cores visible, %s GiB memory; Python %s." % (
        m.get("cpu"), m.get("cpus"), m.get("mem_gib"), m.get("python")))
    if "isa_flags" in m:
        amx = v.get("mx-omp2", {}).get("amx") or {}
        L.append("- CPU flags: %s; oneDNN AMX in the MXNet workers: %s%s." % (
            " ".join(m["isa_flags"]) or "none of those that matter here",
            "on" if amx.get("amx") else "off",
            " (%s)" % amx["reason"] if amx.get("reason") else ""))
    mxv, tv = v.get("mx-omp2", {}), v.get("torch", {})
    L.append("- MXNet %s (oneDNN %s), numpy %s, GluonCV %s; PyTorch %s (%s threads)." % (
        mxv.get("mxnet"), "on" if mxv.get("mkldnn") else "off", mxv.get("numpy"),
        mxv.get("gluoncv"), tv.get("torch", tv.get("error", "not installed")),
        tv.get("threads", "—")))
    if m.get("gpu") or tv.get("gpu"):
        L.append("- GPU: %s; PyTorch's CUDA %s, cuDNN %s, TF32 for convolutions %s, for "
                 "matrix products %s." % (m.get("gpu") or tv.get("gpu"), tv.get("cuda"),
                                          tv.get("cudnn"), tv.get("tf32_conv"),
                                          tv.get("tf32_matmul")))
    L.append("- Threads: MXNet in two worker processes, one with no thread variable set "
             "(\"MXNet defaults\") and one with `OMP_NUM_THREADS=2`; PyTorch with "
             "`torch.set_num_threads(2)`.")
    L.append("- Load average (1, 5, 15 min) at the start: %(load1)s, %(load5)s, %(load15)s; "
             "at the end: " % doc["load_start"] + "%(load1)s, %(load5)s, %(load15)s." % doc["load_end"]
             + " Whole run: %.0f s." % doc["wall_s"])
    if doc["competitors_start"]:
        L.append("- Other processes using CPU at the start: " +
                 "; ".join("`%s`" % c for c in doc["competitors_start"]) + ".")
    for run in doc.get("runs", [])[:-1] if len(doc.get("runs", [])) > 1 else []:
        L.append("- Cases %s come from an earlier run, %s: `%s`, load %s at the start and %s "
                 "at the end." % (", ".join(run["cases"]), run["date"], run["command"],
                                  run["load_start"]["load1"], run["load_end"]["load1"]))
    L.append("")
    L.append("Images per second: the median over repetitions, (min–max) after it; `x eager` "
             "is the ratio to PyTorch eager in the same configuration. Peak RSS: the "
             "high-water mark of a fresh process that builds the net and runs two "
             "iterations (framework included). Every number below was measured in this "
             "run; `—` means not run.")
    L.append("")
    if notes:
        L.append(notes)
        L.append("")

    base = {}
    for mem in doc["memory"]:
        if mem.get("ok"):
            base.setdefault(WORKERS[mem["worker"]][0], []).append(mem["import_mb"])
    if base:
        L.append("RSS of a fresh process after importing its framework (the floor under every "
                 "peak RSS below): " + ", ".join(
                     "%s %.0f MB" % ({"mx": "MXNet + gluon_resnet", "torch": "PyTorch"}[k],
                                     statistics.median(v)) for k, v in sorted(base.items()))
                 + ".")
        L.append("")

    tg = evaluate_targets(doc)
    top = ceiling(doc)
    if tg:
        L.append("## Targets")
        L.append("")
        L.append("| case | target | best gluon_resnet | its img/s | reference | reference img/s "
                 "| ratio | met | the target needs GFLOP/s%s |" % (" (of the ceiling)" if top
                                                                   else ""))
        L.append("|---|---|---|---:|---|---:|---:|:---:|---:|")
        for t in tg:
            need = t.get("needs_gflops")
            # bf16 paths are held against the bf16 ceiling (AMX where it is on)
            cap = ceiling(doc, "bf16") if t["ours"] in ("bf16", "auto") else top
            L.append("| %s | %s | %s (%s) | %s | %s | %s | %.2fx | %s | %s |" % (
                t["case"], t["target"], t["ours"], _threads(t["worker"]), _fmt(t["ours_ips"]),
                t.get("ref", "—"), _fmt(t["ref_ips"]), t["ratio"], "yes" if t["met"] else "**no**",
                "—" if not need else _fmt(need) + (" (%.0f%% of %s)" % (
                    100 * need / cap, "bf16" if cap is not top else "fp32") if cap else "")))
        L.append("")
    if doc.get("peak"):
        pk = doc["peak"]
        L.append("## Compute ceiling: fp32 matrix product, %dx%d" % (pk["n"], pk["n"]))
        L.append("")
        L.append("GFLOP/s of one %dx%d by %dx%d product, median of the repetitions: MXNet "
                 "`FullyConnected` (oneDNN) %s, PyTorch `torch.mm` %s (load %s → %s). The "
                 "ceiling used above and below is the faster of the two. A ResNet's images/s "
                 "times 2 x its multiply-adds per image (3 times that for training) is the "
                 "GFLOP/s it achieves:" % (
                     pk["n"], pk["n"], pk["n"], pk["n"],
                     _fmt(pk["mx"].get("gflops")) if pk["mx"].get("ok") else pk["mx"].get("error"),
                     _fmt(pk["torch"].get("gflops")) if pk["torch"].get("ok")
                     else pk["torch"].get("error"),
                     pk["load_start"]["load1"], pk["load_end"]["load1"]))
        if pk.get("mx_bf16"):
            L.append("")
            L.append("In bfloat16 (oneDNN's AMX kernels where they are on; see the CPU flags "
                     "above): MXNet %s, PyTorch %s GFLOP/s; bf16 rows below are held "
                     "against the faster of these." % tuple(
                         _fmt(p.get("gflops")) if p.get("ok") else p.get("error")
                         for p in (pk["mx_bf16"], pk["torch_bf16"])))
        L.append("")
        L.append("| case | mode | contender | threads | img/s | GFLOP/s | of the ceiling |")
        L.append("|---|---|---|---|---:|---:|---:|")
        for case in MAIN_CASES:
            for r in doc["results"]:
                if r["case"] != case or not r["images_per_s"] or r["worker"] == "mx-default":
                    continue
                if r["contender"] in ("int8", "int8d", "onnx8", "imperative", "hybrid", "zoo",
                                      "gluoncv", "auto"):
                    continue  # int8 is not fp32 or bf16; the rest are within a few % of
                    # static (auto is one of fp32 and bf16)
                flops = flops_per_image(doc, case, r["mode"], r["depth"], r["shape"])
                if not flops:
                    continue
                gf = flops * r["images_per_s"] / 1e9
                low = r["contender"] in ("bf16", "bf16cl", "bf16compile")
                cap = ceiling(doc, "bf16") if low else top
                L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    case, r["mode"], CONTENDERS[r["contender"]][2], _threads(r["worker"]),
                    _fmt(r["images_per_s"]), _fmt(gf),
                    "%.0f%%%s" % (100 * gf / cap, " (bf16)" if low else "") if cap else "—"))
        L.append("")

    rows = doc["results"]
    for case, title in MAIN_CASES.items():
        crow = [r for r in rows if r["case"] == case]
        if not crow:
            continue
        L.append("## %s: ResNet-%d, %s, batch %d (%s)" % (
            case, crow[0]["depth"], "x".join(map(str, crow[0]["shape"])), crow[0]["batch"],
            title))
        L.append("")
        lat = case == "latency"
        L.append("| contender | threads | MACs/img | train img/s | x eager | infer %s | "
                 "x eager | peak RSS train MB | peak RSS infer MB |" %
                 ("img/s (ms/img)" if lat else "img/s"))
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        seen = []
        for r in crow:
            if (r["worker"], r["contender"]) not in seen:
                seen.append((r["worker"], r["contender"]))
        order = list(WORKERS)
        seen.sort(key=lambda wc: (order.index(wc[0]), list(CONTENDERS).index(wc[1])))
        for w, c in seen:
            tr = next((r for r in crow if r["worker"] == w and r["contender"] == c
                       and r["mode"] == "train"), None)
            inf = next((r for r in crow if r["worker"] == w and r["contender"] == c
                        and r["mode"] == "infer"), None)
            shape = "x".join(map(str, (tr or inf)["shape"]))
            macs = doc["macs"].get("%s|%s|d%d|%s" % (case, c, (tr or inf)["depth"], shape))
            if CONTENDERS[c][0] == "torch":
                macs = doc["macs"].get("%s|%s|d%d|%s" % (case, "static", (tr or inf)["depth"],
                                                          shape))
            icell = _cell(inf)
            if lat and inf and inf["images_per_s"]:
                icell += " (%.1f ms)" % (1000.0 / inf["images_per_s"])
            mem_w = w != "mx-default"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                CONTENDERS[c][2], _threads(w), "%.2f G" % (macs / 1e9) if macs else "—",
                _cell(tr), _ratio(tr), icell, _ratio(inf),
                _mem(doc, case, c, "train") if mem_w else "—",
                _mem(doc, case, c, "infer") if mem_w else "—"))
        loads = ["%s: %s → %s" % (k.split("|")[3], v["start"]["load1"], v["end"]["load1"])
                 for k, v in doc["loads"].items() if k.startswith(case + "|")]
        L.append("")
        L.append("Load average (1 min) before → after: " + "; ".join(loads) + ".")
        others = sorted({c for k, v in doc["loads"].items() if k.startswith(case + "|")
                         for c in v.get("competitors_start", []) + v.get("competitors", [])})
        if others:
            L.append("Other processes seen using CPU before or after these measurements: "
                     + "; ".join("`%s`" % c for c in others) + ".")
        L.append("")

    depth_rows = [r for r in rows if r["case"] == "depth"]
    if depth_rows:
        L.append("## Depth sweep: ResNet-18 to 152 v1b, %s, batch %d" % (
            "x".join(map(str, depth_rows[0]["shape"])), depth_rows[0]["batch"]))
        L.append("")
        L.append("![throughput vs depth](throughput_depth.png)")
        L.append("")
        keys = []
        for r in depth_rows:
            if (r["worker"], r["contender"], r["mode"]) not in keys:
                keys.append((r["worker"], r["contender"], r["mode"]))
        L.append("| depth | GMACs/img | " + " | ".join(
            "%s %s" % (CONTENDERS[c][2], m) for w, c, m in keys) + " |")
        L.append("|---:|---:|" + "---:|" * len(keys))
        for d in sorted({r["depth"] for r in depth_rows}):
            shape = "x".join(map(str, depth_rows[0]["shape"]))
            macs = doc["macs"].get("depth|static|d%d|%s" % (d, shape))
            cells = [_cell(_find(depth_rows, "depth", m, c, w, depth=d)) for w, c, m in keys]
            L.append("| %d | %s | %s |" % (d, "%.2f" % (macs / 1e9) if macs else "—",
                                           " | ".join(cells)))
        L.append("")
        L.append("Images/s; time per image grows with multiply-adds (see the plot's right "
                 "panel: milliseconds per image against GMACs).")
        L.append("")

    batch_rows = [r for r in rows if r["case"] == "batch"]
    if batch_rows:
        L.append("## Batch sweep: ResNet-18 inference, %s" %
                 "x".join(map(str, batch_rows[0]["shape"])))
        L.append("")
        L.append("![throughput vs batch size](throughput_batch.png)")
        L.append("")
        keys = []
        for r in batch_rows:
            if (r["worker"], r["contender"]) not in keys:
                keys.append((r["worker"], r["contender"]))
        L.append("| batch | " + " | ".join(CONTENDERS[c][2] for w, c in keys) + " |")
        L.append("|---:|" + "---:|" * len(keys))
        for b in sorted({r["batch"] for r in batch_rows}):
            L.append("| %d | %s |" % (b, " | ".join(
                _cell(_find(batch_rows, "batch", "infer", c, w, batch=b)) for w, c in keys)))
        L.append("")

    prof = doc.get("profile")
    if prof:
        L.append("## Where the time goes: ResNet-%d v1b stage by stage, batch %d, %s" % (
            prof["cfg"]["depth"], prof["cfg"]["batch"], "x".join(map(str, prof["cfg"]["shape"]))))
        L.append("")
        L.append("Each stage hybridized (static_alloc, static_shape) and timed on its own "
                 "(median of 3, after 2 warm-up runs), MXNet with `OMP_NUM_THREADS=2`; "
                 "train = forward + backward (no update). Milliseconds per batch. Load "
                 "%s → %s." % (prof["load_start"]["load1"], prof["load_end"]["load1"]))
        L.append("")
        L.append("| stage | MXNet train | PyTorch train | MXNet/PyTorch | MXNet infer | "
                 "MXNet fused infer | PyTorch infer | MXNet/PyTorch (fused) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        ms, mf, te = prof["mx_static"], prof["mx_fused"], prof["torch_eager"]
        if ms.get("ok") and te.get("ok"):
            for stage in [k for k in ms if k != "ok"]:
                a, b = ms[stage], te[stage]
                f = mf.get(stage, {}).get("infer") if mf.get("ok") else None
                L.append("| %s | %.0f | %.0f | %.2f | %.0f | %s | %.0f | %s |" % (
                    stage, a["train"] * 1e3, b["train"] * 1e3, a["train"] / b["train"],
                    a["infer"] * 1e3, "%.0f" % (f * 1e3) if f else "—", b["infer"] * 1e3,
                    "%.2f" % (f / b["infer"]) if f else "—"))
        else:
            L.append("| error | %s | %s |" % (ms.get("error"), te.get("error")))
        L.append("")

    if prof and prof.get("mx_ops"):
        mo, to = prof["mx_ops"], prof["torch_ops"]
        L.append("## Single operators at %s (ResNet-18's first stage on 28x28 thumbnails)"
                 % "x".join(map(str, prof["ops_shape"])))
        L.append("")
        L.append("Each operator hybridized on its own (static_alloc, static_shape), MXNet "
                 "with `OMP_NUM_THREADS=2`; train = forward + backward (gradients of the "
                 "input and the parameters). Milliseconds, median of 5 after 2 warm-ups.")
        L.append("")
        L.append("| operator | MXNet train | PyTorch train | MXNet/PyTorch | MXNet infer | "
                 "PyTorch infer | MXNet/PyTorch |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        if mo.get("ok"):
            for name, a in mo["ops"].items():
                b = to.get("ops", {}).get(name) if to.get("ok") else None
                L.append("| %s | %.1f | %s | %s | %.1f | %s | %s |" % (
                    name, a["train"] * 1e3, "%.1f" % (b["train"] * 1e3) if b else "—",
                    "%.2f" % (a["train"] / b["train"]) if b else "—", a["infer"] * 1e3,
                    "%.1f" % (b["infer"] * 1e3) if b else "—",
                    "%.2f" % (a["infer"] / b["infer"]) if b else "—"))
        else:
            L.append("| error | %s | | | | | |" % mo.get("error"))
        L.append("")

    if doc.get("data"):
        L.append("## Data loading (Fashion-MNIST training iterator, batch 256, augmented)")
        L.append("")
        L.append("| size | images | seconds | images/s | load |")
        L.append("|---|---:|---:|---:|---:|")
        for d in doc["data"]:
            if d.get("ok"):
                L.append("| %dx%d | %d | %.2f | %s | %s |" % (
                    d["resize"], d["resize"], d["images"], d["seconds"],
                    _fmt(d["images_per_s"]), d["load"]["load1"]))
            else:
                L.append("| %s | error: %s | | | |" % (d.get("resize"), d.get("error")))
        L.append("")

    if doc["params"]:
        L.append("## The PyTorch reference is torchvision's ResNet")
        L.append("")
        L.append("| depth | torchvision (published) | reference defined here | "
                 "gluon_resnet resnetN_v1b |")
        L.append("|---:|---:|---:|---:|")
        for d, p in doc["params"].items():
            L.append("| %s | {:,} | %s | %s |".format(p["torchvision_published"]) % (
                d, "{:,}".format(p["torch_reference"]) if p["torch_reference"] else "—",
                "{:,}".format(p["gluon_resnet_v1b"]) if p["gluon_resnet_v1b"] else "—"))
        L.append("")
    L.append("Raw numbers, every repetition and the load per configuration: "
             "[throughput.json](throughput.json).")
    return "\n".join(L) + "\n"


def plots(doc, out_dir):
    rows = doc["results"]
    depth_rows = [r for r in rows if r["case"] == "depth" and r["images_per_s"]]
    batch_rows = [r for r in rows if r["case"] == "batch" and r["images_per_s"]]
    if not (depth_rows or batch_rows):
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    if depth_rows:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        keys = sorted({(r["worker"], r["contender"], r["mode"]) for r in depth_rows})
        for w, c, m in keys:
            pts = sorted((r["depth"], r["images_per_s"]) for r in depth_rows
                         if (r["worker"], r["contender"], r["mode"]) == (w, c, m))
            label = "%s, %s" % (CONTENDERS[c][2].split(" (")[0], m)
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=label)
            shape = "x".join(map(str, depth_rows[0]["shape"]))
            macs = [doc["macs"].get("depth|static|d%d|%s" % (p[0], shape)) for p in pts]
            if all(macs):
                ax2.plot([x / 1e9 for x in macs], [1000.0 / p[1] for p in pts], "o-",
                         label=label)
        ax1.set_xlabel("depth")
        ax1.set_ylabel("images/s")
        ax1.set_yscale("log")
        ax1.set_xticks(sorted({r["depth"] for r in depth_rows}))
        ax1.legend(fontsize=7)
        ax1.set_title("throughput vs depth (batch %d)" % depth_rows[0]["batch"])
        ax2.set_xlabel("GMACs per image")
        ax2.set_ylabel("ms per image")
        ax2.set_title("time per image vs multiply-adds")
        fig.tight_layout()
        path = os.path.join(out_dir, "throughput_depth.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    if batch_rows:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for w, c in sorted({(r["worker"], r["contender"]) for r in batch_rows}):
            pts = sorted((r["batch"], r["images_per_s"]) for r in batch_rows
                         if (r["worker"], r["contender"]) == (w, c))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-",
                    label=CONTENDERS[c][2].split(" (")[0])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size")
        ax.set_ylabel("images/s (inference)")
        ax.set_title("ResNet-18 inference vs batch size")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out_dir, "throughput_batch.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def write_results(doc, out_dir):
    """throughput.json, throughput.md (keeping its notes section) and the plots."""
    md_path = os.path.join(out_dir, "throughput.md")
    notes = ""
    if os.path.exists(md_path):
        text = open(md_path).read()
        if NOTES_BEGIN in text and NOTES_END in text:
            notes = text[text.index(NOTES_BEGIN):text.index(NOTES_END) + len(NOTES_END)]
    doc["targets"] = evaluate_targets(doc)
    doc["plots"] = [os.path.basename(p) for p in plots(doc, out_dir)]
    for name, text in (("throughput.json", json.dumps(doc, indent=1)),
                       ("throughput.md", markdown(doc, notes))):
        tmp = os.path.join(out_dir, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out_dir, name))
