import os

import mxnet as mx
import pytest

import gluon_resnet
from conftest import max_diff
from gluon_resnet import params
from gluon_resnet.params import save_parameters


@pytest.fixture
def saved(tmp_path):
    net = gluon_resnet.resnet18(classes=10, thumbnail=True)
    net(mx.nd.ones((1, 3, 28, 28)))
    path = str(tmp_path / "r18.params")
    net.save_parameters(path)
    return net, path


def test_file_from_another_architecture(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"does not fit resnet50: it lacks .* another "
                                         r"architecture"):
        gluon_resnet.resnet50(classes=10, pretrained=path)


def test_file_from_other_depth_of_same_family(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"does not fit resnet34.*features\.1\.2"):
        gluon_resnet.resnet34(classes=10, thumbnail=True, pretrained=path)


def test_shape_mismatch_names_parameter_and_hint(saved):
    _, path = saved
    with pytest.raises(ValueError, match=r"output\.weight: file \(10, 512\), net \(1000, 512\)"
                                         r".*pass classes=10"):
        gluon_resnet.resnet18(thumbnail=True, pretrained=path)
    with pytest.raises(ValueError, match=r"features\.0\.weight: file \(64, 3, 3, 3\), "
                                         r"net \(64, 1, 3, 3\)"):
        gluon_resnet.resnet18(classes=10, thumbnail=True, in_channels=1, pretrained=path)


def test_truncated_file(saved, tmp_path):
    _, path = saved
    data = open(path, "rb").read()
    bad = str(tmp_path / "cut.params")
    with open(bad, "wb") as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match="cut.params is not a readable MXNet .params file"):
        gluon_resnet.resnet18(classes=10, thumbnail=True, pretrained=bad)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no parameter file at .*nothing.params"):
        gluon_resnet.resnet18(pretrained=str(tmp_path / "nothing.params"))


def test_round_trip_and_atomic_save(saved, tmp_path):
    net, path = saved
    x = mx.nd.random.normal(shape=(2, 3, 28, 28))
    out = str(tmp_path / "copy.params")
    save_parameters(net, out)
    again = gluon_resnet.resnet18(classes=10, thumbnail=True, pretrained=out)
    with mx.autograd.predict_mode():
        assert max_diff(again(x), net(x)) == 0


def test_failed_save_keeps_previous_file(saved, tmp_path, monkeypatch):
    net, path = saved
    before = open(path, "rb").read()

    def explode(f, arrays):
        f.write(b"partial")
        raise KeyboardInterrupt("planted Ctrl-C while writing")
    monkeypatch.setattr(params, "_write_array_file", explode)
    with pytest.raises(KeyboardInterrupt, match="planted Ctrl-C while writing"):
        save_parameters(net, path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["r18.params"]
