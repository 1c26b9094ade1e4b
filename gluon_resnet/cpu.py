"""What this CPU can do, and unlocking Intel AMX for MXNet's oneDNN before MXNet loads.

MXNet 1.9.1 ships oneDNN v2.4.4, which runs bfloat16 (and int8) convolutions on Intel's
AMX tiles only when two things hold before its first operator runs:

* ``DNNL_MAX_CPU_ISA=AVX512_CORE_AMX`` is in the environment (oneDNN 2.4 keeps AMX off
  by default), and
* the Linux kernel has granted the process the AMX tile state: ``arch_prctl(
  ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)``. Without the permission the first AMX
  instruction kills the process with SIGILL.

:func:`unlock_amx` (run by ``gluon_resnet._compat`` when the package is imported) does
both on x86-64 Linux CPUs that report AMX, asking the kernel first and setting the
variable only when the kernel said yes, so a refusal leaves AMX off and never crashes.
It stays out of the way when ``GLUON_RESNET_AMX=0`` is set or the user set oneDNN's
variable (``DNNL_MAX_CPU_ISA`` / ``ONEDNN_MAX_CPU_ISA``) themselves; in that case it
still asks for the permission when their value names AMX, since that is what keeps it
from crashing. :func:`cpu_report` says what was found and done (``gluon-resnet info``).

``GLUON_RESNET_CPUINFO=FILE`` makes this module read the CPU's model and flags from FILE
(in ``/proc/cpuinfo``'s format) instead: the test suite runs so as on another kind of
CPU, e.g. ``tests/cpuinfo/no-amx.txt`` (this project's AMD EPYC machines: AVX-512 with
AVX512_BF16, no AMX). oneDNN reads the real CPU, but 2.4 uses AMX only when told to, so
without the AMX flags it runs bfloat16 as it does on such a CPU.
"""
import ctypes
import os
import platform
import sys

ARCH_GET_XCOMP_PERM = 0x1022
ARCH_REQ_XCOMP_PERM = 0x1023
XFEATURE_XTILEDATA = 18
SYS_ARCH_PRCTL = 158  # x86-64 Linux
ISA_VARIABLES = ("DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA")
AMX_ISA = "AVX512_CORE_AMX"
# The flags worth reporting (of the dozens /proc/cpuinfo lists), in this order.
REPORTED_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                  "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")

# What unlock_amx found and did in this process (one process, one answer).
_STATUS = {"amx": False, "reason": "not checked yet", "set_variable": False}


def read_cpuinfo(path=None):
    """``(model name, set of flags)`` of the first CPU in ``path`` (default
    ``$GLUON_RESNET_CPUINFO``, else ``/proc/cpuinfo``); ``(platform's processor name,
    empty set)`` where there is no such file (not Linux)."""
    if path is None:
        path = os.environ.get("GLUON_RESNET_CPUINFO") or "/proc/cpuinfo"
    model, flags = None, set()
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                if model is not None and flags:
                    break
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def _libc_syscall():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def request_amx_permission():
    """Ask the kernel for the AMX tile state; ``(granted, why not)``."""
    try:
        libc = _libc_syscall()
        rc = libc.syscall(ctypes.c_long(SYS_ARCH_PRCTL), ctypes.c_long(ARCH_REQ_XCOMP_PERM),
                          ctypes.c_ulong(XFEATURE_XTILEDATA))
        if rc != 0:
            err = ctypes.get_errno()
            return False, "the kernel refused the AMX permission (arch_prctl: %s)" % (
                os.strerror(err) if err else "error")
        mask = ctypes.c_ulong(0)
        libc.syscall(ctypes.c_long(SYS_ARCH_PRCTL), ctypes.c_long(ARCH_GET_XCOMP_PERM),
                     ctypes.byref(mask))
        if not mask.value & (1 << XFEATURE_XTILEDATA):
            return False, "the kernel did not grant the AMX tile state"
        return True, ""
    except (OSError, AttributeError) as err:
        return False, "cannot ask the kernel for AMX: %s" % err


def decide_amx(flags, environ, system, machine, request):
    """What to do about AMX: ``(amx on, set the variable, reason)``.

    Pure apart from ``request`` (called only where the permission is needed), so each
    branch is testable on any machine.
    """
    if environ.get("GLUON_RESNET_AMX", "").strip() == "0":
        return False, False, "GLUON_RESNET_AMX=0"
    if system != "Linux" or machine not in ("x86_64", "AMD64"):
        return False, False, "AMX unlocking is for x86-64 Linux; this is %s %s" % (
            system, machine)
    if not {"amx_tile", "amx_bf16"} <= flags:
        return False, False, "this CPU does not report AMX (no amx_tile/amx_bf16 flags)"
    user = [(name, environ[name]) for name in ISA_VARIABLES if environ.get(name)]
    if user:
        name, value = user[0]
        if "AMX" not in value.upper():
            return False, False, "%s=%s was set by the user" % (name, value)
        granted, why = request()
        if not granted:
            # Their setting without the permission would end in SIGILL: say so loudly.
            return False, False, "%s=%s was set by the user, but %s: oneDNN will die " \
                "with SIGILL at its first AMX instruction" % (name, value, why)
        return True, False, "%s=%s set by the user; permission granted" % (name, value)
    granted, why = request()
    if not granted:
        return False, False, why
    return True, True, "permission granted; %s=%s set for oneDNN" % (ISA_VARIABLES[0],
                                                                      AMX_ISA)


def unlock_amx(environ=None):
    """Unlock AMX for MXNet's oneDNN if this CPU has it and it is safe (see the module's
    docstring). Returns :func:`amx_status`. Must run before MXNet's first operator."""
    environ = os.environ if environ is None else environ
    _, flags = read_cpuinfo()
    amx, set_variable, reason = decide_amx(flags, environ, platform.system(),
                                           platform.machine(), request_amx_permission)
    if amx and "mxnet" in sys.modules:
        reason += " (MXNet was imported before gluon_resnet: AMX is used only if no " \
                  "MXNet operator ran before that)"
    if set_variable:
        environ[ISA_VARIABLES[0]] = AMX_ISA
    _STATUS.update(amx=amx, reason=reason, set_variable=set_variable)
    return amx_status()


def settle_amx(run_first_operator, environ=None):
    """Make oneDNN read its ISA setting now, then take back the variable this module set,
    so that child processes (which may import MXNet without gluon_resnet, and so without
    the kernel's permission) do not inherit it and die with SIGILL."""
    environ = os.environ if environ is None else environ
    if not _STATUS["set_variable"]:
        return
    run_first_operator()
    if environ.get(ISA_VARIABLES[0]) == AMX_ISA:
        del environ[ISA_VARIABLES[0]]
    _STATUS["set_variable"] = False


def amx_status():
    """``{"amx": bool, "reason": str}``: whether oneDNN may use AMX in this process."""
    return {"amx": _STATUS["amx"], "reason": _STATUS["reason"]}


def cpu_report():
    """What this CPU is and what gluon_resnet enabled on it: a dict with ``model``,
    ``cores`` (logical CPUs this process may use), ``flags`` (the vector/matrix ISA flags
    among :data:`REPORTED_FLAGS`), ``amx`` and ``amx_reason``."""
    model, flags = read_cpuinfo()
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    status = amx_status()
    return {"model": model, "cores": cores, "machine": platform.machine(),
            "flags": [f for f in REPORTED_FLAGS if f in flags],
            "amx": status["amx"], "amx_reason": status["reason"]}
