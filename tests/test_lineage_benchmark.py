"""benchmarks/lineage.py runs on a tiny configuration, so it cannot rot (the accuracies
it measures need the chapters' schedules; the models are checked against d2l's code and
the zoos in test_lineage.py)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_quick_lineage_benchmark_trains_resumably_and_writes_results(tmp_path, fmnist_dir):
    cmd = [sys.executable, os.path.join(REPO, "benchmarks", "lineage.py"), "--quick",
           "--out", str(tmp_path), "--runs", str(tmp_path / "runs"),
           "--data-dir", str(fmnist_dir)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads((tmp_path / "lineage.json").read_text())
    results = doc["results"]
    assert list(results) == ["d2l_lenet", "d2l_resnet18"]
    # The d2l LeNet: 61,706 parameters, 0.42 M multiply-adds at 28x28 (as summary counts).
    assert results["d2l_lenet"]["params"] == 61706
    assert results["d2l_lenet"]["macs"] == 416520
    assert results["d2l_lenet"]["lr"] == 0.9 and results["d2l_lenet"]["batch_size"] == 256
    assert 0 <= results["d2l_resnet18"]["test_acc"] <= 1
    # Run again: every model is read back from its checkpoint, not trained again.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    redo = json.loads((tmp_path / "lineage.json").read_text())["results"]
    for name in results:
        assert redo[name]["history"] == results[name]["history"]
    assert "| d2l_lenet | 1x28x28 | 0.06 M | 0.4 M | 64 | 1 | 0.9 | 256 |" in (tmp_path / "lineage.md").read_text()
    assert (tmp_path / "lineage.png").read_bytes().startswith(b"\x89PNG")
