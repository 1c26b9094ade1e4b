"""Training and inference throughput of gluon_resnet against MXNet's zoo, GluonCV and PyTorch.

Images per second for training (forward + backward + SGD update) and inference, and the
peak memory of each contender, on CPU (or one GPU with ``--ctx gpu0``). Contenders:

* gluon_resnet ``resnetN_v1b`` (the torchvision architecture): imperative; hybridized as
  the library does it (``static_alloc``); hybridized with ``static_alloc`` and
  ``static_shape``; fused by the oneDNN (MKLDNN) subgraph backend for inference
  (``net.optimize_for(x, backend='MKLDNN')``); int8 inference
  (``mx.contrib.quantization.quantize_net``, naive calibration on random data, with
  ``static_shape``, whose output MXNet 1.9 cannot read from the second call on: the
  speed of the computation), and the library's int8 export as users deploy it
  (``export_net(..., format='int8')`` reloaded by ``load_predictor``, ``int8d``); the
  library's ONNX export (MXNet's own exporter) run by ONNX Runtime through
  ``load_predictor`` (``onnx``), and its ``onnx-int8`` export, quantized by ONNX Runtime's
  tool (``onnx8``);
* MXNet's ``gluon.model_zoo.vision.resnetN_v1`` and GluonCV's ``resnetN_v1b``, hybridized
  with ``static_alloc`` and ``static_shape``;
* PyTorch on CPU as the outside reference: a torchvision-equivalent ResNet defined below
  (its parameter count is checked against torchvision's published numbers), eager and
  ``torch.compile``, with ``torch.set_num_threads(2)``.

How it measures
---------------
The orchestrator (this script without ``--worker``) imports neither MXNet nor PyTorch. It
starts persistent worker processes, one per framework and thread setting, because MXNet
reads ``OMP_NUM_THREADS`` when it is imported: MXNet with its default thread settings,
MXNet with ``OMP_NUM_THREADS=2``, and PyTorch. Each configuration (model, input shape,
batch, train or inference) is set up in every worker (built, then warmed up: two
iterations, or the compilation for ``torch.compile``); then the repetitions run
round-robin over all contenders, one contender computing at a time while the others
wait, so a change of machine load hits all of them alike. A repetition is ``n``
iterations, ``n`` chosen from the warm-up so that it lasts about ``--rep-seconds``; MXNet
is waited on (``mx.nd.waitall``) only at the end of a repetition, as a training loop
would. Reported: the median over repetitions of images/s, the spread (min-max), and the
ratio to PyTorch eager in the same configuration. Configurations too large to hold all
contenders in memory at once (ResNet-50 training at 224) rebuild each MXNet contender in
every round (build, one warm-up iteration, then the timed iterations).

Peak memory is the high-water mark of the resident set (``ru_maxrss``) of a fresh
process per contender that imports its framework, builds the net, and runs two
iterations; it includes the framework's own footprint (the RSS after ``import`` alone is
reported beside it).

Usage (from the repository root)::

    python benchmarks/throughput.py                       # everything, about 30 min
    python benchmarks/throughput.py --cases fmnist28,r50  # some cases
    python benchmarks/throughput.py --quick --out /tmp/q  # a few seconds, for the tests
    python benchmarks/throughput.py --ctx gpu0            # MXNet and PyTorch on GPU 0

Cases: ``fmnist28`` (ResNet-18, thumbnail stem, 1x28x28, batch 256), ``fmnist96``
(ResNet-18, 1x96x96, batch 256), ``r50`` (ResNet-50, 3x224x224, batch 32), ``latency``
(ResNet-18, 3x224x224, batch 1), ``depth`` (ResNet-18/34/50/101/152, 3x224x224, batch 8),
``batch`` (ResNet-18 inference at 3x224x224, batch 1 to 64), ``profile`` (ResNet-50
stage by stage), ``data`` (the Fashion-MNIST iterator, for the data-loading target).
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# ---------------------------------------------------------------------------------------
# Contenders and cases
# ---------------------------------------------------------------------------------------

# contender -> (framework, modes it runs, label)
CONTENDERS = {
    "imperative": ("mx", ("train", "infer"), "gluon_resnet imperative"),
    "hybrid": ("mx", ("train", "infer"), "gluon_resnet hybridize(static_alloc) [library default]"),
    "static": ("mx", ("train", "infer"), "gluon_resnet hybridize(static_alloc, static_shape)"),
    "mkldnn": ("mx", ("infer",), "gluon_resnet oneDNN-fused (optimize_for MKLDNN)"),
    "int8": ("mx", ("infer",), "gluon_resnet int8 (quantize_net, naive calibration, static_shape: output unreadable, see notes)"),
    "int8d": ("mx", ("infer",), "gluon_resnet int8 export as deployed (export_net + load_predictor: static_alloc)"),
    "onnx": ("mx", ("infer",), "gluon_resnet ONNX export in ONNX Runtime (export_net + load_predictor)"),
    "onnx8": ("mx", ("infer",), "gluon_resnet onnx-int8 export in ONNX Runtime (export_net + load_predictor)"),
    "zoo": ("mx", ("train", "infer"), "MXNet model_zoo.vision resnetN_v1 (static)"),
    "gluoncv": ("mx", ("train", "infer"), "GluonCV resnetN_v1b (static)"),
    "torch": ("torch", ("train", "infer"), "PyTorch eager"),
    "compile": ("torch", ("train", "infer"), "PyTorch torch.compile"),
}

# Workers: name -> (framework, environment changes). "mx-default" removes every thread
# variable so MXNet chooses for itself; "mx-omp2" sets OMP_NUM_THREADS=2.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "MXNET_CPU_WORKER_NTHREADS",
               "MXNET_OMP_MAX_THREADS")
WORKERS = {
    "mx-omp2": ("mx", {"OMP_NUM_THREADS": "2"}),
    "mx-default": ("mx", {"OMP_NUM_THREADS": None}),
    "torch": ("torch", {"OMP_NUM_THREADS": None}),
}

ALL_MX = ["imperative", "hybrid", "static", "mkldnn", "int8", "int8d", "onnx", "onnx8", "zoo",
          "gluoncv"]
MAIN = {"mx-omp2": ALL_MX, "mx-default": ["static", "mkldnn"], "torch": ["torch", "compile"]}
# The library's default (static_alloc only) is timed on the Fashion-MNIST cases; on the
# 224x224 ones it would cost minutes and its difference is the static_shape flag.
MAIN_224 = dict(MAIN, **{"mx-omp2": [c for c in ALL_MX if c != "hybrid"]})
# ResNet-50 training holds too much memory to keep every contender built, so each is
# rebuilt in every round; the imperative net and MXNet's zoo (a v1 net, 3.86 GMACs) are
# timed on the other cases only, to keep the whole run near 30 minutes.
R50_TRAIN = dict(MAIN_224, **{"mx-omp2": ["static", "gluoncv"]})
# Peak memory: a fresh process each, so torch.compile (which would recompile) and the
# library default (static_alloc without static_shape) are left out.
MEMORY = ["imperative", "static", "mkldnn", "int8", "zoo", "gluoncv", "torch"]


def _config(case, depth, shape, batch, modes, contenders, thumbnail=False, classes=1000,
            heavy=False, memory=True, reps=3):
    """One configuration. ``memory``: True (peak RSS of every contender), False, or a list
    of the contenders to measure."""
    return dict(case=case, depth=depth, shape=list(shape), batch=batch, modes=list(modes),
                contenders={w: list(c) for w, c in contenders.items()}, thumbnail=thumbnail,
                classes=classes, heavy=heavy, memory=memory, reps=reps)


def full_cases():
    sweep = {"mx-omp2": ["static", "mkldnn"], "torch": ["torch"]}
    batch_sweep = {"mx-omp2": ["static", "mkldnn", "int8"], "torch": ["torch"]}
    return {
        "fmnist28": [_config("fmnist28", 18, (1, 28, 28), 256, ("train", "infer"), MAIN,
                             thumbnail=True, classes=10, memory=MEMORY)],
        "fmnist96": [_config("fmnist96", 18, (1, 96, 96), 256, ("train", "infer"), MAIN_224,
                             classes=10, memory=MEMORY)],
        "r50": [_config("r50", 50, (3, 224, 224), 32, ("train",), R50_TRAIN, heavy=True,
                        memory=MEMORY),
                _config("r50", 50, (3, 224, 224), 32, ("infer",), MAIN_224, memory=MEMORY)],
        "latency": [_config("latency", 18, (3, 224, 224), 1, ("infer",), MAIN_224, reps=5,
                            memory=False)],
        "depth": [_config("depth", d, (3, 224, 224), 8, ("train", "infer"), sweep,
                          memory=False) for d in (18, 34, 50, 101, 152)],
        "batch": [_config("batch", 18, (3, 224, 224), b, ("infer",), batch_sweep,
                          memory=False) for b in (1, 4, 16, 64)],
    }


def quick_cases():
    quick = {"mx-omp2": ["imperative", "static", "mkldnn", "int8", "onnx", "onnx8",
                         "zoo"],
             "torch": ["torch"]}
    small = {"mx-omp2": ["static"], "torch": ["torch"]}
    return {
        "fmnist28": [_config("fmnist28", 18, (1, 16, 16), 2, ("train", "infer"), quick,
                             thumbnail=True, classes=10, reps=1, memory=["static"])],
        "depth": [_config("depth", d, (3, 32, 32), 2, ("train", "infer"), small, memory=False,
                          reps=1) for d in (18, 34)],
        "batch": [_config("batch", 18, (3, 32, 32), b, ("infer",), small, memory=False,
                          reps=1) for b in (1, 2)],
    }


# The stage-by-stage timing (the MXNet wheel has no profiler).
PROFILE = _config("profile", 50, (3, 224, 224), 16, ("train", "infer"), {})
# Single operators at the shape of ResNet-18's first stage on 28x28 thumbnails, batch 256.
OPS_SHAPE = [256, 64, 28, 28]
DATA_BATCHES = 60

# The compute ceiling: an fp32 matrix product of PEAK_N x PEAK_N matrices in each framework.
PEAK_N = 2048

DEFAULT_CASES = ["fmnist28", "fmnist96", "r50", "latency", "depth", "batch", "profile", "data",
                 "peak"]

# ---------------------------------------------------------------------------------------
# PyTorch reference model: torchvision's ResNet (v1.5: stride on the 3x3), written out
# because torchvision is not installed. Built lazily so the module imports without torch.
# ---------------------------------------------------------------------------------------

TORCHVISION_PARAMS = {18: 11689512, 34: 21797672, 50: 25557032, 101: 44549160,
                      152: 60192808}
LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
          152: (3, 8, 36, 3)}


def torch_resnet(depth, classes=1000, in_channels=3, thumbnail=False):
    """torchvision's ``resnetN`` (or, with ``thumbnail``, a 3x3 stride-1 stem without
    max-pool, like gluon_resnet's ``thumbnail=True`` for ``resnetN_v1b``)."""
    import torch
    from torch import nn

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            return self.relu(self.bn3(self.conv3(out)) + identity)

    class ResNet(nn.Module):
        def __init__(self, block, layers):
            super().__init__()
            self.inplanes = 64
            if thumbnail:
                self.conv1 = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
                self.maxpool = nn.Identity()
            else:
                self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
                self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.layer1 = self._make_layer(block, 64, layers[0])
            self.layer2 = self._make_layer(block, 128, layers[1], 2)
            self.layer3 = self._make_layer(block, 256, layers[2], 2)
            self.layer4 = self._make_layer(block, 512, layers[3], 2)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(512 * block.expansion, classes)

        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    block = BasicBlock if depth < 50 else Bottleneck
    return ResNet(block, LAYERS[depth])


