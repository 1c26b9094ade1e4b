"""Per-layer summary of a Gluon HybridBlock: output shapes, parameters, multiply-adds.

``summary(net, (1, 3, 224, 224))`` answers the questions asked when explaining ResNets
by hand: how many parameters a 1x1 bottleneck saves, what a grouped convolution costs,
why ResNet-50 needs about 4.1 G multiply-adds per image and ResNet-18 about 1.8 G.

Nothing is computed on a device. The net is traced into a symbol, MXNet infers the
shape of every internal output from the input shape, and the graph is walked op by op.
The net is left as it was: it is not hybridized or un-hybridized, its parameters need
not be initialised, and its parameters and BatchNorm statistics are not touched.

Conventions
-----------
* A row is one operator of the traced graph (Convolution, BatchNorm, Activation,
  Pooling, elemwise_add, Flatten, FullyConnected, ...), in graph order.
* ``macs`` are multiply-accumulates **per sample** (per image), whatever the batch size
  of ``input_shape``; output shapes keep the batch dimension that was given.
  Convolution: ``output elements * in_channels / groups * kernel_h * kernel_w``;
  Deconvolution: ``input elements * out_channels / groups * kernel_h * kernel_w``;
  FullyConnected: ``output elements * in_features``. Bias additions and every other op
  (BatchNorm, Pooling, Activation, element-wise adds, ...) count 0 MACs: they are
  linear in the activation size and small beside the convolutions, and leaving them
  out matches the published figures (ResNet-50: 4.1 G).
* Parameters are counted from the graph, with inferred shapes. ``total_params`` counts
  learnable parameters (weights, biases, BatchNorm gamma and beta), as the published
  figures do (ResNet-18: 11.7 M); BatchNorm running mean and variance are auxiliary
  states, counted apart in ``aux_params``. A parameter used by several ops is listed
  on each of their rows but counted once in the totals.
"""
import json
import numbers
from dataclasses import dataclass
from typing import List, Optional, Tuple

import mxnet as mx
from mxnet.gluon import HybridBlock

from ..arrays import legacy_mode

__all__ = ["LayerRow", "Summary", "summary"]

_INPUT_NAME = "data"


@dataclass(frozen=True)
class LayerRow:
    """One operator of the traced graph.

    Attributes
    ----------
    name : str
        Structural Gluon name of the block that issued the op (``features.4.0.body.0``),
        with ``:op_name`` appended when a block issues the op inside its own
        ``hybrid_forward`` (``features.4:_plus0``); the symbol node name when the op
        cannot be traced to a block.
    op : str
        MXNet operator (``Convolution``, ``BatchNorm``, ...).
    output_shape : tuple of int
        Shape of the op's first output, batch dimension included.
    params : int
        Learnable parameters the op uses (BatchNorm running statistics excluded).
    macs : int
        Multiply-accumulates per sample; 0 for ops that are not counted.
    """

    name: str
    op: str
    output_shape: Tuple[int, ...]
    params: int
    macs: int


def _human(n):
    """Format a count with a decimal unit: ``4.09 G``, ``25.56 M``, ``9.41 K``, ``512``."""
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return "%.2f %s" % (n / scale, unit)
    return str(int(n))


def _prod(shape):
    out = 1
    for d in shape:
        out *= int(d)
    return out


@dataclass(frozen=True)
class Summary:
    """Result of :func:`summary`.

    Attributes
    ----------
    rows : list of LayerRow
        One row per operator, in graph order.
    input_shape : tuple of int
        The 4-d input shape the summary was computed for.
    total_params : int
        Learnable parameters (weights, biases, BatchNorm gamma/beta), each counted once.
    trainable_params : int
        The part of ``total_params`` whose Gluon ``grad_req`` is not ``'null'``.
    aux_params : int
        Auxiliary states (BatchNorm running mean and variance); not in ``total_params``.
    total_macs : int
        Multiply-accumulates per sample, summed over all rows.
    """

    rows: List[LayerRow]
    input_shape: Tuple[int, ...]
    total_params: int
    trainable_params: int
    aux_params: int
    total_macs: int

    _HEADER = ("Layer", "Op", "Output shape", "Params", "MACs")

    def _cells(self):
        return [(r.name, r.op, str(r.output_shape), "{:,}".format(r.params),
                 _human(r.macs) if r.macs else "0") for r in self.rows]

    def _footer(self):
        return [
            "Input shape: %s; MACs are per sample" % (self.input_shape,),
            "Total params: {:,} ({})".format(self.total_params, _human(self.total_params)),
            "Trainable params: {:,} ({})".format(self.trainable_params,
                                                  _human(self.trainable_params)),
            "Non-trainable params: {:,}".format(self.total_params - self.trainable_params),
            "BatchNorm running stats (aux): {:,} ({})".format(self.aux_params,
                                                              _human(self.aux_params)),
            "Total MACs: {:,} ({})".format(self.total_macs, _human(self.total_macs)),
        ]

    def __str__(self):
        cells = self._cells()
        widths = [max([len(h)] + [len(c[i]) for c in cells])
                  for i, h in enumerate(self._HEADER)]
        # Text columns are left-aligned, numbers right-aligned.
        aligns = ("<", "<", "<", ">", ">")

        def line(values):
            return "  ".join("{:{}{}}".format(v, a, w)
                             for v, a, w in zip(values, aligns, widths)).rstrip()

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        out = [line(self._HEADER), rule]
        out += [line(c) for c in cells]
        out += [rule.replace("-", "=")] + self._footer()
        return "\n".join(out)

    def to_markdown(self):
        """Render the summary as a GitHub-flavoured Markdown table plus totals.

        Returns
        -------
        str
        """
        out = ["| " + " | ".join(self._HEADER) + " |",
               "|---|---|---|--:|--:|"]
        out += ["| " + " | ".join(v.replace("|", "\\|") for v in c) + " |"
                for c in self._cells()]
        out += [""] + ["- " + f for f in self._footer()]
        return "\n".join(out)


