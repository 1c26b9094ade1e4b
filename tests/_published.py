"""What the tests hold our nets' sizes against, written once: torchvision's published
figures, and counts of MXNet's own model-zoo nets made from their symbols' shapes (no
gluon_resnet code in either)."""
import json
import math

# torchvision's published figures (its model docs: parameters and GFLOPS, which are
# multiply-accumulates, at 224x224): our v1b is torchvision's ResNet ("v1.5"), MXNet's
# AlexNet is torchvision's (one tower, 64-192-384-256-256), and GluonCV's GoogLeNet has
# torchvision's 3x3 "5x5" branch and BatchNorm.
TORCHVISION_SIZES = {
    "resnet18": (11689512, 1.81), "resnet34": (21797672, 3.66),
    "resnet50_v1b": (25557032, 4.09), "resnet101_v1b": (44549160, 7.8),
    "resnet152_v1b": (60192808, 11.51), "resnext50_32x4d": (25028904, 4.23),
    "resnext101_32x8d": (88791336, 16.41), "resnext101_64x4d": (83455272, 15.46),
    "wide_resnet50_2": (68883240, 11.4), "wide_resnet101_2": (126886696, 22.75),
    "alexnet": (61100840, 0.71), "googlenet": (6624904, 1.5),
    "vgg11": (132863336, 7.61), "vgg11_bn": (132868840, 7.61),
    "vgg13": (133047848, 11.31), "vgg13_bn": (133053736, 11.31),
    "vgg16": (138357544, 15.47), "vgg16_bn": (138365992, 15.47),
    "vgg19": (143667240, 19.63), "vgg19_bn": (143678248, 19.63),
    "densenet121": (7978856, 2.83), "densenet161": (28681000, 7.73),
    "densenet169": (14149480, 3.36), "densenet201": (20013928, 4.29)}


def zoo_counts(name, shape, **kwargs):
    """(parameters, multiply-adds) of MXNet's own ``gluon.model_zoo.vision`` net at input
    ``shape``, from its symbol: parameters are the arguments but the data (BatchNorm's
    running statistics are auxiliary states, not counted); multiply-adds are each
    convolution's and dense layer's output elements x its weight's (in channels /
    groups) x kernel area."""
    import mxnet as mx
    from mxnet.gluon.model_zoo import vision
    sym = vision.get_model(name, **kwargs)(mx.sym.var("data"))
    internals = sym.get_internals()
    arg_shapes, out_shapes, _ = internals.infer_shape(data=shape)
    params = sum(math.prod(s) for arg, s in zip(internals.list_arguments(), arg_shapes)
                 if arg != "data")
    shape_of = dict(zip(internals.list_outputs(), out_shapes))
    nodes = json.loads(sym.tojson())["nodes"]
    macs = 0
    for node in nodes:
        if node["op"] in ("Convolution", "FullyConnected"):
            weight = shape_of[nodes[node["inputs"][1][0]]["name"]]
            macs += math.prod(shape_of[node["name"] + "_output"][1:]) * math.prod(weight[1:])
    return params, macs