# ---------------------------------------------------------------------------------------
# Workers (run in their own processes)
# ---------------------------------------------------------------------------------------

class _Runner:
    """One contender in one configuration: ``step(n)`` runs n iterations, then waits."""

    def __init__(self, step, sync, images):
        self.step, self.sync, self.images = step, sync, images

    def timed(self, n):
        self.sync()
        start = time.perf_counter()
        self.step(n)
        self.sync()
        return time.perf_counter() - start


class MXWorker:
    def __init__(self, ctx):
        sys.modules.setdefault("torch", None)  # GluonCV 0.10 refuses torch >= 2 if it sees it
        sys.path.insert(0, REPO)
        import gluon_resnet  # noqa: F401  (before mxnet)
        import mxnet as mx
        self.gr, self.mx = gluon_resnet, mx
        self.ctx = mx.gpu(int(ctx[3:] or 0)) if ctx.startswith("gpu") else mx.cpu()

    def info(self):
        import numpy
        mx = self.mx
        info = dict(mxnet=mx.__version__, numpy=numpy.__version__,
                    omp_num_threads=os.environ.get("OMP_NUM_THREADS"),
                    mkldnn=mx.runtime.Features().is_enabled("MKLDNN"))
        try:  # without importing it: GluonCV takes seconds to import
            from importlib import metadata
            info["gluoncv"] = metadata.version("gluoncv")
        except Exception:  # noqa: BLE001
            info["gluoncv"] = "not installed"
        return info

    def _net(self, contender, cfg):
        mx, gr = self.mx, self.gr
        depth, classes, thumbnail = cfg["depth"], cfg["classes"], cfg["thumbnail"]
        if contender in ("zoo", "gluoncv"):
            if contender == "zoo":
                from mxnet.gluon.model_zoo import vision
                net = vision.get_model("resnet%d_v1" % depth, classes=classes,
                                       thumbnail=thumbnail)
            else:
                if thumbnail:
                    raise NotImplementedError("GluonCV's resnet_v1b has no thumbnail stem")
                import gluoncv
                net = gluoncv.model_zoo.get_model("resnet%d_v1b" % depth, classes=classes)
            net.initialize(mx.init.Xavier(), ctx=self.ctx)
        else:
            net = gr.get_model("resnet%d_v1b" % depth, classes=classes, thumbnail=thumbnail,
                               in_channels=cfg["shape"][0], ctx=self.ctx, hybridize=False)
        if contender == "hybrid":
            net.hybridize(static_alloc=True)
        elif contender != "imperative":
            net.hybridize(static_alloc=True, static_shape=True)
        return net

    def macs(self, cfg, contender):
        return self.gr.summary(self._net(contender, cfg), tuple([1] + cfg["shape"])).total_macs

    def params(self, depth):
        net = self.gr.get_model("resnet%d_v1b" % depth, hybridize=False)
        return self.gr.summary(net, (1, 3, 224, 224)).total_params

    def setup(self, contender, cfg, mode):
        mx = self.mx
        if contender in ("mkldnn", "int8", "int8d", "onnx", "onnx8") and self.ctx != mx.cpu():
            raise NotImplementedError("n/a: oneDNN fusion, int8 and ONNX Runtime are CPU "
                                      "paths here")
        batch = cfg["batch"]
        x = mx.nd.random.normal(shape=[batch] + cfg["shape"], ctx=self.ctx)
        y = mx.nd.array(list(range(batch)), ctx=self.ctx) % cfg["classes"]
        net = self._net(contender, cfg)
        if mode == "train":
            loss_fn = mx.gluon.loss.SoftmaxCrossEntropyLoss()
            trainer = mx.gluon.Trainer(net.collect_params(), "sgd",
                                       {"learning_rate": 0.01, "momentum": 0.9})

            def step(n):
                for _ in range(n):
                    with mx.autograd.record():
                        loss = loss_fn(net(x), y)
                    loss.backward()
                    trainer.step(batch)
        else:
            with mx.autograd.predict_mode():
                net(x).wait_to_read()
            if contender == "mkldnn":
                net.optimize_for(x, backend="MKLDNN", static_alloc=True, static_shape=True)
            elif contender == "int8":
                from mxnet.contrib import quantization
                calib = mx.io.NDArrayIter(
                    data=mx.nd.random.normal(shape=[max(batch, 8)] + cfg["shape"]),
                    batch_size=max(batch, 8))
                # static_shape makes this graph 4-5x faster than fp32 but, in MXNet
                # 1.9, its output cannot be read (asnumpy) from the second call at the
                # same shape on (Check failed: !IsMKLDNNData()): these rows are the
                # speed of the computation, not of a deployable predictor, which runs
                # with static_alloc only (benchmarks/results/int8.md).
                with _quiet():
                    net = quantization.quantize_net(
                        net, quantized_dtype="auto", calib_mode="naive", calib_data=calib,
                        num_calib_examples=max(batch, 8), ctx=self.ctx)
                net.hybridize(static_alloc=True, static_shape=True)
            elif contender == "int8d":
                # What a user deploys: the int8 export, reloaded from its files.
                from gluon_resnet.deploy import export_net, load_predictor
                calib = mx.nd.random.normal(shape=[64] + cfg["shape"]).asnumpy()
                with tempfile.TemporaryDirectory() as tmp, _quiet():
                    paths = export_net(net, os.path.join(tmp, "int8"), tuple(cfg["shape"]),
                                       format="int8", calib_data=calib)
                    net = load_predictor(paths[-1])._run.block
                for _ in range(2):  # readable, call after call
                    net(x).asnumpy()
            elif contender in ("onnx", "onnx8"):
                # The ONNX export (MXNet's own exporter; for onnx8 quantized by ONNX
                # Runtime's tool, calibrated on random images) run by ONNX Runtime, as a
                # user deploys it; the input is a numpy batch, as Predictor takes it.
                from gluon_resnet.deploy import export_net, load_predictor
                fmt = "onnx" if contender == "onnx" else "onnx-int8"
                calib = (mx.nd.random.normal(shape=[16] + cfg["shape"]).asnumpy()
                         if fmt == "onnx-int8" else None)
                with tempfile.TemporaryDirectory() as tmp, _quiet():
                    paths = export_net(net, os.path.join(tmp, "net"), tuple(cfg["shape"]),
                                       format=fmt, calib_data=calib)
                    predictor = load_predictor(paths[-1])
                batch_np = x.asnumpy()

                def step(n):
                    for _ in range(n):
                        predictor(batch_np)
                return _Runner(step, lambda: None, batch)

            def step(n):
                for _ in range(n):
                    net(x)
        return _Runner(step, mx.nd.waitall, batch)

    # Stage-by-stage timing of ResNet-50 v1b (the MXNet wheel has no profiler).
    def profile(self, cfg, reps, fused=False):
        mx = self.mx
        net = self.gr.get_model("resnet%d_v1b" % cfg["depth"], classes=cfg["classes"],
                                ctx=self.ctx, hybridize=False)
        stem = mx.gluon.nn.HybridSequential()
        stem.add(net.conv1, net.bn1, net.relu, net.maxpool)
        head = mx.gluon.nn.HybridSequential()
        head.add(net.avgpool, net.flat, net.fc)
        stages = [("stem", stem)] + [("layer%d" % i, getattr(net, "layer%d" % i))
                                     for i in range(1, 5)] + [("head", head)]
        x = mx.nd.random.normal(shape=[cfg["batch"]] + cfg["shape"], ctx=self.ctx)
        out = {}
        for name, block in stages:
            if name != "stem":  # as inside the whole net: the gradient flows to the input
                x.attach_grad()
            block.hybridize(static_alloc=True, static_shape=True)
            with mx.autograd.predict_mode():
                y = block(x)
            y.wait_to_read()
            if fused:
                block.optimize_for(x, backend="MKLDNN", static_alloc=True, static_shape=True)
            times = {}
            for mode in (("infer",) if fused else ("train", "infer")):
                def run():
                    if mode == "infer":
                        block(x).wait_to_read()
                    else:
                        with mx.autograd.record():
                            z = block(x)
                        z.backward(mx.nd.ones_like(z))
                        mx.nd.waitall()
                times[mode] = _median_time(run, reps)
            out[name] = times
            x = y
        return out

    def peak(self, n, reps):
        """fp32 matrix-product speed (GFLOP/s) of n x n by n x n as ``FullyConnected``,
        which oneDNN runs (``nd.dot`` goes to OpenBLAS: about half as fast here)."""
        mx = self.mx
        a = mx.nd.random.normal(shape=(n, n), ctx=self.ctx)
        b = mx.nd.random.normal(shape=(n, n), ctx=self.ctx)
        seconds = _median_time(lambda: mx.nd.FullyConnected(
            a, b, no_bias=True, num_hidden=n).wait_to_read(), reps)
        return dict(gflops=2.0 * n ** 3 / seconds / 1e9, seconds=seconds)

    def ops(self, shape, reps):
        """Single operators of a ResNet-18 stage, each hybridized on its own."""
        mx, nn = self.mx, self.mx.gluon.nn
        channels = shape[1]

        class Add(mx.gluon.HybridBlock):
            def hybrid_forward(self, F, a, b):
                return a + b

        def seq(*blocks):
            net = nn.HybridSequential()
            net.add(*blocks)
            return net

        blocks = {
            "conv3x3": nn.Conv2D(channels, 3, 1, 1, use_bias=False, in_channels=channels),
            "batchnorm": nn.BatchNorm(in_channels=channels),
            "relu": nn.Activation("relu"),
            "batchnorm, relu": seq(nn.BatchNorm(in_channels=channels), nn.Activation("relu")),
            "BatchNormReLU (fused)": nn.BatchNormReLU(in_channels=channels),
            "add": Add(),
        }
        x = mx.nd.random.normal(shape=shape, ctx=self.ctx)
        x2 = mx.nd.random.normal(shape=shape, ctx=self.ctx)
        x.attach_grad()
        x2.attach_grad()
        out = {}
        for name, block in blocks.items():
            block.initialize(ctx=self.ctx)
            block.hybridize(static_alloc=True, static_shape=True)
            args = (x, x2) if name == "add" else (x,)
            head = mx.nd.ones(shape, ctx=self.ctx)

            def train():
                with mx.autograd.record():
                    y = block(*args)
                y.backward(head)
                mx.nd.waitall()

            def infer():
                block(*args).wait_to_read()
            out[name] = {mode: _median_time(fn, reps) for mode, fn in
                         (("train", train), ("infer", infer))}
        return out

    def data(self, resize, batches):
        sys.path.insert(0, HERE)
        from data_throughput import measure
        images, seconds = measure(256, resize, True, None, batches)
        return dict(resize=resize, augment=True, batch=256, images=images, seconds=seconds,
                    images_per_s=images / seconds)


