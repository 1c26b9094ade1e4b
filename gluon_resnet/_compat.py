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
"""
import sys

import numpy as np

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


_check_numpy()
_restore_numpy_aliases()
_provide_distutils()
