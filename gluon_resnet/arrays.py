"""MXNet's two array interfaces: legacy ``mx.nd`` and the numpy interface (``npx.set_np()``).

MXNet 1.9 has two kinds of arrays and symbols. Legacy ``mx.nd.NDArray`` arrays go
through legacy operators (``F.relu``, ``F.Activation``); ``mx.np.ndarray`` arrays, the
interface d2l's MXNet edition uses after ``npx.set_np()``, go through ``F.np``/``F.npx``
operators, and a legacy operator refuses them (and the reverse). Which interface is on
is a per-thread flag, ``mxnet.util.is_np_array()``. MXNet's own layers mostly read it
when they run and pick their operator then, as gluon_resnet's blocks do; its convolution
layers (and parameters, made as ``mx.np`` or ``mx.nd`` arrays) fix it when they are
built. So a net runs in the interface it was built in.

This module holds what the rest of the package needs for that:

* :func:`relu` and :func:`concat`, the raw operators the blocks call, picked at call
  time;
* :func:`check_input`, the clear error for an array of the other interface, or a call
  with the other interface on;
* :func:`as_current` / :func:`as_legacy`, zero-copy conversions;
* :func:`legacy_mode`, a scope in which a net of either interface is traced as a
  legacy graph (what exports and summaries are made of, so that an export is the same
  file whichever interface made it);
* :func:`file_semantics` and :func:`interface`, scopes for files saved in either
  shape semantics and for running a block in its interface.
"""
import contextlib

import mxnet as mx
from mxnet.util import is_np_array, np_array, np_shape

__all__ = ["is_np_array", "relu", "concat", "mode_name", "check_input", "as_current",
           "as_legacy", "legacy_mode", "file_semantics", "interface", "block_mode",
           "is_legacy_array", "is_np_ndarray"]


def relu(F, x):
    """ReLU with the operator of the interface that is on (``F.npx.activation`` in numpy
    mode, ``F.Activation`` in legacy mode), as MXNet's ``nn.Activation`` picks it."""
    if is_np_array():
        return F.npx.activation(x, act_type="relu")
    return F.Activation(x, act_type="relu")


def concat(F, xs, axis=1):
    """Concatenate the arrays (or symbols) ``xs`` along ``axis`` with the operator of the
    interface that is on (``F.np.concatenate`` in numpy mode, ``F.concat`` in legacy
    mode); MXNet's ``HybridConcurrent`` calls ``F.concat`` only, which refuses numpy
    arrays."""
    if is_np_array():
        return F.np.concatenate(list(xs), axis=axis)
    return F.concat(*xs, dim=axis)


def mode_name(np_mode=None):
    """``"numpy mode (npx.set_np())"`` or ``"legacy mode (mx.nd)"``."""
    np_mode = is_np_array() if np_mode is None else np_mode
    return "numpy mode (npx.set_np())" if np_mode else "legacy mode (mx.nd)"


def is_np_ndarray(x):
    """Whether ``x`` is an ``mx.np.ndarray`` (numpy interface)."""
    return isinstance(x, mx.np.ndarray)


def is_legacy_array(x):
    """Whether ``x`` is a legacy ``mx.nd.NDArray`` (and not an ``mx.np.ndarray``)."""
    return isinstance(x, mx.nd.NDArray) and not isinstance(x, mx.np.ndarray)


