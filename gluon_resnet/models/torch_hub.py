"""Weights published by PyTorch's zoos, by name: ``torchvision:<model>.<weights>`` and
``hf-hub:timm/<model>.<tag>``, downloaded once into the cache and checked.

* torchvision publishes pickled ``.pth`` files at ``download.pytorch.org/models/``,
  named ``<model>-<first 8 hex digits of the file's SHA-256>.pth``; the prefix is
  checked (as ``torch.hub`` does). Reading a ``.pth`` needs torch (see
  :mod:`gluon_resnet.models.weights`); nothing is ever unpickled here.
* timm publishes ``model.safetensors`` and a ``config.json`` (its ``pretrained_cfg``:
  mean, std, input size, crop) per weights on the Hugging Face hub, at
  ``huggingface.co/timm/<model>.<tag>/resolve/main/``. The hub names no checksum in the
  URL; the file is checked as safetensors when it is read.

The files are kept in ``{root}/torchvision/`` and ``{root}/hf-hub/<org>--<name>/``, root
being the MXNet zoos' directory (:func:`~gluon_resnet.models.model_store.default_root`).
"""
import hashlib
import json
import os
import re
import tempfile

from . import model_store

__all__ = ["TORCHVISION", "TIMM_ARCHS", "SAME_STRUCTURE", "is_hub_name", "hub_file",
           "hub_models"]

TORCHVISION_URL = "https://download.pytorch.org/models/"
HF_URL = "https://huggingface.co/{repo}/resolve/main/{file}"

#: ``{"<model>.<weights>": (our model, published file, published ImageNet top-1 %)}``:
#: torchvision 0.28's ``*_Weights`` (their ``url`` and ``acc@1``).
TORCHVISION = {
    "resnet18.IMAGENET1K_V1": ("resnet18_v1b", "resnet18-f37072fd.pth", 69.758),
    "resnet34.IMAGENET1K_V1": ("resnet34_v1b", "resnet34-b627a593.pth", 73.314),
    "resnet50.IMAGENET1K_V1": ("resnet50_v1b", "resnet50-0676ba61.pth", 76.130),
    "resnet50.IMAGENET1K_V2": ("resnet50_v1b", "resnet50-11ad3fa6.pth", 80.858),
    "resnet101.IMAGENET1K_V1": ("resnet101_v1b", "resnet101-63fe2227.pth", 77.374),
    "resnet101.IMAGENET1K_V2": ("resnet101_v1b", "resnet101-cd907fc2.pth", 81.886),
    "resnet152.IMAGENET1K_V1": ("resnet152_v1b", "resnet152-394f9c45.pth", 78.312),
    "resnet152.IMAGENET1K_V2": ("resnet152_v1b", "resnet152-f82ba261.pth", 82.284),
    "resnext50_32x4d.IMAGENET1K_V1": ("resnext50_32x4d", "resnext50_32x4d-7cdf4587.pth",
                                      77.618),
    "resnext50_32x4d.IMAGENET1K_V2": ("resnext50_32x4d", "resnext50_32x4d-1a0047aa.pth",
                                      81.198),
    "resnext101_32x8d.IMAGENET1K_V1": ("resnext101_32x8d", "resnext101_32x8d-8ba56ff5.pth",
                                       79.312),
    "resnext101_32x8d.IMAGENET1K_V2": ("resnext101_32x8d", "resnext101_32x8d-110c445d.pth",
                                       82.834),
    "resnext101_64x4d.IMAGENET1K_V1": ("resnext101_64x4d", "resnext101_64x4d-173b62eb.pth",
                                       83.246),
    "wide_resnet50_2.IMAGENET1K_V1": ("wide_resnet50_2", "wide_resnet50_2-95faca4d.pth",
                                      78.468),
    "wide_resnet50_2.IMAGENET1K_V2": ("wide_resnet50_2", "wide_resnet50_2-9ba9bcbe.pth",
                                      81.602),
    "wide_resnet101_2.IMAGENET1K_V1": ("wide_resnet101_2", "wide_resnet101_2-32ee1156.pth",
                                       78.848),
    "wide_resnet101_2.IMAGENET1K_V2": ("wide_resnet101_2", "wide_resnet101_2-d733dc28.pth",
                                       82.510),
}

#: Our other models of the same structure as the one a row names (MXNet's names).
SAME_STRUCTURE = {"resnet18_v1b": ("resnet18",), "resnet34_v1b": ("resnet34",)}