def _check_input_shape(input_shape):
    form = ("input_shape must be a tuple of 4 positive ints (N, C, H, W), "
            "or 3 (C, H, W) to mean batch 1")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) not in (3, 4) or \
            not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                    for d in input_shape):
        raise ValueError("%s; got %r" % (form, input_shape))
    shape = tuple(int(d) for d in input_shape)
    return (1,) + shape if len(shape) == 3 else shape


def _block_paths(net):
    """Structural paths of ``net``'s blocks ('' for ``net`` itself).

    Returns ``(prefix -> path, shallowest first; path -> prefix; set of leaf paths)``.
    """
    prefix_to_path = {}
    path_to_prefix = {}
    leaves = set()

    def walk(block, path):
        path_to_prefix[path] = block.prefix
        if not block._children:
            leaves.add(path)
        if block.prefix and block.prefix not in prefix_to_path:
            prefix_to_path[block.prefix] = path
        for key, child in block._children.items():
            walk(child, "%s.%s" % (path, key) if path else key)

    walk(net, "")
    return prefix_to_path, path_to_prefix, leaves


def _mxnet_reason(err):
    """First line of an MXNetError message, without the C++ stack trace."""
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    for ln in lines:
        if "Error in operator" in ln or "Check failed" in ln:
            return ln
    return lines[0] if lines else type(err).__name__


def _infer(net, shape):
    """The net's graph and the shape of every argument, auxiliary state and output."""
    # Calling a HybridBlock on a Symbol only builds a graph: no cached op, no params.
    # Traced as a legacy graph in either array interface (the same operators).
    with legacy_mode(net):
        sym = net(mx.sym.var(_INPUT_NAME))
        if not isinstance(sym, mx.sym.Symbol):
            raise TypeError("summary expects a net returning one output; %s returned %s"
                            % (type(net).__name__, type(sym).__name__))
        internals = sym.get_internals()
        # The public infer_shape prints its arguments to stdout on failure; the library
        # must not print, so call the implementation it wraps (stable: 1.9.1 is final).
        try:
            arg_shapes, out_shapes, aux_shapes = internals._infer_shape_impl(
                False, **{_INPUT_NAME: shape})
        except mx.base.MXNetError as err:
            raise ValueError("%s cannot take an input of shape %s: %s"
                             % (type(net).__name__, shape, _mxnet_reason(err))) from None
    if out_shapes is None:
        raise ValueError("%s: shapes could not be fully inferred from input shape %s"
                         % (type(net).__name__, shape))
    return (sym, internals, dict(zip(internals.list_arguments(), arg_shapes)),
            dict(zip(internals.list_auxiliary_states(), aux_shapes)),
            dict(zip(internals.list_outputs(), out_shapes)))


def _owner(net, by_param_name):
    """``owner(node_name, param_names) -> (structural path or None, op name within that
    block)``, and the leaf blocks' paths."""
    prefix_to_path, path_to_prefix, leaves = _block_paths(net)
    prefixes = sorted(prefix_to_path, key=len, reverse=True)

    def owner(node_name, param_names):
        path = None
        for pname in param_names:
            key = by_param_name.get(pname, (None,))[0]
            if key and "." in key:
                path = key.rsplit(".", 1)[0]
                break
        if path is None:
            path = next((prefix_to_path[p] for p in prefixes if node_name.startswith(p)),
                        None)
        if not path:
            return None, node_name
        prefix = path_to_prefix[path]
        rest = node_name[len(prefix):] if prefix and node_name.startswith(prefix) else ""
        return path, rest
    return owner, leaves


