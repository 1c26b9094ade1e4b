"""Deploy: export formats (symbol, bf16, int8, onnx, onnx-int8) with their sidecar, the
``Predictor`` that runs any of them from its files alone, ``optimize_for_inference``,
and ``predict`` over image files.
"""
from .export import export, fold_batchnorm, load_exported  # noqa: F401
from .inference import InferenceNet, optimize_for_inference, to_bf16_graph  # noqa: F401
from .formats import export_checkpoint, export_net  # noqa: F401
from .predictor import (FORMATS, META_VERSION, Predictor, checkpoint_meta,  # noqa: F401
                        load_predictor, read_meta)
