"""Data-parallel training across processes and machines on MXNet's parameter server.

MXNet's KVStore (``mx.kv.create``) moves gradients between the processes of a job:
``local`` and ``device`` inside one process (several contexts), and the ps-lite kinds
``dist_sync``, ``dist_device_sync`` and ``dist_async`` between *workers* (the processes
that train), through *servers* (which hold and sum what the workers push) and a
*scheduler* (which introduces them). Roles and addresses come from ``DMLC_*`` environment
variables, which ``gluon-resnet launch`` (:mod:`gluon_resnet.training.launcher`) sets.

What :func:`gluon_resnet.train` does with a distributed kvstore, and why:

* **Sharding.** Every worker trains on its own part of the data: :meth:`shard` of the
  training iterator (``ImageArrayIter.shard``), a permutation seeded the same on every
  worker, cut into ``num_workers`` disjoint parts of equal size (the remainder, fewer
  than ``num_workers`` examples, is dropped), so every worker makes the same number of
  steps: ``dist_sync`` hangs when counts differ. This is checked before training.
* **Gradients.** Each worker sums its gradients over its contexts and pushes them to
  keys of our own on the servers, which *sum* the workers' pushes; every worker pulls
  the sum and applies the same update itself (its ``gluon.Trainer`` has no kvstore),
  dividing by ``batch_size * num_workers``, so each step is the mean over the global
  batch, as one process with that batch would take. Updates on the workers keep the
  learning-rate schedule (set per step) and the optimizer state (checkpointed) in our
  hands. (The trainer's own dist kvstore is not used: setting it up before the first
  forward pass crashed the server on ResNet-18, ``init 0 first``.)
* **Start.** Before the first step every worker receives rank 0's parameters (kept by
  the servers as the starting values of keys of our own), so workers need not share a
  seed.
* **BatchNorm.** Each worker's running mean and variance follow its own batches. Before
  every evaluation and checkpoint they are replaced, on every worker, by the mean over
  the workers (the mean of the variances: the spread between the workers' means is
  left out, as SyncBatchNorm-free data-parallel trainers do). Batch statistics during
  training stay per worker (per batch of ``batch_size``), as with several GPUs.
* **Evaluation and history.** The test set is split over the workers too and the
  correct counts summed; training loss and accuracy are summed over the workers, so
  every worker's History is that of the whole job.
* **Checkpoints.** Rank 0 writes them; the others wait at a barrier. To resume, every
  worker reads the same checkpoint, so the run directory must be one that every
  worker sees (the same machine, or a shared filesystem); a worker that finds another
  epoch than rank 0 stops the job with an error saying so.
* **dist_async.** Each worker's gradient is applied on the servers as soon as it
  arrives (MXNet allows no other way), so the optimizer lives on the servers: its
  state cannot be checkpointed (MXNet 1.9.1 refuses to save it) and a learning rate set
  by the workers never reaches it. ``dist_async`` therefore takes a constant learning
  rate and no ``checkpoint_dir``; rank 0 evaluates alone, and BatchNorm statistics are
  rank 0's.
* **Horovod** (``kvstore='horovod'``, workers started by ``gluon-resnet launch --engine
  horovod``): the same sharding, start, statistics, history and checkpoints, with
  Horovod's broadcast and allreduce in place of the servers, and its
  ``DistributedTrainer`` (which averages the gradients itself) in place of
  ``gluon.Trainer``.
"""
import os

import numpy as np

from ..data.iterators import shard_indices  # noqa: F401  (a distributed name too)

__all__ = ["KVSTORES", "create_kvstore", "shard_indices", "Distributed", "is_distributed",
           "check_kvstore_args"]

KVSTORES = ("local", "device", "dist_sync", "dist_device_sync", "dist_async", "horovod")
ROLE_VARIABLES = ("DMLC_ROLE", "DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER",
                  "DMLC_NUM_WORKER")
LAUNCH_ENV = "GLUON_RESNET_LAUNCH_ID"  # set by the launcher in every process it starts
RANK_MARK = "gluon-resnet-launch: rank "  # a worker's line telling the launcher its rank
_FIRST_KEY = 1 << 20  # our keys; the trainer's are 0 .. number of parameters - 1

