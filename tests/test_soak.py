"""benchmarks/soak.py runs on a tiny configuration, so it cannot rot (no memory bound is
asserted here: the benchmark's verdict is measured on 50 real epochs, see soak.md)."""
import json
import os
import subprocess
import sys

from conftest import REPO


def test_quick_soak_records_rss_after_every_epoch(tmp_path, fmnist_dir):
    env = dict(os.environ, FASHION_MNIST_DIR=str(fmnist_dir))
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "soak.py"),
                             "--quick", "--out", str(tmp_path)], capture_output=True,
                            text=True, env=env, timeout=600)
    doc = json.loads((tmp_path / "soak.json").read_text())
    assert [p["epoch"] for p in doc["points"]] == [1, 2, 3]
    assert all(100 < p["rss_mib"] < 24 * 1024 for p in doc["points"])
    assert result.returncode == (0 if doc["flat"] else 1), result.stderr[-2000:]
    text = (tmp_path / "soak.md").read_text()
    assert "ISA flags" in text and "| 3 | %.1f |" % doc["points"][2]["rss_mib"] in text
    assert (tmp_path / "soak.png").read_bytes().startswith(b"\x89PNG")
