"""The notebook runs end to end on a small configuration, so it cannot rot."""
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO, is_count_of

NOTEBOOK = os.path.join(REPO, "notebooks", "fashion_mnist_resnet.ipynb")


@pytest.mark.slow
def test_notebook_runs_and_learns(tmp_path, monkeypatch, fmnist_dir):
    monkeypatch.setenv("GLUON_RESNET_NB_QUICK", "1")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = {i: "".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                          for o in cell.get("outputs", []))
               for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
    text = "\n".join(outputs.values())
    # d2l's shapes for the residual block.
    assert "(4, 3, 6, 6)" in text and "(4, 6, 3, 3)" in text
    # The summary's totals for ResNet-18 with one input channel and ten classes.
    assert "Total params: 11,175,370" in text
    # Training printed d2l's lines, and the net learned far above chance (0.1).
    assert "examples/sec on cpu(0)" in text
    acc_cell = [t for t in outputs.values() if t.startswith("(")][-1]
    test_acc, evaluated = eval(acc_cell)
    assert test_acc >= 0.6 and abs(test_acc - evaluated) < 1e-6
    # Plots were drawn (the image grid, the live plot, the predictions).
    images = sum("image/png" in o.get("data", {}) for c in nb.cells
                 for o in c.get("outputs", []))
    assert images >= 3
    assert "max difference:" in text


@pytest.mark.slow
def test_numpy_mode_notebook_runs_d2l_and_the_library(tmp_path, monkeypatch, fmnist_dir):
    """d2l's chapter in numpy mode: needs the d2l package (see test_d2l.py)."""
    from test_d2l import REQUIRED
    try:
        import d2l  # noqa: F401
    except ImportError:
        if REQUIRED:
            pytest.fail("d2l is not installed; `make test` installs it")
        pytest.skip("d2l is not installed (pip install --no-deps d2l==0.17.6)")
    monkeypatch.setenv("GLUON_RESNET_NB_QUICK", "1")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))
    nb = nbformat.read(os.path.join(REPO, "notebooks", "d2l_resnet_numpy.ipynb"), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = ["".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                       for o in cell.get("outputs", []))
               for cell in nb.cells if cell.cell_type == "code"]
    text = "\n".join(outputs)
    # The chapter's shapes, in numpy mode (mx.np arrays in, out and from the data).
    assert "(4, 3, 6, 6)" in text and "(4, 6, 3, 3)" in text
    assert "output shape:\t (1, 512, 7, 7)" in text and "output shape:\t (1, 10)" in text
    assert "mxnet.numpy.ndarray" in text
    # d2l's Residual and ours computed the same; the export gave the net's outputs.
    diffs = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if "max difference:" in line]
    assert len(diffs) == 2 and max(diffs) < 1e-4
    assert "ndarray max difference:" in text
    # Both trainings learned far above chance (0.1): d2l's printed line, then ours.
    d2l_acc = float(re.search(r"test acc ([0-9.]+)\n[0-9.]+ examples/sec", text).group(1))
    test_acc, ours, theirs = eval([t for t in outputs if t.startswith("(0.")][-1])
    assert d2l_acc >= 0.4 and test_acc >= 0.4
    assert abs(test_acc - ours) < 1e-6 and abs(test_acc - theirs) < 1e-3


@pytest.mark.slow
def test_why_residuals_work_notebook_shows_the_claims(tmp_path, monkeypatch, fmnist_dir):
    monkeypatch.setenv("GLUON_RESNET_NB_QUICK", "1")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))
    nb = nbformat.read(os.path.join(REPO, "notebooks", "why_residuals_work.ipynb"),
                       as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join("".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                             for o in cell.get("outputs", []))
                     for cell in nb.cells if cell.cell_type == "code")
    assert "mxnet.numpy.ndarray" in text  # numpy mode throughout
    # Option A adds no parameter to the plain net's; B and C add projections.
    counts = dict(re.findall(r"(\(no shortcut\)|\{'shortcut': '[ABC]'\})\s+([\d,]+) param", text))
    assert counts["(no shortcut)"] == counts["{'shortcut': 'A'}"] != counts["{'shortcut': 'B'}"]
    # Claim 1: the plain-56 gradient ratio (stem / last stage) dwarfs the residual one.
    ratios = dict(re.findall(r"(cifar_\w+)\s+gradient RMS: .* ratio\s+([\d.]+)", text))
    assert float(ratios["cifar_plain56"]) > 10 * float(ratios["cifar_resnet56"])
    # Claim 3: plain-56's gradients are shattered, residual-56's are not.
    corr = {m: [float(v) for v in vals.split(", ")] for m, vals in
            re.findall(r"(cifar_\w+)\s+correlation at distance \[.*?\]: (.*)", text)}
    assert corr["cifar_plain56"][1] < 0.2 < corr["cifar_resnet56"][1]
    # The constructed deep net computes what the shallow one does.
    diff = float(re.search(r"max difference: (\S+)", text).group(1))
    assert diff < 1e-4
    assert "cifar_plain56 (from scratch)" in text
    images = sum("image/png" in o.get("data", {}) for c in nb.cells
                 for o in c.get("outputs", []))
    assert images >= 4


@pytest.mark.slow
def test_lineage_notebook_shows_each_idea_and_trains_every_d2l_form(tmp_path, monkeypatch,
                                                                    fmnist_dir):
    monkeypatch.setenv("GLUON_RESNET_NB_QUICK", "1")
    monkeypatch.setenv("FASHION_MNIST_DIR", str(fmnist_dir))
    nb = nbformat.read(os.path.join(REPO, "notebooks", "lineage.ipynb"), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join("".join(o.get("text", "") or str(o.get("data", {}).get("text/plain", ""))
                             for o in cell.get("outputs", []))
                     for cell in nb.cells if cell.cell_type == "code")
    assert "Total params: 61,706" in text                       # LeNet
    # VGG's argument: 64 -> 64 channels, 5x5 = 64*64*25 + 64; two 3x3 = 2*(64*64*9 + 64).
    assert "one 5x5: 102464 parameters; two 3x3: 73856" in text
    assert "output: (1, 256, 28, 28)" in text                   # Inception 3a
    # Inception's 1x1 reductions: the whole block costs less than its 3x3 and 5x5 paths
    # would without them.
    without = int(re.search(r"straight from 192 channels: (\d+) M", text).group(1))
    with_ = int(re.search(r"with its 1x1 reductions:\s+(\d+) M", text).group(1))
    assert with_ < without
    assert "(4, 23, 8, 8)" in text                              # d2l's DenseBlock example
    accs = re.findall(r"(d2l_\w+)\s+test accuracy ([0-9.]+)", text)
    assert [n for n, _ in accs] == ["d2l_lenet", "d2l_alexnet", "d2l_vgg11", "d2l_nin",
                                    "d2l_googlenet", "d2l_resnet18", "d2l_densenet"]
    # The quick run tests on 128 images: each printed accuracy (3 decimals) is k/128
    # for a whole k, which a miscount (another denominator, a mean of batch means over a
    # short last batch, the training accuracy) would miss.
    for name, printed in accs:
        assert is_count_of(float(printed), 128, decimals=3), (name, printed)
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
