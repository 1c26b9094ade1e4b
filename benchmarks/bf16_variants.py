"""Which bfloat16 inference graph is fastest: what optimize_for_inference's choice rests on.

ResNet-18 (``--depth``: 50 for ResNet-50; 1000 classes, 3x224x224, random weights: speed
does not depend on them), at each ``--batches`` size, images per second of:

- ``fp32 fused``: the fp32 graph after oneDNN's fusion pass (``optimize_for MKLDNN``);
- ``bf16``: ``gluon_resnet.deploy.inference.to_bf16_graph`` (BatchNorms folded into the
  convolutions before them, then MXNet's AMP ``convert_model`` with the weights stored
  in bf16), hybridized with static memory and shapes: what
  ``optimize_for_inference(..., "bf16")`` runs;
- ``bf16 unfolded``: the same without folding the BatchNorms (``fold=False``);
- ``bf16 fused``: the ``bf16`` graph after oneDNN's fusion pass;
- ``convert_hybrid_block``: MXNet's own one-call conversion (``amp.convert_hybrid_block``).

Timed as ``benchmarks/int8.py`` times (its ``latencies``): after warm-up, interleaved
rounds of ``--calls`` calls of every variant, the median over ``--rounds`` rounds, so a
change in the machine's speed (these are shared virtual machines) affects all alike.
Prints one markdown table, with the machine (CPU flags, AMX state)::

    OMP_NUM_THREADS=2 python benchmarks/bf16_variants.py
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gluon_resnet  # noqa: E402  (before mxnet)
import mxnet as mx  # noqa: E402
from mxnet.contrib import amp  # noqa: E402

from _machine import machine_info, machine_lines  # noqa: E402
from int8 import latencies  # noqa: E402
from gluon_resnet.deploy.export import trace  # noqa: E402
from gluon_resnet.deploy.inference import _build, to_bf16_graph  # noqa: E402


def variants(batch, size, depth=18):
    shape = (batch, 3, size, size)
    net = gluon_resnet.get_model("resnet%d" % depth, classes=1000)
    sym, params = trace(net, shape)
    low_sym, low_params = to_bf16_graph(sym, params)
    net.hybridize(static_alloc=True, static_shape=True)
    net(mx.nd.zeros(shape))
    return shape, {
        "fp32 fused": _build(sym, params, mx.cpu(), shape, fuse=True),
        "bf16": _build(low_sym, low_params, mx.cpu(), shape, fuse=False),
        "bf16 unfolded": _build(*to_bf16_graph(sym, params, fold=False), mx.cpu(), shape,
                                fuse=False),
        "bf16 fused": _build(low_sym, low_params, mx.cpu(), shape, fuse=True),
        "convert_hybrid_block": amp.convert_hybrid_block(net, target_dtype="bfloat16",
                                                         ctx=mx.cpu()),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--batches", default="32,1")
    p.add_argument("--size", type=int, default=224, help="input height and width")
    p.add_argument("--depth", type=int, default=18, choices=(18, 34, 50, 101, 152))
    p.add_argument("--calls", type=int, default=3)
    p.add_argument("--rounds", type=int, default=7)
    args = p.parse_args(argv)
    info = machine_info()
    rows = {}
    for batch in (int(b) for b in args.batches.split(",")):
        shape, blocks = variants(batch, args.size, args.depth)
        x = mx.nd.random.uniform(shape=shape)
        seconds = latencies(blocks, x, args.rounds, args.calls)
        rows[batch] = {name: batch / t for name, t in seconds.items()}
    names = list(next(iter(rows.values())))
    print("| ResNet-%d, 3x%dx%d | " % (args.depth, args.size, args.size) + " | ".join(names)
          + " |")
    print("|---|" + "---:|" * len(names))
    for batch, r in rows.items():
        print("| batch %d (images/s, median of %d rounds) | %s |" % (
            batch, args.rounds, " | ".join("%.1f" % r[n] for n in names)))
    print()
    print("\n".join(machine_lines(info)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
