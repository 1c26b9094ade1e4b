"""benchmarks/int8.py and bf16_variants.py run on tiny configurations, so they cannot rot (no
speed is asserted; the printed columns must follow from the measured times)."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_speed_only_run_times_every_variant(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "int8.py"), "--speed-shapes",
         "1x32x32", "--speed-model", "resnet18", "--batches", "2", "--rounds", "1"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = re.findall(r"^\| (fp32|fp32 oneDNN|int8 naive|bf16 export|bf16 optimized|onnx fp32|"
                      r"onnx-int8 naive) \| "
                      r"([0-9.]+) \| ([0-9]+) \| ([0-9.]+)x \| ([0-9.]+)x \|$",
                      result.stdout, re.M)
    expected = ["fp32", "fp32 oneDNN", "int8 naive", "bf16 export", "bf16 optimized"]
    if all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "ml_dtypes")):
        expected += ["onnx fp32", "onnx-int8 naive"]
    assert [r[0] for r in rows] == expected, result.stdout
    # Every column follows from the measured milliseconds per batch of 2: images/s is
    # 2000/ms, and the speed-ups are fp32's and fused fp32's milliseconds over the row's
    # (to the rounding of the printed figures).
    ms = {name: float(m) for name, m, _, _, _ in rows}
    assert all(v > 0 for v in ms.values()), ms

    def close(printed, exact, decimals):
        slack = 0.5 * 10 ** -decimals + abs(exact) * 0.0101 / min(ms.values())
        return abs(float(printed) - exact) <= slack

    for name, _, ips, vs_fp32, vs_fused in rows:
        assert close(ips, 2000 / ms[name], 0), (name, ips, ms[name])
        assert close(vs_fp32, ms["fp32"] / ms[name], 2), (name, vs_fp32)
        assert close(vs_fused, ms["fp32 oneDNN"] / ms[name], 2), (name, vs_fused)
    assert "1x32x32, batch 2" in result.stdout
    assert "CPU flags: " in result.stdout and "oneDNN AMX " in result.stdout


def test_it_asks_for_something_to_measure(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "int8.py")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2 and "give --run, --speed-shapes, or both" in result.stderr


@pytest.mark.slow
def test_bf16_variants_times_every_graph(tmp_path):
    """benchmarks/bf16_variants.py (what optimize_for_inference's choice rests on) runs."""
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "bf16_variants.py"), "--batches",
         "1", "--rounds", "1", "--calls", "1", "--size", "32"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    header = re.search(r"^\| ResNet-18, 3x32x32 \| (.+) \|$", result.stdout, re.M)
    assert header.group(1).split(" | ") == ["fp32 fused", "bf16", "bf16 unfolded",
                                            "bf16 fused", "convert_hybrid_block"]
    row = re.search(r"^\| batch 1 \(images/s, median of 1 rounds\) \| (.+) \|$",
                    result.stdout, re.M)
    assert all(float(v) > 0 for v in row.group(1).split(" | "))
    assert "oneDNN AMX: " in result.stdout