def _op_macs(op, node, entry_shape, out_elems, batch):
    """Multiply-adds per example of one convolution, dense or deconvolution node."""
    if op not in ("Convolution", "FullyConnected", "Deconvolution"):
        return 0
    weight = entry_shape(node["inputs"][1])
    if op == "Convolution":  # weight: (out, in/groups, *kernel)
        return out_elems * _prod(weight[1:])
    if op == "FullyConnected":  # weight: (num_hidden, in_features)
        return out_elems * int(weight[1])
    # Deconvolution, weight: (in, out/groups, *kernel); every input element is scattered
    return _prod(entry_shape(node["inputs"][0])) // batch * _prod(weight[1:])


def _graph_ops(sym, arg_shape, aux_shape, out_shape, owner, batch):
    """``(owner path or None, op name within the block, row fields)`` per operator."""
    nodes = json.loads(sym.tojson())["nodes"]

    def entry_shape(entry):
        """Shape of graph entry ``[node_id, output_index, ...]``."""
        node = nodes[entry[0]]
        if node["op"] == "null":
            return arg_shape.get(node["name"], aux_shape.get(node["name"]))
        name = node["name"]
        return out_shape.get("%s_output%d" % (name, entry[1]),
                             out_shape.get(name + "_output"))

    found = []
    for nid, node in enumerate(nodes):
        op = node["op"]
        if op == "null":
            continue
        inputs = [nodes[i[0]]["name"] for i in node["inputs"] if nodes[i[0]]["op"] == "null"]
        learnable = [n for n in inputs if n in arg_shape and n != _INPUT_NAME]
        shp = entry_shape([nid, 0])
        macs = _op_macs(op, node, entry_shape, _prod(shp) // batch, batch)
        path, rest = owner(node["name"], learnable)
        found.append((path, rest, dict(op=op, output_shape=tuple(int(d) for d in shp),
                                       params=sum(_prod(arg_shape[n]) for n in learnable),
                                       macs=int(macs))))
    return found


def _rows(found, leaves):
    """A leaf block issuing one op is named by its path alone (``features.0``); ops that
    a block issues in its own hybrid_forward get ``path:op`` (``features.4:_plus0``)."""
    ops_per_block = {}
    for path, _, _ in found:
        ops_per_block[path] = ops_per_block.get(path, 0) + 1
    rows = []
    for path, rest, fields in found:
        if path is None:
            name = rest
        elif rest in ("", "fwd") or (path in leaves and ops_per_block[path] == 1):
            name = path
        else:
            name = "%s:%s" % (path, rest)
        rows.append(LayerRow(name=name, **fields))
    return rows


def summary(net, input_shape, ctx=None):
    """Summarise ``net`` layer by layer for one input shape.

    Parameters
    ----------
    net : mxnet.gluon.HybridBlock
        Any HybridBlock taking one input, hybridized or not, initialised or not
        (deferred shapes such as ``in_channels=0`` are inferred). It is not modified.
    input_shape : tuple of int
        ``(N, C, H, W)``, or ``(C, H, W)`` which means ``(1, C, H, W)``.
    ctx : mxnet.Context, optional
        Accepted for symmetry with the other helpers and ignored: the summary comes
        from symbolic shape inference, so nothing is allocated on any device.

    Returns
    -------
    Summary
        Rows per operator and totals; ``str()`` gives an aligned table.

    Raises
    ------
    TypeError
        If ``net`` is not a HybridBlock.
    ValueError
        If ``input_shape`` is malformed, or the net cannot take an input of that shape
        (MXNet's shape-inference reason is included).

    Examples
    --------
    >>> from mxnet.gluon.model_zoo import vision
    >>> s = summary(vision.resnet18_v1(), (3, 224, 224))
    >>> round(s.total_params / 1e6, 1), round(s.total_macs / 1e9, 2)
    (11.7, 1.81)
    """
    if not isinstance(net, HybridBlock):
        raise TypeError("summary expects a gluon HybridBlock, got %s" % type(net).__name__)
    shape = _check_input_shape(input_shape)
    sym, internals, arg_shape, aux_shape, out_shape = _infer(net, shape)
    by_param_name = {p.name: (key, p) for key, p in net._collect_params_with_prefix().items()}
    owner, leaves = _owner(net, by_param_name)
    rows = _rows(_graph_ops(sym, arg_shape, aux_shape, out_shape, owner, shape[0]), leaves)
    learnable_names = [n for n in internals.list_arguments() if n != _INPUT_NAME]
    total = sum(_prod(arg_shape[n]) for n in learnable_names)
    frozen = sum(_prod(arg_shape[n]) for n in learnable_names
                 if n in by_param_name and by_param_name[n][1].grad_req == "null")
    return Summary(rows=rows, input_shape=shape, total_params=total,
                   trainable_params=total - frozen,
                   aux_params=sum(_prod(s) for s in aux_shape.values()),
                   total_macs=sum(r.macs for r in rows))
