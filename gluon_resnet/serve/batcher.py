"""Dynamic batching: requests queue per model and run in batches.

Two parts, so the policy can be tested without threads or real time:

- :class:`BatchQueue` is the policy, a plain state machine driven by the times it is
  given: a batch leaves when it is full (``max_batch_size``) or when the **oldest**
  waiting request has waited ``max_delay_s`` (counted from its arrival, not from when
  the worker last looked, so a request that arrived while the previous batch ran does
  not wait again);
- :class:`Batcher` runs it on an asyncio loop: :meth:`Batcher.submit` queues one
  prepared input and awaits its output; one worker task per model takes batches off the
  queue, pads them to one of a few fixed sizes (:func:`batch_sizes`) so MXNet's static
  graphs are reused, and runs them on an executor thread.
"""
import asyncio
import collections
import time

__all__ = ["BatchQueue", "Batcher", "QueueFull", "batch_sizes", "padded_size"]


class QueueFull(RuntimeError):
    """The model's queue holds ``queue_size`` requests already."""


def batch_sizes(max_batch_size):
    """The sizes batches are padded to: powers of two below ``max_batch_size``, and it."""
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) \
            or max_batch_size < 1:
        raise ValueError("max_batch_size must be a positive int, got %r" % (max_batch_size,))
    sizes, size = [], 1
    while size < max_batch_size:
        sizes.append(size)
        size *= 2
    return tuple(sizes + [max_batch_size])


def padded_size(count, sizes):
    """The smallest of ``sizes`` that holds ``count`` requests."""
    for size in sizes:
        if size >= count:
            return size
    raise ValueError("a batch of %d is over the largest size %d" % (count, sizes[-1]))


class _Entry:
    __slots__ = ("item", "arrival", "future")

    def __init__(self, item, arrival, future):
        self.item, self.arrival, self.future = item, arrival, future


class BatchQueue:
    """The batching policy over one model's waiting requests.

    Parameters
    ----------
    max_batch_size : int
        Most requests in one batch (1: no batching).
    max_delay_s : float
        Longest a request waits for others, from its own arrival.
    queue_size : int
        Most waiting requests; :meth:`put` raises :class:`QueueFull` past it.
    """

    def __init__(self, max_batch_size=1, max_delay_s=0.0, queue_size=100):
        batch_sizes(max_batch_size)
        if not max_delay_s >= 0:
            raise ValueError("max_delay_s must be >= 0, got %r" % (max_delay_s,))
        if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError("queue_size must be a positive int, got %r" % (queue_size,))
        self.max_batch_size, self.max_delay_s = max_batch_size, float(max_delay_s)
        self.queue_size = queue_size
        self._waiting = collections.deque()

    def __len__(self):
        self._drop_abandoned()
        return len(self._waiting)

    def put(self, item, now, future=None):
        """Queue ``item`` arrived at time ``now``; ``future`` is handed back with it."""
        if len(self) >= self.queue_size:
            raise QueueFull("the queue holds %d requests" % self.queue_size)
        self._waiting.append(_Entry(item, now, future))

    def _drop_abandoned(self):
        """Requests whose caller gave up (timed out) leave the queue unrun."""
        if any(e.future is not None and e.future.done() for e in self._waiting):
            self._waiting = collections.deque(
                e for e in self._waiting if e.future is None or not e.future.done())

    def deadline(self):
        """When the oldest waiting request has waited ``max_delay_s``; None if none waits."""
        self._drop_abandoned()
        return self._waiting[0].arrival + self.max_delay_s if self._waiting else None

    def take(self, now, force=False):
        """The next batch, ``[(item, arrival, future), ...]`` oldest first, or ``[]``.

        A batch is taken when ``max_batch_size`` requests wait, when the oldest has
        waited ``max_delay_s`` at ``now``, or (``force``, on shutdown) whenever one waits.
        """
        self._drop_abandoned()
        if not self._waiting:
            return []
        if not (force or len(self._waiting) >= self.max_batch_size or now >= self.deadline()):
            return []
        count = min(len(self._waiting), self.max_batch_size)
        return [(e.item, e.arrival, e.future)
                for e in (self._waiting.popleft() for _ in range(count))]


class Batcher:
    """One model's queue and the worker that runs it on an asyncio loop.

    Parameters
    ----------
    run_batch : callable
        ``run_batch(items, size)`` -> a list of one output per item; called on
        ``executor`` with the items of one batch and the padded size to run them at.
    max_batch_size, max_delay_s, queue_size
        See :class:`BatchQueue`.
    executor : concurrent.futures.Executor, optional
        Where batches run (default the loop's); one thread keeps MXNet calls serial.
    warmup : callable, optional
        Run once on ``executor`` before the first batch (``ready`` is True after it).
    on_batch : callable, optional
        ``on_batch(size, queue_waits)`` after each batch is taken, for metrics.
    clock : callable
        Seconds, monotonic (default :func:`time.monotonic`).
    """

    def __init__(self, run_batch, max_batch_size=1, max_delay_s=0.0, queue_size=100,
                 executor=None, warmup=None, on_batch=None, clock=time.monotonic):
        self.queue = BatchQueue(max_batch_size, max_delay_s, queue_size)
        self.sizes = batch_sizes(max_batch_size)
        self._run_batch, self._executor = run_batch, executor
        self._warmup, self._on_batch, self._clock = warmup, on_batch, clock
        self._wake = None
        self._task = None
        self._closing = False
        self.ready = warmup is None

    def start(self):
        """Start the worker on the running loop."""
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self):
        """Answer every queued request, then end the worker."""
        self._closing = True
        if self._task is not None:
            self._wake.set()
            await self._task

    async def submit(self, item):
        """Queue ``item`` and await its output.

        Raises
        ------
        QueueFull
            If ``queue_size`` requests wait already.
        RuntimeError
            If the batcher is stopping.
        """
        if self._closing:
            raise RuntimeError("the server is stopping")
        future = asyncio.get_running_loop().create_future()
        self.queue.put(item, self._clock(), future)
        self._wake.set()
        return await future

    async def _work(self):
        loop = asyncio.get_running_loop()
        if self._warmup is not None:
            await loop.run_in_executor(self._executor, self._warmup)
            self.ready = True
        while True:
            now = self._clock()
            batch = self.queue.take(now, force=self._closing)
            if batch:
                await self._run(loop, batch, now)
                continue
            if self._closing:
                return
            deadline = self.queue.deadline()
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), None if deadline is None
                                       else max(0.0, deadline - now))
            except asyncio.TimeoutError:
                pass

    async def _run(self, loop, batch, now):
        items = [item for item, _, _ in batch]
        if self._on_batch is not None:
            self._on_batch(len(batch), [now - arrival for _, arrival, _ in batch])
        try:
            outputs = await loop.run_in_executor(
                self._executor, self._run_batch, items, padded_size(len(items), self.sizes))
        except Exception as err:  # handed to each waiting request, which answers 500
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(err)
            return
        for (_, _, future), out in zip(batch, outputs):
            if not future.done():
                future.set_result(out)
