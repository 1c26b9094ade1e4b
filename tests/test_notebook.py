"""The notebook runs end to end on a small configuration, so it cannot rot."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOK = os.path.join(REPO, "notebooks", "fashion_mnist_resnet.ipynb")


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