#: timm's ResNet architectures and our model of the same structure.
TIMM_ARCHS = {"resnet18": "resnet18_v1b", "resnet34": "resnet34_v1b",
              "resnet50": "resnet50_v1b", "resnet101": "resnet101_v1b",
              "resnet152": "resnet152_v1b", "resnet50c": "resnet50_v1c",
              "resnet101c": "resnet101_v1c", "resnet152c": "resnet152_v1c",
              "resnet50d": "resnet50_v1d", "resnet101d": "resnet101_v1d",
              "resnet152d": "resnet152_v1d", "wide_resnet50_2": "wide_resnet50_2",
              "wide_resnet101_2": "wide_resnet101_2",
              "resnext101_32x8d": "resnext101_32x8d", "resnext101_64x4d": "resnext101_64x4d"}

_HF_NAME = re.compile(r"^hf-hub:([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)$")


def is_hub_name(value):
    """Whether ``value`` is a ``torchvision:`` or ``hf-hub:`` weights name."""
    return isinstance(value, str) and value.startswith(("torchvision:", "hf-hub:"))


def hub_models(value):
    """Our models that a hub weights name fits (e.g. ``("resnet50_v1d",)`` for
    ``hf-hub:timm/resnet50d.ra2_in1k``), or None if the architecture is not known."""
    if value.startswith("torchvision:"):
        row = TORCHVISION.get(value[len("torchvision:"):])
        model = row[0] if row else None
    else:
        match = _HF_NAME.match(value)
        model = TIMM_ARCHS.get(match.group(2).split(".")[0]) if match else None
    return None if model is None else (model,) + SAME_STRUCTURE.get(model, ())


def _fetch(url, path, check=None):
    """Download ``url`` to ``path`` atomically (a ``.part`` file renamed on success);
    ``check(tmp)`` may refuse the file with a ValueError first."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=os.path.basename(path) + ".",
                               suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                model_store._download(url, out, progress=True)
            except model_store._NETWORK_ERRORS as err:
                raise model_store.WeightsNotFoundError(
                    "%s is not on disk and %s could not be reached: %s. Download it "
                    "elsewhere and put it at %s; the next call finds it there."
                    % (os.path.basename(path), url, getattr(err, "reason", None) or err,
                       path)) from err
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _sha256_prefix_check(url, prefix):
    def check(path):
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        if not digest.hexdigest().startswith(prefix):
            raise ValueError("checksum mismatch for %s: its SHA-256 is %s, the published "
                             "name says %s..." % (url, digest.hexdigest(), prefix))
    return check


def hub_file(value, root=None):
    """The local weights file for a hub name, downloaded into the cache if missing.

    Returns ``(path, config)``: config is timm's ``pretrained_cfg`` (a dict) for
    ``hf-hub:`` names, None for torchvision's.
    """
    root = os.path.expanduser(model_store.default_root() if root is None else root)
    if value.startswith("torchvision:"):
        key = value[len("torchvision:"):]
        if key not in TORCHVISION:
            raise ValueError("unknown torchvision weights %r; known: %s"
                             % (key, ", ".join(sorted(TORCHVISION))))
        file_name = TORCHVISION[key][1]
        path = os.path.join(root, "torchvision", file_name)
        prefix = file_name.rsplit("-", 1)[1].split(".")[0]
        if not os.path.isfile(path):
            url = TORCHVISION_URL + file_name
            _fetch(url, path, _sha256_prefix_check(url, prefix))
        return path, None
    match = _HF_NAME.match(value)
    if not match:
        raise ValueError("hub weights are named 'torchvision:<model>.<weights>' or "
                         "'hf-hub:<org>/<name>' (e.g. hf-hub:timm/resnet50.a1_in1k), "
                         "got %r" % value)
    repo = "%s/%s" % match.groups()
    directory = os.path.join(root, "hf-hub", repo.replace("/", "--"))
    paths = {}
    for file_name in ("model.safetensors", "config.json"):
        paths[file_name] = os.path.join(directory, file_name)
        if not os.path.isfile(paths[file_name]):
            _fetch(HF_URL.format(repo=repo, file=file_name), paths[file_name])
    from ..params import read_json
    config = read_json(paths["config.json"])
    cfg = config.get("pretrained_cfg", config) if isinstance(config, dict) else {}
    return paths["model.safetensors"], json.loads(json.dumps(cfg))
