"""Models: residual blocks, the ResNet family (one spec table, one builder, two-line
factories), the lineage from LeNet to DenseNet, the registry (``get_model``), published
weights (``model_store``), ``summary``, and nets as symbol graphs (``graph``).
"""
from .blocks import (BasicBlockV1, BasicBlockV1b, BasicBlockV2, BottleneckV1,  # noqa: F401
                     BottleneckV1b, BottleneckV2, Residual, SameConv2D, ZeroPadShortcut,
                     resnet_block)
from .registry import get_model, list_models, register_model  # noqa: F401
from .resnet import *  # noqa: F401,F403  (the network classes and SPECS)
from .resnet import (cifar_plain20, cifar_plain32, cifar_plain44,  # noqa: F401
                     cifar_plain56, cifar_plain110, cifar_resnet20, cifar_resnet32,
                     cifar_resnet44, cifar_resnet56, cifar_resnet110, plain18, plain34,
                     resnet18, resnet18_v1b, resnet18_v2, resnet34, resnet34_v1b, resnet34_v2,
                     resnet50, resnet50_v1b, resnet50_v2, resnet101, resnet101_v1b,
                     resnet101_v2, resnet152, resnet152_v1b, resnet152_v2, resnet200_v2,
                     resnext50_32x4d, resnext101_32x4d)
from . import lineage  # noqa: F401  (registers LeNet ... DenseNet)
from .lineage import *  # noqa: F401,F403  (the network classes)
from .lineage import (alexnet, d2l_alexnet, d2l_densenet, d2l_googlenet,  # noqa: F401
                      d2l_lenet, d2l_nin, d2l_resnet18, d2l_vgg11, densenet121, densenet161,
                      densenet169, densenet201, googlenet, lenet, nin, vgg11, vgg11_bn, vgg13,
                      vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from .summary import Summary, summary  # noqa: F401
