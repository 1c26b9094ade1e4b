"""The throughput benchmark's worker processes: one per framework and thread setting
(MXNet reads OMP_NUM_THREADS when it is imported). Each builds the contenders of a
configuration and times them on the orchestrator's command (JSON lines on stdin/stdout).
"""
import contextlib
import json
import os
import resource
import statistics
import sys
import tempfile
import time

from throughput_cases import torch_resnet

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

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
                    mkldnn=mx.runtime.Features().is_enabled("MKLDNN"),
                    amx=self.gr.amx_status())
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
                from gluon_resnet._compat import import_gluoncv  # (refuses torch >= 2)
                gluoncv = import_gluoncv()
                net = gluoncv.model_zoo.get_model("resnet%d_v1b" % depth, classes=classes)
            net.initialize(mx.init.Xavier(), ctx=self.ctx)
        else:
            net = gr.get_model("resnet%d_v1b" % depth, classes=classes, thumbnail=thumbnail,
                               in_channels=cfg["shape"][0], ctx=self.ctx, hybridize=False)
        if contender in ("hybrid", "bf16", "auto"):
            # as the library's factories hand the net to train(): where auto keeps fp32,
            # this is the graph it trains (bf16 graphs are traced and hybridized anew)
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
        if (contender in ("mkldnn", "int8", "int8d", "onnx", "onnx8", "bf16")
                and self.ctx != mx.cpu()):
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
            fwd = net
            if contender in ("bf16", "auto"):  # what train(..., precision=...) runs
                from gluon_resnet.training.precision import for_training
                fwd = for_training(net, [batch] + cfg["shape"], contender)

            def step(n):
                for _ in range(n):
                    with mx.autograd.record():
                        loss = loss_fn(fwd(x), y)
                    loss.backward()
                    trainer.step(batch)
        else:
            with mx.autograd.predict_mode():
                net(x).wait_to_read()
            if contender == "mkldnn":
                net.optimize_for(x, backend="MKLDNN", static_alloc=True, static_shape=True)
            elif contender in ("bf16", "auto"):
                from gluon_resnet.deploy.inference import optimize_for_inference
                net = optimize_for_inference(net, [batch] + cfg["shape"], contender)
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

    def peak(self, n, reps, dtype="float32"):
        """Matrix-product speed (GFLOP/s) of n x n by n x n as ``FullyConnected``, which
        oneDNN runs (``nd.dot`` goes to OpenBLAS: about half as fast here), in float32
        or bfloat16 (on AMX tiles where gluon_resnet unlocked them)."""
        mx = self.mx
        a = mx.nd.random.normal(shape=(n, n), ctx=self.ctx)
        b = mx.nd.random.normal(shape=(n, n), ctx=self.ctx)
        if dtype == "bfloat16":
            from gluon_resnet.models.graph import BFLOAT16
            a, b = mx.nd.amp_cast(a, dtype=BFLOAT16), mx.nd.amp_cast(b, dtype=BFLOAT16)
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
        low = contender in ("bf16cl", "bf16compile")
        if low:  # PyTorch's fast CPU recipe: bf16 autocast on a channels_last model
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = ((lambda: torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16))
                    if low else contextlib.nullcontext)
        compiled = contender in ("compile", "bf16compile")
        if mode == "train":
            model.train()
            fwd = torch.compile(model) if compiled else model
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            loss_fn = torch.nn.CrossEntropyLoss()

            def step(n):
                for _ in range(n):
                    opt.zero_grad(set_to_none=True)
                    with autocast():
                        loss = loss_fn(fwd(x), y)
                    loss.backward()
                    opt.step()
        else:
            model.eval()
            fwd = torch.compile(model) if compiled else model

            def step(n):
                with torch.inference_mode(), autocast():
                    for _ in range(n):
                        fwd(x)
        sync = torch.cuda.synchronize if self.device.startswith("cuda") else (lambda: None)
        return _Runner(step, sync, batch)

    def peak(self, n, reps, dtype="float32"):
        """Matrix-product speed (GFLOP/s) of an n x n by n x n ``torch.mm``, in float32
        or bfloat16."""
        torch = self.torch
        a = torch.randn(n, n, device=self.device, dtype=getattr(torch, dtype))
        b = torch.randn(n, n, device=self.device, dtype=getattr(torch, dtype))
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
                if cmd.get("warmup", 2) > 1 and (warm[0] < 2.0 or cmd["contender"] in ("compile", "bf16compile")):
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
                ans = worker.peak(cmd["n"], cmd["reps"], cmd.get("dtype", "float32"))
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


