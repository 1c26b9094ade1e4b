"""Which NVIDIA GPUs can run an MXNet CUDA build: list the GPU code in its fat binaries.

A CUDA library carries its kernels as *fat binaries*: machine code (SASS) for some GPU
architectures and, optionally, PTX that the driver can compile for newer ones. SASS for
``sm_XY`` runs only on GPUs of the same major version ``X`` and a minor version >= ``Y``;
a GPU of a newer major version (Hopper is ``sm_90``) needs PTX. This script reads the fat
binaries of a wheel (``mxnet/libmxnet.so`` inside it), a shared library or a raw fat
binary, counts their entries by kind and architecture, and says which GPUs they cover::

    pip download --no-deps mxnet-cu117==1.9.1 -d wheels/
    python benchmarks/cuda_arch.py wheels/mxnet_cu117-1.9.1-py3-none-manylinux2014_x86_64.whl
    python benchmarks/cuda_arch.py LIB.so --extract 0 small.fatbin  # one, to carry to a GPU
    python benchmarks/cuda_arch.py small.fatbin --load              # on the GPU machine

``--load`` asks the NVIDIA driver (``libcuda``, no CUDA toolkit or framework needed) to
load each fat binary on GPU 0 and prints the driver's answer: ``CUDA_SUCCESS``, or
``CUDA_ERROR_NO_BINARY_FOR_GPU`` when nothing in it runs on that GPU. Results on the
machines this project was lent: ``benchmarks/results/gpu.md``.
"""
import argparse
import collections
import ctypes
import struct
import sys
import zipfile

FATBIN_MAGIC = 0xBA55ED50
KINDS = {1: "ptx", 2: "sass"}
COMPRESSED = 0x2000


