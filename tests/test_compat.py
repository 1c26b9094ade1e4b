"""gluon_resnet imports MXNet 1.9.1 on Python 3.9-3.13 (make test runs this file on 3.11
and on 3.12 or 3.13)."""
import subprocess
import sys

import numpy as np
import pytest

from gluon_resnet import _compat


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_fresh_interpreter_imports_and_runs_a_net():
    result = _run("import gluon_resnet, mxnet as mx, numpy as np, sys\n"
                  "assert np.bool is bool and np.object is object\n"
                  "net = gluon_resnet.cifar_resnet20()\n"
                  "print(sys.version_info[:2], mx.__version__, net(mx.nd.ones((1, 3, 8, 8))).shape)")
    assert result.returncode == 0, result.stderr
    assert "1.9.1 (1, 10)" in result.stdout


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the gaps exist on Python 3.12+")
def test_mxnet_alone_fails_where_the_shim_is_needed():
    """Without the shim, MXNet cannot be imported on 3.12+ with numpy 1.26: proof that
    the bridge is what makes the package work there."""
    result = _run("import mxnet")
    assert result.returncode != 0
    assert "has no attribute" in result.stderr or "distutils" in result.stderr


def test_numpy_2_is_refused_with_instructions(monkeypatch):
    monkeypatch.setattr(np, "__version__", "2.1.0")
    with pytest.raises(ImportError, match=r"numpy < 2; found numpy 2\.1\.0.*pip install 'numpy<2'"):
        _compat._check_numpy()


def test_aliases_are_the_builtins():
    # the aliases numpy 1.20 deprecated and 1.24 removed (its release notes), which MXNet
    # 1.9.1 still uses: written here, not read from the shim's table
    removed = {"bool": bool, "int": int, "float": float, "complex": complex,
               "object": object, "str": str}
    for name, builtin in removed.items():
        assert getattr(np, name) is builtin, name
