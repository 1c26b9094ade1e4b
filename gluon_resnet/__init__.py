"""gluon-resnet: the ResNet family as MXNet Gluon HybridBlocks, and its lineage (LeNet,
AlexNet, VGG, NiN, GoogLeNet, DenseNet).

``net = gluon_resnet.resnet18(ctx=gluon_resnet.try_gpu())`` builds an initialised,
hybridized net (on the first GPU MXNet sees, else on the CPU);
``gluon_resnet.list_models()`` names them all.
"""
from . import _compat  # noqa: F401  (must run before mxnet is imported)
from .context import GPUUnavailableError, try_all_gpus, try_gpu  # noqa: F401
from .blocks import (BasicBlockV1, BasicBlockV1b, BasicBlockV2, BottleneckV1,  # noqa: F401
                     BottleneckV1b, BottleneckV2, Residual, SameConv2D, ZeroPadShortcut,
                     resnet_block)
from .deploy import Predictor, export_checkpoint, export_net, load_predictor  # noqa: F401
from .export import export, load_exported  # noqa: F401
from . import lineage  # noqa: F401
from .lineage import *  # noqa: F401,F403  (the network classes)
from .lineage import (alexnet, d2l_alexnet, d2l_densenet, d2l_googlenet,  # noqa: F401
                      d2l_lenet, d2l_nin, d2l_resnet18, d2l_vgg11, densenet121, densenet161,
                      densenet169, densenet201, googlenet, lenet, nin, vgg11, vgg11_bn, vgg13,
                      vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from .params import load_parameters, save_parameters  # noqa: F401
from .precision import optimize_for_inference  # noqa: F401
from .registry import get_model, list_models, register_model  # noqa: F401
from .resnet import *  # noqa: F401,F403  (the network classes)
from .summary import Summary, summary  # noqa: F401
from .resnet import (cifar_resnet20, cifar_resnet32, cifar_resnet44,  # noqa: F401
                     cifar_resnet56, cifar_resnet110, cifar_plain20, cifar_plain32,
                     cifar_plain44, cifar_plain56, cifar_plain110, plain18, plain34,
                     resnet18, resnet18_v1b, resnet18_v2,
                     resnet34, resnet34_v1b, resnet34_v2, resnet50, resnet50_v1b,
                     resnet50_v2, resnet101, resnet101_v1b, resnet101_v2, resnet152,
                     resnet152_v1b, resnet152_v2, resnet200_v2, resnext50_32x4d,
                     resnext101_32x4d)
from .train import (Animator, History, PrintLines, ProgressBar, SaveCurves,  # noqa: F401
                    TrainingDiverged, evaluate_accuracy, load_checkpoint, train)

from .cpu import amx_status, cpu_report  # noqa: F401

__version__ = "0.1.0"


def _first_operator():
    import mxnet as mx
    mx.nd.Convolution(mx.nd.ones((1, 1, 2, 2)), mx.nd.ones((1, 1, 1, 1)), kernel=(1, 1),
                      num_filter=1, no_bias=True).wait_to_read()


_compat.cpu.settle_amx(_first_operator)
