"""The HTTP app: exported models behind TorchServe's routes, on Starlette.

``create_app(models, ...)`` loads every model with
:func:`gluon_resnet.deploy.load_predictor` (so every export format it reads is served),
before any port is bound: a model that fails to load stops start-up with the loader's
error, which names the file. Routes:

- ``POST /predictions/{name}``: one PNG or JPEG (raw body, or the one file of a
  multipart form); JSON ``{"model", "predictions": [{"class", "prob"}, ...]}``, the top
  ``?topk=`` (default 5) classes;
- ``GET /ping`` (liveness), ``GET /ready`` (200 once every model's warm-up ran),
  ``GET /models``, ``GET /metrics`` (Prometheus), ``GET /`` (a page to drop an image on).
"""
import asyncio
import concurrent.futures
import contextlib
import os
import re
import time

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ..deploy.predictor import Predictor, load_predictor
from .batcher import Batcher, QueueFull
from .inputs import (DEFAULT_MAX_PIXELS, HTTPError, check_token, decode_image, image_bytes,
                     read_body)
from .metrics import Metrics
from .page import page_html

__all__ = ["create_app", "parse_model_spec", "ServedModel", "DEFAULT_MAX_REQUEST_BYTES"]

#: ``--max-request-bytes`` by default: 8 MB.
DEFAULT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def parse_model_spec(spec):
    """``"PREFIX[=NAME]"`` -> ``(name, prefix)``; NAME defaults to the prefix's file name."""
    prefix, sep, name = str(spec).rpartition("=")
    if not sep:
        prefix, name = name, None
    for suffix in ("-meta.json", "-symbol.json", ".onnx", ".safetensors"):
        if prefix.endswith(suffix):
            prefix = prefix[:-len(suffix)]
    if not prefix:
        raise ValueError("expected PREFIX[=NAME], got %r" % (spec,))
    name = name if name is not None else os.path.basename(prefix.rstrip("/"))
    if not _NAME.match(name):
        raise ValueError("model name %r (from %r) must be letters, digits, '.', '_' or '-'"
                         % (name, spec))
    return name, prefix


