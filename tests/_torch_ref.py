"""PyTorch, torchvision and timm as test references (the ``test`` extra installs them on
Python 3.11; there is no CPU wheel of torch 2.13 for 3.12+ on the build machines, so the
suite's second run skips these tests).

The registry's torchvision wheels are CUDA builds whose C++ operators (``torchvision::nms``
and the other detection ops) do not load beside the CPU build of torch, and torchvision's
``__init__`` then fails registering their meta kernels. The models are pure Python and
need none of them: the two registration modules are replaced by empty ones before
torchvision is imported, and timm (which imports torchvision) then imports too.
"""
import sys
import types

import pytest


def _needed():
    """On Python 3.11 the references are installed by the test extra: missing fails."""
    return sys.version_info < (3, 12)


def torch():
    """``torch``, or skip (Python 3.12+ only)."""
    if not _needed():
        return pytest.importorskip("torch")
    import torch
    return torch


def torchvision():
    """``torchvision`` with its C++ operators left out (see the module docstring)."""
    torch()
    for name in ("torchvision._meta_registrations", "torchvision._autograd_registrations"):
        sys.modules.setdefault(name, types.ModuleType(name))
    if not _needed():
        return pytest.importorskip("torchvision")
    import torchvision
    return torchvision


def timm():
    """``timm`` (imports torchvision, so that goes first)."""
    torchvision()
    if not _needed():
        return pytest.importorskip("timm")
    import timm
    return timm
