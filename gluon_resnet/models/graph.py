"""A net as a symbol graph: :func:`trace` (either array interface, always a legacy
graph), the graph and its parameters written (:func:`save_symbol`) and read back
(:func:`import_symbol_block`), and the float32 output of bfloat16 graphs. What export,
bfloat16 training and inference build on.
"""
import warnings

import mxnet as mx
import numpy as np
from mxnet.base import MXNetError

from ..arrays import as_current, as_legacy, file_semantics, is_np_array, legacy_mode
from ..context import check_ctx
from ..params import atomic_path, load_arrays, save_arrays

__all__ = ["trace", "save_symbol", "import_symbol_block", "full_shape", "BFLOAT16",
           "float32_output"]


def full_shape(input_shape):
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if len(shape) == 3:
        shape = (1,) + shape
    if len(shape) != 4 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                  for d in shape):
        raise ValueError("input_shape must be (C, H, W) or (N, C, H, W) of positive ints, "
                         "got %r" % (input_shape,))
    return shape


def trace(net, input_shape):
    """The symbolic graph of ``net`` with its input named ``data``, and its parameters.

    Completes deferred initialisation with one inference pass on zeros of
    ``input_shape`` if needed (in the array interface that is on, so the net's
    parameters stay of its interface); otherwise the net is not run or changed. The
    graph is traced in legacy mode whichever interface is on: MXNet's layers, and
    gluon_resnet's, pick the same computation in both, and a legacy graph is what
    MXNet's ONNX exporter, quantizer and ``SymbolBlock.imports`` read.

    Returns
    -------
    sym : Symbol
        The (legacy) graph, checked to accept ``input_shape``.
    params : dict of str to NDArray
        ``arg:NAME`` and ``aux:NAME`` legacy arrays, as in an exported ``.params`` file.
    """
    shape = full_shape(input_shape)
    ctx = next(iter(net.collect_params().values())).list_ctx()[0]
    check_ctx(ctx, "the net (its parameters are on %s)" % ctx)
    if any(p._deferred_init for p in net.collect_params().values()):
        with mx.autograd.predict_mode():
            net(as_current(mx.nd.zeros(shape, ctx=ctx)))
    elif hasattr(net, "_check_input"):
        net._check_input(shape)
    with legacy_mode(net):
        sym = net(mx.sym.var("data"))
        try:
            sym.infer_shape(data=shape)
        except MXNetError as err:
            raise ValueError("the net cannot take input_shape %s: %s"
                             % (shape, str(err).strip().splitlines()[0])) from None
    return sym, _named_arrays(sym, net.collect_params().values())


def _named_arrays(sym, params):
    arg_names = set(sym.list_arguments())
    aux_names = set(sym.list_auxiliary_states())
    arrays = {}
    for param in params:
        if param.name in arg_names:
            arrays["arg:" + param.name] = as_legacy(param._reduce())
        elif param.name in aux_names:
            arrays["aux:" + param.name] = as_legacy(param._reduce())
    return arrays


def save_symbol(sym, params, path_prefix, epoch=0):
    """Write ``sym`` and its parameters as ``PREFIX-symbol.json`` + ``PREFIX-%04d.params``.

    Parameters
    ----------
    sym : Symbol
        The graph, with its input named ``data``.
    params : dict or iterable of Parameter
        ``arg:NAME``/``aux:NAME`` arrays (as :func:`trace` returns), or Parameters, of
        which those ``sym`` uses are saved.
    path_prefix : str
        Path without suffix; its directory must exist.
    epoch : int, default 0
        The number in the ``.params`` file name.

    Returns
    -------
    tuple of str
        The paths of the symbol and parameter files, each written atomically.
    """
    arrays = params if isinstance(params, dict) else _named_arrays(sym, params)
    sym_path = "%s-symbol.json" % path_prefix
    params_path = "%s-%04d.params" % (path_prefix, epoch)
    save_arrays(params_path, arrays)
    with atomic_path(sym_path) as tmp:
        with file_semantics(False):  # else the file is marked as of numpy shapes
            # (MXNet drops AMP's casts from saved graphs by default: a bf16 graph needs them)
            sym.save(tmp, remove_amp_cast=False)
    return sym_path, params_path


def import_symbol_block(sym_path, input_names, params_path, ctx=None):
    """``mx.gluon.SymbolBlock.imports`` that works in either array interface.

    MXNet 1.9's ``imports`` cannot load a legacy export in numpy mode ("ndarray was not
    saved in np shape semantics"), nor a numpy-mode export in legacy mode. Here the
    parameter file is read in the semantics it was saved in, and the block is built
    in the interface that is on: it takes and returns ``mx.np`` arrays in numpy mode,
    ``mx.nd`` arrays otherwise.

    Parameters
    ----------
    sym_path, params_path : str
        ``PREFIX-symbol.json`` and ``PREFIX-NNNN.params``.
    input_names : list of str
    ctx : Context or list of Context, optional
        Default CPU.

    Raises
    ------
    ValueError
        If a file is unreadable, or the parameters do not fit the graph (the message
        names what is missing or extra); nothing is returned then.
    """
    ctx = ctx if ctx is not None else mx.cpu()
    try:
        sym = mx.sym.load(sym_path)
    except MXNetError as err:
        raise ValueError("%s is not a readable symbol file: %s"
                         % (sym_path, str(err).strip().splitlines()[-1])) from None
    inputs = [mx.sym.var(name) for name in input_names]
    if is_np_array():
        sym, inputs = sym.as_np_ndarray(), [i.as_np_ndarray() for i in inputs]
    arrays = load_arrays(params_path)
    arrays = {name.split(":", 1)[-1]: value for name, value in arrays.items()}
    with warnings.catch_warnings():
        # MXNet warns that it "cannot decide type" for the inputs until the first call.
        warnings.filterwarnings("ignore", message="Cannot decide type")
        block = mx.gluon.SymbolBlock(sym, inputs)
    params = block.collect_params()
    missing = sorted(set(params.keys()) - set(arrays))
    extra = sorted(set(arrays) - set(params.keys()))
    if missing or extra:
        raise ValueError("%s does not fit %s: it lacks %d of the graph's parameters (%s) and "
                         "has %d the graph does not use (%s)"
                         % (params_path, sym_path, len(missing), ", ".join(missing[:3]) or
                            "none", len(extra), ", ".join(extra[:3]) or "none"))
    for name, param in params.items():
        try:
            param._load_init(arrays[name], ctx, cast_dtype=True, dtype_source="saved")
        except AssertionError as err:
            raise ValueError("%s does not fit %s: %s" % (params_path, sym_path, err)) from None
    return block


BFLOAT16 = np.dtype([("bfloat16", np.uint16)])  # MXNet's name for it in numpy terms


def float32_output(sym):
    """``sym`` with its output cast back to float32 if AMP left it in bfloat16 (call in
    legacy mode)."""
    _, out_types, _ = sym.infer_type(data=np.float32)
    if np.dtype(out_types[0]) != np.float32:
        sym = mx.sym.amp_cast(sym, dtype="float32")
    return sym
