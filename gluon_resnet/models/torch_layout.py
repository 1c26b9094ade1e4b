"""torchvision's and timm's ResNet ``state_dict`` layout, to and from our nets.

torchvision's and timm's ResNets are "ResNet v1.5" (the stride on the bottleneck's 3x3),
which is GluonCV's ``resnetv1b`` structure and ours (:class:`~gluon_resnet.ResNetV1b`),
child for child: ``conv1`` (or timm's deep stem ``conv1.0/1/3/4/6``), ``bn1``,
``layer1.0.conv1``, ``layer1.0.downsample.0`` (timm's ResNet-D: ``.0`` the pooling,
``.1`` the convolution, ``.2`` the BN), ``fc``. Only BatchNorm's fields are named
differently (``weight``/``bias`` for our ``gamma``/``beta``), and PyTorch keeps a
``num_batches_tracked`` counter we have no use for. Convolution (OIHW) and dense
(out, in) weights are laid out alike.

MXNet's ``resnet18`` and ``resnet34`` (ImageNet stem) and GluonCV's ResNeXts compute what
torchvision's ``resnet18``, ``resnet34`` and ``resnext50_32x4d`` do, under MXNet's names
(``features.4.0.body.0`` for ``layer1.0.conv1``): they are mapped too.

A state of another structure does not load: what it is is read off its names and
shapes (:func:`describe`), and the error names the registered model that has it. The
trap is MXNet's v1 ``resnet50``: a torchvision ResNet-50 has exactly its shapes, but v1
strides on the 1x1 and computes something else; the error says ``resnet50_v1b``.
"""
import re

import numpy as np

from .. import arrays
from ..params import load_named_arrays

__all__ = ["describe", "torch_state", "param_array", "supports", "load_torch_state", "from_torch_names",
           "matching_models", "LAYOUTS"]

# The net classes whose structure can be torchvision's, and the spec table to find a
# model by structure in: given by gluon_resnet.models.resnet when it is imported (it
# imports this module; this one cannot import it back without a cycle through the
# builders). ResNetV1b is torchvision's name for name; ResNetV1 (MXNet's names) is its
# computation with the ImageNet stem and basic blocks, or bottlenecks that stride on the
# 3x3 without biases (GluonCV's ResNeXt), under other names (_v1_names).
_NETS = {"v1b": None, "v1": None, "specs": {}}


def register_structures(v1b_class, v1_class, specs):
    """Declare the ResNetV1b and ResNetV1 classes and the spec table of their models."""
    _NETS.update(v1b=v1b_class, v1=v1_class, specs=specs)


def _v1_problem(net):
    """Why a ResNetV1 net has no torchvision counterpart, or None if it has one."""
    if getattr(net, "stem", None) != "imagenet":
        return "its %r stem is not torchvision's (7x7 conv, BN, max-pool)" % net.stem
    for stage in list(net.features._children.values())[4:-1]:
        for block in stage._children.values():
            body = list(block.body._children.values())
            if getattr(block, "shortcut", "B") != "B":
                return "its shortcut %r is not torchvision's projection" % block.shortcut
            if len(body) == 8 and (body[0]._kwargs["stride"] != (1, 1)
                                   or body[0].bias is not None):
                return ("MXNet's v1 bottleneck strides on the 1x1, which has a bias: the "
                        "same shapes as torchvision's, another computation")
    return None


def _supported(net):
    """None if ``net`` maps to torchvision's layout, else why not."""
    if _NETS["v1b"] is not None and isinstance(net, _NETS["v1b"]):
        return None
    if _NETS["v1"] is not None and isinstance(net, _NETS["v1"]):
        return _v1_problem(net)
    return "it is a %s" % type(net).__name__


def supports(net):
    """Whether ``net``'s weights can be written in (and read from) torchvision's layout."""
    return _supported(net) is None


#: The layouts :func:`torch_state` writes (the same names in both libraries).
LAYOUTS = ("torchvision", "timm")
_BN_TO_TORCH = {"gamma": "weight", "beta": "bias", "running_mean": "running_mean",
                "running_var": "running_var"}
_BN_FROM_TORCH = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean",
                  "running_var": "running_var"}


def _check_net(net, doing):
    problem = _supported(net)
    if problem is not None:
        name = getattr(net, "model_name", None) or type(net).__name__
        raise ValueError(
            "%s: torchvision's and timm's layout is that of the ResNetV1b nets (*_v1b, "
            "*_v1c, *_v1d, *_v1s, *_v1e, wide_resnet*, resnext101_32x8d/64x4d) and of "
            "resnet18, resnet34 and the ResNeXts; not %s: %s" % (doing, name, problem))


