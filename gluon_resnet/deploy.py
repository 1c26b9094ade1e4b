"""Deployment: export a net with a sidecar that says how to feed it, and run it anywhere.

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
  (see :mod:`gluon_resnet.precision`),

each with ``PREFIX-meta.json``, the sidecar: format, file names and their SHA-256, input
name and shape ``[1, C, H, W]``, pixel scale (1/255), normalisation mean and std, class
names and model name. :func:`load_predictor` needs nothing else to rebuild a
:class:`Predictor` that takes uint8 images and returns class probabilities.
"""
import hashlib
import json
import os
import tempfile
import warnings

import mxnet as mx
import numpy as np
from mxnet.base import MXNetError

from . import _compat, arrays
from .context import check_ctx
from .export import _full_shape, import_symbol_block, save_symbol, trace
from .params import atomic_path, read_json, write_json

__all__ = ["Predictor", "load_predictor", "export_net", "export_checkpoint", "read_meta",
           "checkpoint_meta", "FORMATS", "META_VERSION"]

#: The export formats, the values of ``meta["format"]``.
FORMATS = ("symbol", "onnx", "int8", "onnx-int8", "bf16")
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
        What :func:`gluon_resnet.checkpoint.load_checkpoint` or ``read_checkpoint`` returns.

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
    from .data import CLASS_NAMES
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


# ---------------------------------------------------------------------------------------
# Sidecar files

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
    needed = ("onnx",) if meta["format"] in _ONNX_FORMATS else ("symbol", "params")
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


# ---------------------------------------------------------------------------------------
# Loading

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


# ---------------------------------------------------------------------------------------
# Export

def _export_onnx(sym, params, shape, path):
    try:
        import onnx
        from mxnet import onnx as mx_onnx
    except ImportError as err:
        raise ImportError("ONNX export needs the onnx package: pip install onnx (%s)"
                          % err) from None
    _compat.bridge_onnx_mapping()  # onnx >= 1.16 has no onnx.mapping; MXNet reads it
    dynamic = (None,) + tuple(shape[1:])
    params = {name.split(":", 1)[1]: value for name, value in params.items()}
    with atomic_path(path) as tmp:
        try:
            mx_onnx.export_model(sym, params, in_shapes=[shape], in_types=[np.float32],
                                 onnx_file_path=tmp, dynamic=True,
                                 dynamic_input_shapes=[dynamic])
        except (AttributeError, ImportError) as err:
            raise ImportError("MXNet's ONNX exporter failed with onnx %s: %s"
                              % (onnx.__version__, _brief(err))) from None
        model = onnx.load(tmp)
        # The exporter lists the weights as graph inputs too; as plain initializers
        # they are constants, which ONNX Runtime can fold (BatchNorm into Conv).
        weights = {w.name for w in model.graph.initializer}
        inputs = [i for i in model.graph.input if i.name not in weights]
        del model.graph.input[:]
        model.graph.input.extend(inputs)
        onnx.checker.check_model(model)
        onnx.save(model, tmp)
    return [path]


def _check_calibration(fmt, shape, calib_data, calib_mode):
    """``calib_data`` as a float32 array (N, C, H, W) of the export's shape."""
    if calib_data is None:
        raise ValueError("%s export needs calib_data: prepared float32 images "
                         "(N, C, H, W) like the training inputs" % fmt)
    if isinstance(calib_data, mx.nd.NDArray):
        calib_data = calib_data.asnumpy()
    calib_data = np.asarray(calib_data, np.float32)
    if calib_data.ndim != 4 or calib_data.shape[1:] != shape[1:] or len(calib_data) < 1:
        raise ValueError("calib_data must be a float32 batch (N, %d, %d, %d) of prepared "
                         "images, got shape %s" % (shape[1:] + (calib_data.shape,)))
    if calib_mode not in ("naive", "entropy"):
        raise ValueError("calib_mode must be 'naive' or 'entropy', got %r" % (calib_mode,))
    return calib_data


