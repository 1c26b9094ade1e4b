"""Serve exports over HTTP: ``create_app`` (an ASGI app on Starlette; ``gluon-resnet
serve`` runs it with uvicorn), with dynamic batching (:mod:`.batcher`), request limits
(:mod:`.inputs`), Prometheus metrics (:mod:`.metrics`) and a page (:mod:`.page`).

Starlette, uvicorn, prometheus_client and python-multipart come with the ``serve``
extra (``pip install gluon-resnet[serve]``); without them ``import gluon_resnet`` still
works and :func:`create_app` says what to install.
"""
from .batcher import BatchQueue, Batcher, QueueFull, batch_sizes, padded_size  # noqa: F401

__all__ = ["create_app", "parse_model_spec", "BatchQueue", "Batcher", "QueueFull",
           "batch_sizes", "padded_size"]

_NEEDS = "serving needs the serve extra: pip install 'gluon-resnet[serve]' (%s)"


def _app():
    try:
        from . import app
    except ImportError as err:
        raise ImportError(_NEEDS % err) from None
    return app


def create_app(models, **settings):
    """The ASGI app serving exported ``models``; see :func:`gluon_resnet.serve.app.create_app`."""
    return _app().create_app(models, **settings)


def parse_model_spec(spec):
    """``"PREFIX[=NAME]"`` -> ``(name, prefix)``; see :mod:`gluon_resnet.serve.app`."""
    return _app().parse_model_spec(spec)