def check_input(x, what, np_mode=None):
    """Raise a clear TypeError if ``x`` is an MXNet array of the other interface than the
    net's, or the net is called with the other interface on.

    Parameters
    ----------
    x : object
        What was given; anything but an MXNet array passes.
    what : str
        Who takes it, for the message (e.g. the model's name).
    np_mode : bool, optional
        Whether the net runs in numpy mode (MXNet fixes some of a net's operators when it
        is built); default: the interface that is on.
    """
    current = is_np_array()
    np_mode = current if np_mode is None else np_mode
    if np_mode != current:
        raise TypeError(
            "%s was built in %s and runs only there, but %s is on now; %s, or build the "
            "net again in this mode" % (what, mode_name(np_mode), mode_name(current),
                                        "turn numpy mode on with npx.set_np()" if np_mode
                                        else "turn numpy mode off with npx.reset_np()"))
    if np_mode and is_legacy_array(x):
        raise TypeError(
            "%s runs in %s but got a legacy mx.nd.NDArray; convert it with "
            "x.as_np_ndarray(), or build and call the net in legacy mode (npx.reset_np())"
            % (what, mode_name(True)))
    if not np_mode and is_np_ndarray(x):
        raise TypeError(
            "%s runs in %s but got an mx.np.ndarray; convert it with x.as_nd_ndarray(), "
            "or build and call the net in numpy mode (npx.set_np())" % (what, mode_name(False)))


def as_current(x):
    """``x`` (an MXNet array of either interface) as an array of the interface that is
    on; no copy."""
    if is_np_array():
        return x if is_np_ndarray(x) else x.as_np_ndarray()
    return x.as_nd_ndarray() if is_np_ndarray(x) else x


def as_legacy(x):
    """``x`` as a legacy ``mx.nd.NDArray`` (no copy); other objects are returned as is."""
    return x.as_nd_ndarray() if is_np_ndarray(x) else x


@contextlib.contextmanager
def file_semantics(numpy_shapes):
    """A scope for reading or writing MXNet array files (``mx.nd.save``/``load``, pickled
    NDArrays) with legacy arrays in numpy shape semantics or not: files carry the
    semantics they were saved in and load only in the same."""
    # Numpy shapes can go off only once numpy arrays are off.
    with np_array(False), np_shape(numpy_shapes):
        yield


@contextlib.contextmanager
def interface(np_mode):
    """A scope with numpy mode on (``np_mode=True``, as ``npx.set_np()``) or off."""
    if np_mode:
        with np_shape(True), np_array(True):  # numpy arrays need numpy shapes first
            yield
    else:
        with file_semantics(False):
            yield


def block_mode(block):
    """Whether ``block`` runs in numpy mode: its parameters are ``mx.np`` arrays (they
    are made in the interface that is on when they are initialised). A block with no
    initialised parameter yet runs in the interface that is on."""
    for param in block.collect_params().values():
        if param._data:
            return is_np_ndarray(param._data[0])
    return is_np_array()


# MXNet's convolution layers fix their operator's name when they are built: "convolution"
# (an F.npx operator) in numpy mode, "Convolution" (legacy) otherwise.
_LEGACY_OP_NAMES = {"convolution": "Convolution", "deconvolution": "Deconvolution"}


def _blocks(block):
    yield block
    for child in block._children.values():
        yield from _blocks(child)


@contextlib.contextmanager
def legacy_mode(block=None):
    """A scope in legacy mode (numpy arrays and shapes off), in which ``block``, built in
    either interface, is traced as a legacy graph.

    Two things of a block are fixed in the interface it was built or first used in, and
    are switched to legacy here and put back on exit: each parameter's cached symbol
    (``Parameter.var()``), and the operator name of MXNet's convolution layers. Give only
    blocks whose parameters are initialised (or deferred with known shapes): this scope
    does not initialise anything.
    """
    params = list(block.collect_params().values()) if block is not None else []
    saved_vars = [p._var for p in params]
    convs = [b for b in (_blocks(block) if block is not None else ())
             if getattr(b, "_op_name", None) in _LEGACY_OP_NAMES]
    saved_ops = [b._op_name for b in convs]
    try:
        for p in params:
            p._var = None
        for b, name in zip(convs, saved_ops):
            b._op_name = _LEGACY_OP_NAMES[name]
        with file_semantics(False):
            yield
    finally:
        for p, var in zip(params, saved_vars):
            p._var = var
        for b, name in zip(convs, saved_ops):
            b._op_name = name
