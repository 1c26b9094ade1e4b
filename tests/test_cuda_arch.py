"""benchmarks/cuda_arch.py reads the GPU code in MXNet's fat binaries.

The fixture is generated here, byte by byte from the layout CUDA's fatbin.h documents
(a 16-byte header: magic 0xBA55ED50, version 1, header size, body size; then entries of
a 64-byte header: kind 1 PTX / 2 SASS, ..., arch at byte 28, flags at byte 40, 0x2000
compressed), shaped like what ``cuobjdump --list-elf --list-ptx`` listed on the H100 for
``libmxnet.so`` in ``mxnet-cu117==1.9.1``: five compressed cubins, sm_50/60/70/80/86,
and no PTX (benchmarks/results/gpu.md).
"""
import importlib.util
import os
import struct
import subprocess
import sys

import pytest

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "benchmarks"))
import cuda_arch  # noqa: E402

SCRIPT = os.path.join(REPO, "benchmarks", "cuda_arch.py")
MXNET_ARCHS = (50, 60, 70, 80, 86)
REAL_SIZE = 16 + sum(64 + 16 * (i + 1) for i in range(5))  # 16 + 5 * 64 + 240 = 576


def _entry(kind, arch, payload, flags=0):
    """A fat-binary entry: 64-byte header (kind, version, header size, padded size,
    ..., arch at byte 28, flags at 40), then the payload."""
    header = bytearray(64)
    struct.pack_into("<HHII", header, 0, kind, 0x0101, 64, len(payload))
    struct.pack_into("<I", header, 28, arch)
    struct.pack_into("<Q", header, 40, flags)
    return bytes(header) + payload


def _real():
    """Shaped as MXNet's: compressed SASS for sm_50/60/70/80/86, payloads of 16..80 bytes."""
    return _fatbin(*(_entry(2, arch, bytes([i + 1]) * 16 * (i + 1), flags=0x2000)
                     for i, arch in enumerate(MXNET_ARCHS)))


def _fatbin(*entries):
    body = b"".join(entries)
    return struct.pack("<IHHQ", cuda_arch.FATBIN_MAGIC, 1, 16, len(body)) + body


def test_real_mxnet_fatbin_has_sass_up_to_sm86_and_no_ptx():
    (offset, size, entries), = cuda_arch.fatbins(_real())
    assert (offset, size) == (0, REAL_SIZE) and REAL_SIZE == 576
    assert [(e["kind"], e["arch"]) for e in entries] == [
        ("sass", 50), ("sass", 60), ("sass", 70), ("sass", 80), ("sass", 86)]
    assert all(e["compressed"] for e in entries)


def test_found_inside_a_larger_binary():
    blob = _real()
    data = b"\x7fELF" + b"\x00" * 1000 + blob + b"\xba\x55" * 50 + blob
    found = cuda_arch.fatbins(data)
    assert [(o, s) for o, s, _ in found] == [(1004, 576), (1004 + 576 + 100, 576)]


@pytest.mark.parametrize("major, minor, runs", [
    (5, 0, True), (7, 0, True), (7, 5, True), (8, 0, True), (8, 6, True),
    (8, 9, True),     # Ada runs sm_86 SASS (same major, higher minor)
    (9, 0, False),    # Hopper: a new major version needs its own SASS or PTX
    (10, 0, False), (3, 5, False)])
def test_which_gpus_run_the_real_fatbin(major, minor, runs):
    (_, _, entries), = cuda_arch.fatbins(_real())
    assert cuda_arch.runs_on(entries, major, minor) is runs


def test_ptx_runs_on_newer_majors_but_not_older():
    (_, _, entries), = cuda_arch.fatbins(_fatbin(_entry(1, 86, b"\x00" * 32)))
    assert entries == [dict(kind="ptx", arch=86, size=32, compressed=False)]
    assert cuda_arch.runs_on(entries, 9, 0) and cuda_arch.runs_on(entries, 8, 6)
    assert not cuda_arch.runs_on(entries, 8, 0)
    sass90 = cuda_arch.fatbins(_fatbin(_entry(2, 90, b"\x01" * 16)))[0][2]
    assert cuda_arch.runs_on(sass90, 9, 0) and not cuda_arch.runs_on(sass90, 10, 0)


def test_cli_summary_and_extract_round_trip(tmp_path):
    lib = tmp_path / "lib.so"
    lib.write_bytes(b"\x00" * 64 + _real() + b"\x00" * 64)
    out = tmp_path / "one.fatbin"
    result = subprocess.run([sys.executable, SCRIPT, str(lib), "--extract", "0", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 fat binaries" in result.stdout
    assert "Hopper H100/H200   (sm_90): NO code for it" in result.stdout
    assert "Ampere A100        (sm_80): runs" in result.stdout
    assert out.read_bytes() == _real()


def test_cli_rejects_an_index_out_of_range(tmp_path):
    real = tmp_path / "one.fatbin"
    real.write_bytes(_real())
    result = subprocess.run([sys.executable, SCRIPT, str(real), "--extract", "3",
                             str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "has fat binaries 0..0, got 3" in result.stderr
    assert not (tmp_path / "x").exists()


def test_the_cpu_wheel_has_no_gpu_code():
    spec = importlib.util.find_spec("mxnet")
    lib = os.path.join(spec.submodule_search_locations[0], "libmxnet.so")
    if not os.path.exists(lib):
        pytest.skip("no libmxnet.so at %s" % lib)
    with open(lib, "rb") as f:
        assert cuda_arch.fatbins(f.read()) == []
