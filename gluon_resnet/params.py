"""Loading and saving ``.params`` files with errors that say what does not fit."""
import json
import os
import struct
import tempfile

import mxnet as mx
from mxnet.base import MXNetError

from .arrays import as_current, as_legacy, file_semantics

__all__ = ["load_parameters", "save_parameters", "atomic_path", "load_arrays", "save_arrays",
           "read_json", "write_json"]


def _brief(names, limit=4):
    names = sorted(names)
    more = " and %d more" % (len(names) - limit) if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _mxnet_reason(err):
    lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
    checks = [ln for ln in lines if "Check failed" in ln or "Error" in ln]
    return (checks or lines or [type(err).__name__])[-1].strip()


# The layout of MXNet's array files (``mx.nd.save``, ``save_parameters``), little-endian:
# uint64 0x112, uint64 0, uint64 count, then per array: uint32 magic (V1 0xF993FAC8, no
# storage type; V2 0xF993FAC9, legacy shapes; V3 0xF993FACA, numpy shapes), int32 storage
# type (V2/V3; 0 = dense), int32 ndim, int64 dims[ndim]; unless the shape is "none"
# (ndim 0 in V1/V2, -1 in V3): int32 device type, int32 device id, int32 dtype, raw data.
# Then uint64 name count (0 or count) and per name uint64 length and the bytes.
_LIST_MAGIC = 0x112
_V1, _V2, _V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
#: Bytes per element of MXNet's dtype flags (mshadow's TypeFlag).
_DTYPE_BYTES = {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1, 8: 2, 9: 2, 10: 4, 11: 8,
                12: 2}
_MAX_NDIM = 32


class _Reader:
    def __init__(self, f, size):
        self.f, self.size = f, size

    def take(self, fmt, what):
        n = struct.calcsize(fmt)
        raw = self.f.read(n)
        if len(raw) < n:
            raise ValueError("it ends inside %s (%d bytes, truncated?)" % (what, self.size))
        return struct.unpack(fmt, raw)

    def skip(self, n, what):
        left = self.size - self.f.tell()
        if n > left:
            raise ValueError("%s claims %d bytes but only %d are left in the file "
                             "(truncated or corrupt?)" % (what, n, left))
        self.f.seek(n, 1)


def check_array_file(path):
    """Check an MXNet array file's structure against its size before MXNet reads it.

    MXNet's loader trusts the counts and shapes a file claims and allocates what they
    say, so a corrupt or hostile header can exhaust memory or abort the process. This
    walks every header with Python's own reads, and only a file whose arrays, names and
    sizes account for its bytes exactly passes. Nothing in it is executed.

    Raises
    ------
    ValueError
        Naming what does not fit.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        r = _Reader(f, size)
        try:
            magic, _ = r.take("<QQ", "the file header")
            if magic != _LIST_MAGIC:
                raise ValueError("it does not start with MXNet's array-file header")
            (count,) = r.take("<Q", "the array count")
            for i in range(count):
                what = "array %d" % i
                (version,) = r.take("<I", what)
                if version not in (_V1, _V2, _V3):
                    raise ValueError("%s has an unknown format tag 0x%08x" % (what, version))
                if version != _V1:
                    (stype,) = r.take("<i", what)
                    if stype != 0:
                        raise ValueError("%s is a sparse array (storage type %d); only "
                                         "dense arrays are read" % (what, stype))
                (ndim,) = r.take("<i", what)
                if not -1 <= ndim <= _MAX_NDIM:
                    raise ValueError("%s claims %d dimensions" % (what, ndim))
                dims = r.take("<%dq" % max(ndim, 0), what) if ndim > 0 else ()
                if any(d < 0 for d in dims):
                    raise ValueError("%s claims a negative size %s" % (what, dims))
                if ndim == -1 or (ndim == 0 and version != _V3):
                    raise ValueError("%s has no shape (an empty placeholder)" % what)
                if version != _V3 and 0 in dims:
                    raise ValueError("%s has an unknown size in its shape %s" % (what, dims))
                _, _, dtype = r.take("<iii", what)
                if dtype not in _DTYPE_BYTES:
                    raise ValueError("%s has an unknown dtype flag %d" % (what, dtype))
                elements = 1
                for d in dims:
                    elements *= d
                r.skip(elements * _DTYPE_BYTES[dtype], "%s of shape %s" % (what, dims))
            (names,) = r.take("<Q", "the name count")
            if names not in (0, count):
                raise ValueError("it has %d arrays but %d names" % (count, names))
            for i in range(names):
                (length,) = r.take("<Q", "name %d" % i)
                start = f.tell()
                r.skip(length, "name %d" % i)
                f.seek(start)
                try:
                    f.read(length).decode("utf-8")
                except UnicodeDecodeError:
                    raise ValueError("name %d is not UTF-8 text" % i) from None
        except struct.error as err:  # pragma: no cover (take() checks lengths first)
            raise ValueError(str(err)) from None
        extra = size - f.tell()
        if extra:
            raise ValueError("it has %d bytes after its last name (corrupt?)" % extra)


def load_arrays(path):
    """Read an MXNet array file (``.params``, ``mx.nd.save``/``npx.save``) saved in either
    array interface, as a dict (or list) of arrays of the interface that is on.

    Files carry the shape semantics they were saved in: legacy files (``mx.nd.save``,
    ``save_parameters`` in legacy mode) load only with numpy shapes off, files saved in
    numpy mode only with them on. Both are tried, so any such file loads in either mode.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not an MXNet array file (truncated or corrupt).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError("no parameter file at %s" % path)
    try:
        check_array_file(path)
    except ValueError as err:
        raise ValueError("%s is not a readable MXNet .params file: %s" % (path, err)) from None
    loaded, first_error = None, None
    for numpy_shapes in (False, True):
        try:
            with file_semantics(numpy_shapes):
                loaded = mx.nd.load(path)
            break
        except MXNetError as err:
            if "np shape semantics" not in str(err):
                first_error = first_error or err
                break
    if loaded is None:
        raise ValueError("%s is not a readable MXNet .params file (truncated or corrupt?): %s"
                         % (path, _mxnet_reason(first_error))) from None
    if isinstance(loaded, dict):
        return {key: as_current(value) for key, value in loaded.items()}
    return [as_current(value) for value in loaded]


