"""The lineage before and beside ResNet: LeNet, AlexNet, VGG, NiN, GoogLeNet, DenseNet.

Every model is built from one row of the spec table ``SPECS`` by its builder; each
factory is a registered two-liner taking the keywords of the ResNet factories. Two
kinds of forms:

* ImageNet forms with the child structure of the reference zoos, so their published
  ``.params`` files load: :class:`AlexNet`, :class:`VGG` (``vgg11`` ... ``vgg19_bn``)
  and :class:`DenseNet` (``densenet121`` ... ``densenet201``) as MXNet's
  ``gluon.model_zoo.vision``; :class:`GoogLeNet` as GluonCV's ``googlenet`` (Inception
  v1 with BatchNorm). Beside them, two nets no zoo publishes: ``lenet`` (LeNet-5,
  LeCun et al. 1998, for 32x32 images) and ``nin`` (the original Network in Network
  for ImageNet, Lin et al. 2013).
* d2l's Fashion-MNIST forms (``d2l_*``), exactly as the chapters of d2l's MXNet edition
  (0.17.6) build them, as a :class:`SequentialNet` with the layers of the chapter's
  ``nn.Sequential`` in the same places, so parameters that d2l's code trained and
  saved load here.

Concatenations (DenseNet, GoogLeNet) go through :func:`gluon_resnet.arrays.concat`, which
picks ``F.np.concatenate`` or ``F.concat`` at call time: MXNet's ``HybridConcurrent``
calls the legacy operator only and fails in numpy mode, so :class:`Concurrent` takes
its place with the same child structure.
"""
from .alexnet import AlexNet  # noqa: F401
from .common import Concurrent, SequentialNet  # noqa: F401
from .densenet import DenseBlock, DenseNet  # noqa: F401
from .googlenet import GoogLeNet, Inception  # noqa: F401
from .specs import (SPECS, Spec, alexnet, d2l_alexnet, d2l_densenet,  # noqa: F401
                    d2l_googlenet, d2l_lenet, d2l_nin, d2l_resnet18, d2l_vgg11, densenet121,
                    densenet161, densenet169, densenet201, googlenet, lenet, nin, vgg11,
                    vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn)
from .vgg import VGG  # noqa: F401

__all__ = ["AlexNet", "VGG", "DenseNet", "GoogLeNet", "SequentialNet", "Concurrent",
           "Inception", "DenseBlock"]
