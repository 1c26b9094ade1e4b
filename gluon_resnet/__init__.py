"""gluon-resnet: the ResNet family as MXNet Gluon HybridBlocks."""
from . import _compat  # noqa: F401  (must run before mxnet is imported)
from .registry import get_model, list_models, register_model

__version__ = "0.1.0"