def _write_array_file(f, arrays):
    """Write ``arrays`` (a dict of legacy NDArrays) to the open binary file ``f`` in the
    layout of ``mx.nd.save``, each array's bytes made by MXNet itself
    (``MXNDArraySaveRawBytes``). Python writes them, so a full disk or a file-size
    limit is an OSError with its errno, not a failure inside MXNet."""
    f.write(struct.pack("<QQQ", _LIST_MAGIC, 0, len(arrays)))
    for value in arrays.values():
        f.write(value.__getstate__()["handle"])
    f.write(struct.pack("<Q", len(arrays)))
    for key in arrays:
        name = key.encode("utf-8")
        f.write(struct.pack("<Q", len(name)))
        f.write(name)


def save_arrays(path, arrays):
    """Write a dict of arrays (either interface) atomically as a legacy MXNet array file
    (byte for byte what ``mx.nd.save`` writes in legacy mode), the one kind that
    ``mx.nd.load`` and ``load_parameters`` read in both modes.

    Raises
    ------
    OSError
        If the file cannot be written (disk full, a file-size limit); any earlier file
        at ``path`` is left as it was.
    """
    with file_semantics(False):  # each array is saved in the legacy layout
        arrays = {str(key): as_legacy(value) for key, value in arrays.items()}
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                _write_array_file(f, arrays)
                f.flush()
                os.fsync(f.fileno())
    return path


def read_params_file(path):
    """Read an MXNet ``.params`` file (saved in either array interface) into a dict of
    arrays of the interface that is on, or raise a clear error."""
    loaded = load_arrays(path)
    if not isinstance(loaded, dict) or not loaded:
        raise ValueError("%s holds no named parameters (expected a file written by "
                         "save_parameters)" % path)
    return loaded


