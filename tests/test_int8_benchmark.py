"""benchmarks/int8.py runs on a tiny configuration, so it cannot rot (no timing asserted)."""
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
    rows = re.findall(r"^\| (fp32|fp32 oneDNN|int8 naive|bf16 export|bf16 fused|onnx fp32|"
                      r"onnx-int8 naive) \| "
                      r"([0-9.]+) \| ([0-9]+) \| ([0-9.]+)x \| ([0-9.]+)x \|$",
                      result.stdout, re.M)
    expected = ["fp32", "fp32 oneDNN", "int8 naive", "bf16 export", "bf16 fused"]
    if all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "ml_dtypes")):
        expected += ["onnx fp32", "onnx-int8 naive"]
    assert [r[0] for r in rows] == expected, result.stdout
    assert all(float(r[1]) > 0 for r in rows)
    assert rows[0][3] == "1.00" and rows[1][4] == "1.00"  # each baseline against itself
    assert "1x32x32, batch 2" in result.stdout
    assert "CPU flags: " in result.stdout and "oneDNN AMX " in result.stdout


def test_it_asks_for_something_to_measure(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "int8.py")],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 2 and "give --run, --speed-shapes, or both" in result.stderr
