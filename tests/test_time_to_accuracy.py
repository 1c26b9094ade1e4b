"""benchmarks/time_to_accuracy.py runs on a tiny configuration, so it cannot rot."""
import json
import os
import subprocess
import sys

from conftest import REPO


def test_quick_run_writes_curve_table_and_plot(tmp_path, fmnist_dir):
    env = dict(os.environ, FASHION_MNIST_DIR=str(fmnist_dir))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "time_to_accuracy.py"), "--quick",
         "--run", "smoke", "--out", str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    runs = json.loads((tmp_path / "time_to_accuracy.json").read_text())
    curve = runs["runs"]["smoke"]["curve"]
    assert len(curve) >= 2
    # Training time only grows, and accuracies are fractions of the 256 test images.
    times = [point["seconds"] for point in curve]
    assert times == sorted(times) and times[-1] > 0
    assert all(0 <= point["test_acc"] <= 1 for point in curve)
    assert "| smoke |" in (tmp_path / "time_to_accuracy.md").read_text()
    assert (tmp_path / "time_to_accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