def load_parameters(net, path, ctx=None):
    """Load a ``.params`` file into ``net``, checking every name and shape first.

    Reads files written by ``Block.save_parameters`` (structural names such as
    ``features.0.weight``), as published by MXNet's and GluonCV's model zoos, saved in
    either array interface (legacy or numpy mode), into a net of the interface that is
    on (its parameters become ``mx.np`` arrays in numpy mode, ``mx.nd`` ones otherwise).

    Parameters
    ----------
    net : Block
        The network to fill.
    path : str
        The ``.params`` file.
    ctx : Context or list of Context, optional
        Where to put the parameters; default CPU.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is unreadable, or its parameter names or shapes do not fit ``net``
        (e.g. it was saved from another architecture); nothing is loaded then.
    """
    loaded = read_params_file(path)
    if all(key.startswith(("arg:", "aux:")) for key in loaded):
        raise ValueError("%s is an exported (symbol) parameter file; load it with "
                         "gluon_resnet.load_exported(prefix)" % path)
    if not any("." in key for key in loaded):
        # Legacy files name parameters by prefix (e.g. resnetv10_conv0_weight), which
        # depends on how many nets a process had built; MXNet's own loader maps them.
        net.collect_params().load_dict(loaded, ctx, restore_prefix=net.prefix,
                                       filename=path)
        return net
    return load_named_arrays(net, loaded, path, ctx)


def load_named_arrays(net, loaded, path, ctx=None):
    """Load ``{structural name: array}`` (as ``Block.save_parameters`` names them) into
    ``net``, checking every name and shape first; ``path`` names the source in errors."""
    name = getattr(net, "model_name", None) or type(net).__name__
    expected = net._collect_params_with_prefix()
    # A parameter shared by several blocks (GoogLeNet's output layer is also its head's)
    # has several names; a file holds all of them (MXNet's save_parameters) or one
    # (save_parameters here, and MXNet's with deduplicate=True).
    names = {}
    for key, param in expected.items():
        names.setdefault(param, []).append(key)
    missing = {keys[0] for keys in names.values() if not any(k in loaded for k in keys)}
    unexpected = set(loaded) - set(expected)
    if missing or unexpected:
        raise ValueError(
            "%s does not fit %s: it lacks %d of the net's parameters (%s) and has %d the net "
            "does not (%s); it was probably saved from another architecture"
            % (path, name, len(missing), _brief(missing) or "none", len(unexpected),
               _brief(unexpected) or "none"))
    # The last of a shared parameter's names, the one save_parameters keeps.
    expected = {param: [k for k in keys if k in loaded][-1] for param, keys in names.items()}
    wrong = []
    for param, key in expected.items():
        want, got = param.shape, loaded[key].shape
        # A deferred size is 0 in legacy mode and -1 in numpy mode.
        if len(want) != len(got) or any(w > 0 and w != g for w, g in zip(want, got)):
            wrong.append("%s: file %s, net %s" % (key, got, want))
    if wrong:
        hint = ""
        output = [w for w in wrong if w.split(".")[0] in ("output", "fc")]
        if output and len(output) == len(wrong):
            hint = "; the output layer differs: pass classes=%d" % loaded[
                wrong[0].split(":")[0]].shape[0]
        raise ValueError("%s does not fit %s: %d parameter shapes differ (%s)%s"
                         % (path, name, len(wrong), "; ".join(wrong[:3]), hint))
    for param, key in expected.items():
        param._load_init(loaded[key], ctx)
    return net


class atomic_path:
    """Context manager giving a temporary path that is renamed to ``path`` on success.

    An interrupted or failed write leaves any earlier file at ``path`` untouched and no
    temporary file behind.
    """

    def __init__(self, path):
        self.path = os.fspath(path)

    def __enter__(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise FileNotFoundError("directory %s does not exist" % directory)
        fd, self.tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-",
                                        suffix=os.path.basename(self.path))
        os.close(fd)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            os.replace(self.tmp, self.path)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)
        return False


def read_json(path):
    """The JSON document in the file ``path``; a ValueError naming the file if it is not
    valid UTF-8 JSON (or nests too deeply to parse)."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError("%s is not valid JSON: %s" % (path, err)) from None


def write_json(path, doc):
    """Write ``doc`` as indented JSON atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
    return path


def save_parameters(net, path):
    """Save ``net``'s parameters to ``path`` atomically (temporary file, then rename).

    The file is what ``Block.save_parameters`` writes in legacy mode, whichever array
    interface the net runs in, so ``net.load_parameters`` of MXNet reads it in both
    modes (a file MXNet writes in numpy mode loads only in numpy mode there; here
    :func:`load_parameters` reads both kinds).
    """
    params = net._collect_params_with_prefix()
    unique = {param: key for key, param in params.items()}  # shared ones once, as MXNet
    return save_arrays(path, {key: param._reduce() for param, key in unique.items()})
