"""AMX is unlocked for MXNet's oneDNN where the CPU has it and the kernel allows it, and
left alone everywhere else (gluon_resnet.cpu). The proof is oneDNN's own verbose log:
which kernel ran a bfloat16 convolution."""
import json
import os
import subprocess
import sys

import pytest

from gluon_resnet import cpu

pytestmark = pytest.mark.cpu_kind

_, FLAGS = cpu.read_cpuinfo()
HAS_AMX = {"amx_tile", "amx_bf16"} <= FLAGS

# A bfloat16 convolution, as MXNet's AMP runs one, and what the process knows about AMX.
BF16_CONV = """
import json, os
import numpy as np
import gluon_resnet, mxnet as mx
bf16 = np.dtype([("bfloat16", np.uint16)])
x = mx.nd.amp_cast(mx.nd.ones((2, 16, 8, 8)), dtype=bf16)
w = mx.nd.amp_cast(mx.nd.ones((16, 16, 3, 3)), dtype=bf16)
y = mx.nd.Convolution(x, w, kernel=(3, 3), num_filter=16, no_bias=True, pad=(1, 1))
print("RESULT", json.dumps({"status": gluon_resnet.amx_status(),
                            "value": float(mx.nd.amp_cast(y, dtype="float32")[0, 0, 1, 1].asscalar()),
                            "child_env": os.environ.get("DNNL_MAX_CPU_ISA")}))
"""


