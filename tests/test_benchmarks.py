"""benchmarks/throughput.py: the quick run writes its JSON, markdown and plots.

No speed is asserted (the machine may be busy). What is checked is that the numbers
are what they say: every contender ran, a forward pass times faster than a training
step, the multiply-adds match MXNet's own zoo net counted here, and the compute-ceiling
table follows from the timed matrix products and the measured images/s.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

import _torch_ref
from _published import zoo_counts
from conftest import REPO

SCRIPT = os.path.join(REPO, "benchmarks", "throughput.py")

# Several worker processes each import MXNet (about a minute), so the Python 3.12+ run of
# `make test` leaves this file to the main run.
pytestmark = pytest.mark.slow


def _load_module(name="throughput"):
    """benchmarks/NAME.py (the script and its parts import each other from benchmarks/)."""
    sys.path.insert(0, os.path.dirname(SCRIPT))
    try:
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(os.path.dirname(SCRIPT), name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.dirname(SCRIPT))
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("throughput")
    proc = subprocess.run([sys.executable, SCRIPT, "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    with open(out / "throughput.json") as f:
        doc = json.load(f)
    return out, doc


def test_json_has_the_expected_keys(quick_run):
    _, doc = quick_run
    for key in ("date", "command", "machine", "versions", "load_start", "load_end",
                "results", "memory", "macs", "params", "targets"):
        assert key in doc, key
    assert doc["quick"] is True
    assert doc["machine"]["cpus"] >= 1
    assert doc["load_start"]["load1"] >= 0


def test_every_mxnet_contender_ran_with_positive_throughput(quick_run):
    _, doc = quick_run
    mx_rows = [r for r in doc["results"] if r["worker"].startswith("mx")]
    ran = {(r["case"], r["contender"], r["mode"]) for r in mx_rows}
    for expected in [("fmnist28", "static", "train"), ("fmnist28", "imperative", "train"),
                     ("fmnist28", "zoo", "train"), ("fmnist28", "static", "infer"),
                     ("fmnist28", "mkldnn", "infer"), ("fmnist28", "int8", "infer"),
                     ("fmnist28", "onnx", "infer"), ("fmnist28", "onnx8", "infer"),
                     ("depth", "static", "train"), ("batch", "static", "infer")]:
        assert expected in ran, expected
    for r in mx_rows:
        assert r["error"] is None, r
        assert r["reps"] == 1 and len(r["samples"]) == 1, r
    # What was timed is what the row says: a forward pass alone goes faster than a
    # training step (forward, backward, update) of the same net, batch and input, for
    # every contender timed both ways (a swapped or mislabelled mode would cross this).
    by = {(r["case"], r["contender"], r["mode"]): r["images_per_s"] for r in mx_rows}
    both = [(c, k) for c, k, m in by if m == "train" and (c, k, "infer") in by]
    assert both
    for case, contender in both:
        assert by[case, contender, "infer"] > by[case, contender, "train"], (case, contender)


def test_torch_rows_ran_or_say_not_installed(quick_run):
    _, doc = quick_run
    rows = [r for r in doc["results"] if r["worker"] == "torch"]
    assert rows
    if importlib.util.find_spec("torch") is None:
        assert all("not installed" in r["error"] for r in rows)
        assert all(r["images_per_s"] is None for r in rows)
    else:
        # PyTorch ran every case, so every row that ran has a ratio to PyTorch eager.
        assert all(r["error"] is None and r["images_per_s"] > 0 for r in rows)
        ran = [r for r in doc["results"] if r["images_per_s"]]
        assert all(r["vs_torch_eager"] is not None for r in ran)
        eager = [r for r in rows if r["contender"] == "torch"]
        assert eager and all(r["vs_torch_eager"] == 1.0 for r in eager)


def test_memory_macs_and_parameter_counts(quick_run):
    _, doc = quick_run
    mem = [m for m in doc["memory"] if m["worker"] == "mx-omp2"]
    assert mem and all(m["ok"] and m["peak_mb"] > m["import_mb"] > 0 for m in mem)
    assert doc["macs"] and all(v > 0 for v in doc["macs"].values() if v is not None)
    assert doc["params"]["18"]["gluon_resnet_v1b"] == 11689512


def _ceiling_rows(text):
    """The compute-ceiling table's rows: (case, mode, label, threads, img/s, GFLOP/s,
    percent, bf16?)."""
    section = text.split("## Compute ceiling", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and cells[0] not in ("case", "---"):
            pct = re.fullmatch(r"(\d+)%( \(bf16\))?", cells[6])
            rows.append((cells[0], cells[1], cells[2], cells[3],
                         float(cells[4].replace(",", "")), float(cells[5].replace(",", "")),
                         int(pct.group(1)), bool(pct.group(2))))
    return rows


def test_compute_ceiling_is_measured_and_used(quick_run):
    out, doc = quick_run
    peak = doc["peak"]
    assert peak["n"] == 256 and peak["mx"]["ok"]
    # Each ceiling is a timed product: 2 n^3 floating-point operations in its seconds.
    for key in ("mx", "torch", "mx_bf16", "torch_bf16"):
        p = peak.get(key)
        if p and p.get("ok"):
            assert p["seconds"] > 0
            assert p["gflops"] == pytest.approx(2 * 256 ** 3 / p["seconds"] / 1e9, rel=1e-6)
    ceilings = {low: max(peak[k]["gflops"] for k in keys if peak.get(k, {}).get("ok"))
                for low, keys in ((False, ("mx", "torch")), (True, ("mx_bf16", "torch_bf16")))
                if any(peak.get(k, {}).get("ok") for k in keys)}
    text = (out / "throughput.md").read_text()
    assert "## Compute ceiling: fp32 matrix product, 256x256" in text
    # The net's multiply-adds, against MXNet's own zoo ResNet-18 (thumbnail, 10 classes)
    # counted from its symbol: the same convolutions and dense layer.
    _, macs = zoo_counts("resnet18_v1", (1, 1, 16, 16), thumbnail=True, classes=10)
    assert doc["macs"]["fmnist28|static|d18|1x16x16"] == macs
    rows = [r for r in _ceiling_rows(text) if r[0] == "fmnist28"]
    static = [r for r in doc["results"] if r["case"] == "fmnist28"
              and r["contender"] == "static" and r["worker"] == "mx-omp2"]
    labels = {(r[1], r[2], r[3]) for r in rows}
    for r in static:  # the static rows are there, for training and inference
        assert (r["mode"], r["label"], "OMP_NUM_THREADS=2") in labels, r["mode"]
    # Each row's GFLOP/s is its images/s times 2 x the multiply-adds (3 times that for a
    # training step), and its share of the ceiling uses the faster product's GFLOP/s.
    # The cells are rounded (1 decimal below 100, none from 100): compare as intervals.
    def half_unit(v):
        return 0.5 if v >= 100 else 0.05

    for case, mode, label, threads, ips, gflops, pct, low in rows:
        flops = (3 if mode == "train" else 1) * 2 * macs / 1e9
        lo, hi = flops * (ips - half_unit(ips)), flops * (ips + half_unit(ips))
        assert lo - half_unit(gflops) <= gflops <= hi + half_unit(gflops), (mode, label)
        g_lo, g_hi = gflops - half_unit(gflops), gflops + half_unit(gflops)
        assert (100 * g_lo / ceilings[low] - 0.5 <= pct
                <= 100 * g_hi / ceilings[low] + 0.5), (mode, label, pct)


def test_markdown_and_plots(quick_run):
    out, doc = quick_run
    text = (out / "throughput.md").read_text()
    assert text.startswith("# Training and inference throughput (--quick)")
    for needle in ("Load average", "## fmnist28", "## Depth sweep", "## Batch sweep",
                   "throughput_depth.png", "throughput_batch.png", "MXNet 1.9.1"):
        assert needle in text, needle
    for name in ("throughput_depth.png", "throughput_batch.png"):
        assert (out / name).stat().st_size > 1000


def test_notes_survive_a_rewrite(tmp_path):
    module = _load_module("throughput_report")
    md = tmp_path / "throughput.md"
    md.write_text("old\n%s\nkeep me\n%s\nold\n" % (module.NOTES_BEGIN, module.NOTES_END))
    minimal = dict(date="d", command="c", quick=True, ctx="cpu", machine={}, versions={},
                   load_start=dict(load1=0, load5=0, load15=0),
                   load_end=dict(load1=0, load5=0, load15=0), competitors_start=[],
                   results=[], memory=[], loads={}, profile={}, data=[], macs={}, params={},
                   wall_s=1.0)
    module.write_results(minimal, str(tmp_path))
    text = md.read_text()
    assert "keep me" in text and "old" not in text


@pytest.mark.parametrize("depth", [18, 50])
def test_torch_reference_matches_torchvision_parameter_count(depth):
    """The benchmarks' PyTorch contender is torchvision's ResNet: the same parameters,
    names and shapes as torchvision's own model code, and its published count."""
    tv = _torch_ref.torchvision()
    module = _load_module("throughput_cases")
    net = module.torch_resnet(depth)
    ref = getattr(tv.models, "resnet%d" % depth)()
    shapes = lambda m: {k: tuple(v.shape) for k, v in m.state_dict().items()}  # noqa: E731
    assert shapes(net) == shapes(ref)
    count = sum(p.numel() for p in net.parameters())
    assert count == sum(p.numel() for p in ref.parameters()) == module.TORCHVISION_PARAMS[depth]