def _bn_names(net):
    """Our structural names of every BatchNorm's parameters -> the BN's name."""
    from mxnet.gluon import nn
    out = {}

    def walk(block, prefix):
        for child_name, child in block._children.items():
            full = prefix + child_name
            if isinstance(child, nn.BatchNorm):
                for field in _BN_TO_TORCH:
                    out["%s.%s" % (full, field)] = full
            walk(child, full + ".")
    walk(net, "")
    return out


_V1_BODY = {2: None, 5: ["conv1", "bn1", None, "conv2", "bn2"],
            8: ["conv1", "bn1", None, "conv2", "bn2", None, "conv3", "bn3"]}


def _v1_names(net):
    """``{our structural prefix: torchvision's}`` for a ResNetV1 net's layers."""
    out = {"features.0": "conv1", "features.1": "bn1", "output": "fc"}
    stages = list(net.features._children.items())[4:-1]
    for i, (stage_key, stage) in enumerate(stages):
        for j, (block_key, block) in enumerate(stage._children.items()):
            ours, theirs = "features.%s.%s" % (stage_key, block_key), "layer%d.%d" % (i + 1, j)
            names = _V1_BODY[len(block.body)]
            for k, name in enumerate(names):
                if name:
                    out["%s.body.%d" % (ours, k)] = "%s.%s" % (theirs, name)
            out[ours + ".downsample"] = theirs + ".downsample"
    return out


def _to_torch_names(net):
    """``{our structural name: torch name}`` for every parameter of ``net`` (which
    :func:`supports`)."""
    bn = _bn_names(net)
    prefixes = {} if isinstance(net, _NETS["v1b"]) else _v1_names(net)
    out = {}
    for name in net._collect_params_with_prefix():
        layer, field = name.rsplit(".", 1)
        if name in bn:
            field = _BN_TO_TORCH[field]
        if prefixes:
            head = next(p for p in sorted(prefixes, key=len, reverse=True)
                        if layer == p or layer.startswith(p + "."))
            layer = prefixes[head] + layer[len(head):]
        out[name] = "%s.%s" % (layer, field)
    return out


def torch_state(net, layout="torchvision"):
    """``net``'s parameters as a torchvision/timm ``state_dict`` of numpy arrays,
    ``num_batches_tracked`` included (0-d int64 zeros), so that
    ``model.load_state_dict(..., strict=True)`` takes it."""
    if layout not in LAYOUTS:
        raise ValueError("layout must be one of %s, got %r" % (", ".join(LAYOUTS), layout))
    _check_net(net, "cannot write a %s state" % layout)
    params = net._collect_params_with_prefix()
    state = {}
    for ours, theirs in _to_torch_names(net).items():
        state[theirs] = param_array(net, params[ours]).astype(np.float32)
    for name in list(state):
        if name.endswith(".running_mean"):  # one per BatchNorm
            state[name[:-len("running_mean")] + "num_batches_tracked"] = np.zeros(
                (), dtype=np.int64)
    return state


def param_array(net, param):
    """A parameter's value as a numpy array (averaged over devices, as MXNet saves it),
    or a clear error while its shape is still unknown."""
    from mxnet.gluon.parameter import DeferredInitializationError
    try:
        return arrays.as_legacy(param._reduce()).asnumpy()
    except DeferredInitializationError:
        name = getattr(net, "model_name", None) or type(net).__name__
        raise ValueError("%s has parameters whose shape is not known yet (%s): run one "
                         "batch through it before saving (MXNet infers them then)"
                         % (name, param.name)) from None