class TorchWorker:
    def __init__(self, ctx):
        import torch
        self.torch = torch
        torch.set_num_threads(2)
        self.device = ("cuda:%s" % (ctx[3:] or 0)) if ctx.startswith("gpu") else "cpu"

    def info(self):
        torch = self.torch
        info = dict(torch=torch.__version__, threads=torch.get_num_threads(),
                    mkldnn=torch.backends.mkldnn.is_available())
        if self.device.startswith("cuda"):
            info.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                        gpu=torch.cuda.get_device_name(self.device),
                        tf32_conv=torch.backends.cudnn.allow_tf32,
                        tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
        return info

    def _model(self, cfg):
        return torch_resnet(cfg["depth"], cfg["classes"], cfg["shape"][0],
                            cfg["thumbnail"]).to(self.device)

    def params(self, depth):
        return sum(p.numel() for p in torch_resnet(depth).parameters())

    def setup(self, contender, cfg, mode):
        torch = self.torch
        batch = cfg["batch"]
        model = self._model(cfg)
        x = torch.randn([batch] + cfg["shape"], device=self.device)
        y = torch.arange(batch, device=self.device) % cfg["classes"]
        if mode == "train":
            model.train()
            fwd = torch.compile(model) if contender == "compile" else model
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            loss_fn = torch.nn.CrossEntropyLoss()

            def step(n):
                for _ in range(n):
                    opt.zero_grad(set_to_none=True)
                    loss_fn(fwd(x), y).backward()
                    opt.step()
        else:
            model.eval()
            fwd = torch.compile(model) if contender == "compile" else model

            def step(n):
                with torch.inference_mode():
                    for _ in range(n):
                        fwd(x)
        sync = torch.cuda.synchronize if self.device.startswith("cuda") else (lambda: None)
        return _Runner(step, sync, batch)

    def peak(self, n, reps):
        """fp32 matrix-product speed (GFLOP/s) of an n x n by n x n ``torch.mm``."""
        torch = self.torch
        a = torch.randn(n, n, device=self.device)
        b = torch.randn(n, n, device=self.device)
        sync = torch.cuda.synchronize if self.device.startswith("cuda") else (lambda: None)

        def run():
            torch.mm(a, b)
            sync()
        seconds = _median_time(run, reps)
        return dict(gflops=2.0 * n ** 3 / seconds / 1e9, seconds=seconds)

    def ops(self, shape, reps):
        torch, nn = self.torch, self.torch.nn
        channels = shape[1]
        blocks = {
            "conv3x3": nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            "batchnorm": nn.BatchNorm2d(channels),
            "relu": nn.ReLU(),
            "batchnorm, relu": nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True)),
            "add": None,
        }
        x = torch.randn(shape, device=self.device, requires_grad=True)
        x2 = torch.randn(shape, device=self.device, requires_grad=True)
        head = torch.ones(shape, device=self.device)
        out = {}
        for name, block in blocks.items():
            fn = (lambda a, b: a + b) if block is None else (lambda a, b, m=block.to(self.device): m(a))

            def train():
                if block is not None:
                    block.train()
                fn(x, x2).backward(head)

            def infer():
                if block is not None:
                    block.eval()
                with torch.inference_mode():
                    fn(x, x2)
            out[name] = {mode: _median_time(f, reps) for mode, f in
                         (("train", train), ("infer", infer))}
        return out

    def profile(self, cfg, reps, fused=False):
        torch = self.torch
        model = self._model(cfg)
        stem = torch.nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
        head = torch.nn.Sequential(model.avgpool, torch.nn.Flatten(1), model.fc)
        stages = [("stem", stem)] + [("layer%d" % i, getattr(model, "layer%d" % i))
                                     for i in range(1, 5)] + [("head", head)]
        x = torch.randn([cfg["batch"]] + cfg["shape"], device=self.device)
        out = {}
        for name, block in stages:
            with torch.no_grad():
                y = block(x)
            times = {}
            for mode in ("train", "infer"):
                def run():
                    if mode == "infer":
                        block.eval()
                        with torch.inference_mode():
                            block(x)
                    else:
                        block.train()
                        xi = x.detach().requires_grad_(name != "stem")
                        z = block(xi)
                        z.backward(torch.ones_like(z))
                times[mode] = _median_time(run, reps)
            out[name] = times
            x = y
        return out