def _quantize(sym, params, shape, calib_data, calib_mode):
    """Quantize with MXNet's oneDNN backend as ``quantize_net_v2`` does; returns a block."""
    from mxnet.contrib.quantization import quantize_net_v2
    # A short last batch is padded with images from the start, which leaves the
    # calibrated ranges as they are.
    calib_iter = mx.io.NDArrayIter({"data": calib_data}, batch_size=min(64, len(calib_data)),
                                   last_batch_handle="pad")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot decide type")
        fp32 = mx.gluon.SymbolBlock(sym, [mx.sym.var("data")])
        for name, param in fp32.collect_params().items():
            param._load_init(params.get("arg:" + name, params.get("aux:" + name)), mx.cpu())
        return quantize_net_v2(fp32, quantized_dtype="auto", quantize_mode="full",
                               calib_mode=calib_mode, calib_data=calib_iter,
                               num_calib_examples=len(calib_data),
                               ctx=mx.cpu())


#: onnx-int8 calibration: ONNX Runtime's memory arena grows to the largest calibration
#: batch's activations, so batches hold at most this many bytes of layer outputs ...
_CALIB_BATCH_BYTES = 256 << 20
#: ... and entropy calibration keeps every layer output of every image: at most this much.
_ENTROPY_BYTES = 4 << 30


def _activation_bytes(sym, shape):
    """Bytes of all operator outputs of the traced net for one input of ``shape`` (an
    over-estimate of what calibration holds per image: ONNX Runtime folds BatchNorm)."""
    internals = sym.get_internals()
    inputs = set(sym.list_arguments()) | set(sym.list_auxiliary_states())
    _, shapes, _ = internals.infer_shape(data=shape)
    return 4 * sum(int(np.prod(s)) for name, s in zip(internals.list_outputs(), shapes)
                   if name not in inputs)


