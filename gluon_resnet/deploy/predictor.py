"""Deployment: the sidecar that says how to feed an export, and the :class:`Predictor`
that runs any export from its files alone (:func:`load_predictor`); writing exports is
:mod:`gluon_resnet.deploy.formats`.

An export is a prefix and its files:

- ``format="symbol"``: ``PREFIX-symbol.json`` + ``PREFIX-0000.params`` (what
  ``mx.gluon.SymbolBlock.imports`` reads),
- ``format="onnx"``: ``PREFIX.onnx`` (ONNX Runtime and others),
- ``format="int8"``: ``PREFIX-symbol.json`` + ``PREFIX-0000.params`` of a net quantized
  with MXNet's oneDNN (MKLDNN) backend, for CPUs (fastest on batches),
- ``format="onnx-int8"``: ``PREFIX.onnx`` quantized by ONNX Runtime's tool (int8 weights
  per channel, uint8 activations, QDQ), for ONNX Runtime on CPUs (fastest at batch 1),
- ``format="bf16"``: ``PREFIX-symbol.json`` + ``PREFIX-0000.params`` converted by MXNet's
  AMP to bfloat16 convolutions and dense layers (float32 in and out), for CPUs with AMX
  (see :mod:`gluon_resnet.deploy.inference`),
- ``format="safetensors"``: ``PREFIX.safetensors``, the weights alone, in torchvision's
  and timm's layout for the ResNetV1b family (``torchvision.models.resnet50()`` or
  ``timm.create_model("resnet50d")`` load it with ``load_state_dict(strict=True)``) and
  in our parameter names for the other nets; the predictor rebuilds the registered
  model named in the sidecar (``model``, ``model_kwargs``) and loads it,

each with ``PREFIX-meta.json``, the sidecar: format, file names and their SHA-256, input
name and shape ``[1, C, H, W]``, pixel scale (1/255), normalisation mean and std, class
names and model name. :func:`load_predictor` needs nothing else to rebuild a
:class:`Predictor` that takes uint8 images and returns class probabilities.
"""
import hashlib
import os

import mxnet as mx
import numpy as np
from mxnet.base import MXNetError

from .. import arrays
from ..context import check_ctx
from ..models.graph import full_shape as _full_shape, import_symbol_block
from ..params import read_json

__all__ = ["Predictor", "load_predictor", "read_meta", "checkpoint_meta", "FORMATS",
           "META_VERSION"]


#: The export formats, the values of ``meta["format"]``.
FORMATS = ("symbol", "onnx", "int8", "onnx-int8", "bf16", "safetensors")


_ONNX_FORMATS = ("onnx", "onnx-int8")  # one PREFIX.onnx, run by ONNX Runtime


_QUANTIZED = ("int8", "onnx-int8")  # calibrated on calib_data


#: The sidecar version this code writes and reads.
META_VERSION = 1


_SCALE = 1.0 / 255