# ps-lite connects a process to its job once: the kvstore made for a kind is kept here so
# that the CLI (which needs the rank early) and train() share it.
_OPENED = {}


def is_distributed(kvstore):
    """Whether ``kvstore`` (a name or a KVStore) trains in several processes."""
    kind = kvstore if isinstance(kvstore, str) else getattr(kvstore, "type", "")
    return kind.startswith("dist") or kind == "horovod"


def _horovod():
    """``horovod.mxnet``, initialised, or a ValueError saying how to get it."""
    try:
        import horovod.mxnet as hvd
    except ImportError as err:
        raise ValueError(
            "kvstore='horovod' needs Horovod built for MXNet (%s): HOROVOD_WITH_MXNET=1 "
            "HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 pip install --no-build-isolation "
            "'horovod==0.28.1' (it compiles, about a minute); then run the workers with "
            "gluon-resnet launch --engine horovod" % err) from None
    hvd.init()
    return hvd


def create_kvstore(kind):
    """The KVStore of ``kind`` (one of :data:`KVSTORES`), checked before MXNet is asked.

    The ``dist_*`` kinds connect this process to the job described by the ``DMLC_*``
    environment variables (``gluon-resnet launch`` sets them) and block until every
    worker and server has joined; the same store is returned on later calls. Under the
    launcher a worker then prints one line with its rank, which the launcher uses to
    label the worker's output.

    Raises
    ------
    ValueError
        For an unknown kind, or a ``dist_*`` kind without the launcher's variables (or
        in a process whose role is not ``worker``).
    """
    import mxnet as mx
    if isinstance(kind, mx.kvstore.KVStore):
        return kind
    if kind not in KVSTORES:
        raise ValueError("kvstore must be one of %s, got %r" % (", ".join(KVSTORES), kind))
    if not is_distributed(kind):
        return kind  # made by gluon.Trainer, per process
    if kind == "horovod":
        return kind  # Horovod's own collectives; see Distributed
    missing = [v for v in ROLE_VARIABLES if not os.environ.get(v)]
    if missing:
        raise ValueError(
            "kvstore=%r trains in several processes, started by the launcher: "
            "gluon-resnet launch --workers 2 --servers 1 -- train --kvstore %s ... "
            "(this process lacks %s)" % (kind, kind, ", ".join(missing)))
    if os.environ["DMLC_ROLE"] != "worker":
        raise ValueError("kvstore=%r is for workers; this process has DMLC_ROLE=%s"
                         % (kind, os.environ["DMLC_ROLE"]))
    if kind not in _OPENED:
        if _OPENED:
            raise ValueError("this process already joined its job with kvstore=%r; one "
                             "process takes one kind, got %r" % (next(iter(_OPENED)), kind))
        kv = mx.kv.create(kind)
        _OPENED[kind] = kv
        if os.environ.get(LAUNCH_ENV):
            print("%s%d of %d" % (RANK_MARK, kv.rank, kv.num_workers), flush=True)
    return _OPENED[kind]




def check_kvstore_args(kvstore, schedule="constant", warmup_steps=None, warmup_epochs=0,
                       checkpoint_dir=None, ctxs=(None,)):
    """Refuse, before joining any job, what a kind cannot do: dist_async's servers take
    no learning-rate schedule and keep an optimizer state MXNet cannot save (see the
    module notes); Horovod takes one context per process."""
    kind = kvstore if isinstance(kvstore, str) or kvstore is None else kvstore.type
    if kind == "horovod" and len(ctxs) > 1:
        raise ValueError("with kvstore='horovod' every process trains on one context "
                         "(start one worker per device); got %d" % len(ctxs))
    if kind != "dist_async":
        return
    if schedule != "constant" or warmup_steps or warmup_epochs:
        raise ValueError(
            "kvstore='dist_async' applies updates on the servers, which never see a "
            "learning rate the workers set: use schedule='constant' without warm-up, "
            "or kvstore='dist_sync'; got schedule=%r, warm-up %r"
            % (schedule, warmup_steps or warmup_epochs))
    if checkpoint_dir is not None:
        raise ValueError(
            "kvstore='dist_async' keeps the optimizer state on the servers, which "
            "MXNet 1.9.1 cannot save: train without a checkpoint directory, or use "
            "kvstore='dist_sync'")


