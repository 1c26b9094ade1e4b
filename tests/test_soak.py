"""benchmarks/soak.py runs on a tiny configuration, so it cannot rot, and its check can
fail: a planted leak must be caught. The memory it records is held against the kernel's
own count of the process's peak resident memory (``wait4``'s ``ru_maxrss``). (The
50-epoch verdict is in benchmarks/results/soak.md.)"""
import json
import os
import subprocess
import sys

from conftest import REPO


def _soak(out, fmnist_dir, *extra):
    """Run the quick soak; (exit status, stdout, the kernel's peak RSS of it in MiB)."""
    env = dict(os.environ, FASHION_MNIST_DIR=str(fmnist_dir))
    with open(out / "stdout", "w+") as stdout, open(out / "stderr", "w+") as stderr:
        proc = subprocess.Popen([sys.executable, os.path.join(REPO, "benchmarks", "soak.py"),
                                 "--quick", "--out", str(out)] + list(extra),
                                stdout=stdout, stderr=stderr, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # (wait4: this process's own peak)
        code = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        assert code in (0, 1), stderr.read()[-2000:]
        return code, stdout.read(), usage.ru_maxrss / 1024.0  # KiB on Linux


def _recorded(out):
    doc = json.loads((out / "soak.json").read_text())
    assert [p["epoch"] for p in doc["points"]] == [1, 2, 3, 4]
    return doc, [p["rss_mib"] for p in doc["points"]]


def test_quick_soak_records_rss_after_every_epoch(tmp_path, fmnist_dir):
    code, stdout, peak = _soak(tmp_path, fmnist_dir)
    doc, rss = _recorded(tmp_path)
    # What it records is resident memory: never above the kernel's peak for the process
    # (virtual memory would be; the peak itself comes mid-epoch and while reading the
    # data, so it bounds from above only). The planted leak below shows that it moves
    # with what is resident.
    assert max(rss) <= 1.01 * peak + 1, (rss, peak)
    assert doc["rss_before_mib"] < rss[0]  # the net, the data and the graphs are made
    # Nothing leaks per epoch here: from epoch 2 on it holds within 10%, exit status 0.
    assert doc["flat"] is True and code == 0, (rss, stdout)
    assert max(abs(r - rss[1]) for r in rss[2:]) <= 0.1 * rss[1]
    text = (tmp_path / "soak.md").read_text()
    assert "ISA flags" in text and "| 4 | %.1f |" % rss[3] in text and "**flat**" in text
    assert (tmp_path / "soak.png").read_bytes().startswith(b"\x89PNG")


def test_a_planted_leak_is_caught(tmp_path, fmnist_dir):
    code, stdout, peak = _soak(tmp_path, fmnist_dir, "--leak-mib", "200")
    doc, rss = _recorded(tmp_path)
    # 200 MiB kept per epoch shows in every epoch's RSS, and the verdict says so.
    assert all(b - a >= 190 for a, b in zip(rss, rss[1:])), rss
    assert max(rss) <= 1.01 * peak + 1, (rss, peak)
    assert doc["flat"] is False and code == 1 and "NOT flat" in stdout, (rss, stdout)
    assert "**NOT flat**" in (tmp_path / "soak.md").read_text()
