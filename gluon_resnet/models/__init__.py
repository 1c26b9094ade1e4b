"""Models: residual blocks, the ResNet family (one spec table, one builder, two-line
factories), the lineage from LeNet to DenseNet, the registry (``get_model``), published
weights (``model_store``), ``summary``, and nets as symbol graphs (``graph``).
"""
from .blocks import (BasicBlockV1, BasicBlockV1b, BasicBlockV2, BottleneckV1,  # noqa: F401
                     BottleneckV1b, BottleneckV2, Residual, SameConv2D, ZeroPadShortcut,
                     resnet_block)
from .registry import get_model, list_models, register_model  # noqa: F401
from .resnet import *  # noqa: F401,F403  (the network classes and SPECS)
from .factories import *  # noqa: F401,F403  (the ResNet family's registered factories)
from . import lineage  # noqa: F401  (registers LeNet ... DenseNet)
from .lineage import *  # noqa: F401,F403  (the network classes)
from .lineage import (alexnet, d2l_alexnet, d2l_densenet, d2l_googlenet,  # noqa: F401
                      d2l_lenet, d2l_nin, d2l_resnet18, d2l_vgg11, densenet121, densenet161,
                      densenet169, densenet201, googlenet, lenet, nin, vgg11, vgg11_bn, vgg13,
                      vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from .summary import Summary, summary  # noqa: F401
