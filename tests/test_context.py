"""A GPU asked for where MXNet sees none gets one clear error from every entry point
(gluon_resnet.context), d2l's try_gpu/try_all_gpus fall back to the CPU, and the
README's first snippet runs as written on a machine without a GPU."""
import os
import re
import subprocess
import sys

import mxnet as mx
import pytest

import gluon_resnet
from gluon_resnet import context

from conftest import REPO, run_main

NO_GPU = (r"asks for gpu\(0\), but 0 GPU\(s\) are visible to MXNet: the `mxnet` package is "
          r"built for the CPU only; `mxnet-cu117==1\.9\.1` needs a CUDA 11 GPU of compute "
          r"capability up to 8\.9 .*Pass ctx=mx\.cpu\(\), or ctx=gluon_resnet\.try_gpu\(\)")


@pytest.fixture
def no_gpu():
    if mx.context.num_gpus() != 0:
        pytest.skip("MXNet sees a GPU here")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    net = gluon_resnet.cifar_resnet20(in_channels=1, classes=10)
    prefix = str(tmp_path_factory.mktemp("export") / "net")
    gluon_resnet.export_net(net, prefix, (1, 1, 8, 8))
    return net, prefix


def test_every_entry_point_names_the_gpu_asked_for(no_gpu, exported):
    net, prefix = exported
    calls = {
        r"resnet18\(ctx=gpu\(0\)\) ": lambda: gluon_resnet.resnet18(ctx=mx.gpu()),
        r"resnet50_v1b\(ctx=\[cpu\(0\), gpu\(0\)\]\) ":
            lambda: gluon_resnet.get_model("resnet50_v1b", ctx=[mx.cpu(), mx.gpu(0)]),
        r"lenet\(ctx=gpu\(0\)\) ": lambda: gluon_resnet.get_model("lenet", ctx=mx.gpu()),
        r"train\(ctx=gpu\(0\)\) ": lambda: gluon_resnet.train(net, [], None, 1, 0.1,
                                                              ctx=mx.gpu(0)),
        r"load_predictor\(ctx=gpu\(0\)\) ":
            lambda: gluon_resnet.load_predictor(prefix, ctx=mx.gpu()),
        r"load_exported\(ctx=gpu\(0\)\) ":
            lambda: gluon_resnet.load_exported(prefix, ctx=mx.gpu()),
        r"optimize_for_inference\(ctx=gpu\(0\)\) ":
            lambda: gluon_resnet.optimize_for_inference(net, (1, 1, 8, 8), ctx=mx.gpu()),
    }
    for who, call in calls.items():
        with pytest.raises(gluon_resnet.GPUUnavailableError, match="^" + who + NO_GPU):
            call()
    # a ValueError, as the library's other bad-argument errors
    assert issubclass(gluon_resnet.GPUUnavailableError, ValueError)


def test_a_net_whose_parameters_are_on_a_missing_gpu_is_named_before_export(monkeypatch):
    # Such a net cannot be built here (MXNet fails as it allocates); its parameters say so.
    net = gluon_resnet.cifar_resnet20(in_channels=1)
    param = next(iter(net.collect_params().values()))
    monkeypatch.setattr(type(param), "list_ctx", lambda self: [mx.gpu(0)])
    if mx.context.num_gpus():
        pytest.skip("MXNet sees a GPU here")
    with pytest.raises(ValueError, match=r"^the net \(its parameters are on gpu\(0\)\) " + NO_GPU):
        gluon_resnet.export(net, "unused", (1, 8, 8))


def test_gpus_that_exist_pass_and_one_too_many_is_named(monkeypatch):
    monkeypatch.setattr(mx.context, "num_gpus", lambda: 2)
    assert context.check_ctx([mx.gpu(0), mx.gpu(1)], "x") == [mx.gpu(0), mx.gpu(1)]
    assert context.check_ctx(mx.cpu(), "x") == mx.cpu() and context.check_ctx(None, "x") is None
    with pytest.raises(ValueError, match=re.escape(
            "f(ctx=gpu(2)) asks for gpu(2), but 2 GPU(s) are visible to MXNet (gpu(0), "
            "gpu(1)): pass one of those, or ctx=mx.cpu()")):
        context.check_ctx(mx.gpu(2), "f(ctx=gpu(2))")


def test_the_cli_gives_the_librarys_answer(no_gpu):
    code, _, err = run_main(["train", "--ctx", "gpu0", "--out", "unused"])
    assert code == 2 and re.search("--ctx gpu0 " + NO_GPU, err), err


def test_the_readmes_first_snippet_runs_as_written():
    with open(os.path.join(REPO, "README.md")) as f:
        snippet = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    assert "try_gpu()" in snippet  # the snippet a new user copies picks the device itself
    check = ("\nparam = next(iter(net.collect_params().values()))\n"
             "assert param.list_ctx() == [gluon_resnet.try_gpu()], param.list_ctx()\n"
             "print('OK', len(gluon_resnet.list_models()))\n")
    result = subprocess.run([sys.executable, "-c", snippet + check], cwd=REPO,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "OK %d" % len(gluon_resnet.list_models()) in result.stdout
