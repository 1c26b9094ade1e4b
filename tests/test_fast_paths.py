"""benchmarks/fast_paths.py runs on tiny shapes, so it cannot rot (no timing asserted)."""
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO


@pytest.mark.slow
def test_quick_run_measures_both_loops_and_both_layouts(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "fast_paths.md").write_text("old\n<!-- notes: kept when the script rewrites "
                                       "this file -->\nmy notes\n<!-- end of notes -->\n")
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    result = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "fast_paths.py"),
                             "--quick", "--out", str(out)], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    text = (out / "fast_paths.md").read_text()
    row = re.search(r"^\| 2 \| ([0-9.]+) \([0-9.]+-[0-9.]+\) \| ([0-9.]+) \([0-9.]+-[0-9.]+\) "
                    r"\| ([+-][0-9.]+)% \|$", text, re.M)
    assert row, text
    slow, fast, gain = (float(v) for v in row.groups())
    assert slow > 0 and fast > 0
    # the gain column is the ratio of the two medians (printed rounded to 0.1)
    assert abs(gain - 100 * (fast / slow - 1)) <= 0.05 + 100 * 0.1 * (1 / slow + fast / slow ** 2)
    # NCHW runs; NHWC either runs or names MXNet's error, in both modes
    assert re.search(r"^\| NCHW \| [0-9.]+ ms \| [0-9.]+ ms \|$", text, re.M), text
    assert re.search(r"^\| NHWC \| ([0-9.]+ ms|fails: `MXNetError: .+`) \| "
                     r"([0-9.]+ ms|fails: `MXNetError: .+`) \|$", text, re.M), text
    assert "my notes" in text and not text.startswith("old")
