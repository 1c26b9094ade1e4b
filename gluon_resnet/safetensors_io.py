"""Read and write the safetensors format (Hugging Face's), with numpy arrays.

A safetensors file is an 8-byte little-endian header length ``N``, ``N`` bytes of JSON
(``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}``)
and the raw little-endian tensor bytes, offsets counted from the end of the header. It
holds no code: reading it only ever makes arrays, which is why PyTorch's zoos (timm on
the Hugging Face hub) publish weights in it, and why we read nothing else from them.

The reader checks everything before it makes an array: the header's size and JSON, each
entry's dtype, shape and offsets against the file's size, and that the entries tile the
data without gaps or overlaps (as the format requires). bfloat16 and float16 tensors
are widened to float32 (numpy has no bfloat16). The writer writes the file atomically.
"""
import json
import os
import struct

import numpy as np

from .params import atomic_path

__all__ = ["read_safetensors", "write_safetensors", "is_safetensors"]

# safetensors' dtype codes and the numpy dtypes we read them into (BF16 is widened).
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8",
           "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items() if k != "BF16"}
# The reference implementation's own limit on the header.
MAX_HEADER_BYTES = 100 * 1024 * 1024


def is_safetensors(path):
    """Whether ``path`` looks like a safetensors file (name or first header byte)."""
    if str(path).endswith(".safetensors"):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and struct.unpack("<Q", head[:8])[0] > 1


def _bad(path, what):
    return ValueError("%s is not a valid safetensors file: %s" % (path, what))


def _header(path, f, size):
    if size < 8:
        raise _bad(path, "%d bytes, shorter than the 8-byte header length" % size)
    (length,) = struct.unpack("<Q", f.read(8))
    if length < 2 or length > MAX_HEADER_BYTES or 8 + length > size:
        raise _bad(path, "header length %d (file of %d bytes, at most %d allowed)"
                   % (length, size, MAX_HEADER_BYTES))
    raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise _bad(path, "header is not UTF-8 JSON (%s)" % err) from None
    if not isinstance(header, dict):
        raise _bad(path, "header is a JSON %s, expected an object" % type(header).__name__)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise _bad(path, "__metadata__ must map strings to strings")
    return header, metadata, 8 + length


def _entry(path, name, entry, data_size):
    """(numpy dtype, shape, begin, end) of one checked header entry."""
    if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
        raise _bad(path, "entry %r must have exactly dtype, shape and data_offsets" % name)
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if code not in _DTYPES:
        raise _bad(path, "entry %r has dtype %r; readable: %s"
                   % (name, code, ", ".join(sorted(_DTYPES))))
    ints = lambda v: isinstance(v, list) and all(  # noqa: E731
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in v)
    if not ints(shape) or len(shape) > 8:
        raise _bad(path, "entry %r has shape %r, expected up to 8 sizes >= 0" % (name, shape))
    if not ints(offsets) or len(offsets) != 2 or offsets[0] > offsets[1] \
            or offsets[1] > data_size:
        raise _bad(path, "entry %r has data_offsets %r, outside the %d data bytes"
                   % (name, offsets, data_size))
    dtype = np.dtype(_DTYPES[code])
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if offsets[1] - offsets[0] != count * dtype.itemsize:
        raise _bad(path, "entry %r: shape %s of %s needs %d bytes, its offsets span %d"
                   % (name, shape, code, count * dtype.itemsize, offsets[1] - offsets[0]))
    return code, dtype, tuple(shape), offsets[0], offsets[1]


def read_safetensors(path):
    """Read a safetensors file into ``({name: numpy array}, metadata dict)``.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not valid safetensors (see the module docstring); nothing is read
        into arrays then.
    """
    path = os.fspath(path)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        header, metadata, start = _header(path, f, size)
        data_size = size - start
        entries = {name: _entry(path, name, entry, data_size)
                   for name, entry in header.items()}
        spans = sorted((e[3], e[4], name) for name, e in entries.items())
        at = 0
        for begin, end, name in spans:
            if begin != at:
                raise _bad(path, "the data has a %s at byte %d (entry %r)"
                           % ("gap" if begin > at else "overlap", at, name))
            at = end
        if at != data_size:
            raise _bad(path, "%d data bytes after the last entry" % (data_size - at))
        arrays = {}
        for name, (code, dtype, shape, begin, end) in entries.items():
            f.seek(start + begin)
            array = np.frombuffer(f.read(end - begin), dtype=dtype).reshape(shape)
            if code == "BF16":  # the high half of a float32
                array = (array.astype(np.uint32) << 16).view(np.float32)
            elif code == "F16":
                array = array.astype(np.float32)
            arrays[name] = array.copy()
    return arrays, metadata


def write_safetensors(path, arrays, metadata=None):
    """Write ``{name: numpy array}`` (and string ``metadata``) as a safetensors file,
    atomically. Returns ``path``."""
    header, blobs, at = {}, [], 0
    for name in sorted(arrays):
        array = np.asarray(arrays[name])  # (ascontiguousarray would make 0-d arrays 1-d)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in _CODES:
            raise ValueError("cannot write %r: dtype %s has no safetensors code (%s)"
                             % (name, array.dtype, ", ".join(str(d) for d in _CODES)))
        blob = array.astype(dtype, copy=False).tobytes(order="C")
        header[name] = {"dtype": _CODES[dtype], "shape": list(array.shape),
                        "data_offsets": [at, at + len(blob)]}
        blobs.append(blob)
        at += len(blob)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the data starts 8-byte aligned, as the reference's
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(raw)))
            f.write(raw)
            for blob in blobs:
                f.write(blob)
            f.flush()
            os.fsync(f.fileno())
    return path
