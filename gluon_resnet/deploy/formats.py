"""Writing exports: :func:`export_net` (a net) and :func:`export_checkpoint` (a training
run) in every format (symbol, onnx, int8, onnx-int8, bf16, safetensors), each file written to a
temporary name and renamed, the sidecar last; int8 formats calibrated on images prepared
as in training. The formats and the sidecar are described in
:mod:`gluon_resnet.deploy.predictor`.
"""
import json
import os
import tempfile
import warnings

import mxnet as mx
import numpy as np

from .. import _compat, arrays
from ..models.graph import full_shape as _full_shape, save_symbol, trace
from ..params import atomic_path, write_json
from .predictor import _QUANTIZED, FORMATS, _brief, _make_meta, _sha256, checkpoint_meta

__all__ = ["export_net", "export_checkpoint"]


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


def _export_safetensors(net, prefix, shape, meta):
    """The weights as ``PREFIX.safetensors``: torchvision's/timm's layout where the net
    has a torchvision counterpart (PyTorch loads them), our names otherwise; the sidecar says which, and how to
    rebuild the net (``model_kwargs``)."""
    from ..models.torch_layout import supports
    from ..models.weights import save_parameters
    layout = "torchvision" if supports(net) else None
    path = save_parameters(net, prefix + ".safetensors", layout=layout)
    kwargs = {"classes": meta["classes"], "in_channels": int(shape[1])}
    if getattr(net, "stem", None) == "thumbnail":
        kwargs["thumbnail"] = True
    meta["layout"] = layout or "gluon"
    meta["model_kwargs"] = kwargs
    return [path], {"safetensors": path}


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
    format : {'symbol', 'onnx', 'int8', 'onnx-int8', 'bf16', 'safetensors'}
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
        if format == "safetensors":
            paths, files = _export_safetensors(net, prefix, shape, meta)
        elif format == "onnx":
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
                from .inference import to_bf16_graph
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
    from ..data import ImageArrayIter, read_fashion_mnist
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
    format : {'symbol', 'onnx', 'int8', 'onnx-int8', 'bf16', 'safetensors'}
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
    from ..training.checkpoint import load_checkpoint
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