def _set_everywhere(params, arrays):
    """Write each legacy array into its parameter on every context (``set_data`` would
    mix the array interfaces in numpy mode)."""
    from ..arrays import as_legacy
    for p, a in zip(params, arrays):
        for data in p.list_data():
            as_legacy(data)[:] = a.as_in_context(data.context)


class Distributed:
    """What :func:`gluon_resnet.train` does differently with a kvstore: one per run.

    Parameters
    ----------
    kvstore : str or KVStore or None
        None trains in this process alone (``gluon.Trainer``'s default kvstore).
    """

    def __init__(self, kvstore):
        self.kvstore = create_kvstore(kvstore) if kvstore is not None else None
        self.dist = kvstore is not None and is_distributed(self.kvstore)
        self.kind = getattr(self.kvstore, "type", self.kvstore)  # a name, or None
        self.hvd = _horovod() if self.kind == "horovod" else None
        if self.hvd is not None:
            self.rank, self.num_workers, self.sync = self.hvd.rank(), self.hvd.size(), True
        else:
            kv = self.kvstore if self.dist else None
            self.rank = kv.rank if kv else 0
            self.num_workers = kv.num_workers if kv else 1
            self.sync = self.dist and "async" not in kv.type
        self._keys = {}

    @property
    def is_root(self):
        return self.rank == 0

    def make_trainer(self, params, optimizer, optimizer_params):
        """The ``gluon.Trainer`` of this set-up (Horovod's ``DistributedTrainer`` with
        ``kvstore='horovod'``)."""
        from mxnet import gluon
        if self.hvd is not None:
            return self.hvd.DistributedTrainer(params, optimizer, optimizer_params)
        return gluon.Trainer(params, optimizer, optimizer_params,
                             kvstore=self.trainer_kvstore(),
                             update_on_kvstore=self.update_on_kvstore())

    def trainer_kvstore(self):
        """The ``kvstore`` argument for ``gluon.Trainer``: the gradients of synchronous
        jobs are summed here (:meth:`reduce_gradients`), so their trainer has none."""
        if self.sync:
            return None
        return "device" if self.kvstore is None else self.kvstore

    def update_on_kvstore(self):
        """``False`` (updates on the workers), except for dist_async, which needs True."""
        return True if self.dist and not self.sync else False

    def broadcast_parameters(self, net):
        """Give every worker rank 0's parameters (all of them, running statistics too).

        Synchronous jobs only (in dist_async the trainer does it through the servers);
        every parameter must be initialised (not deferred)."""
        import mxnet as mx

        from ..arrays import as_legacy
        if not self.sync or self.num_workers == 1:
            return
        params = [p for _, p in sorted(net.collect_params().items())]
        arrays = [as_legacy(p.data(p.list_ctx()[0])).copy() for p in params]
        if self.hvd is not None:
            for i, a in enumerate(arrays):
                self.hvd.broadcast_(a, root_rank=0, name="gluon_resnet.parameters.%d" % i)
        else:
            keys = self._keys_for("parameters", arrays)
            self.kvstore.init(keys, arrays)  # the servers keep rank 0's values
            self.kvstore.pull(keys, out=arrays)
        _set_everywhere(params, arrays)
        mx.nd.waitall()

    def reduce_gradients(self, params):
        """Sum every gradient over this process's contexts and over the workers, and
        leave the sum in each context's gradient (synchronous jobs; else nothing)."""
        from ..arrays import as_legacy
        if not self.sync or self.hvd is not None:  # DistributedTrainer.step reduces them
            return
        params = [p for p in params if p.grad_req != "null"]
        sums = []
        for p in params:
            grads = [as_legacy(g) for g in p.list_grad()]
            if len(grads) > 1:
                grads[0] += sum(g.as_in_context(grads[0].context) for g in grads[1:])
            sums.append(grads[0])
        if self.num_workers > 1:
            self.allreduce("gradients", sums)
        for p, total in zip(params, sums):
            for g in p.list_grad()[1:]:
                as_legacy(g)[:] = total.as_in_context(g.context)

    def bytes_per_step(self, params):
        """Bytes a worker pushes and pulls per step: its gradients, twice."""
        return 2 * sum(int(np.prod(p.shape)) * np.dtype(p.dtype).itemsize
                       for p in params if p.grad_req != "null")

    def shard(self, train_iter, test_iter):
        """Each worker's part of the data (see :meth:`ImageArrayIter.shard`)."""
        if not self.dist or self.num_workers == 1:
            return train_iter, test_iter
        if not hasattr(train_iter, "shard"):
            raise ValueError(
                "with %d workers every worker must train on its own part of the data: "
                "train_iter needs a shard(num_parts, index) method (as ImageArrayIter "
                "has); got a %s" % (self.num_workers, type(train_iter).__name__))
        train_iter = train_iter.shard(self.num_workers, self.rank)
        if test_iter is not None and self.sync and hasattr(test_iter, "shard"):
            test_iter = test_iter.shard(self.num_workers, self.rank, equal=False)
        elif not self.is_root:
            test_iter = None  # rank 0 evaluates alone
        return train_iter, test_iter

    def step_size(self, batch_size):
        """What ``trainer.step`` divides the summed gradients by (Horovod's trainer
        divides by the number of workers itself)."""
        if self.sync and self.hvd is None:
            return batch_size * self.num_workers
        return batch_size

    # -- collectives (dist_sync, dist_device_sync): every worker calls them in the same
    #    order; the servers replace a key's value by the sum of the workers' pushes.
    def allreduce(self, name, arrays):
        """Sum legacy NDArrays over the workers, in place (one key per name and array)."""
        import mxnet as mx
        if not self.sync:
            return arrays
        if self.hvd is not None:
            for i, a in enumerate(arrays):
                self.hvd.allreduce_(a, average=False, name="gluon_resnet.%s.%d" % (name, i))
            return arrays
        keys = self._keys_for(name, arrays, lambda a: mx.nd.zeros(a.shape, dtype=a.dtype))
        self.kvstore.push(keys, arrays, priority=0)
        self.kvstore.pull(keys, out=arrays, priority=0)
        return arrays

    def _keys_for(self, name, arrays, init=None):
        """Keys of our own for ``arrays`` under ``name`` (and their shapes: a key keeps
        its size); the first time, ``init`` makes their starting values."""
        name = (name,) + tuple((a.shape, str(a.dtype)) for a in arrays)
        if name not in self._keys:
            first = _FIRST_KEY + sum(len(k) for k in self._keys.values())
            self._keys[name] = list(range(first, first + len(arrays)))
            if init is not None:
                self.kvstore.init(self._keys[name], [init(a) for a in arrays])
        return self._keys[name]

    def totals(self, values):
        """Sum a few floats over the workers."""
        import mxnet as mx
        if not self.sync or self.num_workers == 1:
            return list(values)
        a = mx.nd.array(np.asarray(values, dtype=np.float64), dtype="float64")
        return [float(v) for v in self.allreduce("totals", [a])[0].asnumpy()]

    def check_same(self, what, value):
        """Stop with an error naming ``what`` if ``value`` (an int) differs between workers.

        Every worker sends its value and that value times ``num_workers``; the sums
        agree only if every worker sent the same value."""
        if not self.sync or self.num_workers == 1:
            return
        total, = self.totals([value])
        if total != value * self.num_workers:
            raise ValueError(
                "the workers disagree on %s: this worker (rank %d) has %r, the %d workers "
                "sum to %r" % (what, self.rank, value, self.num_workers, total))

    def average_running_stats(self, net):
        """Replace BatchNorm running means and variances by their mean over the workers."""
        from ..arrays import as_legacy
        if not self.sync or self.num_workers == 1:
            return
        params = [p for name, p in sorted(net.collect_params().items())
                  if name.endswith(("running_mean", "running_var"))]
        if not params:
            return
        arrays = [as_legacy(p.data(p.list_ctx()[0])).copy() for p in params]
        sums = self.allreduce("running_stats", arrays)
        _set_everywhere(params, [a / self.num_workers for a in sums])

    def barrier(self):
        """Wait until every worker is here."""
        import mxnet as mx
        if self.hvd is not None and self.num_workers > 1:
            self.allreduce("barrier", [mx.nd.zeros((1,))])[0].wait_to_read()
        elif self.dist and self.num_workers > 1:
            self.kvstore._barrier()