def _median_time(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class _quiet:
    """Silence MXNet's quantization logging (it writes to stderr through logging)."""

    def __enter__(self):
        import logging
        self.level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)

    def __exit__(self, *exc):
        import logging
        logging.getLogger().setLevel(self.level)


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_main(framework, ctx):
    """Serve JSON commands, one a line on stdin; answer one JSON line on the original
    stdout. Anything the libraries print goes to stderr."""
    proto = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    try:
        worker = MXWorker(ctx) if framework == "mx" else TorchWorker(ctx)
    except ImportError as err:
        worker, why = None, "not installed (%s)" % err
    runners = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        try:
            if worker is None:
                raise RuntimeError(why)
            if op == "info":
                ans = worker.info()
            elif op == "setup":
                start = time.perf_counter()
                runner = worker.setup(cmd["contender"], cmd["cfg"], cmd["mode"])
                setup_s = time.perf_counter() - start
                # One warm-up iteration, a second one if the first was short or the
                # contender compiles (the first iteration allocates and creates kernels).
                warm = [runner.timed(1)]
                if cmd.get("warmup", 2) > 1 and (warm[0] < 2.0 or cmd["contender"] == "compile"):
                    warm.append(runner.timed(1))
                runners[cmd["key"]] = runner
                ans = dict(setup_s=setup_s, warmup_s=warm)
            elif op == "run":
                ans = dict(seconds=runners[cmd["key"]].timed(cmd["iters"]),
                           images=runners[cmd["key"]].images * cmd["iters"])
            elif op == "drop":
                runners.pop(cmd["key"], None)
                import gc
                gc.collect()
                ans = {}
            elif op == "macs":
                ans = dict(macs=worker.macs(cmd["cfg"], cmd["contender"]))
            elif op == "params":
                ans = dict(params=worker.params(cmd["depth"]))
            elif op == "profile":
                ans = worker.profile(cmd["cfg"], cmd["reps"], cmd.get("fused", False))
            elif op == "peak":
                ans = worker.peak(cmd["n"], cmd["reps"])
            elif op == "ops":
                ans = dict(ops=worker.ops(cmd["shape"], cmd["reps"]))
            elif op == "data":
                ans = worker.data(cmd["resize"], cmd["batches"])
            elif op == "memory":
                base = _rss_mb()
                runner = worker.setup(cmd["contender"], cmd["cfg"], cmd["mode"])
                runner.timed(1)  # allocates everything, optimizer state included
                ans = dict(import_mb=base, peak_mb=_rss_mb())
            else:
                raise ValueError("unknown op %r" % op)
            ans["ok"] = True
        except Exception as err:  # noqa: BLE001  (reported as a row, never hidden)
            ans = dict(ok=False, error="%s: %s" % (type(err).__name__,
                                                  str(err).strip().splitlines()[0][:300]
                                                  if str(err).strip() else ""))
        proto.write(json.dumps(ans) + "\n")
        proto.flush()


# ---------------------------------------------------------------------------------------
# Orchestrator
# ---------------------------------------------------------------------------------------

def _env(changes, python_path=True):
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.pop(var, None)
    for key, value in changes.items():
        if value is not None:
            env[key] = value
    return env


class Worker:
    def __init__(self, name, args, log):
        framework, changes = WORKERS[name]
        self.name, self.framework, self.log = name, framework, log
        cmd = [args.python, os.path.abspath(__file__), "--worker", framework, "--ctx", args.ctx]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=log, env=_env(changes), text=True, bufsize=1)

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            return dict(ok=False, error="worker %s died (see the log)" % self.name)
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.proc.kill()


def load_info():
    load1, load5, load15 = os.getloadavg()
    return dict(load1=round(load1, 2), load5=round(load5, 2), load15=round(load15, 2))


def competitors(me):
    """The processes using CPU now, other than this benchmark's (ps: nice, %CPU, command)."""
    try:
        out = subprocess.run(["ps", "-eo", "pid,ppid,ni,pcpu,args", "--sort=-pcpu"],
                             capture_output=True, text=True, timeout=10).stdout.splitlines()
    except Exception:  # noqa: BLE001
        return []
    rows = []
    for line in out[1:]:
        parts = line.split(None, 4)
        if len(parts) < 5 or float(parts[3]) < 5.0:
            continue
        if int(parts[0]) in me or int(parts[1]) in me or parts[4].startswith("ps "):
            continue
        rows.append("ni %s, %s%% CPU: %s" % (parts[2], parts[3], parts[4][:110]))
    return rows[:6]


def key_of(cfg, mode, worker, contender):
    return "%s|d%d|b%d|%s|%s|%s" % (cfg["case"], cfg["depth"], cfg["batch"], mode, worker,
                                    contender)


def run_config(cfg, mode, workers, args, log_print):
    """Set up every contender in its worker, run the repetitions round-robin, drop."""
    pairs = [(w, c) for w, cs in cfg["contenders"].items() if w in workers for c in cs
             if mode in CONTENDERS[c][1]]
    results = {}
    rebuild = cfg["heavy"] and not args.quick

    def setup(w, c, warmup):
        if c == "gluoncv" and cfg["thumbnail"]:
            return dict(ok=False, error="n/a: GluonCV's resnet_v1b has no thumbnail stem")
        return workers[w].ask(op="setup", key=key_of(cfg, mode, w, c), contender=c, cfg=cfg,
                              mode=mode, warmup=warmup)

    for w, c in pairs:
        res = dict(worker=w, contender=c, label=CONTENDERS[c][2], samples=[])
        if rebuild and CONTENDERS[c][0] == "mx":
            res["setup"] = dict(ok=True, rebuilt_each_round=True)
        else:
            res["setup"] = setup(w, c, 1 if args.quick else 2)
        results[(w, c)] = res
    reps = 1 if args.quick else max(1, int(round(cfg["reps"] * args.reps_scale)))
    start_load = load_info()
    for rep in range(reps):
        order = pairs[rep % len(pairs):] + pairs[:rep % len(pairs)] if pairs else []
        for w, c in order:
            res = results[(w, c)]
            key = key_of(cfg, mode, w, c)
            if rebuild and CONTENDERS[c][0] == "mx":
                s = setup(w, c, 1)
                if not s["ok"]:
                    res["setup"] = s
                    continue
                res.setdefault("warmup_s", []).extend(s["warmup_s"])
                per_iter = s["warmup_s"][-1]
            elif not res["setup"]["ok"]:
                continue
            else:
                per_iter = res["setup"]["warmup_s"][-1]
            iters = 1 if args.quick else max(1, int(round(args.rep_seconds / max(per_iter, 1e-4))))
            time.sleep(0.3)  # let the previous worker's OpenMP threads stop spinning
            ans = workers[w].ask(op="run", key=key, iters=iters)
            if ans["ok"]:
                res["samples"].append(ans["images"] / ans["seconds"])
                res["iters"] = iters
            else:
                res["setup"] = ans
            if rebuild and CONTENDERS[c][0] == "mx":
                workers[w].ask(op="drop", key=key)
    for w, c in pairs:
        workers[w].ask(op="drop", key=key_of(cfg, mode, w, c))
    end_load = load_info()
    rows = []
    for (w, c), res in results.items():
        s = res["samples"]
        row = dict(worker=w, contender=c, label=res["label"], mode=mode, case=cfg["case"],
                   depth=cfg["depth"], batch=cfg["batch"], shape=cfg["shape"],
                   images_per_s=statistics.median(s) if s else None,
                   min=min(s) if s else None, max=max(s) if s else None, reps=len(s),
                   iters_per_rep=res.get("iters"), samples=s,
                   setup_s=res["setup"].get("setup_s"),
                   error=None if res["setup"]["ok"] else res["setup"]["error"])
        rows.append(row)
        log_print("  %-10s %-11s %-6s %s" % (w, c, mode, "%.1f img/s" % row["images_per_s"]
                                             if s else row["error"]))
    ref = next((r["images_per_s"] for r in rows if r["contender"] == "torch" and r["images_per_s"]),
               None)
    for r in rows:
        r["vs_torch_eager"] = (r["images_per_s"] / ref) if (ref and r["images_per_s"]) else None
    return rows, dict(start=start_load, end=end_load)


