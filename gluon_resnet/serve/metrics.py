"""The server's Prometheus metrics, in a registry of its own (two apps in one process,
as in the tests, do not share counters)."""
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge,
                               Histogram, generate_latest)

__all__ = ["Metrics"]

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0)


class Metrics:
    """Requests by model and status, latency, queue latency, batch sizes, queue depth."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, max_batch_size=1):
        self.registry = CollectorRegistry()
        self.requests = Counter("gluon_resnet_requests", "Prediction requests answered",
                                ["model", "status"], registry=self.registry)
        self.latency = Histogram("gluon_resnet_request_seconds", "Time to answer a "
                                 "prediction request", ["model"], buckets=_LATENCY,
                                 registry=self.registry)
        self.queue_latency = Histogram("gluon_resnet_queue_seconds", "Time a request waited "
                                       "in its model's queue before its batch ran", ["model"],
                                       buckets=_LATENCY, registry=self.registry)
        buckets = sorted({2 ** i for i in range(max_batch_size.bit_length())}
                         | {max_batch_size})
        self.batch_size = Histogram("gluon_resnet_batch_size", "Requests per batch run",
                                    ["model"], buckets=buckets, registry=self.registry)
        self.queue_depth = Gauge("gluon_resnet_queue_depth", "Requests waiting", ["model"],
                                 registry=self.registry)

    def on_batch(self, model):
        """The batcher's ``on_batch`` hook for ``model``."""
        def record(size, waits):
            self.batch_size.labels(model).observe(size)
            for wait in waits:
                self.queue_latency.labels(model).observe(wait)
        return record

    def text(self):
        """The Prometheus exposition text."""
        return generate_latest(self.registry)