def from_torch_names(state):
    """Strip the wrappers PyTorch training scripts add (``module.`` of DataParallel)."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def describe(shapes):
    """What a ResNet ``state_dict`` is, from ``{name: shape}``: a dict of ``block``
    ("basic"/"bottleneck"), ``layers``, ``deep_stem``, ``stem_width``, ``avg_down``,
    ``groups``, ``bottleneck_width`` and ``classes``; None if it is no ResNet."""
    deep = "conv1.0.weight" in shapes
    if not ("fc.weight" in shapes and ("conv1.weight" in shapes or deep)):
        return None
    layers = []
    for i in range(1, 9):
        count = len({m.group(1) for k in shapes
                     for m in [re.match(r"layer%d\.(\d+)\.conv1\.weight$" % i, k)] if m})
        if not count:
            break
        layers.append(count)
    if not layers:
        return None
    bottleneck = "layer1.0.conv3.weight" in shapes
    groups, width = 1, 64
    if bottleneck:
        planes = shapes["layer1.0.conv2.weight"]
        groups = max(1, planes[0] // max(1, planes[1]))
        width = planes[0] // groups  # at 64 output channels of layer1's 1x1: per group
    # ResNet-D's shortcut has three children (pool, conv, BN), the plain one two.
    avg_down = any(re.match(r"layer\d+\.0\.downsample\.2\.weight$", k) for k in shapes)
    return {"block": "bottleneck" if bottleneck else "basic", "layers": layers,
            "deep_stem": deep, "stem_width": shapes["conv1.0.weight"][0] if deep else None,
            "avg_down": bool(avg_down), "groups": groups, "bottleneck_width": width,
            "classes": shapes["fc.weight"][0]}


def _spec_structure(row):
    net_class, block, layers, _, extra = row
    if net_class is _NETS["v1"] and set(extra) <= {"groups", "bottleneck_width",
                                                   "stride_on_3x3", "use_bias"}:
        resnext = extra.get("stride_on_3x3") and not extra.get("use_bias", True)
        if "Bottleneck" in block.__name__ and not resnext:
            return None  # MXNet's v1 bottleneck: no torchvision counterpart
    elif net_class is not _NETS["v1b"]:
        return None
    return {"block": "bottleneck" if "Bottleneck" in block.__name__ else "basic",
            "layers": list(layers), "deep_stem": bool(extra.get("deep_stem")),
            "stem_width": extra.get("stem_width", 32) if extra.get("deep_stem") else None,
            "avg_down": bool(extra.get("avg_down")), "groups": extra.get("groups", 1),
            "bottleneck_width": extra.get("bottleneck_width", 64)}


def matching_models(structure):
    """The registered models whose structure is ``structure`` (classes aside)."""
    want = {k: v for k, v in structure.items() if k != "classes"}
    if want["block"] == "basic":  # basic blocks have no groups or width to tell
        want.update(groups=1, bottleneck_width=64)
    return [name for name, row in _NETS["specs"].items()
            if not name.startswith("cifar_") and _spec_structure(row) == want]


def _summary(structure):
    s = structure
    kind = "%s blocks %s" % (s["block"], s["layers"])
    if s["groups"] > 1 or s["bottleneck_width"] != 64:
        kind += ", groups %d x width %d" % (s["groups"], s["bottleneck_width"])
    if s["deep_stem"]:
        kind += ", deep stem of width %d" % s["stem_width"]
    if s["avg_down"]:
        kind += ", average-pooled shortcut"
    return kind


def _refusal(net, structure, source):
    name = getattr(net, "model_name", None) or type(net).__name__
    fits = matching_models(structure)
    what = ("get_model(%r, pretrained=...)" % fits[0]) if fits else (
        "ResNetV1b with the same blocks (no registered model has them)")
    trap = fits and fits[0] == name + "_v1b"  # MXNet's v1 net of the same depth
    return ValueError(
        "%s holds a torchvision/timm ResNet (%s, stride on the 3x3), which does not fit "
        "%s; load it into %s%s" % (source, _summary(structure), name, what,
                                   " (%s is MXNet's v1, which strides on the 1x1: the same "
                                   "shapes, another computation)" % name if trap else ""))


def load_torch_state(net, state, source, ctx=None):
    """Load a torchvision/timm ResNet ``state`` (``{name: numpy array}``) into ``net``.

    Everything is checked before anything is loaded: the state must be a ResNet of
    ``net``'s structure (else the error names the model that fits), and every name and
    shape must match. ``source`` names the file in errors.
    """
    state = from_torch_names(state)
    structure = describe({k: v.shape for k, v in state.items()})
    if structure is None:
        raise ValueError("%s is not a torchvision/timm ResNet state_dict (no conv1/fc/"
                         "layer1 weights); its first names: %s"
                         % (source, ", ".join(sorted(state)[:4]) or "none"))
    if not supports(net) or _net_structure(net) != dict(
            structure, classes=None):
        raise _refusal(net, structure, source)
    ours = {}
    names = _to_torch_names(net)
    theirs = {t: o for o, t in names.items()}
    extra = [k for k in state if k not in theirs and not k.endswith(".num_batches_tracked")]
    if extra:
        raise ValueError("%s has %d entries %s has no counterpart for (%s)"
                         % (source, len(extra), type(net).__name__, ", ".join(extra[:4])))
    for torch_name, array in state.items():
        if torch_name in theirs:
            ours[theirs[torch_name]] = arrays.as_current(
                _mx_array(np.asarray(array, dtype=np.float32)))
    return load_named_arrays(net, ours, source, ctx)


def _mx_array(array):
    import mxnet as mx
    return mx.nd.array(array, dtype=array.dtype)


def _net_structure(net):
    """``net``'s structure as :func:`describe` gives it (classes left None)."""
    params = net._collect_params_with_prefix()
    # Deferred sizes (0 or -1: the input channels) are none of those describe() reads.
    shapes = {theirs: params[ours].shape for ours, theirs in _to_torch_names(net).items()}
    structure = describe(shapes)
    return dict(structure, classes=None) if structure else None
