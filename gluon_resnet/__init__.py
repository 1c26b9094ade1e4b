"""gluon-resnet: the ResNet family as MXNet Gluon HybridBlocks, and its lineage (LeNet,
AlexNet, VGG, NiN, GoogLeNet, DenseNet).

``net = gluon_resnet.resnet18(ctx=gluon_resnet.try_gpu())`` builds an initialised,
hybridized net (on the first GPU MXNet sees, else on the CPU);
``gluon_resnet.list_models()`` names them all.

The package is layered, imports pointing one way: ``cli`` -> ``lab``, ``deploy`` ->
``training`` -> ``data``, ``models`` -> the base (``_compat``, ``cpu``, ``arrays``,
``context``, ``params``). Every public name is here (docs/architecture.md).
"""
from . import _compat  # noqa: F401  (must run before mxnet is imported)
from .context import GPUUnavailableError, try_all_gpus, try_gpu  # noqa: F401
from .cpu import amx_status, cpu_report  # noqa: F401
from .models import *  # noqa: F401,F403  (the network classes)
from .models import lineage  # noqa: F401  (gluon_resnet.lineage.SPECS, as before)
from .models import (BasicBlockV1, BasicBlockV1b, BasicBlockV2, BottleneckV1,  # noqa: F401
                     BottleneckV1b, BottleneckV2, Residual, SameConv2D, Summary,
                     ZeroPadShortcut, alexnet, cifar_plain20, cifar_plain32, cifar_plain44,
                     cifar_plain56, cifar_plain110, cifar_resnet20, cifar_resnet32,
                     cifar_resnet44, cifar_resnet56, cifar_resnet110, d2l_alexnet,
                     d2l_densenet, d2l_googlenet, d2l_lenet, d2l_nin, d2l_resnet18, d2l_vgg11,
                     densenet121, densenet161, densenet169, densenet201, get_model, googlenet,
                     lenet, list_models, nin, plain18, plain34, register_model, resnet18,
                     resnet18_v1b, resnet18_v2, resnet34, resnet34_v1b, resnet34_v2, resnet50,
                     resnet50_v1b, resnet50_v2, resnet101, resnet101_v1b, resnet101_v2,
                     resnet152, resnet152_v1b, resnet152_v2, resnet200_v2, resnet_block,
                     resnext50_32x4d, resnext101_32x4d, summary, vgg11, vgg11_bn, vgg13,
                     vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from .models.weights import load_parameters, save_parameters  # noqa: F401
from .training import (Animator, History, PrintLines, ProgressBar, SaveCurves,  # noqa: F401
                       TrainingDiverged, evaluate_accuracy, load_checkpoint, train)
from .deploy import (Predictor, export, export_checkpoint, export_net,  # noqa: F401
                     load_exported, load_predictor, optimize_for_inference)
from .serve import create_app  # noqa: F401  (needs the serve extra when called)

__version__ = "0.1.0"


def _first_operator():
    import mxnet as mx
    mx.nd.Convolution(mx.nd.ones((1, 1, 2, 2)), mx.nd.ones((1, 1, 1, 1)), kernel=(1, 1),
                      num_filter=1, no_bias=True).wait_to_read()


_compat.cpu.settle_amx(_first_operator)
