"""benchmarks/time_to_accuracy.py runs on a tiny configuration, so it cannot rot."""
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, is_count_of


def run_quick(tmp_path, fmnist_dir, *args):
    env = dict(os.environ, FASHION_MNIST_DIR=str(fmnist_dir))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "time_to_accuracy.py"), "--quick",
         "--run", "smoke", "--out", str(tmp_path)] + list(args),
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads((tmp_path / "time_to_accuracy.json").read_text())["runs"]["smoke"]


@pytest.mark.slow
def test_quick_run_writes_curve_table_and_plot(tmp_path, fmnist_dir):
    run = run_quick(tmp_path, fmnist_dir)
    curve = run["curve"]
    # 512 images in batches of 64, evaluated every 4 batches: at 0.5 and 1.0 epochs.
    assert [point["epoch"] for point in curve] == [0.5, 1.0]
    assert run["result"]["stopped"] == "ran 1 epochs"
    assert run["result"]["precision"] == "fp32"  # the script's default, as train() ran it
    # Training time only grows, and accuracies are fractions of the 256 test images.
    times = [point["seconds"] for point in curve]
    assert times == sorted(times) and times[-1] > 0
    # Each accuracy counts right answers among the 256 test images (a mean over batches
    # of unequal sizes would not be k/256).
    assert all(is_count_of(point["test_acc"], 256) for point in curve)
    assert "| smoke |" in (tmp_path / "time_to_accuracy.md").read_text()
    assert (tmp_path / "time_to_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_a_spent_budget_stops_training_within_the_epoch(tmp_path, fmnist_dir):
    # 0.06 s is spent in the first batch or two: train() cuts the epoch there, evaluates
    # the net as it is and returns.
    run = run_quick(tmp_path, fmnist_dir, "--minutes", "0.001")
    curve = run["curve"]
    assert len(curve) == 1 and curve[0]["epoch"] < 0.5
    assert run["result"]["stopped"] == "time budget of 0 s spent"
    assert is_count_of(curve[0]["test_acc"], 256) and curve[0]["seconds"] >= 0.06
