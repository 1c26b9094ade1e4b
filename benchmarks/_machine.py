"""What a measurement ran on: CPU model and its ISA flags, cores, threads, versions, load.

Machines differ (AMD EPYC with AVX-512 and AVX512_BF16, Intel Xeon with AMX), so every
result records this beside its numbers.
"""
import datetime
import os
import platform

from gluon_resnet.cpu import REPORTED_FLAGS as ISA_FLAGS, amx_status, read_cpuinfo


def cpu():
    """``(model name, [ISA flags present])`` from /proc/cpuinfo (Linux), else platform's."""
    model, flags = read_cpuinfo()
    return model, [f for f in ISA_FLAGS if f in flags]


def machine_info():
    """A JSON-ready description of this machine and run."""
    import mxnet as mx
    model, flags = cpu()
    return {"cpu": model, "isa_flags": flags, "cpu_count": os.cpu_count(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version(), "mxnet": mx.__version__,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "amx": amx_status()}


def machine_lines(info):
    """Markdown lines for a results file."""
    return ["- CPU: %s, %d logical CPUs; ISA flags: %s" % (
                info["cpu"], info["cpu_count"], " ".join(info["isa_flags"]) or "none listed"),
            "- Python %s, MXNet %s, OMP_NUM_THREADS=%s" % (
                info["python"], info["mxnet"], info["OMP_NUM_THREADS"]),
            "- %s; load average at start %s" % (info["date"], info["loadavg_start"])] + (
            ["- oneDNN AMX: %s (%s)" % ("on" if info["amx"]["amx"] else "off",
                                        info["amx"]["reason"])] if "amx" in info else [])
