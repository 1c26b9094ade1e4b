"""The batcher's policy on a fake clock: which requests formed which batch, and the
delay counted from the oldest waiting request (not from when the worker last looked,
TorchServe's complaint). The expected batches are worked out by hand in each test."""
import asyncio

import pytest

from gluon_resnet.serve.batcher import (BatchQueue, Batcher, QueueFull, batch_sizes,
                                        padded_size)


def simulate(arrivals, max_batch_size, max_delay_s, service_s):
    """Run a BatchQueue as the worker does, on a fake clock: requests ``i`` arrive at
    ``arrivals[i]``; a batch takes ``service_s``; returns ``[(start, [ids])]``."""
    queue = BatchQueue(max_batch_size, max_delay_s, queue_size=1000)
    pending = sorted((t, i) for i, t in enumerate(arrivals))
    now, batches = 0.0, []
    while pending or len(queue):
        while pending and pending[0][0] <= now:
            t, i = pending.pop(0)
            queue.put(i, t)
        batch = queue.take(now)
        if batch:
            batches.append((now, [item for item, _, _ in batch]))
            now += service_s  # the worker is busy; arrivals meanwhile queue up
            continue
        # the worker sleeps until the oldest's deadline or the next arrival
        wake = [t for t in (queue.deadline(), pending[0][0] if pending else None)
                if t is not None]
        now = min(wake)
    return batches


def test_full_batches_leave_at_once_and_the_rest_at_the_oldest_deadline():
    # 5 requests at t=0..0.004; batches of 4 with a 10 ms delay: 0-3 go when the 4th
    # arrives (t=0.003), 4 waits alone until 0.004 + 0.010.
    batches = simulate([0.0, 0.001, 0.002, 0.003, 0.004], 4, 0.010, service_s=0.0)
    assert batches == [(0.003, [0, 1, 2, 3]), (pytest.approx(0.014), [4])]


def test_the_delay_counts_from_the_oldest_arrival_not_from_the_poll():
    # 0 and 1 leave at 0's deadline (t=0.020) and run for 50 ms. 2 (t=0.030) and 3
    # (t=0.060) wait meanwhile; at t=0.070 request 2 has waited 40 ms > 20 ms, so 2 and 3
    # leave at once. Counting the delay from the poll would hold them until 0.090.
    batches = simulate([0.0, 0.005, 0.030, 0.060], 8, 0.020, service_s=0.050)
    assert batches == [(pytest.approx(0.020), [0, 1]), (pytest.approx(0.070), [2, 3])]
    batches = simulate([0.0, 0.005, 0.030], 8, 0.020, service_s=0.0)
    # idle worker: 0 and 1 leave at 0's deadline (0.020); 2 at its own (0.050)
    assert batches == [(pytest.approx(0.020), [0, 1]), (pytest.approx(0.050), [2])]


def test_no_batching_runs_one_by_one_in_arrival_order():
    batches = simulate([0.0, 0.0, 0.001], 1, 0.0, service_s=0.002)
    assert [ids for _, ids in batches] == [[0], [1], [2]]


def test_the_queue_refuses_past_its_size_and_drops_abandoned_requests():
    class Gone:
        def done(self):
            return True

    queue = BatchQueue(4, 1.0, queue_size=2)
    queue.put("a", 0.0)
    queue.put("b", 0.1, Gone())  # its caller timed out
    queue.put("c", 0.2)  # b left the queue, so c fits
    with pytest.raises(QueueFull, match="the queue holds 2 requests"):
        queue.put("d", 0.3)
    assert queue.take(0.5) == []  # neither full nor past the oldest's deadline (1.0)
    assert [item for item, _, _ in queue.take(1.0)] == ["a", "c"]


def test_padded_sizes():
    assert batch_sizes(1) == (1,) and batch_sizes(8) == (1, 2, 4, 8)
    assert batch_sizes(6) == (1, 2, 4, 6)
    assert [padded_size(n, (1, 2, 4, 6)) for n in range(1, 7)] == [1, 2, 4, 4, 6, 6]
    with pytest.raises(ValueError, match="max_batch_size must be a positive int, got 0"):
        batch_sizes(0)


def test_the_async_batcher_pads_batches_and_answers_each_request():
    calls = []

    def run_batch(items, size):
        calls.append((list(items), size))
        return [item * 10 for item in items]

    async def main():
        batcher = Batcher(run_batch, max_batch_size=4, max_delay_s=0.05)
        batcher.start()
        out = await asyncio.gather(*[batcher.submit(i) for i in range(3)])
        await batcher.stop()
        return out

    assert asyncio.run(main()) == [0, 10, 20]
    assert calls == [([0, 1, 2], 4)]  # three requests, run at the padded size 4


def test_stop_answers_every_queued_request():
    def run_batch(items, size):
        return list(items)

    async def main():
        batcher = Batcher(run_batch, max_batch_size=8, max_delay_s=60.0)
        batcher.start()
        tasks = [asyncio.ensure_future(batcher.submit(i)) for i in range(3)]
        await asyncio.sleep(0.01)
        assert not any(t.done() for t in tasks)  # waiting out the 60 s delay
        await batcher.stop()  # drains now instead
        return [t.result() for t in tasks]

    assert asyncio.run(main()) == [0, 1, 2]
