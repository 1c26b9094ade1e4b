"""Loading and saving ``.params`` files with errors that say what does not fit."""
import os
import tempfile

import mxnet as mx
from mxnet.base import MXNetError

from .arrays import as_current, as_legacy, file_semantics

__all__ = ["load_parameters", "save_parameters", "atomic_path", "load_arrays", "save_arrays"]


def _brief(names, limit=4):
    names = sorted(names)
    more = " and %d more" % (len(names) - limit) if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _mxnet_reason(err):
    lines = [ln for ln in str(err).strip().splitlines() if ln.strip()]
    checks = [ln for ln in lines if "Check failed" in ln or "Error" in ln]
    return (checks or lines or [type(err).__name__])[-1].strip()


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


def save_arrays(path, arrays):
    """Write a dict of arrays (either interface) atomically as a legacy MXNet array file,
    the one kind that ``mx.nd.load`` and ``load_parameters`` read in both modes."""
    arrays = {key: as_legacy(value) for key, value in arrays.items()}
    with atomic_path(path) as tmp:
        with file_semantics(False):
            mx.nd.save(tmp, arrays)
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
    name = getattr(net, "model_name", None) or type(net).__name__
    if all(key.startswith(("arg:", "aux:")) for key in loaded):
        raise ValueError("%s is an exported (symbol) parameter file; load it with "
                         "gluon_resnet.load_exported(prefix)" % path)
    if not any("." in key for key in loaded):
        # Legacy files name parameters by prefix (e.g. resnetv10_conv0_weight), which
        # depends on how many nets a process had built; MXNet's own loader maps them.
        net.collect_params().load_dict(loaded, ctx, restore_prefix=net.prefix,
                                       filename=path)
        return net
    expected = net._collect_params_with_prefix()
    missing, unexpected = set(expected) - set(loaded), set(loaded) - set(expected)
    if missing or unexpected:
        raise ValueError(
            "%s does not fit %s: it lacks %d of the net's parameters (%s) and has %d the net "
            "does not (%s); it was probably saved from another architecture"
            % (path, name, len(missing), _brief(missing) or "none", len(unexpected),
               _brief(unexpected) or "none"))
    wrong = []
    for key, param in expected.items():
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
    for key, param in expected.items():
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
