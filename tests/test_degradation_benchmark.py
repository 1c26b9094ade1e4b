"""benchmarks/degradation.py runs on a tiny configuration, so it cannot rot (what it
measures is checked on real runs in benchmarks/results/degradation.md; the lab's
functions are tested against references in test_lab.py)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_quick_degradation_benchmark_writes_every_result(tmp_path, fmnist_dir):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "degradation.py"), "--quick",
         "--out", str(tmp_path), "--runs", str(tmp_path / "runs"),
         "--data-dir", str(fmnist_dir)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    doc = json.loads((tmp_path / "degradation.json").read_text())
    assert set(doc["degradation"]["results"]) == {"cifar_plain20", "cifar_resnet20",
                                                  "cifar_plain32"}
    assert set(doc["gradients_at_init"]) == {"cifar_plain20", "cifar_resnet20"}
    assert len(doc["responses_trained"]["cifar_plain20"]) == 19
    # plain-20 deepened to plain-32 with identity blocks predicts exactly as plain-20.
    [row] = doc["construction"]
    assert (row["shallow_model"], row["deep_model"]) == ("cifar_plain20", "cifar_plain32")
    assert row["constructed"] == row["shallow"]
    assert doc["machine"]["isa_flags"] is not None
    text = (tmp_path / "degradation.md").read_text()
    assert "<!-- measured: begin -->" in text and "| cifar_plain20 |" in text
    for png in ("degradation.png", "degradation_gradients.png", "degradation_responses.png"):
        assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