def _bf16_conv(**env):
    full = {k: v for k, v in os.environ.items()
            if k not in ("DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "GLUON_RESNET_AMX")}
    full.update(env, DNNL_VERBOSE="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", BF16_CONV], capture_output=True,
                            text=True, env=full, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    doc = json.loads([l for l in lines if l.startswith("RESULT ")][0][7:])
    kernels = [l.split(",")[4] for l in lines
               if l.startswith("dnnl_verbose,exec,cpu,convolution") and "src_bf16" in l]
    assert kernels, "oneDNN ran no bfloat16 convolution:\n" + result.stdout[-2000:]
    assert doc["value"] == 16 * 9  # the convolution itself is right
    return doc, kernels


@pytest.mark.skipif(not HAS_AMX, reason="this CPU has no AMX")
def test_amx_runs_bf16_convolutions_where_the_cpu_has_it():
    doc, kernels = _bf16_conv()
    assert doc["status"]["amx"], doc["status"]
    assert all("amx" in k for k in kernels), kernels
    # The variable was taken back once oneDNN had read it: a child that imports MXNet
    # without gluon_resnet (so without the kernel's permission) must not inherit it.
    assert doc["child_env"] is None


def test_amx_is_off_with_gluon_resnet_amx_0_and_without_amx():
    doc, kernels = _bf16_conv(GLUON_RESNET_AMX="0")
    assert not doc["status"]["amx"]
    assert doc["status"]["reason"] == "GLUON_RESNET_AMX=0"
    assert not any("amx" in k for k in kernels), kernels


def test_a_users_isa_setting_is_kept():
    doc, kernels = _bf16_conv(DNNL_MAX_CPU_ISA="AVX512_CORE")
    assert not doc["status"]["amx"]
    # Where the CPU has AMX, the user's cap is the reason it stays off; elsewhere the
    # CPU's flags are, and are checked first (the expectation follows this CPU's flags).
    expected = "set by the user" if HAS_AMX else "this CPU does not report AMX"
    assert expected in doc["status"]["reason"], (sorted(FLAGS & AMX_FLAGS), doc["status"])
    assert doc["child_env"] == "AVX512_CORE"
    assert not any("amx" in k for k in kernels), kernels


def _granted():
    return True, ""


def _refused():
    return False, "the kernel refused the AMX permission (arch_prctl: Invalid argument)"


AMX_FLAGS = {"avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"}


@pytest.mark.parametrize("flags, env, system, machine, ask, expected", [
    (AMX_FLAGS, {}, "Linux", "x86_64", _granted,
     (True, True, "permission granted; DNNL_MAX_CPU_ISA=AVX512_CORE_AMX set for oneDNN")),
    # A refusal leaves AMX off (and the variable unset): never SIGILL.
    (AMX_FLAGS, {}, "Linux", "x86_64", _refused, (False, False, _refused()[1])),
    (AMX_FLAGS, {"GLUON_RESNET_AMX": "0"}, "Linux", "x86_64", _granted,
     (False, False, "GLUON_RESNET_AMX=0")),
    ({"avx512f", "avx512_bf16"}, {}, "Linux", "x86_64", _granted,
     (False, False, "this CPU does not report AMX (no amx_tile/amx_bf16 flags)")),
    (AMX_FLAGS, {}, "Darwin", "arm64", _granted,
     (False, False, "AMX unlocking is for x86-64 Linux; this is Darwin arm64")),
    (AMX_FLAGS, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "Linux", "x86_64", _granted,
     (False, False, "ONEDNN_MAX_CPU_ISA=AVX2 was set by the user")),
    (AMX_FLAGS, {"DNNL_MAX_CPU_ISA": "AVX512_CORE_AMX"}, "Linux", "x86_64", _granted,
     (True, False, "DNNL_MAX_CPU_ISA=AVX512_CORE_AMX set by the user; permission granted")),
])
def test_decide_amx(flags, env, system, machine, ask, expected):
    assert cpu.decide_amx(flags, env, system, machine, ask) == expected


def test_the_users_amx_setting_without_permission_is_reported_as_fatal():
    amx, set_variable, reason = cpu.decide_amx(
        AMX_FLAGS, {"DNNL_MAX_CPU_ISA": "AVX512_CORE_AMX"}, "Linux", "x86_64", _refused)
    assert (amx, set_variable) == (False, False)
    assert "SIGILL" in reason and "refused" in reason


def test_the_request_is_made_only_when_needed():
    calls = []

    def request():
        calls.append(1)
        return True, ""
    cpu.decide_amx({"avx2"}, {}, "Linux", "x86_64", request)
    cpu.decide_amx(AMX_FLAGS, {"GLUON_RESNET_AMX": "0"}, "Linux", "x86_64", request)
    cpu.decide_amx(AMX_FLAGS, {"DNNL_MAX_CPU_ISA": "AVX2"}, "Linux", "x86_64", request)
    assert calls == []


def test_read_cpuinfo(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu avx2 amx_tile\n\n"
                    "processor\t: 1\nmodel name\t: other\nflags\t\t: fpu\n")
    assert cpu.read_cpuinfo(str(path)) == ("Test CPU 9000", {"fpu", "avx2", "amx_tile"})
    model, flags = cpu.read_cpuinfo(str(tmp_path / "missing"))
    assert flags == set() and model


def test_cli_info_reports_the_cpu_as_lscpu_sees_it():
    import shutil

    from conftest import run_main
    if os.environ.get("GLUON_RESNET_CPUINFO"):  # the suite runs as on that file's CPU
        with open(os.environ["GLUON_RESNET_CPUINFO"]) as f:
            fields = {k.strip().lower(): v for k, v in
                      (line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines())}
    elif shutil.which("lscpu") is None:
        pytest.skip("no lscpu to compare with")
    else:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        fields = {k.strip().lower(): v for k, v in
                  (line.split(":", 1) for line in lscpu.splitlines() if ":" in line)}
    flags = set(fields.get("flags", "").split())
    code, out, _ = run_main(["info", "--json"])
    assert code == 0
    report = json.loads(out)
    assert report["model"] == fields["model name"].strip()
    assert report["flags"] == [f for f in cpu.REPORTED_FLAGS if f in flags]
    # AMX is on where the CPU has it, unless the kernel refused the permission or the
    # user opted out (GLUON_RESNET_AMX=0, or an ISA cap of their own without AMX)
    reason = report["amx_reason"]
    opted_out = os.environ.get("GLUON_RESNET_AMX", "").strip() == "0" or \
        "was set by the user" in reason
    if opted_out:
        assert report["amx"] is False
        assert "GLUON_RESNET_AMX=0" in reason or "set by the user" in reason
    elif {"amx_tile", "amx_bf16"} <= flags and "kernel" not in reason:
        assert report["amx"] is True
    elif not {"amx_tile", "amx_bf16"} <= flags:
        assert report["amx"] is False
    assert "MKLDNN" in report["mxnet_features"] and report["mxnet"] == "1.9.1"
    # precision="auto" times both precisions wherever the CPU has bfloat16 instructions
    if {"avx512_bf16", "amx_bf16"} & flags:
        assert report["precision_auto"].startswith("times fp32 against bf16 (bf16 on %s"
                                                   % ("AMX" if report["amx"] else "AVX512_BF16"))
    else:
        assert report["precision_auto"].startswith("fp32 (this CPU has no bfloat16")
    code, out, _ = run_main(["info"])
    assert code == 0 and out.splitlines()[0].startswith("CPU:      " + report["model"])
    assert ("AMX:      on" if report["amx"] else "AMX:      off") in out
    assert "auto:     " + report["precision_auto"] in out