def measure_memory(cfg, mode, args):
    """Peak RSS of a fresh process per contender (only under OMP_NUM_THREADS=2)."""
    out = []
    for w, cs in cfg["contenders"].items():
        if w == "mx-default":
            continue
        for c in cs:
            if mode not in CONTENDERS[c][1] or (c == "gluoncv" and cfg["thumbnail"]):
                continue
            if cfg["memory"] is not True and c not in cfg["memory"]:
                continue
            framework, changes = WORKERS[w]
            cmd = [args.python, os.path.abspath(__file__), "--worker", framework, "--ctx",
                   args.ctx]
            line = json.dumps(dict(op="memory", contender=c, cfg=cfg, mode=mode)) + "\n"
            try:
                proc = subprocess.run(cmd, input=line, capture_output=True, text=True,
                                      env=_env(changes), timeout=900)
                ans = json.loads(proc.stdout.strip().splitlines()[-1])
            except Exception as err:  # noqa: BLE001
                ans = dict(ok=False, error=str(err)[:200])
            out.append(dict(worker=w, contender=c, mode=mode, **ans))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes, 1 repetition, few contenders (for the tests)")
    parser.add_argument("--cases", default=None,
                        help="comma-separated, from: %s" % ", ".join(DEFAULT_CASES))
    parser.add_argument("--out", default=None,
                        help="results directory (default benchmarks/results; with --quick a "
                             "temporary directory)")
    parser.add_argument("--ctx", default="cpu", help="cpu or gpuN (MXNet and PyTorch)")
    parser.add_argument("--rep-seconds", type=float, default=2.0,
                        help="target length of one repetition")
    parser.add_argument("--reps-scale", type=float, default=1.0,
                        help="multiply every case's number of repetitions")
    parser.add_argument("--no-memory", action="store_true", help="skip peak-memory runs")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other cases' results from the existing throughput.json "
                             "(to rerun some cases, e.g. after a disturbed measurement)")
    parser.add_argument("--python", default=sys.executable, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("mx", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.ctx)

    cases = quick_cases() if args.quick else full_cases()
    wanted = (args.cases.split(",") if args.cases else
              (list(cases) + ["peak"] if args.quick else DEFAULT_CASES))
    unknown = [c for c in wanted if c not in DEFAULT_CASES]
    if unknown:
        parser.error("unknown case(s) %s; choose from %s" % (unknown, DEFAULT_CASES))
    out_dir = args.out or (tempfile.mkdtemp(prefix="throughput-") if args.quick
                           else os.path.join(HERE, "results"))
    os.makedirs(out_dir, exist_ok=True)
    log = open(os.path.join(tempfile.gettempdir(), "throughput-workers.log"), "a")

    def log_print(msg):
        print(msg)
        sys.stdout.flush()

    started = time.time()
    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               command="python benchmarks/" + " ".join(
                   [os.path.basename(__file__)] + (argv if argv is not None else sys.argv[1:])),
               quick=args.quick, ctx=args.ctx, machine=machine(args.ctx), load_start=load_info(),
               competitors_start=competitors(set()), results=[], memory=[], loads={},
               profile={}, data=[], macs={}, params={}, peak={})
    needed = {"mx-omp2", "torch"} | {w for case in wanted for cfg in cases.get(case, [])
                                     for w in cfg["contenders"]}
    workers = {name: Worker(name, args, log) for name in WORKERS if name in needed}
    me = {os.getpid()} | {w.proc.pid for w in workers.values()}
    doc["competitors_start"] = competitors(me)
    doc["versions"] = {name: w.ask(op="info") for name, w in workers.items()}
    for depth in (18, 34, 50, 101, 152) if not args.quick else (18,):
        doc["params"][str(depth)] = dict(
            torchvision_published=TORCHVISION_PARAMS[depth],
            torch_reference=workers["torch"].ask(op="params", depth=depth).get("params"),
            gluon_resnet_v1b=workers["mx-omp2"].ask(op="params", depth=depth).get("params"))
    try:
        for case in wanted:
            if case in ("profile", "data", "peak"):
                continue
            for cfg in cases.get(case, []):
                log_print("%s: ResNet-%d, %s, batch %d (load %s)" % (
                    case, cfg["depth"], "x".join(map(str, cfg["shape"])), cfg["batch"],
                    load_info()["load1"]))
                for c in sorted({c for cs in cfg["contenders"].values() for c in cs}):
                    if CONTENDERS[c][0] == "mx":
                        mk = "%s|%s|d%d|%s" % (case, c, cfg["depth"], "x".join(map(str, cfg["shape"])))
                        if mk not in doc["macs"]:
                            doc["macs"][mk] = workers["mx-omp2"].ask(
                                op="macs", cfg=cfg, contender=c).get("macs")
                for mode in cfg["modes"]:
                    before = competitors(me)
                    rows, loads = run_config(cfg, mode, workers, args, log_print)
                    for r in rows:
                        r["run_date"] = doc["date"]
                    doc["results"].extend(rows)
                    doc["loads"][key_of(cfg, mode, "", "")] = dict(
                        loads, competitors_start=before, competitors=competitors(me))
                    if cfg["memory"] and not args.no_memory:
                        doc["memory"].extend(dict(case=case, depth=cfg["depth"],
                                                  batch=cfg["batch"], **m)
                                             for m in measure_memory(cfg, mode, args))
            if not args.quick:  # save what is done so far
                partial = dict(doc, load_end=load_info(), competitors_end=[],
                               wall_s=time.time() - started,
                               runs=[dict(date=doc["date"], command=doc["command"],
                                          load_start=doc["load_start"],
                                          load_end=load_info(), cases=wanted,
                                          competitors_start=doc["competitors_start"],
                                          wall_s=time.time() - started)])
                with open(os.path.join(out_dir, "throughput.partial.json"), "w") as f:
                    json.dump(partial, f)
        if "profile" in wanted and not args.quick:
            cfg = PROFILE
            log_print("profile: ResNet-%d stage by stage, batch %d (load %s)"
                      % (cfg["depth"], cfg["batch"], load_info()["load1"]))
            doc["profile"] = dict(
                cfg=cfg, load_start=load_info(),
                mx_static=workers["mx-omp2"].ask(op="profile", cfg=cfg, reps=3),
                mx_fused=workers["mx-omp2"].ask(op="profile", cfg=cfg, reps=3, fused=True),
                torch_eager=workers["torch"].ask(op="profile", cfg=cfg, reps=3),
                ops_shape=OPS_SHAPE,
                mx_ops=workers["mx-omp2"].ask(op="ops", shape=OPS_SHAPE, reps=5),
                torch_ops=workers["torch"].ask(op="ops", shape=OPS_SHAPE, reps=5),
                load_end=load_info())
        if "peak" in wanted:
            n, reps = (256, 3) if args.quick else (PEAK_N, 15)
            log_print("peak: fp32 matrix product %dx%d (load %s)" % (n, n, load_info()["load1"]))
            doc["peak"] = dict(n=n, load_start=load_info(),
                               mx=workers["mx-omp2"].ask(op="peak", n=n, reps=reps),
                               torch=workers["torch"].ask(op="peak", n=n, reps=reps),
                               load_end=load_info())
        if "data" in wanted and not args.quick:
            for resize in (28, 96):
                log_print("data: Fashion-MNIST iterator at %dx%d with augmentation" % (resize, resize))
                ans = workers["mx-omp2"].ask(op="data", resize=resize, batches=DATA_BATCHES)
                ans["load"] = load_info()
                doc["data"].append(ans)
    finally:
        for w in workers.values():
            w.close()
    doc["load_end"] = load_info()
    doc["competitors_end"] = competitors(set())
    doc["wall_s"] = time.time() - started
    doc["runs"] = [dict((k, doc[k]) for k in ("date", "command", "load_start", "load_end",
                                              "competitors_start", "wall_s"))]
    doc["runs"][0]["cases"] = wanted
    if args.merge:
        doc = merge(doc, os.path.join(out_dir, "throughput.json"), wanted)
    write_results(doc, out_dir)
    if os.path.exists(os.path.join(out_dir, "throughput.partial.json")):
        os.remove(os.path.join(out_dir, "throughput.partial.json"))
    log_print("wrote %s/throughput.json and throughput.md (%.0f s)" % (out_dir, doc["wall_s"]))
    return 0


