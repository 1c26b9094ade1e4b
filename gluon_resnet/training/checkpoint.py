"""Training checkpoints: written atomically, resumed exactly, loaded without running code.

After epoch ``e`` a run directory holds

- ``epoch-000e.params``: the net (an MXNet array file, as ``save_parameters`` writes);
- ``epoch-000e.states``: the optimizer's state arrays (momentum, Adam's moments), an
  MXNet array file written by this module;
- ``epoch-000e.rng.json``: numpy's global random state and the training iterator's;
- ``checkpoint.json``, written last: epoch, file names, history, model, settings, and
  the optimizer's counters and the layout of its state arrays.

Nothing is pickled, and no load path unpickles: array files are checked against their
size (:func:`gluon_resnet.params.check_array_file`) before MXNet reads them, and the rest
is JSON. Checkpoints of format 1 (which pickled the optimizer and random states, so that
loading one could run code) are refused, unless the caller trusts them and passes
``allow_pickle=True`` (``--trust-pickle``), which converts them to this format once.

While :func:`train` runs with a checkpoint directory it holds a lock on
``DIR/.lock``: a second training process on the same directory is refused.
"""
import errno
import json
import os
import re

import mxnet as mx
import numpy as np

from ..arrays import as_legacy
from ..params import (load_arrays, load_parameters, read_json, save_arrays, save_parameters,
                     write_json)

__all__ = ["CHECKPOINT_FILE", "FORMAT", "read_checkpoint", "load_checkpoint",
           "convert_checkpoint", "CheckpointError", "RunLocked"]

#: Name of the file that describes a checkpoint; written last, so it is always whole.
CHECKPOINT_FILE = "checkpoint.json"
#: The checkpoint format this code writes (1: pickled optimizer and random states).
FORMAT = 2
LOCK_FILE = ".lock"
_EPOCH_FILE = re.compile(r"epoch-\d{4,}\.(params|states|rng|rng\.json)$")
_DOC_KEYS = {"epoch": int, "files": dict, "history": dict, "model": dict, "train": dict}


class CheckpointError(OSError):
    """A checkpoint could not be written (disk full, file too large, ...); the previous
    checkpoint in the directory is intact."""


class RunLocked(RuntimeError):
    """Another process is training in this checkpoint directory."""


def _checkpoint_json(path):
    path = os.fspath(path)
    return os.path.join(path, CHECKPOINT_FILE) if os.path.isdir(path) else path


def _pickle_refused(json_path):
    return ValueError(
        "%s is a checkpoint of format 1, whose optimizer and random states are Python "
        "pickles: loading them could run any code the file's author wrote. If you trust "
        "it, convert it once with `gluon-resnet convert %s --trust-pickle` (or "
        "convert_checkpoint(path, allow_pickle=True))"
        % (json_path, os.path.dirname(json_path) or "."))


def _check_doc(doc, json_path):
    if not isinstance(doc, dict) or "format" not in doc:
        raise ValueError("%s is not a gluon_resnet checkpoint (no format)" % json_path)
    if doc["format"] == 1:
        return
    if doc["format"] != FORMAT:
        raise ValueError("%s has checkpoint format %r; this gluon_resnet reads format %d"
                         % (json_path, doc["format"], FORMAT))
    for key, kind in _DOC_KEYS.items():
        if not isinstance(doc.get(key), kind) or isinstance(doc.get(key), bool):
            raise ValueError("%s is incomplete: %r must be a %s" % (json_path, key,
                                                                    kind.__name__))
    files = doc["files"]
    if sorted(files) != ["params", "rng", "states"] or not all(
            isinstance(v, str) and v and os.path.basename(v) == v for v in files.values()):
        raise ValueError("%s must name its files params, states and rng (plain file names "
                         "in its directory), got %r" % (json_path, files))
    model = doc["model"]
    if not isinstance(model.get("input_shape"), list) or not all(
            isinstance(d, int) and d > 0 for d in model["input_shape"]):
        raise ValueError("%s has a bad model input_shape %r" % (json_path,
                                                                model.get("input_shape")))


