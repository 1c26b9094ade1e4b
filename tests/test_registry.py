import pytest

import gluon_resnet
from gluon_resnet.models import registry

EXPECTED = {"resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
            "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2",
            "resnet200_v2", "resnet18_v1b", "resnet34_v1b", "resnet50_v1b", "resnet101_v1b",
            "resnet152_v1b", "resnext50_32x4d", "resnext101_32x4d",
            "resnet50_v1c", "resnet101_v1c", "resnet152_v1c", "resnet50_v1d", "resnet101_v1d",
            "resnet152_v1d", "resnet50_v1s", "resnet101_v1s", "resnet152_v1s", "resnet50_v1e",
            "wide_resnet50_2", "wide_resnet101_2", "resnext101_32x8d", "resnext101_64x4d",
            "cifar_resnet20",
            "cifar_resnet32", "cifar_resnet44", "cifar_resnet56", "cifar_resnet110",
            "plain18", "plain34", "cifar_plain20", "cifar_plain32", "cifar_plain44",
            "cifar_plain56", "cifar_plain110",
            # the lineage
            "lenet", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn",
            "vgg16_bn", "vgg19_bn", "nin", "googlenet", "densenet121", "densenet161",
            "densenet169", "densenet201", "d2l_lenet", "d2l_alexnet", "d2l_vgg11", "d2l_nin",
            "d2l_googlenet", "d2l_resnet18", "d2l_densenet"}


def test_list_models_has_the_zoo():
    assert set(gluon_resnet.list_models()) == EXPECTED
    assert gluon_resnet.list_models() == sorted(EXPECTED)


def test_factories_are_exported_and_registered():
    for name in EXPECTED:
        assert registry._MODELS[name] is getattr(gluon_resnet, name)


def test_register_model_rejects_duplicates():
    def resnet18():
        pass
    with pytest.raises(ValueError, match="'resnet18' is already registered"):
        registry.register_model(resnet18)
    assert registry._MODELS["resnet18"] is gluon_resnet.resnet18


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"unknown model 'resnet51'.*resnet50"):
        gluon_resnet.get_model("resnet51")
    with pytest.raises(ValueError, match=r"unknown model 'vgg17'.*vgg16"):
        gluon_resnet.get_model("vgg17")
    with pytest.raises(ValueError, match="list_models"):
        gluon_resnet.get_model("inception_v3")


def test_get_model_passes_arguments():
    net = gluon_resnet.get_model("cifar_resnet20", classes=7, hybridize=False)
    assert net.output._units == 7