class ServedModel:
    """A predictor under a name, and how its batches run."""

    def __init__(self, name, predictor, source=None):
        self.name, self.predictor, self.source = name, predictor, source
        self.channels = predictor.input_shape[1]
        self.batcher = None

    def describe(self):
        meta, shape = self.predictor.meta, self.predictor.input_shape
        return {"name": self.name, "format": meta.get("format"), "model": meta.get("model"),
                "input_shape": list(shape), "classes": meta.get("classes"),
                "class_names": self.predictor.class_names,
                "preprocessing": {"channels": shape[1], "resize": list(shape[2:]),
                                  "pixel_scale": meta.get("pixel_scale"),
                                  "mean": meta.get("mean"), "std": meta.get("std")},
                "batch_sizes": list(self.batcher.sizes) if self.batcher else [1]}

    def run_batch(self, images, size):
        """Class probabilities for uint8 images, run as a batch padded to ``size``."""
        x = self.predictor.preprocess(images)
        if size > len(images):
            x = np.concatenate([x, np.zeros((size - len(images),) + x.shape[1:], x.dtype)])
        logits = np.asarray(self.predictor(x)[:len(images)], np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return list((e / e.sum(axis=1, keepdims=True)).astype(np.float32))

    def warmup(self):
        """One run at each padded batch size, so none is first built under load."""
        for size in self.batcher.sizes:
            self.predictor(np.zeros((size,) + self.predictor.input_shape[1:], np.float32))

    def top(self, probs, k):
        names = self.predictor.class_names
        order = np.argsort(-probs, kind="stable")[:k]
        return [{"class": names[i] if names else str(int(i)), "prob": float(probs[i])}
                for i in order]


def _load(models, ctx):
    if isinstance(models, (str, os.PathLike, Predictor)):
        models = [models]
    items = models.items() if isinstance(models, dict) else [
        (None, m) if isinstance(m, Predictor) else parse_model_spec(os.fspath(m))
        for m in models]
    served = {}
    for name, source in items:
        if isinstance(source, Predictor):
            name = name or source.meta.get("model") or "model"
            predictor = source
        else:
            try:
                predictor = load_predictor(source, ctx=ctx)
            except (OSError, ValueError, ImportError) as err:
                raise type(err)("cannot serve %s: %s" % (source, err)) from None
        if not _NAME.match(str(name)):
            raise ValueError("model name %r must be letters, digits, '.', '_' or '-'" % (name,))
        if name in served:
            raise ValueError("two models are named %r; name them with PREFIX=NAME" % name)
        served[name] = ServedModel(name, predictor, source)
    if not served:
        raise ValueError("no model to serve; pass at least one export prefix")
    return served


def _error(err):
    return JSONResponse({"error": err.message}, err.status, headers=err.headers)


def _topk(request, model):
    value = request.query_params.get("topk", "5")
    classes = model.predictor.meta.get("classes") or 1
    if not value.isdigit() or not 1 <= int(value) <= 10000:
        raise HTTPError(400, "topk must be a positive integer, got %r" % value[:40])
    return min(int(value), classes)


class _Routes:
    """The handlers, over the served models and the settings."""

    def __init__(self, served, settings, metrics):
        self.served, self.settings, self.metrics = served, settings, metrics

    async def predict(self, request):
        start = time.perf_counter()
        name = request.path_params["name"]
        model = self.served.get(name)
        label = name if model is not None else ""
        try:
            check_token(request, self.settings["token"])
            if model is None:
                raise HTTPError(404, "no model named %r; GET /models lists them" % name[:80])
            response = await self._predict(request, model, start)
        except HTTPError as err:
            response = _error(err)
        self.metrics.requests.labels(label, str(response.status_code)).inc()
        if model is not None:
            self.metrics.latency.labels(label).observe(time.perf_counter() - start)
        return response

    async def _predict(self, request, model, start):
        s = self.settings
        topk = _topk(request, model)
        body = await read_body(request, s["max_request_bytes"])
        data = await image_bytes(request, body, s["max_request_bytes"])
        image = await run_in_threadpool(decode_image, data, model.channels, s["max_pixels"])
        remaining = s["timeout_s"] - (time.perf_counter() - start)
        depth = self.metrics.queue_depth.labels(model.name)
        depth.inc()
        try:
            probs = await asyncio.wait_for(model.batcher.submit(image), max(remaining, 0.0))
        except QueueFull:
            raise HTTPError(503, "model %s has %d requests waiting; try again shortly"
                            % (model.name, s["queue_size"]), {"Retry-After": "1"}) from None
        except asyncio.TimeoutError:
            raise HTTPError(504, "no answer within %g s" % s["timeout_s"]) from None
        except RuntimeError as err:  # stopping
            raise HTTPError(503, str(err), {"Retry-After": "1"}) from None
        finally:
            depth.dec()
        return JSONResponse({"model": model.name, "predictions": model.top(probs, topk)})

    async def ping(self, request):
        return JSONResponse({"status": "alive"})

    async def ready(self, request):
        waiting = [n for n, m in self.served.items() if not m.batcher.ready]
        return JSONResponse({"ready": not waiting, "warming_up": waiting},
                            503 if waiting else 200)

    async def models(self, request):
        try:
            check_token(request, self.settings["token"])
        except HTTPError as err:
            return _error(err)
        return JSONResponse({"models": [m.describe() for m in self.served.values()]})

    async def metrics_text(self, request):
        try:
            check_token(request, self.settings["token"])
        except HTTPError as err:
            return _error(err)
        return Response(self.metrics.text(), media_type=self.metrics.content_type)

    async def page(self, request):
        return HTMLResponse(page_html(token=self.settings["token"] is not None))


def create_app(models, *, max_batch_size=1, max_delay_ms=0.0,
               max_request_bytes=DEFAULT_MAX_REQUEST_BYTES, queue_size=100, timeout_s=30.0,
               token=None, max_pixels=DEFAULT_MAX_PIXELS, ctx=None):
    """The ASGI app serving ``models`` (run it with uvicorn, or mount it in yours).

    Parameters
    ----------
    models : str, list or dict
        Export prefixes (``"out/resnet18"`` or ``"out/resnet18=r18"``), a list of them,
        or ``{name: prefix or Predictor}``.
    max_batch_size : int
        Most requests run together (default 1: no batching).
    max_delay_ms : float
        Longest a request waits for others, counted from its arrival.
    max_request_bytes : int
        Larger bodies are refused (413) before they are read whole.
    queue_size : int
        Waiting requests per model past which new ones get 503 with ``Retry-After``.
    timeout_s : float
        A request not answered by then gets 504.
    token : str, optional
        If set, predictions, ``/models`` and ``/metrics`` need ``Authorization: Bearer
        TOKEN`` (else 401).
    max_pixels : int
        Larger images are refused (400) before they are decoded.
    ctx : mxnet.Context, optional
        Where ``symbol`` exports run (default CPU).

    Raises
    ------
    FileNotFoundError, ValueError, ImportError
        If a model does not load; the message names its files.
    """
    if not timeout_s > 0 or not max_request_bytes > 0 or not max_pixels > 0:
        raise ValueError("timeout_s, max_request_bytes and max_pixels must be positive, got "
                         "%r, %r, %r" % (timeout_s, max_request_bytes, max_pixels))
    if token is not None and not token:
        raise ValueError("the token is empty")
    served = _load(models, ctx)
    metrics = Metrics(max_batch_size)
    executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gluon-resnet")
    for model in served.values():
        model.batcher = Batcher(model.run_batch, max_batch_size, max_delay_ms / 1000.0,
                                queue_size, executor=executor, warmup=model.warmup,
                                on_batch=metrics.on_batch(model.name))
    settings = {"token": token, "max_request_bytes": int(max_request_bytes),
                "max_pixels": int(max_pixels), "timeout_s": float(timeout_s),
                "queue_size": queue_size}
    routes = _Routes(served, settings, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        for model in served.values():
            model.batcher.start()
        try:
            yield
        finally:
            for model in served.values():
                await model.batcher.stop()
            executor.shutdown(wait=True)

    app = Starlette(routes=[
        Route("/", routes.page), Route("/ping", routes.ping), Route("/ready", routes.ready),
        Route("/models", routes.models), Route("/metrics", routes.metrics_text),
        Route("/predictions/{name}", routes.predict, methods=["POST"])], lifespan=lifespan)
    app.state.models, app.state.metrics = served, metrics
    return app