def read_checkpoint(path, allow_pickle=False):
    """Read the description of a checkpoint.

    Parameters
    ----------
    path : str
        A checkpoint directory (a run directory) or its ``checkpoint.json``.
    allow_pickle : bool, default False
        Convert a format-1 checkpoint (pickled states) to the current format first;
        only for checkpoints you trust. Without it they are refused.

    Returns
    -------
    dict
        ``epoch``, ``files`` (paths made absolute), ``history``, ``model`` (``name``,
        ``classes``, ``in_channels``, ``input_shape``, ``thumbnail``), ``train`` (the
        training settings), ``metadata`` (what the caller passed) and ``optimizer``.

    Raises
    ------
    FileNotFoundError
        If there is no checkpoint at ``path``.
    ValueError
        If ``checkpoint.json`` is not valid JSON or not a checkpoint this version
        reads, or is of format 1 without ``allow_pickle``.
    """
    json_path = _checkpoint_json(path)
    if not os.path.isfile(json_path):
        raise FileNotFoundError("no checkpoint at %s (expected a run directory holding %s, "
                                "or the file itself)" % (path, CHECKPOINT_FILE))
    doc = read_json(json_path)
    _check_doc(doc, json_path)
    if doc["format"] == 1:
        if not allow_pickle:
            raise _pickle_refused(json_path)
        convert_checkpoint(json_path, allow_pickle=True)
        return read_checkpoint(json_path)
    directory = os.path.dirname(os.path.abspath(json_path))
    doc["files"] = {k: os.path.join(directory, v) for k, v in doc["files"].items()}
    doc["path"] = json_path
    return doc


def check_model_name(net, doc):
    """A clear error if ``net`` is not the model the checkpoint ``doc`` was trained."""
    saved, name = doc["model"].get("name"), getattr(net, "model_name", None)
    if saved and name and saved != name:
        raise ValueError("%s is a checkpoint of %s, but the net is %s; build the net with "
                         "get_model(%r, ...) or use a checkpoint of %s"
                         % (doc["path"], saved, name, saved, name))


def load_checkpoint(path, ctx=None, net=None, allow_pickle=False):
    """Rebuild the trained net of a checkpoint.

    Parameters
    ----------
    path : str
        Run directory or ``checkpoint.json``.
    ctx : Context or list of Context, optional
        Default CPU.
    net : Block, optional
        Load into this net instead of building one from the saved model name.
    allow_pickle : bool, default False
        See :func:`read_checkpoint`.

    Returns
    -------
    net, doc
        The net with the checkpoint's parameters, and :func:`read_checkpoint`'s dict.

    Raises
    ------
    ValueError
        If the checkpoint is of another model than ``net``, or its parameters do not fit.
    """
    doc = read_checkpoint(path, allow_pickle=allow_pickle)
    ctx = ctx if ctx is not None else mx.cpu()
    if net is None:
        model = doc["model"]
        if not isinstance(model.get("name"), str):
            raise ValueError("%s does not name its model (the net had no model_name); pass "
                             "net= to load it into a net you build" % doc["path"])
        from ..models.registry import get_model
        try:
            net = get_model(model["name"], classes=model.get("classes"),
                            in_channels=model.get("in_channels", 0),
                            thumbnail=bool(model.get("thumbnail")), ctx=ctx)
        except (TypeError, KeyError) as err:
            raise ValueError("%s describes a model that cannot be built: %s"
                             % (doc["path"], err)) from None
    else:
        check_model_name(net, doc)
    load_parameters(net, doc["files"]["params"], ctx=ctx)
    return net, doc


# ---------------------------------------------------------------------------------------
# Optimizer state: the updater's arrays in an MXNet array file, the rest in JSON.

def _flatten_state(state, key, arrays):
    """The JSON layout of one optimizer state (an array, None, or tuples/lists of
    them), its arrays put in ``arrays`` under ``key/i``."""
    if state is None:
        return None
    if isinstance(state, mx.nd.NDArray):
        name = "%s/%d" % (key, len(arrays))
        arrays[name] = as_legacy(state)
        return name
    if isinstance(state, (tuple, list)):
        return {"tuple" if isinstance(state, tuple) else "list":
                [_flatten_state(s, key, arrays) for s in state]}
    raise TypeError("cannot checkpoint an optimizer state of type %s" % type(state).__name__)


