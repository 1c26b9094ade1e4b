"""The throughput benchmark's cases: who competes (CONTENDERS, run by which WORKERS),
in which configurations (model, input, batch, modes), and PyTorch's reference ResNet.

Imported by :mod:`throughput` (the orchestrator, which imports neither MXNet nor PyTorch)
and :mod:`throughput_workers`.
"""

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
    "bf16": ("mx", ("train", "infer"), "gluon_resnet bf16 (optimize_for_inference / train precision='bf16')"),
    "auto": ("mx", ("train", "infer"), "gluon_resnet precision='auto' (optimize_for_inference / train)"),
    "torch": ("torch", ("train", "infer"), "PyTorch eager"),
    "compile": ("torch", ("train", "infer"), "PyTorch torch.compile"),
    "bf16cl": ("torch", ("train", "infer"), "PyTorch bf16 autocast + channels_last"),
    "bf16compile": ("torch", ("train", "infer"), "PyTorch torch.compile of bf16 autocast + channels_last"),
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


# fp32 against bfloat16, ours against PyTorch's (issue 14's targets): ResNet-18 at 112 and
# 224, ResNet-50 at 224, batch 32, and batch-1 latency. `--cases precision` runs all four.
PRECISION = {"mx-omp2": ["static", "mkldnn", "bf16", "auto"],
             "torch": ["torch", "compile", "bf16cl", "bf16compile"]}
PRECISION_CASES = ("bf16_r18_112", "bf16_r18_224", "bf16_r50", "bf16_latency")


# Inference at the same sizes with our int8 exports as well (MXNet's oneDNN int8 on AMX
# tiles; ONNX Runtime's int8), beside PyTorch's fastest accuracy-keeping paths of the
# `precision` run (`--cases int8cmp`). The int8 exports keep accuracy within 0.05 points
# on Fashion-MNIST (benchmarks/results/int8.md), inside the bf16 rule's 0.2.
INT8_COMPARE = {"mx-omp2": ["auto", "int8d", "onnx8"], "torch": ["bf16cl", "bf16compile"]}
INT8_CASES = ("int8_r18_112", "int8_r18_224", "int8_r50", "int8_latency")


def int8_cases():
    return {
        "int8_r18_112": [_config("int8_r18_112", 18, (3, 112, 112), 32, ("infer",),
                                 INT8_COMPARE, memory=False)],
        "int8_r18_224": [_config("int8_r18_224", 18, (3, 224, 224), 32, ("infer",),
                                 INT8_COMPARE, memory=False)],
        "int8_r50": [_config("int8_r50", 50, (3, 224, 224), 32, ("infer",), INT8_COMPARE,
                             memory=False)],
        "int8_latency": [_config("int8_latency", 18, (3, 224, 224), 1, ("infer",),
                                 INT8_COMPARE, reps=5, memory=False)],
    }


# The demo's own workload (`make demo`: ResNet-18, standard stem, Fashion-MNIST resized to
# 1x32x32, batch 128, 10 classes), training and inference: the library's default graph
# (static_alloc), with static shapes, oneDNN-fused (inference), bf16 and auto, against
# PyTorch fp32 eager and bf16 autocast + channels_last (issue 22). `--cases demo`.
DEMO = {"mx-omp2": ["hybrid", "static", "mkldnn", "bf16", "auto"],
        "torch": ["torch", "bf16cl"]}
DEMO_CASES = ("demo",)


def demo_cases():
    return {"demo": [_config("demo", 18, (1, 32, 32), 128, ("train", "infer"), DEMO,
                             classes=10, memory=False, reps=5)]}


def precision_cases(quick=False):
    if quick:
        return {"bf16_r18_112": [_config("bf16_r18_112", 18, (3, 32, 32), 2, ("train", "infer"),
                                         {"mx-omp2": ["static", "bf16", "auto"],
                                          "torch": ["torch", "bf16cl"]},
                                         memory=False, reps=1)]}
    return {
        "bf16_r18_112": [_config("bf16_r18_112", 18, (3, 112, 112), 32, ("train", "infer"),
                                 PRECISION, memory=False)],
        "bf16_r18_224": [_config("bf16_r18_224", 18, (3, 224, 224), 32, ("train", "infer"),
                                 PRECISION, memory=False)],
        "bf16_r50": [_config("bf16_r50", 50, (3, 224, 224), 32, ("train", "infer"),
                             PRECISION, heavy=True, memory=False)],
        "bf16_latency": [_config("bf16_latency", 18, (3, 224, 224), 1, ("infer",), PRECISION,
                                 reps=5, memory=False)],
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
# Cases run only when named (or as the group "precision").
EXTRA_CASES = list(PRECISION_CASES) + list(INT8_CASES) + list(DEMO_CASES)

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

