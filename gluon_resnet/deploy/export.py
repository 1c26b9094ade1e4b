"""Export a net to ``PREFIX-symbol.json`` + ``PREFIX-NNNN.params`` and load it back; fold
BatchNorms into the convolutions before them (for inference graphs)."""
import json
import os

import mxnet as mx
import numpy as np

from ..context import check_ctx

from ..models.graph import import_symbol_block, save_symbol, trace

__all__ = ["export", "load_exported", "import_symbol_block", "trace", "save_symbol",
           "fold_batchnorm"]


def export(net, path_prefix, input_shape, epoch=0):
    """Write ``net`` for deployment: ``PREFIX-symbol.json`` and ``PREFIX-%04d.params``.

    The files are what ``HybridBlock.export`` writes and what
    ``mx.gluon.SymbolBlock.imports`` (or :func:`load_exported`) reads, with the input
    named ``data``. The net is traced symbolically; it need not be hybridized, and it is
    not changed (apart from completing deferred initialisation with one inference pass on
    zeros of ``input_shape``). Each file is written to a temporary name and renamed.

    The files are the same in either array interface: the net is traced as a legacy
    graph and the parameters are saved as a legacy array file, which
    :func:`load_exported` (and MXNet's ``SymbolBlock.imports`` in legacy mode) reads.

    Parameters
    ----------
    net : HybridBlock
        The network.
    path_prefix : str
        Path without suffix, e.g. ``"out/resnet18"``; its directory must exist.
    input_shape : tuple of int
        ``(C, H, W)`` or ``(N, C, H, W)``; checked against the net.
    epoch : int, default 0
        The number in the ``.params`` file name.

    Returns
    -------
    tuple of str
        The paths of the symbol and parameter files.
    """
    sym, params = trace(net, input_shape)
    return save_symbol(sym, params, path_prefix, epoch)


def _attr(node, key, default):
    return node.get("attrs", node.get("attr", node.get("param", {}))).get(key, default)


def fold_batchnorm(sym, params):
    """``(sym, params)`` for inference with every BatchNorm that follows a convolution
    folded into it: the convolution's weights scaled by ``gamma / sqrt(var + eps)`` per
    output channel and a bias ``(bias - mean) * scale + beta`` (computed in float64).

    Only BatchNorms over the channel axis whose input is a convolution's output that
    nothing else reads are folded; the others (a pre-activation net's, say) stay. The
    result computes the same as the inference-mode graph (not training mode: there
    BatchNorm uses the batch's statistics). ``params`` are ``arg:``/``aux:`` arrays as
    :func:`trace` returns them; call in legacy mode.
    """
    graph = json.loads(sym.tojson())
    nodes, heads = graph["nodes"], graph["heads"]
    consumers = [0] * len(nodes)
    for node in nodes:
        for src in node["inputs"]:
            consumers[src[0]] += 1
    for h in heads:
        consumers[h[0]] += 1
    fold = {}  # BatchNorm id -> Convolution id
    for i, node in enumerate(nodes):
        if node["op"] != "BatchNorm" or int(_attr(node, "axis", "1")) != 1:
            continue
        if str(_attr(node, "output_mean_var", "False")) == "True":
            continue
        src = node["inputs"][0]
        conv = nodes[src[0]]
        if conv["op"] == "Convolution" and consumers[src[0]] == 1 and \
                _attr(conv, "layout", "None") in ("None", "NCHW", "NCW", "NCDHW"):
            fold[i] = src[0]
    if not fold:
        return sym, params
    params = dict(params)
    new_bias = {}  # conv id -> bias name it gets
    unused = set()  # ids of the variables that folding leaves unread
    for b, c in fold.items():
        bn, conv = nodes[b], nodes[c]
        bn_vars = [s[0] for s in bn["inputs"][1:]]
        names = [nodes[i]["name"] for i in bn_vars]
        gamma, beta = (params["arg:" + n].asnumpy().astype(np.float64) for n in names[:2])
        mean, var = (params["aux:" + n].asnumpy().astype(np.float64) for n in names[2:])
        if str(_attr(bn, "fix_gamma", "True")) == "True":
            gamma = np.ones_like(gamma)
        scale = gamma / np.sqrt(var + float(_attr(bn, "eps", "0.001")))
        wname = nodes[conv["inputs"][1][0]]["name"]
        w = params["arg:" + wname].asnumpy().astype(np.float64)
        params["arg:" + wname] = mx.nd.array(
            w * scale.reshape((-1,) + (1,) * (w.ndim - 1)), dtype=params["arg:" + wname].dtype)
        bias = np.zeros_like(mean)
        if str(_attr(conv, "no_bias", "False")) != "True":
            bias_var = conv["inputs"][2][0]
            bias = params.pop("arg:" + nodes[bias_var]["name"]).asnumpy().astype(np.float64)
            unused.add(bias_var)
        bname = wname[:-len("weight")] + "folded_bias" if wname.endswith("weight") else \
            wname + "_folded_bias"
        params["arg:" + bname] = mx.nd.array((bias - mean) * scale + beta, dtype="float32")
        new_bias[c] = bname
        unused.update(bn_vars)
        for n, kind in zip(names, ("arg", "arg", "aux", "aux")):
            params.pop("%s:%s" % (kind, n), None)
    # Rebuild the node list in order (MXNet reads a node's inputs from earlier nodes):
    # folded BatchNorms and the variables only they (or a replaced bias) read go, a bias
    # variable comes before each folded convolution.
    out, where = [], {}
    for i, node in enumerate(nodes):
        if i in unused:
            continue
        if i in fold:
            where[i] = where[fold[i]]
            continue
        node = dict(node)
        inputs = node["inputs"][:2] if i in new_bias else node["inputs"]  # data, weight
        node["inputs"] = [[where[s[0]], s[1] if s[0] not in fold else 0, s[2]]
                          for s in inputs]
        if i in new_bias:
            out.append({"op": "null", "name": new_bias[i], "inputs": []})
            node["inputs"].append([len(out) - 1, 0, 0])
            key = "attrs" if "attrs" in node else "param"
            node[key] = dict(node.get(key, {}), no_bias="False")
        where[i] = len(out)
        out.append(node)
    graph["nodes"] = out
    graph["arg_nodes"] = [i for i, n in enumerate(out) if n["op"] == "null"]
    graph["heads"] = [[where[h[0]], h[1], h[2]] for h in heads]
    graph.pop("node_row_ptr", None)
    return mx.sym.load_json(json.dumps(graph)), params


def load_exported(path_prefix, ctx=None, epoch=0):
    """Load files written by :func:`export` as a ready-to-run ``SymbolBlock``.

    Parameters
    ----------
    path_prefix : str
        The prefix given to :func:`export`.
    ctx : Context or list of Context, optional
        Where to load the parameters; default CPU.
    epoch : int, default 0
        The number in the ``.params`` file name.

    Raises
    ------
    FileNotFoundError
        If either file is missing; the message names both.
    ValueError
        If the files are unreadable or do not belong together.
    """
    sym_path = "%s-symbol.json" % path_prefix
    params_path = "%s-%04d.params" % (path_prefix, epoch)
    missing = [p for p in (sym_path, params_path) if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError("an export needs %s and %s; missing: %s"
                                % (sym_path, params_path, ", ".join(missing)))
    check_ctx(ctx, "load_exported(ctx=%s)" % (ctx,))
    try:
        return import_symbol_block(sym_path, ["data"], params_path, ctx=ctx)
    except ValueError as err:
        raise ValueError("cannot load the export %s-*: %s" % (path_prefix, err)) from None