def _unflatten_state(layout, arrays, where):
    if layout is None:
        return None
    if isinstance(layout, str):
        if layout not in arrays:
            raise ValueError("%s names optimizer state array %r, which its state file "
                             "lacks" % (where, layout))
        return arrays[layout]
    if isinstance(layout, dict) and len(layout) == 1:
        kind, items = next(iter(layout.items()))
        if kind in ("tuple", "list") and isinstance(items, list):
            items = [_unflatten_state(item, arrays, where) for item in items]
            return tuple(items) if kind == "tuple" else items
    raise ValueError("%s has a bad optimizer state layout %r" % (where, layout))


def _updaters(trainer):
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
    if trainer._update_on_kvstore:
        raise ValueError("checkpoints need the trainer's updates on the workers "
                         "(gluon.Trainer(..., update_on_kvstore=False))")
    return trainer._updaters


def save_optimizer(trainer, path):
    """Write the trainer's optimizer state arrays to ``path`` (an MXNet array file) and
    return the JSON part: update counts and the arrays' layout."""
    states = _updaters(trainer)[0].states
    optimizer = trainer._optimizer
    arrays, layout = {}, []
    for index in sorted(states, key=str):
        layout.append([index, _flatten_state(states[index], "state/%s" % index, arrays)])
    save_arrays(path, arrays)
    return {"type": type(optimizer).__name__.lower(), "num_update": optimizer.num_update,
            "begin_num_update": optimizer.begin_num_update,
            "update_counts": {str(dev): [[i, c] for i, c in counts.items()]
                              for dev, counts in optimizer._all_index_update_counts.items()},
            "states": layout}


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _check_counts(info, num_params, where):
    """The optimizer record's counters and indices are what :func:`save_optimizer`
    writes: ints, and parameter indices of this trainer."""
    def index_ok(i):
        return _is_int(i) and 0 <= i < num_params
    ok = (_is_int(info.get("num_update")) and _is_int(info.get("begin_num_update"))
          and isinstance(info.get("update_counts"), dict)
          and isinstance(info.get("states"), list))
    if ok:
        for dev, counts in info["update_counts"].items():
            ok = ok and dev.isdigit() and isinstance(counts, list) and all(
                isinstance(c, list) and len(c) == 2 and index_ok(c[0]) and _is_int(c[1])
                for c in counts)
        ok = ok and all(isinstance(s, list) and len(s) == 2 and index_ok(s[0])
                        for s in info["states"])
    if not ok:
        raise ValueError("%s has a bad optimizer record (update counts or state indices "
                         "that do not fit a trainer of %d parameters)" % (where, num_params))


def _state_arrays(state):
    if isinstance(state, (tuple, list)):
        return [a for s in state for a in _state_arrays(s)]
    return [] if state is None else [state]


def restore_optimizer(trainer, path, info, where):
    """Put the state saved by :func:`save_optimizer` back into ``trainer``.

    Raises ValueError, before anything is changed, if the record or the arrays do not fit
    the trainer's parameters."""
    if not isinstance(info, dict):
        raise ValueError("%s has no optimizer record" % where)
    updaters = _updaters(trainer)
    _check_counts(info, len(trainer._params), where)
    loaded = load_arrays(path)
    # An optimizer without state arrays (SGD without momentum) saved an empty file,
    # which MXNet reads back as an empty list.
    if isinstance(loaded, list):
        if loaded:
            raise ValueError("%s: its optimizer state file holds unnamed arrays" % where)
        loaded = {}
    arrays = {k: as_legacy(v) for k, v in loaded.items()}
    states = {}
    for index, layout in info["states"]:
        states[index] = _unflatten_state(layout, arrays, where)
        want = trainer._params[index].shape
        for arr in _state_arrays(states[index]):
            if arr.shape != want:
                raise ValueError("%s: the optimizer state of parameter %s has shape %s, the "
                                 "parameter %s" % (where, trainer._params[index].name,
                                                   arr.shape, want))
    for updater in updaters:
        # Each updater gets its own copies; they move to their context on first use.
        updater.states = {i: _copy_state(s) for i, s in states.items()}
        updater.states_synced = dict.fromkeys(updater.states, False)
    optimizer = trainer._optimizer
    optimizer.num_update = info["num_update"]
    optimizer.begin_num_update = info["begin_num_update"]
    optimizer._all_index_update_counts = {
        int(dev): {i: c for i, c in counts} for dev, counts in info["update_counts"].items()}
    optimizer._index_update_count = optimizer._all_index_update_counts.setdefault(0, {})