def read_binary(path):
    """The bytes to scan: ``mxnet/libmxnet.so`` of a wheel, else the file itself."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as whl:
            libs = [n for n in whl.namelist() if n.endswith("libmxnet.so")]
            if not libs:
                raise SystemExit("%s is a zip file without a libmxnet.so in it" % path)
            return whl.read(libs[0])
    with open(path, "rb") as f:
        return f.read()


def fatbins(data):
    """(offset, size, entries) of every fat binary in ``data``; an entry is a dict with
    kind ('ptx' or 'sass'), arch (e.g. 86 for sm_86), size and compressed."""
    found, pos = [], 0
    magic = struct.pack("<I", FATBIN_MAGIC)
    while True:
        pos = data.find(magic, pos)
        if pos < 0:
            return found
        version, header, size = struct.unpack_from("<HHQ", data, pos + 4)
        if version != 1 or header != 16 or pos + header + size > len(data):
            pos += 4
            continue
        entries, p, end = [], pos + header, pos + header + size
        while p + 48 <= end:
            kind, _, entry_header, padded = struct.unpack_from("<HHII", data, p)
            if entry_header < 48 or kind not in KINDS:
                break
            arch = struct.unpack_from("<I", data, p + 28)[0]
            flags = struct.unpack_from("<Q", data, p + 40)[0]
            entries.append(dict(kind=KINDS[kind], arch=arch, size=padded,
                                compressed=bool(flags & COMPRESSED)))
            p += entry_header + padded
        found.append((pos, header + size, entries))
        pos = end


def runs_on(entries, major, minor):
    """Whether a GPU of compute capability major.minor can run one of ``entries``."""
    cc = major * 10 + minor
    return any((e["kind"] == "sass" and e["arch"] // 10 == major and e["arch"] <= cc) or
               (e["kind"] == "ptx" and e["arch"] <= cc) for e in entries)


def summary(bins):
    count, size = collections.Counter(), collections.Counter()
    for _, _, entries in bins:
        for e in entries:
            count[(e["kind"], e["arch"])] += 1
            size[(e["kind"], e["arch"])] += e["size"]
    lines = ["%d fat binaries" % len(bins)]
    for kind, arch in sorted(count):
        lines.append("  %-4s sm_%d: in %d of them, %.0f MiB" % (
            kind, arch, count[(kind, arch)], size[(kind, arch)] / 2 ** 20))
    all_entries = [e for _, _, es in bins for e in es]
    for name, (major, minor) in (("Volta V100", (7, 0)), ("Turing T4", (7, 5)),
                                 ("Ampere A100", (8, 0)), ("Ampere A10/RTX 30", (8, 6)),
                                 ("Ada L4/RTX 40", (8, 9)), ("Hopper H100/H200", (9, 0)),
                                 ("Blackwell B200", (10, 0))):
        every = all(runs_on(es, major, minor) for _, _, es in bins if es)
        lines.append("  %-18s (sm_%d%d): %s" % (name, major, minor,
                                               "runs" if every else "NO code for it"))
    return "\n".join(lines)


CU_ERRORS = {0: "CUDA_SUCCESS", 200: "CUDA_ERROR_INVALID_IMAGE",
             209: "CUDA_ERROR_NO_BINARY_FOR_GPU", 218: "CUDA_ERROR_INVALID_PTX",
             222: "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"}


def load_on_gpu(blobs):
    """Load each fat binary with the driver API on GPU 0; the driver's answer for each."""
    cuda = ctypes.CDLL("libcuda.so.1")

    def check(result, what):
        if result != 0:
            raise RuntimeError("%s failed: CUresult %d" % (what, result))

    check(cuda.cuInit(0), "cuInit")
    dev = ctypes.c_int()
    check(cuda.cuDeviceGet(ctypes.byref(dev), 0), "cuDeviceGet")
    name = ctypes.create_string_buffer(256)
    cuda.cuDeviceGetName(name, 256, dev)
    major, minor = ctypes.c_int(), ctypes.c_int()
    cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, dev)  # COMPUTE_CAPABILITY_MAJOR
    cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev)  # COMPUTE_CAPABILITY_MINOR
    ctx = ctypes.c_void_p()
    check(cuda.cuCtxCreate_v2(ctypes.byref(ctx), 0, dev), "cuCtxCreate")
    answers = []
    for blob in blobs:
        module = ctypes.c_void_p()
        result = cuda.cuModuleLoadFatBinary(ctypes.byref(module), ctypes.c_char_p(blob))
        answers.append(CU_ERRORS.get(result, "CUresult %d" % result))
        if result == 0:
            cuda.cuModuleUnload(module)
    cuda.cuCtxDestroy_v2(ctx)
    return "%s (sm_%d%d)" % (name.value.decode(), major.value, minor.value), answers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", help="wheel, shared library or fat binary")
    parser.add_argument("--extract", nargs=2, metavar=("N", "OUT"),
                        help="write the N-th fat binary of the (single) path to OUT")
    parser.add_argument("--load", action="store_true",
                        help="load every fat binary on GPU 0 through the NVIDIA driver")
    args = parser.parse_args(argv)
    if args.extract and len(args.paths) != 1:
        parser.error("--extract takes one path, got %d" % len(args.paths))
    loads = []
    for path in args.paths:
        data = read_binary(path)
        bins = fatbins(data)
        print("%s: %s" % (path, summary(bins)))
        if args.extract:
            n = int(args.extract[0])
            if not 0 <= n < len(bins):
                parser.error("--extract N: %s has fat binaries 0..%d, got %d"
                             % (path, len(bins) - 1, n))
            offset, size, entries = bins[n]
            with open(args.extract[1], "wb") as f:
                f.write(data[offset:offset + size])
            print("wrote fat binary %d (%d bytes: %s) to %s" % (
                n, size, ", ".join("%s sm_%d" % (e["kind"], e["arch"]) for e in entries),
                args.extract[1]))
        loads.extend((path, i, data[offset:offset + size])
                     for i, (offset, size, _) in enumerate(bins))
    if args.load:
        gpu, answers = load_on_gpu([blob for _, _, blob in loads])
        print("loading on GPU 0, %s:" % gpu)
        for (path, i, _), answer in zip(loads, answers):
            print("  %s, fat binary %d: %s" % (path, i, answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