def merge(doc, path, wanted):
    """``doc`` (this run's cases) plus everything of the other cases in ``path``."""
    if not os.path.exists(path):
        return doc
    with open(path) as f:
        old = json.load(f)
    keep = lambda entry: entry.get("case") not in wanted  # noqa: E731
    doc["results"] = [r for r in old["results"] if keep(r)] + doc["results"]
    doc["memory"] = [m for m in old["memory"] if keep(m)] + doc["memory"]
    doc["loads"] = dict({k: v for k, v in old["loads"].items()
                         if k.split("|")[0] not in wanted}, **doc["loads"])
    doc["macs"] = dict(old["macs"], **doc["macs"])
    if "profile" not in wanted:
        doc["profile"] = old.get("profile", {})
    if "data" not in wanted:
        doc["data"] = old.get("data", [])
    if "peak" not in wanted:
        doc["peak"] = old.get("peak", {})
    old_runs = []  # each earlier run with the cases it still provides
    for run in old.get("runs") or []:
        cases = [c for c in run.get("cases", []) if c not in wanted]
        if cases:
            old_runs.append(dict(run, cases=cases))
    doc["runs"] = old_runs + doc["runs"]
    return doc


def machine(ctx="cpu"):
    info = dict(python=platform.python_version(), cpus=os.cpu_count())
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        m = re.search(r"Model name:\s*(.+)", out)
        info["cpu"] = m.group(1).strip() if m else None
    except Exception:  # noqa: BLE001
        info["cpu"] = None
    try:
        with open("/proc/meminfo") as f:
            info["mem_gib"] = round(int(f.readline().split()[1]) / 2 ** 20, 1)
    except Exception:  # noqa: BLE001
        info["mem_gib"] = None
    info["omp_num_threads_env"] = os.environ.get("OMP_NUM_THREADS")
    if ctx.startswith("gpu"):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                  "--format=csv,noheader"], capture_output=True, text=True,
                                 timeout=30).stdout.strip().splitlines()
            info["gpu"] = out[int(ctx[3:] or 0)] if out else None
        except Exception:  # noqa: BLE001
            info["gpu"] = None
    return info


# ---------------------------------------------------------------------------------------
# Results: JSON, markdown, plots
# ---------------------------------------------------------------------------------------

NOTES_BEGIN = "<!-- notes: kept when the script rewrites this file -->"
NOTES_END = "<!-- end of notes -->"
MAIN_CASES = {
    "fmnist28": "Fashion-MNIST thumbnails (3x3 stride-1 stem, no max-pool), 10 classes",
    "fmnist96": "Fashion-MNIST resized to 96 (ImageNet stem), 10 classes",
    "r50": "ImageNet shape, 1000 classes",
    "latency": "latency, 1000 classes",
}
GLUON_FP32 = ("imperative", "hybrid", "static", "mkldnn")
GLUON_TRAIN = ("imperative", "hybrid", "static")
TARGETS = [  # (name, mode, ours, reference, threshold)
    ("training >= 1.3x PyTorch eager", "train", GLUON_TRAIN, "torch", 1.3),
    ("training >= 1.0x torch.compile", "train", GLUON_TRAIN, "compile", 1.0),
    ("fp32 inference >= 2x PyTorch eager", "infer", GLUON_FP32, "torch", 2.0),
    ("fp32 inference >= 1.3x torch.compile", "infer", GLUON_FP32, "compile", 1.3),
    ("fp32 inference >= 2x PyTorch eager (the ONNX export in ONNX Runtime)", "infer",
     ("onnx",), "torch", 2.0),
    ("fp32 inference >= 1.3x torch.compile (the ONNX export in ONNX Runtime)", "infer",
     ("onnx",), "compile", 1.3),
    ("int8 inference >= 5x PyTorch fp32 eager (static_shape graph, output unreadable)",
     "infer", ("int8",), "torch", 5.0),
    ("int8 inference >= 5x PyTorch fp32 eager (a deployable export)", "infer",
     ("int8d", "onnx8"), "torch", 5.0),
]


def _find(rows, case, mode, contender, worker=None, depth=None, batch=None):
    for r in rows:
        if (r["case"] == case and r["mode"] == mode and r["contender"] == contender
                and (worker is None or r["worker"] == worker)
                and (depth is None or r["depth"] == depth)
                and (batch is None or r["batch"] == batch) and r["images_per_s"]):
            return r
    return None


def _best(rows, case, mode, contenders):
    cands = [r for r in rows if r["case"] == case and r["mode"] == mode
             and r["contender"] in contenders and r["images_per_s"]]
    return max(cands, key=lambda r: r["images_per_s"]) if cands else None


def ceiling(doc):
    """The faster framework's fp32 matrix-product GFLOP/s (the ``peak`` case), or None."""
    peaks = [p["gflops"] for p in (doc.get("peak", {}).get("mx"), doc.get("peak", {}).get("torch"))
             if p and p.get("ok")]
    return max(peaks) if peaks else None


def flops_per_image(doc, case, mode, depth, shape):
    """2 x multiply-adds of the forward pass (3 times that for a training step)."""
    macs = doc["macs"].get("%s|static|d%d|%s" % (case, depth, "x".join(map(str, shape))))
    return 2.0 * macs * (3 if mode == "train" else 1) if macs else None


def evaluate_targets(doc):
    rows, out = doc["results"], []
    for case in MAIN_CASES:
        for name, mode, ours, ref, threshold in TARGETS:
            best, other = _best(rows, case, mode, ours), _find(rows, case, mode, ref)
            if best is None or other is None:
                continue
            ratio = best["images_per_s"] / other["images_per_s"]
            flops = flops_per_image(doc, case, mode, best["depth"], best["shape"])
            out.append(dict(case=case, target=name, ours=best["contender"],
                            worker=best["worker"], ours_ips=best["images_per_s"],
                            ref_ips=other["images_per_s"], ratio=ratio,
                            met=ratio >= threshold,
                            needs_gflops=flops * threshold * other["images_per_s"] / 1e9
                            if flops else None))
    for d in doc.get("data", []):
        if not d.get("ok"):
            continue
        case = "fmnist28" if d["resize"] == 28 else "fmnist96"
        best = _best(rows, case, "train", GLUON_TRAIN)
        if best:
            ratio = d["images_per_s"] / best["images_per_s"]
            out.append(dict(case=case, target="data loading >= 10x training", ours="data",
                            worker="mx-omp2", ours_ips=d["images_per_s"],
                            ref_ips=best["images_per_s"], ratio=ratio, met=ratio >= 10))
    return out


def _fmt(v, digits=1):
    if v is None:
        return "—"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.*f" % (digits, v)


def _cell(r):
    if r is None:
        return "—"
    if not r["images_per_s"]:
        return r["error"] or "—"
    spread = " (%s–%s)" % (_fmt(r["min"]), _fmt(r["max"])) if r["reps"] > 1 else ""
    return "%s%s" % (_fmt(r["images_per_s"]), spread)


def _ratio(r):
    return "%.2fx" % r["vs_torch_eager"] if r and r.get("vs_torch_eager") else "—"


def _mem(doc, case, contender, mode):
    for m in doc["memory"]:
        if m["case"] == case and m["contender"] == contender and m["mode"] == mode:
            return "%.0f" % m["peak_mb"] if m.get("ok") else "error"
    return "—"


def _threads(worker):
    return {"mx-default": "MXNet defaults", "mx-omp2": "OMP_NUM_THREADS=2",
            "torch": "set_num_threads(2)"}[worker]


