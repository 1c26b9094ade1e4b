"""benchmarks/lineage.py runs on a tiny configuration, so it cannot rot (the accuracies
it measures need the chapters' schedules; the models are checked against d2l's code and
the zoos in test_lineage.py). The accuracies it reports are checked against the test's
own count of right answers from each model's checkpoint."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO


def _accuracy_of_checkpoint(run_dir, size, fmnist_dir, num_test):
    """Share of the first ``num_test`` (class-stratified) test images that the net saved
    in ``run_dir`` classifies right, counted here from its logits."""
    from gluon_resnet.data import load_data_fashion_mnist
    from gluon_resnet.training import load_checkpoint
    net, _ = load_checkpoint(str(run_dir))
    _, test_iter = load_data_fashion_mnist(num_test, resize=None if size == 28 else size,
                                           root=str(fmnist_dir), num_train=1,
                                           num_test=num_test)
    right = seen = 0
    for X, y in test_iter:
        predicted = np.argmax(net(X).asnumpy(), axis=1)
        right += int((predicted == y.asnumpy()).sum())
        seen += len(predicted)
    assert seen == num_test
    return right, seen


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
    # Each reported accuracy is what the trained net scores: k right of the 32 images.
    assert doc["num_test"] == 32
    for name, r in results.items():
        right, seen = _accuracy_of_checkpoint(tmp_path / "runs" / name, r["input"][-1],
                                              fmnist_dir, doc["num_test"])
        assert r["test_acc"] == pytest.approx(right / seen, abs=1e-9), (name, right)
        assert r["history"]["test_acc"][-1] == r["test_acc"]
    # Run again: every model is read back from its checkpoint, not trained again.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    redo = json.loads((tmp_path / "lineage.json").read_text())["results"]
    for name in results:
        assert redo[name]["history"] == results[name]["history"]
    assert "| d2l_lenet | 1x28x28 | 0.06 M | 0.4 M | 64 | 1 | 0.9 | 256 |" in (tmp_path / "lineage.md").read_text()
    assert (tmp_path / "lineage.png").read_bytes().startswith(b"\x89PNG")