def _brief(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _channel_values(value, channels, what):
    if value is None:
        return None
    values = list(np.ravel(np.asarray(value, dtype=object)))
    if not all(isinstance(v, (int, float, np.integer, np.floating))
               and not isinstance(v, (bool, np.bool_)) for v in values):
        raise ValueError("%s must be a number or a list of numbers, got %r" % (what, value))
    values = [float(v) for v in values]
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise ValueError("%s needs 1 or %d values (one per input channel), got %d"
                         % (what, channels, len(values)))
    return values


def _make_meta(input_shape, classes, mean=None, std=None, class_names=None, model_name=None):
    shape = (1,) + _full_shape(input_shape)[1:]
    channels = shape[1]
    if (mean is None) != (std is None):
        raise ValueError("pass both mean and std or neither, got mean=%r, std=%r" % (mean, std))
    mean = _channel_values(mean, channels, "mean")
    std = _channel_values(std, channels, "std")
    if std is not None and not all(s > 0 for s in std):
        raise ValueError("std must be positive, got %r" % (std,))
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if classes is not None and len(class_names) != classes:
            raise ValueError("the net has %d outputs but %d class names were given"
                             % (classes, len(class_names)))
    return {"version": META_VERSION, "model": model_name, "input_name": "data",
            "input_shape": list(shape), "pixel_scale": _SCALE, "mean": mean, "std": std,
            "classes": classes, "class_names": class_names}


def checkpoint_meta(doc):
    """The sidecar content for the net of a training checkpoint (no ``format``/``files``).

    Parameters
    ----------
    doc : dict
        What :func:`gluon_resnet.training.checkpoint.load_checkpoint` or ``read_checkpoint`` returns.

    Returns
    -------
    dict
        Input shape as trained (after ``resize``), normalisation from the checkpoint's
        metadata (none unless it names ``mean``/``std``), and class names: the run's own
        (an image-folder run stores them), else Fashion-MNIST's for a 10-class run on it.

    Raises
    ------
    ValueError
        If the stored class names do not match the net's number of outputs.
    """
    from ..data import CLASS_NAMES
    model, metadata = doc["model"], doc.get("metadata") or {}
    names = metadata.get("class_names")
    if names is None and metadata.get("dataset", "fashion-mnist") == "fashion-mnist" \
            and model.get("classes") == len(CLASS_NAMES):
        names = CLASS_NAMES
    return _make_meta(tuple(model["input_shape"]), model.get("classes"),
                      mean=metadata.get("mean"), std=metadata.get("std"),
                      class_names=names, model_name=model.get("name"))


def _softmax(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class Predictor:
    """A deployed net: uint8 images in, logits or probabilities out.

    Build one with :func:`load_predictor` (from exported files) or
    :meth:`from_block` (from a net in memory).

    Attributes
    ----------
    meta : dict
        The sidecar content.
    input_shape : tuple of int
        ``(1, C, H, W)``, the shape of one prepared image.
    class_names : list of str or None
        Names of the outputs, in order.
    """

    def __init__(self, run, meta):
        self._run = run
        self.meta = meta
        self.input_shape = tuple(int(d) for d in meta["input_shape"])
        self.class_names = meta.get("class_names")
        channels = self.input_shape[1]
        scale = float(meta.get("pixel_scale", _SCALE))
        mean = meta.get("mean") or [0.0] * channels
        std = meta.get("std") or [1.0] * channels
        self._scale = np.array([scale / s for s in std], np.float32).reshape(1, -1, 1, 1)
        self._shift = np.array([-m / s for m, s in zip(mean, std)],
                               np.float32).reshape(1, -1, 1, 1)

    def __repr__(self):
        return "Predictor(%s, format=%s, input_shape=%s)" % (
            self.meta.get("model"), self.meta.get("format"), self.input_shape)

    @classmethod
    def from_block(cls, block, meta, ctx=None):
        """Wrap a Gluon block in memory, e.g. the net of a training checkpoint.

        Parameters
        ----------
        block : Block
            The net; it is run in inference mode and not changed.
        meta : dict
            At least ``input_shape`` (``(C, H, W)`` or ``(1, C, H, W)``); optional
            ``mean``, ``std``, ``pixel_scale``, ``class_names``, ``model``
            (see :func:`checkpoint_meta`).
        ctx : Context, optional
            Where to run; default the context of the block's parameters.
        """
        if not isinstance(meta, dict) or "input_shape" not in meta:
            raise ValueError("meta must be a dict with at least input_shape, got %r" % (meta,))
        full = _make_meta(meta["input_shape"], meta.get("classes"), meta.get("mean"),
                          meta.get("std"), meta.get("class_names"), meta.get("model"))
        full.update({k: v for k, v in meta.items() if k not in full})
        full.setdefault("format", "gluon")
        if ctx is None:
            ctx = next(iter(block.collect_params().values())).list_ctx()[0]
        return cls(_MXNetRunner(block, ctx, arrays.block_mode(block)), full)

    def preprocess(self, images):
        """Prepare uint8 images as the net was trained: resize, scale, normalise.

        Parameters
        ----------
        images : list of numpy.ndarray
            uint8 images, HxW (or HxWx1) for a 1-channel net, HxWxC for C channels
            (RGB for 3); any size: each is resized to the net's HxW (bilinear, as
            ``BilinearResize2D`` with ``align_corners=False``, which training uses).
            A uint8 array (N, H, W) or (N, H, W, C) is taken as a list of images.

        Returns
        -------
        numpy.ndarray
            float32 (N, C, H, W).
        """
        _, channels, height, width = self.input_shape
        if isinstance(images, np.ndarray) and images.ndim < 3:
            raise ValueError("pass a list of images (or an (N, H, W[, C]) array), got one "
                             "array of shape %s" % (images.shape,))
        images = list(images)
        if not images:
            raise ValueError("no images given")
        groups = {}
        for i, img in enumerate(images):
            img = np.asarray(img)
            if img.dtype != np.uint8:
                raise ValueError("image %d is %s; expected uint8 pixels (0-255)" % (i, img.dtype))
            if img.ndim == 2 and channels == 1:
                img = img[:, :, None]
            if img.ndim != 3 or img.shape[2] != channels or min(img.shape[:2]) < 1:
                want = "HxW grayscale" if channels == 1 else "HxWx%d" % channels
                raise ValueError("image %d has shape %s; this model takes %d-channel images: "
                                 "pass %s uint8 arrays" % (i, img.shape, channels, want))
            groups.setdefault(img.shape, []).append((i, img))
        out = np.empty((len(images), channels, height, width), np.float32)
        for shape, members in groups.items():
            index = [i for i, _ in members]
            x = np.stack([img for _, img in members]).transpose(0, 3, 1, 2).astype(np.float32)
            x = x * self._scale + self._shift
            if shape[:2] != (height, width):
                with arrays.legacy_mode():
                    x = mx.nd.contrib.BilinearResize2D(mx.nd.array(x), height=height,
                                                       width=width,
                                                       align_corners=False).asnumpy()
            out[index] = x
        return out

    def __call__(self, batch):
        """Logits for a prepared float32 batch (N, C, H, W), as a numpy array (N, classes)."""
        if isinstance(batch, mx.nd.NDArray):
            batch = batch.asnumpy()
        batch = np.asarray(batch, dtype=np.float32)
        want = self.input_shape[1:]
        if batch.ndim != 4 or batch.shape[1:] != want or batch.shape[0] < 1:
            raise ValueError("expected a batch of shape (N, %d, %d, %d) with N >= 1, got %s; "
                             "use preprocess() to prepare images" % (want + (batch.shape,)))
        return self._run(np.ascontiguousarray(batch))

    def predict_proba(self, images):
        """Class probabilities (N, classes) for uint8 images: softmax of the logits."""
        return _softmax(self(self.preprocess(images)))


class _MXNetRunner:
    """Runs a block in the array interface its parameters were made in (numpy mode or
    legacy), whichever is on when it is called: a Predictor takes and returns numpy."""

    def __init__(self, block, ctx, np_mode=False):
        self.block, self.ctx, self.np_mode = block, ctx, np_mode

    def __call__(self, batch):
        with arrays.interface(self.np_mode), mx.autograd.predict_mode():
            x = mx.nd.array(batch, ctx=self.ctx)
            return self.block(x.as_np_ndarray() if self.np_mode else x).asnumpy()


class _ONNXRunner:
    def __init__(self, session, input_name):
        self.session, self.input_name = session, input_name

    def __call__(self, batch):
        return self.session.run(None, {self.input_name: batch})[0]


def _meta_path(prefix_or_meta_path):
    path = os.fspath(prefix_or_meta_path)
    for suffix in ("-meta.json", "-symbol.json", ".onnx"):
        if path.endswith(suffix):
            path = path[:-len(suffix)]
            break
    return path, path + "-meta.json"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_meta(prefix_or_meta_path):
    """Read and check the sidecar ``PREFIX-meta.json`` of an export, and its files.

    Returns
    -------
    dict
        The sidecar's content.

    Raises
    ------
    FileNotFoundError
        If the sidecar or a file it names is missing; the message names them.
    ValueError
        If the sidecar is not one this version writes (bad JSON, unknown version or
        format), or a file's SHA-256 differs from the one recorded at export.
    """
    prefix, path = _meta_path(prefix_or_meta_path)
    if not os.path.isfile(path):
        hint = ""
        if os.path.isfile(prefix + "-symbol.json"):
            hint = ("; %s-symbol.json was exported without one: load it with "
                    "load_exported(), or export again with `gluon-resnet export`" % prefix)
        raise FileNotFoundError("no export sidecar %s%s" % (path, hint))
    meta = read_json(path)
    if not isinstance(meta, dict) or "version" not in meta:
        raise ValueError("%s is not a gluon_resnet export sidecar (no version)" % path)
    if meta["version"] != META_VERSION:
        raise ValueError("%s has sidecar version %r; this gluon_resnet reads version %d"
                         % (path, meta["version"], META_VERSION))
    if meta.get("format") not in FORMATS:
        raise ValueError("%s names format %r; expected one of %s"
                         % (path, meta.get("format"), ", ".join(FORMATS)))
    needed = ("onnx",) if meta["format"] in _ONNX_FORMATS else (
        ("safetensors",) if meta["format"] == "safetensors" else ("symbol", "params"))
    files, digests = meta.get("files"), meta.get("sha256") or {}
    try:
        shape = _full_shape(meta.get("input_shape") or ())
    except ValueError:
        shape = None
    if (not isinstance(files, dict) or sorted(files) != sorted(needed)
            or not all(isinstance(v, str) and v for v in files.values())
            or shape is None or shape[0] != 1):
        raise ValueError("%s is incomplete: a %s export lists files %s and input_shape "
                         "[1, C, H, W]" % (path, meta["format"], " and ".join(needed)))
    _check_meta_fields(path, meta, digests)
    try:
        meta["mean"] = _channel_values(meta.get("mean"), shape[1], "mean")
        meta["std"] = _channel_values(meta.get("std"), shape[1], "std")
        mean, std = meta["mean"] or [0.0], meta["std"] or [1.0]
        scale = meta.get("pixel_scale", _SCALE)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise ValueError("pixel_scale must be a number, got %r" % (scale,))
        if not (np.isfinite(mean + std + [scale]).all() and min(std) > 0 and scale > 0):
            raise ValueError("mean, std and pixel_scale must be finite, std and "
                             "pixel_scale positive")
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError("%s has a bad normalisation: %s" % (path, err)) from None
    paths = _file_paths(path, meta)
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError("%s names files that are missing: %s"
                                % (path, ", ".join(missing)))
    for role, file_path in paths.items():
        if role in digests and _sha256(file_path) != digests[role]:
            raise ValueError("%s is not the file %s was written with (its SHA-256 differs): "
                             "it was changed or replaced after export; export again"
                             % (file_path, path))
    return meta


def _check_meta_fields(path, meta, digests):
    """The sidecar's other fields have the types this code reads (any JSON may arrive)."""
    classes, names = meta.get("classes"), meta.get("class_names")
    problems = []
    if not isinstance(meta.get("input_name"), str):
        problems.append("input_name must be a string")
    if not isinstance(digests, dict) or not all(isinstance(v, str) for v in digests.values()):
        problems.append("sha256 must map files to hex digests")
    if classes is not None and (not isinstance(classes, int) or isinstance(classes, bool)
                                or classes < 1):
        problems.append("classes must be a positive int")
    if names is not None and (not isinstance(names, list)
                              or not all(isinstance(n, str) for n in names)
                              or (classes is not None and len(names) != classes)):
        problems.append("class_names must be a list of one string per class")
    if meta.get("model") is not None and not isinstance(meta["model"], str):
        problems.append("model must be a string")
    if problems:
        raise ValueError("%s is not a valid sidecar: %s" % (path, "; ".join(problems)))


def _file_paths(meta_path, meta):
    """{role: absolute path} of the files a sidecar names, beside the sidecar."""
    directory = os.path.dirname(os.path.abspath(meta_path))
    return {role: os.path.join(directory, os.path.basename(name))
            for role, name in meta["files"].items()}


def _check_cpu(ctx, what):
    if ctx is not None and ctx.device_type != "cpu":
        raise ValueError("%s exports run on the CPU; got ctx=%s" % (what, ctx))


def _import_symbol(meta, paths, ctx):
    # Loaded and run in legacy mode whichever interface is on: the Predictor takes and
    # returns numpy arrays, and MXNet's quantized graphs run in legacy mode only.
    try:
        with arrays.legacy_mode():
            block = import_symbol_block(paths["symbol"], [meta["input_name"]],
                                        paths["params"], ctx=ctx)
    except (MXNetError, AssertionError, ValueError) as err:
        raise ValueError("%s and %s do not load together: %s"
                         % (paths["symbol"], paths["params"], _brief(err))) from None
    # Not static_shape: with it, MXNet 1.9 hands oneDNN-layout outputs of quantized
    # (and optimize_for-fused) graphs to asnumpy(), which refuses them from the second
    # call on.
    block.hybridize(static_alloc=True)
    return _MXNetRunner(block, ctx)


def _registered_net(meta, paths, ctx):
    """The registered model the sidecar names, with the exported weights."""
    from ..models import get_model, list_models
    from ..models.weights import load_parameters
    kwargs = meta.get("model_kwargs") or {}
    if meta.get("model") not in list_models() or not isinstance(kwargs, dict) or not set(
            kwargs) <= {"classes", "in_channels", "thumbnail"}:
        raise ValueError("a safetensors export is rebuilt from the registered model its "
                         "sidecar names; %r with model_kwargs %r is not one"
                         % (meta.get("model"), kwargs))
    with arrays.legacy_mode():
        net = get_model(meta["model"], initialize=False, hybridize=False, **kwargs)
        load_parameters(net, paths["safetensors"], ctx=ctx)
    net.hybridize(static_alloc=True)
    return _MXNetRunner(net, ctx)


def _onnx_session(meta, paths):
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("loading an ONNX export needs ONNX Runtime: pip install "
                          "onnxruntime") from None
    path = paths["onnx"]
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(path, options,
                                               providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types
        raise ValueError("ONNX Runtime cannot load %s: %s" % (path, _brief(err))) from None
    names = [i.name for i in session.get_inputs()]
    if names != [meta["input_name"]]:
        raise ValueError("%s takes inputs %s, but its sidecar names %r"
                         % (path, names, meta["input_name"]))
    return _ONNXRunner(session, meta["input_name"])


def load_predictor(prefix_or_meta_path, ctx=None):
    """Rebuild a ready-to-run :class:`Predictor` from an export's files alone.

    Parameters
    ----------
    prefix_or_meta_path : str
        The export prefix (``out/resnet18``), its sidecar ``PREFIX-meta.json``, or its
        ``PREFIX-symbol.json`` / ``PREFIX.onnx``.
    ctx : Context, optional
        Where to run a ``symbol`` export (default CPU). ``int8``, ``bf16``, ``onnx``
        and ``onnx-int8`` exports run on the CPU.

    Raises
    ------
    FileNotFoundError
        If the sidecar or a file it names is missing.
    ValueError
        If the files do not belong together (a file replaced after export, parameters
        of another net), or the sidecar is of an unknown format or version.
    ImportError
        For an ``onnx`` or ``onnx-int8`` export without ``onnxruntime`` installed.
    """
    check_ctx(ctx, "load_predictor(ctx=%s)" % (ctx,))
    meta = read_meta(prefix_or_meta_path)
    paths = _file_paths(_meta_path(prefix_or_meta_path)[1], meta)
    fmt = meta["format"]
    if fmt in _ONNX_FORMATS:
        _check_cpu(ctx, fmt)
        run = _onnx_session(meta, paths)
    elif fmt == "safetensors":
        run = _registered_net(meta, paths, ctx if ctx is not None else mx.cpu())
    else:
        if fmt in ("int8", "bf16"):
            _check_cpu(ctx, fmt)
        run = _import_symbol(meta, paths, ctx if ctx is not None else mx.cpu())
    files = " and ".join(sorted(paths.values()))
    try:
        out = run(np.zeros(meta["input_shape"], np.float32))
    except (MXNetError, ValueError, RuntimeError) as err:
        raise ValueError("%s cannot run on input %s: %s"
                         % (files, tuple(meta["input_shape"]), _brief(err))) from None
    classes = meta.get("classes")
    if out.ndim != 2 or (classes is not None and out.shape[1] != classes):
        raise ValueError("%s give outputs of shape %s; the sidecar says %s classes"
                         % (files, out.shape, classes))
    return Predictor(run, meta)