def markdown(doc, notes):
    L = []
    m = doc["machine"]
    v = doc["versions"]
    L.append("# Training and inference throughput" + (" (--quick)" if doc["quick"] else ""))
    L.append("")
    L.append("Measured %s by `benchmarks/throughput.py`, on %s." % (
        doc["date"], "CPU" if doc["ctx"] == "cpu" else doc["ctx"]))
    L.append("")
    L.append("```\n%s\n```" % doc["command"])
    L.append("")
    L.append("- Machine: `%s`, %s cores visible, %s GiB memory; Python %s." % (
        m.get("cpu"), m.get("cpus"), m.get("mem_gib"), m.get("python")))
    mxv, tv = v.get("mx-omp2", {}), v.get("torch", {})
    L.append("- MXNet %s (oneDNN %s), numpy %s, GluonCV %s; PyTorch %s (%s threads)." % (
        mxv.get("mxnet"), "on" if mxv.get("mkldnn") else "off", mxv.get("numpy"),
        mxv.get("gluoncv"), tv.get("torch", tv.get("error", "not installed")),
        tv.get("threads", "—")))
    if m.get("gpu") or tv.get("gpu"):
        L.append("- GPU: %s; PyTorch's CUDA %s, cuDNN %s, TF32 for convolutions %s, for "
                 "matrix products %s." % (m.get("gpu") or tv.get("gpu"), tv.get("cuda"),
                                          tv.get("cudnn"), tv.get("tf32_conv"),
                                          tv.get("tf32_matmul")))
    L.append("- Threads: MXNet in two worker processes, one with no thread variable set "
             "(\"MXNet defaults\") and one with `OMP_NUM_THREADS=2`; PyTorch with "
             "`torch.set_num_threads(2)`.")
    L.append("- Load average (1, 5, 15 min) at the start: %(load1)s, %(load5)s, %(load15)s; "
             "at the end: " % doc["load_start"] + "%(load1)s, %(load5)s, %(load15)s." % doc["load_end"]
             + " Whole run: %.0f s." % doc["wall_s"])
    if doc["competitors_start"]:
        L.append("- Other processes using CPU at the start: " +
                 "; ".join("`%s`" % c for c in doc["competitors_start"]) + ".")
    for run in doc.get("runs", [])[:-1] if len(doc.get("runs", [])) > 1 else []:
        L.append("- Cases %s come from an earlier run, %s: `%s`, load %s at the start and %s "
                 "at the end." % (", ".join(run["cases"]), run["date"], run["command"],
                                  run["load_start"]["load1"], run["load_end"]["load1"]))
    L.append("")
    L.append("Images per second: the median over repetitions, (min–max) after it; `x eager` "
             "is the ratio to PyTorch eager in the same configuration. Peak RSS: the "
             "high-water mark of a fresh process that builds the net and runs two "
             "iterations (framework included). Every number below was measured in this "
             "run; `—` means not run.")
    L.append("")
    if notes:
        L.append(notes)
        L.append("")

    base = {}
    for mem in doc["memory"]:
        if mem.get("ok"):
            base.setdefault(WORKERS[mem["worker"]][0], []).append(mem["import_mb"])
    if base:
        L.append("RSS of a fresh process after importing its framework (the floor under every "
                 "peak RSS below): " + ", ".join(
                     "%s %.0f MB" % ({"mx": "MXNet + gluon_resnet", "torch": "PyTorch"}[k],
                                     statistics.median(v)) for k, v in sorted(base.items()))
                 + ".")
        L.append("")

    tg = evaluate_targets(doc)
    top = ceiling(doc)
    if tg:
        L.append("## Targets")
        L.append("")
        L.append("| case | target | best gluon_resnet | its img/s | reference img/s | ratio | met "
                 "| the target needs GFLOP/s%s |" % (" (of the ceiling)" if top else ""))
        L.append("|---|---|---|---:|---:|---:|:---:|---:|")
        for t in tg:
            need = t.get("needs_gflops")
            L.append("| %s | %s | %s (%s) | %s | %s | %.2fx | %s | %s |" % (
                t["case"], t["target"], t["ours"], _threads(t["worker"]), _fmt(t["ours_ips"]),
                _fmt(t["ref_ips"]), t["ratio"], "yes" if t["met"] else "**no**",
                "—" if not need else _fmt(need) + (" (%.0f%%)" % (100 * need / top)
                                                   if top else "")))
        L.append("")
    if doc.get("peak"):
        pk = doc["peak"]
        L.append("## Compute ceiling: fp32 matrix product, %dx%d" % (pk["n"], pk["n"]))
        L.append("")
        L.append("GFLOP/s of one %dx%d by %dx%d product, median of the repetitions: MXNet "
                 "`FullyConnected` (oneDNN) %s, PyTorch `torch.mm` %s (load %s → %s). The "
                 "ceiling used above and below is the faster of the two. A ResNet's images/s "
                 "times 2 x its multiply-adds per image (3 times that for training) is the "
                 "GFLOP/s it achieves:" % (
                     pk["n"], pk["n"], pk["n"], pk["n"],
                     _fmt(pk["mx"].get("gflops")) if pk["mx"].get("ok") else pk["mx"].get("error"),
                     _fmt(pk["torch"].get("gflops")) if pk["torch"].get("ok")
                     else pk["torch"].get("error"),
                     pk["load_start"]["load1"], pk["load_end"]["load1"]))
        L.append("")
        L.append("| case | mode | contender | threads | img/s | GFLOP/s | of the ceiling |")
        L.append("|---|---|---|---|---:|---:|---:|")
        for case in MAIN_CASES:
            for r in doc["results"]:
                if r["case"] != case or not r["images_per_s"] or r["worker"] == "mx-default":
                    continue
                if r["contender"] in ("int8", "int8d", "onnx8", "imperative", "hybrid", "zoo",
                                      "gluoncv"):
                    continue  # int8 is not fp32; the rest are within a few % of static
                flops = flops_per_image(doc, case, r["mode"], r["depth"], r["shape"])
                if not flops:
                    continue
                gf = flops * r["images_per_s"] / 1e9
                L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    case, r["mode"], CONTENDERS[r["contender"]][2], _threads(r["worker"]),
                    _fmt(r["images_per_s"]), _fmt(gf),
                    "%.0f%%" % (100 * gf / top) if top else "—"))
        L.append("")

    rows = doc["results"]
    for case, title in MAIN_CASES.items():
        crow = [r for r in rows if r["case"] == case]
        if not crow:
            continue
        L.append("## %s: ResNet-%d, %s, batch %d (%s)" % (
            case, crow[0]["depth"], "x".join(map(str, crow[0]["shape"])), crow[0]["batch"],
            title))
        L.append("")
        lat = case == "latency"
        L.append("| contender | threads | MACs/img | train img/s | x eager | infer %s | "
                 "x eager | peak RSS train MB | peak RSS infer MB |" %
                 ("img/s (ms/img)" if lat else "img/s"))
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        seen = []
        for r in crow:
            if (r["worker"], r["contender"]) not in seen:
                seen.append((r["worker"], r["contender"]))
        order = list(WORKERS)
        seen.sort(key=lambda wc: (order.index(wc[0]), list(CONTENDERS).index(wc[1])))
        for w, c in seen:
            tr = next((r for r in crow if r["worker"] == w and r["contender"] == c
                       and r["mode"] == "train"), None)
            inf = next((r for r in crow if r["worker"] == w and r["contender"] == c
                        and r["mode"] == "infer"), None)
            shape = "x".join(map(str, (tr or inf)["shape"]))
            macs = doc["macs"].get("%s|%s|d%d|%s" % (case, c, (tr or inf)["depth"], shape))
            if CONTENDERS[c][0] == "torch":
                macs = doc["macs"].get("%s|%s|d%d|%s" % (case, "static", (tr or inf)["depth"],
                                                          shape))
            icell = _cell(inf)
            if lat and inf and inf["images_per_s"]:
                icell += " (%.1f ms)" % (1000.0 / inf["images_per_s"])
            mem_w = w != "mx-default"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                CONTENDERS[c][2], _threads(w), "%.2f G" % (macs / 1e9) if macs else "—",
                _cell(tr), _ratio(tr), icell, _ratio(inf),
                _mem(doc, case, c, "train") if mem_w else "—",
                _mem(doc, case, c, "infer") if mem_w else "—"))
        loads = ["%s: %s → %s" % (k.split("|")[3], v["start"]["load1"], v["end"]["load1"])
                 for k, v in doc["loads"].items() if k.startswith(case + "|")]
        L.append("")
        L.append("Load average (1 min) before → after: " + "; ".join(loads) + ".")
        others = sorted({c for k, v in doc["loads"].items() if k.startswith(case + "|")
                         for c in v.get("competitors_start", []) + v.get("competitors", [])})
        if others:
            L.append("Other processes seen using CPU before or after these measurements: "
                     + "; ".join("`%s`" % c for c in others) + ".")
        L.append("")

    depth_rows = [r for r in rows if r["case"] == "depth"]
    if depth_rows:
        L.append("## Depth sweep: ResNet-18 to 152 v1b, %s, batch %d" % (
            "x".join(map(str, depth_rows[0]["shape"])), depth_rows[0]["batch"]))
        L.append("")
        L.append("![throughput vs depth](throughput_depth.png)")
        L.append("")
        keys = []
        for r in depth_rows:
            if (r["worker"], r["contender"], r["mode"]) not in keys:
                keys.append((r["worker"], r["contender"], r["mode"]))
        L.append("| depth | GMACs/img | " + " | ".join(
            "%s %s" % (CONTENDERS[c][2], m) for w, c, m in keys) + " |")
        L.append("|---:|---:|" + "---:|" * len(keys))
        for d in sorted({r["depth"] for r in depth_rows}):
            shape = "x".join(map(str, depth_rows[0]["shape"]))
            macs = doc["macs"].get("depth|static|d%d|%s" % (d, shape))
            cells = [_cell(_find(depth_rows, "depth", m, c, w, depth=d)) for w, c, m in keys]
            L.append("| %d | %s | %s |" % (d, "%.2f" % (macs / 1e9) if macs else "—",
                                           " | ".join(cells)))
        L.append("")
        L.append("Images/s; time per image grows with multiply-adds (see the plot's right "
                 "panel: milliseconds per image against GMACs).")
        L.append("")

    batch_rows = [r for r in rows if r["case"] == "batch"]
    if batch_rows:
        L.append("## Batch sweep: ResNet-18 inference, %s" %
                 "x".join(map(str, batch_rows[0]["shape"])))
        L.append("")
        L.append("![throughput vs batch size](throughput_batch.png)")
        L.append("")
        keys = []
        for r in batch_rows:
            if (r["worker"], r["contender"]) not in keys:
                keys.append((r["worker"], r["contender"]))
        L.append("| batch | " + " | ".join(CONTENDERS[c][2] for w, c in keys) + " |")
        L.append("|---:|" + "---:|" * len(keys))
        for b in sorted({r["batch"] for r in batch_rows}):
            L.append("| %d | %s |" % (b, " | ".join(
                _cell(_find(batch_rows, "batch", "infer", c, w, batch=b)) for w, c in keys)))
        L.append("")

    prof = doc.get("profile")
    if prof:
        L.append("## Where the time goes: ResNet-%d v1b stage by stage, batch %d, %s" % (
            prof["cfg"]["depth"], prof["cfg"]["batch"], "x".join(map(str, prof["cfg"]["shape"]))))
        L.append("")
        L.append("Each stage hybridized (static_alloc, static_shape) and timed on its own "
                 "(median of 3, after 2 warm-up runs), MXNet with `OMP_NUM_THREADS=2`; "
                 "train = forward + backward (no update). Milliseconds per batch. Load "
                 "%s → %s." % (prof["load_start"]["load1"], prof["load_end"]["load1"]))
        L.append("")
        L.append("| stage | MXNet train | PyTorch train | MXNet/PyTorch | MXNet infer | "
                 "MXNet fused infer | PyTorch infer | MXNet/PyTorch (fused) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        ms, mf, te = prof["mx_static"], prof["mx_fused"], prof["torch_eager"]
        if ms.get("ok") and te.get("ok"):
            for stage in [k for k in ms if k != "ok"]:
                a, b = ms[stage], te[stage]
                f = mf.get(stage, {}).get("infer") if mf.get("ok") else None
                L.append("| %s | %.0f | %.0f | %.2f | %.0f | %s | %.0f | %s |" % (
                    stage, a["train"] * 1e3, b["train"] * 1e3, a["train"] / b["train"],
                    a["infer"] * 1e3, "%.0f" % (f * 1e3) if f else "—", b["infer"] * 1e3,
                    "%.2f" % (f / b["infer"]) if f else "—"))
        else:
            L.append("| error | %s | %s |" % (ms.get("error"), te.get("error")))
        L.append("")

    if prof and prof.get("mx_ops"):
        mo, to = prof["mx_ops"], prof["torch_ops"]
        L.append("## Single operators at %s (ResNet-18's first stage on 28x28 thumbnails)"
                 % "x".join(map(str, prof["ops_shape"])))
        L.append("")
        L.append("Each operator hybridized on its own (static_alloc, static_shape), MXNet "
                 "with `OMP_NUM_THREADS=2`; train = forward + backward (gradients of the "
                 "input and the parameters). Milliseconds, median of 5 after 2 warm-ups.")
        L.append("")
        L.append("| operator | MXNet train | PyTorch train | MXNet/PyTorch | MXNet infer | "
                 "PyTorch infer | MXNet/PyTorch |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        if mo.get("ok"):
            for name, a in mo["ops"].items():
                b = to.get("ops", {}).get(name) if to.get("ok") else None
                L.append("| %s | %.1f | %s | %s | %.1f | %s | %s |" % (
                    name, a["train"] * 1e3, "%.1f" % (b["train"] * 1e3) if b else "—",
                    "%.2f" % (a["train"] / b["train"]) if b else "—", a["infer"] * 1e3,
                    "%.1f" % (b["infer"] * 1e3) if b else "—",
                    "%.2f" % (a["infer"] / b["infer"]) if b else "—"))
        else:
            L.append("| error | %s | | | | | |" % mo.get("error"))
        L.append("")

    if doc.get("data"):
        L.append("## Data loading (Fashion-MNIST training iterator, batch 256, augmented)")
        L.append("")
        L.append("| size | images | seconds | images/s | load |")
        L.append("|---|---:|---:|---:|---:|")
        for d in doc["data"]:
            if d.get("ok"):
                L.append("| %dx%d | %d | %.2f | %s | %s |" % (
                    d["resize"], d["resize"], d["images"], d["seconds"],
                    _fmt(d["images_per_s"]), d["load"]["load1"]))
            else:
                L.append("| %s | error: %s | | | |" % (d.get("resize"), d.get("error")))
        L.append("")

    if doc["params"]:
        L.append("## The PyTorch reference is torchvision's ResNet")
        L.append("")
        L.append("| depth | torchvision (published) | reference defined here | "
                 "gluon_resnet resnetN_v1b |")
        L.append("|---:|---:|---:|---:|")
        for d, p in doc["params"].items():
            L.append("| %s | {:,} | %s | %s |".format(p["torchvision_published"]) % (
                d, "{:,}".format(p["torch_reference"]) if p["torch_reference"] else "—",
                "{:,}".format(p["gluon_resnet_v1b"]) if p["gluon_resnet_v1b"] else "—"))
        L.append("")
    L.append("Raw numbers, every repetition and the load per configuration: "
             "[throughput.json](throughput.json).")
    return "\n".join(L) + "\n"


def plots(doc, out_dir):
    rows = doc["results"]
    depth_rows = [r for r in rows if r["case"] == "depth" and r["images_per_s"]]
    batch_rows = [r for r in rows if r["case"] == "batch" and r["images_per_s"]]
    if not (depth_rows or batch_rows):
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    written = []
    if depth_rows:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        keys = sorted({(r["worker"], r["contender"], r["mode"]) for r in depth_rows})
        for w, c, m in keys:
            pts = sorted((r["depth"], r["images_per_s"]) for r in depth_rows
                         if (r["worker"], r["contender"], r["mode"]) == (w, c, m))
            label = "%s, %s" % (CONTENDERS[c][2].split(" (")[0], m)
            ax1.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=label)
            shape = "x".join(map(str, depth_rows[0]["shape"]))
            macs = [doc["macs"].get("depth|static|d%d|%s" % (p[0], shape)) for p in pts]
            if all(macs):
                ax2.plot([x / 1e9 for x in macs], [1000.0 / p[1] for p in pts], "o-",
                         label=label)
        ax1.set_xlabel("depth")
        ax1.set_ylabel("images/s")
        ax1.set_yscale("log")
        ax1.set_xticks(sorted({r["depth"] for r in depth_rows}))
        ax1.legend(fontsize=7)
        ax1.set_title("throughput vs depth (batch %d)" % depth_rows[0]["batch"])
        ax2.set_xlabel("GMACs per image")
        ax2.set_ylabel("ms per image")
        ax2.set_title("time per image vs multiply-adds")
        fig.tight_layout()
        path = os.path.join(out_dir, "throughput_depth.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    if batch_rows:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for w, c in sorted({(r["worker"], r["contender"]) for r in batch_rows}):
            pts = sorted((r["batch"], r["images_per_s"]) for r in batch_rows
                         if (r["worker"], r["contender"]) == (w, c))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-",
                    label=CONTENDERS[c][2].split(" (")[0])
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size")
        ax.set_ylabel("images/s (inference)")
        ax.set_title("ResNet-18 inference vs batch size")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out_dir, "throughput_batch.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def write_results(doc, out_dir):
    """throughput.json, throughput.md (keeping its notes section) and the plots."""
    md_path = os.path.join(out_dir, "throughput.md")
    notes = ""
    if os.path.exists(md_path):
        text = open(md_path).read()
        if NOTES_BEGIN in text and NOTES_END in text:
            notes = text[text.index(NOTES_BEGIN):text.index(NOTES_END) + len(NOTES_END)]
    doc["targets"] = evaluate_targets(doc)
    doc["plots"] = [os.path.basename(p) for p in plots(doc, out_dir)]
    for name, text in (("throughput.json", json.dumps(doc, indent=1)),
                       ("throughput.md", markdown(doc, notes))):
        tmp = os.path.join(out_dir, "." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out_dir, name))


if __name__ == "__main__":
    sys.exit(main())