def _copy_state(state):
    if isinstance(state, mx.nd.NDArray):
        return state.copy()
    if isinstance(state, (tuple, list)):
        return type(state)(_copy_state(s) for s in state)
    return state


# ---------------------------------------------------------------------------------------
# Random states as JSON

def _rng_to_json(state):
    kind, keys, pos, has_gauss, cached = state
    return {"kind": kind, "keys": [int(k) for k in keys], "pos": int(pos),
            "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}


def _rng_from_json(doc, where):
    try:
        keys = np.array(doc["keys"], dtype=np.int64)
        pos, has_gauss = doc["pos"], doc["has_gauss"]
        if (doc["kind"] != "MT19937" or keys.shape != (624,) or keys.min() < 0
                or keys.max() >= 2 ** 32 or not _is_int(pos) or not 0 <= pos <= 624
                or has_gauss not in (0, 1)):
            raise ValueError("not an MT19937 state")
        return ("MT19937", keys.astype(np.uint32), pos, int(has_gauss),
                float(doc["cached_gaussian"]))
    except (KeyError, TypeError, ValueError, OverflowError) as err:
        raise ValueError("%s holds no valid random state: %s" % (where, err)) from None


def rng_states(train_iter):
    """numpy's global random state and ``train_iter``'s, as JSON."""
    it = train_iter.rng_state() if hasattr(train_iter, "rng_state") else None
    return {"numpy": _rng_to_json(np.random.get_state()),
            "iterator": None if it is None else _rng_to_json(it)}


def restore_rng(path, train_iter):
    doc = read_json(path)
    if not isinstance(doc, dict) or "numpy" not in doc:
        raise ValueError("%s holds no random states" % path)
    numpy_state = _rng_from_json(doc["numpy"], path)
    it_state = None if doc.get("iterator") is None else _rng_from_json(doc["iterator"], path)
    np.random.set_state(numpy_state)
    if it_state is not None and hasattr(train_iter, "set_rng_state"):
        train_iter.set_rng_state(it_state)


# ---------------------------------------------------------------------------------------
# Writing, restoring, locking

def _write_failed(directory, err, previous):
    where = ("the previous checkpoint (%s) is intact and resumable" % previous if previous
             else "no checkpoint was written")
    reason = os.strerror(err.errno) if err.errno else str(err)
    if err.errno == errno.EFBIG:
        reason += " (a file-size limit: ulimit -f)"
    return CheckpointError(err.errno, "could not write a checkpoint in %s: %s; %s"
                           % (directory, reason, where))


class Checkpointer:
    """Writes and restores the checkpoints of one run directory, and holds its lock.

    Epoch ``e`` writes ``epoch-000e.params``, ``.states`` and ``.rng.json``, each to a
    temporary name renamed into place, and then ``checkpoint.json``, which names them.
    Files of other epochs are removed only after that, so ``checkpoint.json`` always
    describes complete files.
    """

    def __init__(self, directory):
        self.dir = os.fspath(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.json = os.path.join(self.dir, CHECKPOINT_FILE)
        self._lock = None

    def exists(self):
        return os.path.isfile(self.json)

    def lock(self):
        """Take the directory's lock, or raise :class:`RunLocked`."""
        import fcntl
        path = os.path.join(self.dir, LOCK_FILE)
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise RunLocked("%s is in use: another training process (pid %s) writes its "
                            "checkpoints there; wait for it to finish, or use another "
                            "directory" % (self.dir, holder)) from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._lock = f

    def unlock(self):
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def save(self, epoch, net, trainer, train_iter, history, info):
        """Write epoch ``epoch``'s checkpoint; a failed write raises
        :class:`CheckpointError` and leaves the previous checkpoint as it was."""
        previous = self.json if self.exists() else None
        stem = "epoch-%04d" % epoch
        files = {"params": stem + ".params", "states": stem + ".states",
                 "rng": stem + ".rng.json"}
        try:
            save_parameters(net, os.path.join(self.dir, files["params"]))
            optimizer = save_optimizer(trainer, os.path.join(self.dir, files["states"]))
            write_json(os.path.join(self.dir, files["rng"]), rng_states(train_iter))
            doc = dict(info, format=FORMAT, epoch=epoch, files=files,
                       history=history, optimizer=optimizer)
            write_json(self.json, doc)
        except OSError as err:
            raise _write_failed(self.dir, err, previous) from err
        for name in os.listdir(self.dir):
            if _EPOCH_FILE.match(name) and name not in files.values():
                os.remove(os.path.join(self.dir, name))
        return self.json

    def restore(self, net, trainer, train_iter, ctxs, optimizer, allow_pickle=False):
        """Load the checkpoint into ``net``, ``trainer`` and ``train_iter``'s random state;
        returns its epoch, history (a dict) and training settings (its ``train`` dict)."""
        doc = read_checkpoint(self.json, allow_pickle=allow_pickle)
        check_model_name(net, doc)
        saved = doc["train"].get("optimizer")
        if saved != optimizer:
            raise ValueError("%s was trained with optimizer %r; resume it with the same "
                             "optimizer, not %r" % (self.json, saved, optimizer))
        load_parameters(net, doc["files"]["params"], ctx=ctxs)
        restore_optimizer(trainer, doc["files"]["states"], doc.get("optimizer"), self.json)
        restore_rng(doc["files"]["rng"], train_iter)
        return doc["epoch"], doc["history"], doc["train"]


# ---------------------------------------------------------------------------------------
# Format 1 (pickles), converted on request only

def convert_checkpoint(path, allow_pickle=False):
    """Rewrite a format-1 checkpoint (pickled optimizer and random states) in the current
    format, so it loads without unpickling from then on.

    Unpickling runs whatever code the file's author put in it: pass
    ``allow_pickle=True`` only for checkpoints you made or trust. The format-1 files are
    replaced (the new ones are written first, ``checkpoint.json`` last).

    Returns
    -------
    str
        The path of the rewritten ``checkpoint.json``.
    """
    json_path = _checkpoint_json(path)
    if not allow_pickle:
        raise _pickle_refused(json_path)
    import pickle

    from mxnet import gluon

    from ..arrays import file_semantics
    from ..models.registry import get_model
    with open(json_path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or doc.get("format") != 1:
        raise ValueError("%s is not a format-1 checkpoint" % json_path)
    directory = os.path.dirname(os.path.abspath(json_path))
    files = {k: os.path.join(directory, v) for k, v in doc["files"].items()}
    model = doc["model"]
    net = get_model(model["name"], classes=model["classes"], in_channels=model["in_channels"],
                    thumbnail=model["thumbnail"], hybridize=False)
    load_parameters(net, files["params"])
    trainer = gluon.Trainer(net.collect_params(), doc["train"]["optimizer"],
                            update_on_kvstore=False)
    for numpy_shapes in (False, True):  # MXNet pickled the arrays in either semantics
        try:
            with file_semantics(numpy_shapes):
                trainer.load_states(files["trainer"])  # unpickles: trusted by the caller
            break
        except mx.base.MXNetError:
            if numpy_shapes:
                raise
    with open(files["rng"], "rb") as f:
        rng = pickle.load(f)  # trusted by the caller
    epoch = doc["epoch"]
    stem = "epoch-%04d" % epoch
    new = {"params": os.path.basename(files["params"]), "states": stem + ".states",
           "rng": stem + ".rng.json"}
    optimizer = save_optimizer(trainer, os.path.join(directory, new["states"]))
    write_json(os.path.join(directory, new["rng"]), {
        "numpy": _rng_to_json(rng["numpy"]),
        "iterator": None if rng.get("iterator") is None else _rng_to_json(rng["iterator"])})
    doc.update(format=FORMAT, files=new, optimizer=optimizer)
    write_json(json_path, doc)
    for old in (files["trainer"], files["rng"]):
        if os.path.basename(old) not in new.values() and os.path.exists(old):
            os.remove(old)
    return json_path
