"""Make MXNet 1.9.1 importable on Python 3.12 and 3.13.

MXNet 1.9.1 (the last release) was written against numpy < 1.24 and Python < 3.12.
Two things it relies on are gone on newer interpreters:

* numpy 1.24 removed the aliases ``np.bool``, ``np.int``, ``np.float``, ``np.complex``,
  ``np.object`` and ``np.str``; MXNet still uses them at import time.
* Python 3.12 removed ``distutils``; MXNet imports ``distutils.version``. setuptools
  ships a drop-in ``distutils``, which importing setuptools activates.

This module bridges both gaps and must be imported before ``mxnet``; the package's
``__init__`` does that. numpy 2 is not supported by MXNet at all, so it is refused
with a message saying what to install.

MXNet's ONNX exporter imports ``onnx.mapping``, which onnx 1.16 removed, and onnx < 1.16
has no wheels for Python 3.12+: :func:`bridge_onnx_mapping` rebuilds the two tables the
exporter reads from current onnx's own type functions (called before each export).

It also unlocks Intel AMX for MXNet's oneDNN where the CPU has it and the kernel allows
it (:mod:`gluon_resnet.cpu`), which must happen before MXNet's first operator runs.
"""
import sys

import numpy as np

from . import cpu

_NUMPY_ALIASES = {"bool": bool, "int": int, "float": float, "complex": complex,
                  "object": object, "str": str}


def _check_numpy():
    major = int(np.__version__.split(".")[0])
    if major >= 2:
        raise ImportError(
            "gluon_resnet needs MXNet 1.9.1, which works only with numpy < 2; "
            "found numpy %s. Install a supported numpy: pip install 'numpy<2'" % np.__version__)


def _restore_numpy_aliases():
    for name, builtin in _NUMPY_ALIASES.items():
        if name not in np.__dict__:
            setattr(np, name, builtin)


def _provide_distutils():
    if sys.version_info >= (3, 12):
        try:
            import setuptools  # noqa: F401  (installs its distutils shim)
        except ImportError as err:
            raise ImportError(
                "MXNet imports distutils, which Python %d.%d no longer ships; "
                "install setuptools: pip install setuptools" % sys.version_info[:2]) from err


# The tensor types onnx < 1.16's ``mapping`` tables held (its BFLOAT16 row mapped to
# float32 one way only; MXNet's exporter never writes bfloat16, so it is left out).
_ONNX_CLASSIC_TYPES = ("FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32", "INT64", "BOOL",
                       "FLOAT16", "DOUBLE", "COMPLEX64", "COMPLEX128", "UINT32", "UINT64",
                       "STRING")


def bridge_onnx_mapping():
    """Provide ``onnx.mapping`` (``TENSOR_TYPE_TO_NP_TYPE``, ``NP_TYPE_TO_TENSOR_TYPE``)
    where onnx no longer has it. Returns the module, or None without onnx."""
    try:
        import onnx
    except ImportError:
        return None
    try:
        from onnx import mapping
        return mapping
    except ImportError:
        pass
    import types

    from onnx import TensorProto, helper
    to_np = {}
    for name in _ONNX_CLASSIC_TYPES:
        code = getattr(TensorProto, name)
        to_np[code] = np.dtype(object) if name == "STRING" else np.dtype(
            helper.tensor_dtype_to_np_dtype(code))
    mapping = types.ModuleType("onnx.mapping", "onnx < 1.16's type tables, rebuilt by "
                               "gluon_resnet._compat for MXNet 1.9's ONNX exporter")
    mapping.TENSOR_TYPE_TO_NP_TYPE = to_np
    mapping.NP_TYPE_TO_TENSOR_TYPE = {dtype: code for code, dtype in to_np.items()}
    sys.modules["onnx.mapping"] = mapping
    onnx.mapping = mapping
    return mapping


def import_gluoncv():
    """Import GluonCV 0.10.5 (a reference of the tests and benchmarks) beside torch >= 2.

    GluonCV's ``__init__`` refuses any torch >= 2.0 with a RuntimeError, for its optional
    PyTorch half, even when only its MXNet half is used. That half is imported here with
    ``torch`` hidden, so its check sees no torch and skips it; torch is put back after.
    Raises ImportError when GluonCV is not installed.
    """
    if "gluoncv" in sys.modules:
        return sys.modules["gluoncv"]
    missing = object()
    torch = sys.modules.get("torch", missing)
    sys.modules["torch"] = None  # `import torch` raises ImportError while this is set
    try:
        import gluoncv
    finally:
        if torch is missing:
            del sys.modules["torch"]
        else:
            sys.modules["torch"] = torch
    return gluoncv


_check_numpy()
_restore_numpy_aliases()
_provide_distutils()
cpu.unlock_amx()