def _check_entropy_memory(calib_mode, images, per_image, shape):
    if calib_mode == "entropy" and images * per_image > _ENTROPY_BYTES:
        raise ValueError(
            "onnx-int8 entropy calibration keeps every layer's output for every calibration "
            "image in memory (ONNX Runtime's tool): about %.1f GiB for %d images of %s, over "
            "the %d GiB this export allows; use at most %d calibration images, or "
            "calib_mode='naive' (min/max, which needs no such memory)"
            % (images * per_image / 2 ** 30, images, "x".join(map(str, shape[1:])),
               _ENTROPY_BYTES >> 30, max(1, _ENTROPY_BYTES // per_image)))


def _quantize_onnx(fp32_path, path, calib_data, calib_mode, per_image):
    """Quantize the ONNX file ``fp32_path`` into ``path`` with ONNX Runtime's tool: its
    pre-processing folds BatchNorm into the convolutions; then int8 weights per output
    channel, uint8 activations with ranges calibrated on ``calib_data``, written as
    QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into integer
    convolutions. Returns the settings for the sidecar."""
    import onnx
    # ONNX Runtime's tool (1.18 on) maps the 4-bit tensor types that onnx 1.16 added, but
    # MXNet's exporter needs onnx < 1.16, which lacks them. 8-bit quantization never uses
    # them; naming them with ONNX's own numbers lets the tool import.
    for name, number in (("UINT4", 21), ("INT4", 22)):
        if not hasattr(onnx.TensorProto, name):
            setattr(onnx.TensorProto, name, number)
    try:
        import onnxruntime
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod,
                                              QuantFormat, QuantType, quantize_static)
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except (ImportError, AttributeError) as err:
        raise ImportError("onnx-int8 export needs ONNX Runtime's quantization tool and "
                          "ml_dtypes (ml_dtypes<0.5 with numpy<1.24): pip install "
                          "onnxruntime 'ml_dtypes<0.5' (%s)" % _brief(err)) from None

    batch = int(max(1, min(64, _CALIB_BATCH_BYTES // per_image)))

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"data": calib_data[i:i + batch]}
                                 for i in range(0, len(calib_data), batch)])

        def get_next(self):
            return next(self.batches, None)

    method = {"naive": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy}
    settings = {"backend": "onnxruntime", "onnxruntime": onnxruntime.__version__,
                "calib_mode": calib_mode, "calib_images": int(len(calib_data)),
                "calib_batch": batch, "quant_format": "QDQ", "weights": "int8 per channel",
                "activations": "uint8", "batchnorm": "folded into the convolutions"}
    folded = fp32_path + ".folded.onnx"
    quant_pre_process(fp32_path, folded, skip_symbolic_shape=True)
    with atomic_path(path) as tmp:
        quantize_static(folded, tmp, Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, weight_type=QuantType.QInt8,
                        activation_type=QuantType.QUInt8,
                        calibrate_method=method[calib_mode])
    return settings


def _check_format(fmt):
    if fmt not in FORMATS:
        raise ValueError("format must be one of %s, got %r" % (", ".join(FORMATS), fmt))


def _check_prefix(prefix, fmt):
    directory = os.path.dirname(os.path.abspath(prefix))
    if not os.path.isdir(directory):
        raise FileNotFoundError("directory %s does not exist" % directory)
    meta_path = prefix + "-meta.json"
    if os.path.isfile(meta_path):
        try:
            with open(meta_path) as f:
                old = json.load(f).get("format")
        except (ValueError, AttributeError, UnicodeDecodeError, OSError):
            old = None
        if old != fmt:
            raise ValueError("%s describes %s export; writing a %s export to the same prefix "
                             "would orphan its files: choose another prefix"
                             % (meta_path, "a %s" % old if old else "another", fmt))


def export_net(net, prefix, input_shape, format="symbol", *, mean=None, std=None,
               class_names=None, model_name=None, calib_data=None, calib_mode="naive"):
    """Export ``net`` in ``format`` with the sidecar ``PREFIX-meta.json``.

    Parameters
    ----------
    net : HybridBlock
        The trained net; it is traced symbolically and not changed.
    prefix : str
        Path without suffix, e.g. ``"out/resnet18"``; its directory must exist. Only
        the prefix's files are written, each to a temporary name then renamed; the
        sidecar last.
    input_shape : tuple of int
        ``(C, H, W)`` of one prepared image.
    format : {'symbol', 'onnx', 'int8', 'onnx-int8', 'bf16'}
        See :mod:`gluon_resnet.deploy`.
    mean, std : float or list of float, optional
        The normalisation the net was trained with, after scaling pixels to [0, 1].
    class_names : list of str, optional
        Names of the outputs.
    model_name : str, optional
        Default ``net.model_name``.
    calib_data : numpy.ndarray, optional
        For ``int8`` and ``onnx-int8``: float32 images (N, C, H, W) prepared like the
        training inputs, on which the quantization ranges are calibrated.
    calib_mode : {'naive', 'entropy'}
        For ``int8`` and ``onnx-int8``: ranges from the min/max of the calibration
        outputs, or chosen to minimise the KL divergence (MXNet's two calibration
        modes; ONNX Runtime's ``MinMax`` and ``Entropy``).

    Returns
    -------
    list of str
        The paths written, the sidecar last.
    """
    _check_format(format)
    prefix = os.fspath(prefix)
    _check_prefix(prefix, format)
    shape = (1,) + _full_shape(input_shape)[1:]
    sym, params = trace(net, shape)
    # The graph is a legacy one in either interface (see trace); MXNet's ONNX exporter
    # and quantizer work on it in legacy mode.
    with arrays.legacy_mode():
        out_shape = sym.infer_shape(data=shape)[1][0]
        if len(out_shape) != 2:
            raise ValueError("the net's output has shape %s; a classifier's is (N, classes)"
                             % (out_shape,))
        meta = _make_meta(shape, int(out_shape[1]), mean, std, class_names,
                          model_name or getattr(net, "model_name", None))
        if format in _QUANTIZED:
            calib_data = _check_calibration(format, shape, calib_data, calib_mode)
        if format == "onnx-int8":
            per_image = _activation_bytes(sym, shape)
            _check_entropy_memory(calib_mode, len(calib_data), per_image, shape)
        if format == "onnx":
            paths = _export_onnx(sym, params, shape, prefix + ".onnx")
            files = {"onnx": paths[0]}
        elif format == "onnx-int8":
            with tempfile.TemporaryDirectory() as tmp:
                fp32_path = _export_onnx(sym, params, shape, os.path.join(tmp, "fp32.onnx"))[0]
                meta["quantization"] = _quantize_onnx(fp32_path, prefix + ".onnx", calib_data,
                                                      calib_mode, per_image)
            paths = [prefix + ".onnx"]
            files = {"onnx": paths[0]}
        else:
            if format == "bf16":
                from .precision import to_bf16_graph
                sym, params = to_bf16_graph(sym, params)
                meta["precision"] = {"converter": "mxnet.contrib.amp.convert_model",
                                     "folded": "BatchNorms after convolutions, into them",
                                     "bfloat16": "convolutions and dense layers",
                                     "float32": "input, output, other BatchNorms, additions"}
            if format == "int8":
                qnet = _quantize(sym, params, shape, calib_data, calib_mode)
                sym = qnet(mx.sym.var("data"))
                params = qnet.collect_params().values()
                meta["quantization"] = {"backend": "MKLDNN", "calib_mode": calib_mode,
                                        "calib_images": int(len(calib_data)),
                                        "quantized_dtype": "auto", "quantize_mode": "full"}
            paths = list(save_symbol(sym, params, prefix))
            files = {"symbol": paths[0], "params": paths[1]}
        meta["format"] = format
        meta["files"] = {role: os.path.basename(p) for role, p in files.items()}
        meta["sha256"] = {role: _sha256(p) for role, p in files.items()}
    return paths + [write_json(prefix + "-meta.json", meta)]


def _calibration_images(doc, count, data_dir):
    """``count`` training images prepared as the checkpoint's metadata says."""
    from .data import ImageArrayIter, read_fashion_mnist
    metadata = doc.get("metadata") or {}
    if metadata.get("dataset") != "fashion-mnist":
        raise ValueError("int8 calibration reads the training data, but %s does not say it "
                         "was trained on Fashion-MNIST (metadata dataset %r)"
                         % (doc["path"], metadata.get("dataset")))
    images, labels = read_fashion_mnist(data_dir, train=True)
    rng = np.random.RandomState(0)
    pick = np.sort(rng.choice(len(images), size=min(count, len(images)), replace=False))
    batches = ImageArrayIter(images[pick], labels[pick], batch_size=256,
                             resize=metadata.get("resize"), mean=metadata.get("mean"),
                             std=metadata.get("std"))
    return np.concatenate([X.asnumpy() for X, _ in batches])


def export_checkpoint(run_or_checkpoint, prefix=None, format="symbol", calib_images=512,
                      data_dir=None, calib_mode="naive"):
    """Export the trained net of a run (what ``gluon-resnet export`` does).

    Parameters
    ----------
    run_or_checkpoint : str
        A run directory or its ``checkpoint.json``.
    prefix : str, optional
        Default ``RUN_DIR/MODEL`` (``symbol``), else ``RUN_DIR/MODEL-FORMAT``
        (``RUN_DIR/MODEL-onnx``, ``-int8``, ``-onnx-int8``, ``-bf16``).
    format : {'symbol', 'onnx', 'int8', 'onnx-int8', 'bf16'}
    calib_images : int, default 512
        For ``int8`` and ``onnx-int8``: how many Fashion-MNIST training images (a fixed
        random sample, prepared as in training: resize, normalisation) calibrate the
        quantization.
    data_dir : str, optional
        Fashion-MNIST directory for the calibration images (see
        :func:`gluon_resnet.data.read_fashion_mnist`).
    calib_mode : {'naive', 'entropy'}
        For ``int8`` and ``onnx-int8``; see :func:`export_net`.

    Returns
    -------
    list of str
        The paths written, the sidecar last.
    """
    from .checkpoint import load_checkpoint
    _check_format(format)
    quantized = format in _QUANTIZED
    if quantized and (not isinstance(calib_images, int) or calib_images < 1):
        raise ValueError("calib_images must be a positive int, got %r" % (calib_images,))
    net, doc = load_checkpoint(run_or_checkpoint, ctx=mx.cpu())
    meta = checkpoint_meta(doc)
    if prefix is None:
        suffix = "" if format == "symbol" else "-" + format
        prefix = os.path.join(os.path.dirname(doc["path"]), meta["model"] + suffix)
    calib = _calibration_images(doc, calib_images, data_dir) if quantized else None
    return export_net(net, prefix, meta["input_shape"], format, mean=meta["mean"],
                      std=meta["std"], class_names=meta["class_names"],
                      model_name=meta["model"], calib_data=calib, calib_mode=calib_mode)
