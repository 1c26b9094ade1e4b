"""Classify your own image files with a trained run or an exported model.

``predict(model, inputs)`` reads PNG/JPEG files (or every image of a folder) with
:func:`gluon_resnet.data.images.load_image`, converts them to what the model takes (1 or 3
channels; resizing and normalisation are the :class:`~gluon_resnet.deploy.Predictor`'s
``preprocess``), and returns the top classes with their probabilities.
"""
import glob
import os

import numpy as np

from ..data.images import ImageError, list_images, load_image

__all__ = ["predict", "open_model", "format_predictions"]

_BATCH = 64


def _deploy():
    try:
        from . import predictor as deploy
    except ImportError as err:
        raise ImportError("predicting needs gluon_resnet.deploy (Predictor, load_predictor), "
                          "which this installation lacks: %s" % err) from err
    return deploy


def _is_checkpoint(path):
    from ..training.checkpoint import CHECKPOINT_FILE
    return (os.path.isdir(path) and os.path.isfile(os.path.join(path, CHECKPOINT_FILE))) or (
        os.path.isfile(path) and os.path.basename(path) == CHECKPOINT_FILE)


def open_model(model, ctx=None):
    """A Predictor from a Predictor, a run directory / ``checkpoint.json``, or an export.

    Parameters
    ----------
    model : Predictor or str
        A :class:`~gluon_resnet.deploy.Predictor` (returned as is); a training run
        directory or its ``checkpoint.json`` (rebuilt with
        :func:`~gluon_resnet.training.checkpoint.load_checkpoint`); or an export prefix or its
        metadata file (:func:`~gluon_resnet.deploy.load_predictor`).
    ctx : mxnet.Context, optional

    Raises
    ------
    FileNotFoundError
        If ``model`` is none of these (nothing at that path or prefix).
    ValueError
        If the files are there but cannot be loaded.
    """
    deploy = _deploy()
    if isinstance(model, deploy.Predictor):
        return model
    path = os.fspath(model)
    if _is_checkpoint(path):
        import mxnet as mx

        from ..training.checkpoint import load_checkpoint
        net, doc = load_checkpoint(path, ctx=ctx if ctx is not None else mx.cpu())
        return deploy.Predictor.from_block(net, deploy.checkpoint_meta(doc), ctx=ctx)
    if os.path.isdir(path):
        raise FileNotFoundError("%s is a folder without a checkpoint.json; expected a training "
                                "run directory, its checkpoint.json, or an export prefix" % path)
    if not os.path.isfile(path) and not glob.glob(glob.escape(path) + "*"):
        raise FileNotFoundError(
            "no model at %s: expected a training run directory, its checkpoint.json, or an "
            "export prefix such as runs/r18/resnet18 (with files %s-symbol.json, ...); "
            "found no file starting with that prefix" % (path, path))
    return deploy.load_predictor(path, ctx=ctx)


def _expand(inputs):
    """Files and folders -> image paths, in the order given (folders sorted)."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    paths = []
    for item in inputs:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = list_images(item)
            if not found:
                raise FileNotFoundError("%s holds no .png/.jpg/.jpeg images" % item)
            paths += found
        elif os.path.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError("no image file or folder at %s" % item)
    if not paths:
        raise ValueError("no images given")
    return paths


def predict(model, inputs, topk=5, ctx=None):
    """Top-k classes of every image.

    Parameters
    ----------
    model : Predictor or str
        See :func:`open_model`.
    inputs : str or sequence of str
        Image files and/or folders (each folder's images, :func:`list_images`).
    topk : int, default 5
        Classes per image (at most the number of classes).
    ctx : mxnet.Context, optional

    Returns
    -------
    list of dict
        One per image, in input order: ``{"path": str, "top": [(class_name, prob), ...]}``,
        most probable first. Without class names in the model, names are the class
        indices as strings.

    Raises
    ------
    FileNotFoundError
        A missing model, image or folder, or a folder without images.
    gluon_resnet.data.images.ImageError
        An image that cannot be read (named), before anything is predicted.
    """
    if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1:
        raise ValueError("topk must be an int >= 1, got %r" % (topk,))
    paths = _expand(inputs)
    predictor = open_model(model, ctx=ctx)
    channels = int(predictor.input_shape[1])
    images = [load_image(p, channels) for p in paths]  # every file is checked first
    probs = []
    for start in range(0, len(images), _BATCH):
        probs.append(np.asarray(predictor.predict_proba(images[start:start + _BATCH])))
    probs = np.concatenate(probs)
    names = predictor.class_names
    if names is None:
        names = [str(i) for i in range(probs.shape[1])]
    k = min(int(topk), probs.shape[1])
    results = []
    for path, p in zip(paths, probs):
        order = np.argsort(-p, kind="stable")[:k]
        results.append({"path": path, "top": [(names[i], float(p[i])) for i in order]})
    return results


def format_predictions(results):
    """Aligned text: one block per image, its path, then ``class  probability`` lines."""
    width = max((len(name) for r in results for name, _ in r["top"]), default=0)
    lines = []
    for r in results:
        lines.append(r["path"])
        for name, prob in r["top"]:
            lines.append("  %-*s  %6.2f%%" % (width, name, 100.0 * prob))
    return "\n".join(lines)


