"""Load and save a net's weights in every format we read: MXNet's ``.params``,
safetensors (ours, torchvision's and timm's layouts), PyTorch's ``.pth`` (through torch's
``weights_only`` loader), and the published weights by name (``pretrained=True``,
``"torchvision:..."``, ``"hf-hub:..."``).

These are :func:`gluon_resnet.load_parameters` and :func:`gluon_resnet.save_parameters`;
the ``.params`` format itself is :mod:`gluon_resnet.params`'s.
"""
import os

import numpy as np

from .. import arrays, params
from ..safetensors_io import is_safetensors, read_safetensors, write_safetensors
from . import torch_hub, torch_layout

__all__ = ["load_parameters", "save_parameters", "load_pretrained"]

_TORCH_SUFFIXES = (".pth", ".pt", ".bin")


def _mx(array):
    import mxnet as mx
    return arrays.as_current(mx.nd.array(array, dtype=array.dtype))


def _read_pth(path):
    """A PyTorch ``.pth`` state_dict as numpy arrays, through ``torch.load(weights_only=
    True)``, which builds tensors and plain containers and runs no code from the file."""
    try:
        import torch
    except ImportError:
        stem = os.path.splitext(path)[0]
        raise ValueError(
            "%s is a PyTorch pickle; it is read only through torch.load(weights_only=True), "
            "and torch is not installed. Install torch, or convert the file where torch is: "
            "python -c \"import torch; from safetensors.torch import save_file; "
            "save_file(torch.load('%s', weights_only=True), '%s.safetensors')\" and load "
            "%s.safetensors" % (path, path, stem, stem)) from None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for a bad or unsafe file
        raise ValueError("%s could not be read as PyTorch weights (weights_only=True): %s"
                         % (path, str(err).splitlines()[0] if str(err) else err)) from None
    for key in ("state_dict", "model"):  # training scripts' checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(
            isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("%s does not hold a state_dict (a dict of tensors)" % path)
    return {k: (v.detach().float() if v.is_floating_point() else v).numpy()
            for k, v in state.items()}


def load_parameters(net, path, ctx=None):
    """Load weights from ``path`` into ``net``, checking every name and shape first.

    Reads, by the file's kind:

    * an MXNet ``.params`` file (``Block.save_parameters``, MXNet's and GluonCV's zoos),
      saved in either array interface (:func:`gluon_resnet.params.load_parameters`);
    * a ``.safetensors`` file with our parameter names (:func:`save_parameters`), or a
      torchvision or timm ResNet ``state_dict`` (as timm publishes them), into a net of
      the same structure (ResNetV1b nets; ``resnet18``, ``resnet34`` and the ResNeXts
      under MXNet's names); any other net is refused, and the error
      names the model that fits (e.g. ``resnet50_v1b`` for torchvision's ResNet-50);
    * a PyTorch ``.pth``/``.pt``/``.bin`` state_dict, through ``torch.load(..., weights_only
      =True)`` where torch is installed (the error says how to convert it otherwise).

    Parameters
    ----------
    net : Block
        The network to fill.
    path : str
        The file.
    ctx : Context or list of Context, optional
        Where to put the parameters; default CPU.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is unreadable or does not fit ``net``; nothing is loaded then.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError("no parameter file at %s" % path)
    if is_safetensors(path):
        state, _ = read_safetensors(path)
    elif path.endswith(_TORCH_SUFFIXES):
        state = _read_pth(path)
    else:
        return params.load_parameters(net, path, ctx=ctx)
    if any(k.endswith((".gamma", ".beta")) for k in state) or not state:
        # Our own names (BatchNorm's gamma/beta): written by save_parameters below.
        return params.load_named_arrays(net, {k: _mx(v) for k, v in state.items()}, path,
                                        ctx)
    return torch_layout.load_torch_state(net, state, path, ctx)


def save_parameters(net, path, layout=None):
    """Save ``net``'s weights to ``path`` atomically.

    Parameters
    ----------
    net : Block
        The network.
    path : str
        ``*.safetensors`` writes the safetensors format; any other name MXNet's
        ``.params`` format (:func:`gluon_resnet.params.save_parameters`).
    layout : {None, "torchvision", "timm"}, default None
        None keeps our parameter names. ``"torchvision"`` or ``"timm"`` (the same names)
        writes the ``state_dict`` those libraries' ResNets load with
        ``load_state_dict(..., strict=True)``: for ResNetV1b nets (e.g. ``resnet50_v1b``
        into ``torchvision.models.resnet50()``, ``resnet50_v1d`` into
        ``timm.create_model("resnet50d")``), and ``resnet18``, ``resnet34`` and the
        ResNeXts with the ImageNet stem. Needs a ``.safetensors`` path.
    """
    path = os.fspath(path)
    if not path.endswith(".safetensors"):
        if layout is not None:
            raise ValueError("layout=%r writes safetensors: give a path ending in "
                             ".safetensors, got %s" % (layout, path))
        return params.save_parameters(net, path)
    name = getattr(net, "model_name", None) or type(net).__name__
    metadata = {"gluon_resnet.model": name, "gluon_resnet.layout": layout or "gluon"}
    if layout is None:
        unique = {param: key for key, param in net._collect_params_with_prefix().items()}
        state = {key: torch_layout.param_array(net, param) for param, key in unique.items()}
    else:
        state = torch_layout.torch_state(net, layout)
        metadata["format"] = "pt"  # what safetensors.torch writes
    return write_safetensors(path, {k: np.asarray(v) for k, v in state.items()}, metadata)


def load_pretrained(net, name, pretrained, ctx=None, root=None):
    """``pretrained`` as the factories take it: True (the published MXNet/GluonCV
    weights), a ``torchvision:``/``hf-hub:`` name, or a path."""
    if pretrained is True:
        from .model_store import get_model_file
        return load_parameters(net, get_model_file(name, root=root), ctx=ctx)
    if torch_hub.is_hub_name(pretrained):
        fits = torch_hub.hub_models(pretrained)
        if fits is not None and name not in fits:
            raise ValueError("%s are weights of our %s; %s has another structure: use "
                             "get_model(%r, pretrained=%r)"
                             % (pretrained, " or ".join(fits), name, fits[0], pretrained))
        path, config = torch_hub.hub_file(pretrained, root=root)
        load_parameters(net, path, ctx=ctx)
        if config is not None:
            net.pretrained_cfg = config
        return net
    return load_parameters(net, pretrained, ctx=ctx)
