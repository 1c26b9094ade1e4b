"""What the serve tests share: a tiny exported net (cifar_resnet20, 3 x 32 x 32, random
weights, fp32 symbol export), a server on a loopback ephemeral port in a thread, and a
plain HTTP client (the standard library's, so the server is tested by another stack)."""
import atexit
import functools
import http.client
import io
import os
import shutil
import socket
import tempfile
import threading
import time

import numpy as np

import gluon_resnet  # noqa: F401  (first: bridges numpy gaps before mxnet loads)
from gluon_resnet.arrays import legacy_mode
from gluon_resnet.data import CLASS_NAMES
from gluon_resnet.deploy.formats import export_net

import mxnet as mx  # noqa: E402

MEAN, STD = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
SHAPE = (3, 32, 32)
TOKEN = "s3cret-token"


@functools.lru_cache(maxsize=None)
def tiny_export():
    """(prefix, net): a cifar_resnet20 with 10 Fashion-MNIST classes exported as fp32
    symbol files, once per test process; the net is the reference for its outputs."""
    directory = tempfile.mkdtemp(prefix="gluon-resnet-serve-")
    atexit.register(shutil.rmtree, directory, True)
    with legacy_mode():
        mx.random.seed(1)
        net = gluon_resnet.get_model("cifar_resnet20", classes=10)
        net(mx.nd.zeros((1,) + SHAPE))
    prefix = os.path.join(directory, "tiny")
    export_net(net, prefix, SHAPE, "symbol", mean=MEAN, std=STD,
               class_names=list(CLASS_NAMES), model_name="cifar_resnet20")
    return prefix, net


def reference_probs(net, image):
    """The net's class probabilities for a 32 x 32 uint8 RGB image, computed by hand."""
    x = (image.astype(np.float32) / 255 - np.array(MEAN, np.float32)) / np.array(STD,
                                                                                 np.float32)
    with legacy_mode():
        logits = net(mx.nd.array(x.transpose(2, 0, 1)[None])).asnumpy()[0].astype(np.float64)
    e = np.exp(logits - logits.max())
    return e / e.sum()


def png_bytes(image, fmt="PNG"):
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def random_image(seed=0, size=32):
    return np.random.RandomState(seed).randint(0, 256, (size, size, 3)).astype(np.uint8)


class ThreadServer:
    """uvicorn serving ``app`` on 127.0.0.1:<free port> in a daemon thread."""

    def __init__(self, app, wait_ready=True):
        import uvicorn
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.app = app
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "no start"
            time.sleep(0.02)
        while wait_ready and request(self.port, "GET", "/ready")[0] != 200:
            assert time.monotonic() < deadline, "never ready"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(30)


def request(port, method, path, body=None, headers=None, token=None, timeout=30):
    """(status, headers dict with lower-case names, body bytes)."""
    headers = dict(headers or {})
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        conn.close()


def multipart(data, filename="x.png", content_type="image/png", boundary="b0undary",
              fields=()):
    """A multipart/form-data body holding ``data`` as a file, and its Content-Type."""
    parts = [b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
             % (boundary.encode(), k.encode(), v.encode()) for k, v in fields]
    parts.append(b"--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
                 b"Content-Type: %s\r\n\r\n" % (boundary.encode(), filename.encode(),
                                                content_type.encode()) + data + b"\r\n")
    body = b"".join(parts) + b"--%s--\r\n" % boundary.encode()
    return body, "multipart/form-data; boundary=%s" % boundary


def metric(port, name, token=None, **labels):
    """The value of one sample of the server's /metrics (0.0 if absent)."""
    from prometheus_client.parser import text_string_to_metric_families
    status, _, body = request(port, "GET", "/metrics", token=token)
    assert status == 200, body
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v
                                           for k, v in labels.items()):
                return sample.value
    return 0.0