def test_the_package_never_imports_torch():
    code = ("import sys; import gluon_resnet, gluon_resnet.training, gluon_resnet.deploy, "
            "gluon_resnet.models, gluon_resnet.data, gluon_resnet.lab, gluon_resnet.cli; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert out.stdout.strip() == "False", out.stderr[-1000:]


def test_unknown_case_is_an_error():
    proc = subprocess.run([sys.executable, SCRIPT, "--cases", "nope"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "unknown case" in proc.stderr


def test_onednn_profile_sums_both_log_formats_between_the_markers():
    module = _load_module("onednn_profile")
    lines = [
        "dnnl_verbose,exec,cpu,convolution,jit:avx512_core_amx_bf16,forward_training,x,y,2.5",
        module.START,
        "dnnl_verbose,exec,cpu,convolution,jit:avx512_core_amx_bf16,forward_training,x,y,1.5",
        "dnnl_verbose,create:cache_miss,cpu,convolution,jit,forward_training,x,y,9.0",
        "onednn_verbose,primitive,exec,cpu,reorder,jit:uni,undef,src,dst,,,0.25",
        "dnnl_verbose,exec,cpu,convolution,jit:avx512_core_amx_bf16,forward_training,x,y,0.5",
        "epoch 1: not a log line,exec,1",
        module.END + ' {"seconds": 0.004}',
        "dnnl_verbose,exec,cpu,convolution,jit:avx512_core_amx_bf16,forward_training,x,y,7.0",
    ]
    by_kind, wall = module.parse(lines)
    assert wall == 0.004
    assert dict(by_kind) == {
        ("convolution", "forward_training", "jit:avx512_core_amx_bf16"): [2.0, 2],
        ("reorder", "undef", "jit:uni"): [0.25, 1]}


def test_onednn_profile_of_an_inference_batch_finds_the_convolutions(tmp_path):
    """The real log of a tiny fp32 inference run: the forward convolutions are found
    (ResNet-18 has 20), and the step's time covers the primitives' time."""
    script = os.path.join(REPO, "benchmarks", "onednn_profile.py")
    proc = subprocess.run([sys.executable, script, "--mode", "infer", "--size", "32",
                           "--batch-size", "2", "--steps", "1", "--contenders", "mx:static",
                           "--out", str(tmp_path)], capture_output=True, text=True,
                          cwd=REPO, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(tmp_path / "onednn_profile_infer.json") as f:
        result = json.load(f)["results"]["mx:static"]
    convs = [x for x in result["primitives"] if x["kind"] == "convolution"]
    assert convs and all(x["prop"].startswith("forward") for x in convs)
    assert sum(x["calls_per_step"] for x in convs) == 20
    inside = sum(x["ms_per_step"] for x in result["primitives"])
    assert 0 < inside <= result["wall_ms_per_step"]
    text = (tmp_path / "onednn_profile_infer.md").read_text()
    assert text.startswith("# oneDNN operator profile: ResNet-18 inference batch, batch 2")


def test_the_demo_case_measures_make_demos_workload():
    """`--cases demo` is ResNet-18 on 1x32x32 Fashion-MNIST at batch 128, as the Makefile's
    demo trains it (read from the Makefile, so the two cannot drift apart)."""
    import re
    with open(os.path.join(REPO, "Makefile")) as f:
        demo = re.search(r"^demo:.*?\n((?:\t.*\n)+)", f.read(), re.M).group(1)
    train = demo.split("\n\t$(PY) -m gluon_resnet export")[0]
    opts = dict(re.findall(r"--(model|resize|batch-size) (\S+)", train))
    assert "--thumbnail" not in train  # the standard stem, as the benchmark's net
    cases = _load_module("throughput_cases")
    (cfg,) = cases.demo_cases()["demo"]
    assert "resnet%d" % cfg["depth"] == opts["model"]
    assert cfg["shape"] == [1, int(opts["resize"]), int(opts["resize"])]
    assert cfg["batch"] == int(opts["batch-size"]) and cfg["classes"] == 10
    assert set(cfg["modes"]) == {"train", "infer"}
    assert {"hybrid", "bf16", "auto"} <= set(cfg["contenders"]["mx-omp2"])  # hybrid: the default
    assert set(cfg["contenders"]["torch"]) == {"torch", "bf16cl"}
    assert "demo" in cases.EXTRA_CASES
