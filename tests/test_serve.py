"""``gluon-resnet serve`` over a real socket: predictions against the exported net run
by hand, every status code (200, 400, 401, 404, 413, 503 + Retry-After, 504), the
metrics, dynamic batching, start-up errors, and the drain on SIGTERM (a subprocess)."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from _serve import (MEAN, STD, TOKEN, ThreadServer, metric, multipart, png_bytes,
                    random_image, reference_probs, request, tiny_export)
from conftest import REPO, run_main
from gluon_resnet.data import CLASS_NAMES
from gluon_resnet.deploy import load_predictor
from gluon_resnet.deploy.predictor import Predictor
from gluon_resnet.serve import create_app

LIMIT = 100_000  # --max-request-bytes of the test server


@pytest.fixture(scope="module")
def served():
    prefix, net = tiny_export()
    app = create_app([prefix], max_request_bytes=LIMIT, max_pixels=1_000_000, token=TOKEN)
    server = ThreadServer(app)
    yield server, net
    server.stop()


def _predict(port, body, name="tiny", token=TOKEN, **kw):
    return request(port, "POST", "/predictions/%s" % name, body, token=token, **kw)


def test_predictions_are_the_nets_top_classes(served):
    server, net = served
    image = random_image(3)
    status, _, body = _predict(server.port, png_bytes(image))
    assert status == 200, body
    doc = json.loads(body)
    ref = reference_probs(net, image)
    order = np.argsort(-ref)[:5]
    assert doc["model"] == "tiny"
    assert [p["class"] for p in doc["predictions"]] == [CLASS_NAMES[i] for i in order]
    np.testing.assert_allclose([p["prob"] for p in doc["predictions"]], ref[order],
                               rtol=1e-4, atol=1e-6)


def test_multipart_jpeg_and_topk(served):
    from PIL import Image
    import io
    server, net = served
    data = png_bytes(random_image(4, size=48), fmt="JPEG")  # resized by the server
    body, ctype = multipart(data, "photo.jpg", "image/jpeg", fields=[("note", "hi")])
    status, _, out = _predict(server.port, body, headers={"Content-Type": ctype})
    assert status == 200, out
    raw = _predict(server.port, data + b"", token=TOKEN)
    assert json.loads(raw[2])["predictions"] == json.loads(out)["predictions"]
    status, _, out = request(server.port, "POST", "/predictions/tiny?topk=10", data,
                             token=TOKEN)
    probs = [p["prob"] for p in json.loads(out)["predictions"]]
    assert len(probs) == 10 and probs == sorted(probs, reverse=True)
    assert sum(probs) == pytest.approx(1.0, abs=1e-5)
    # the reference: the predictor on the pixels Pillow decodes, resized by it
    pixels = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    expect = load_predictor(tiny_export()[0]).predict_proba([pixels])[0]
    np.testing.assert_allclose(sorted(probs, reverse=True), np.sort(expect)[::-1],
                               rtol=1e-4, atol=1e-6)


def test_health_and_models(served):
    server, _ = served
    assert request(server.port, "GET", "/ping")[0] == 200
    assert request(server.port, "GET", "/ready")[0] == 200
    status, _, body = request(server.port, "GET", "/models", token=TOKEN)
    assert status == 200
    (model,) = json.loads(body)["models"]
    assert model["name"] == "tiny" and model["format"] == "symbol"
    assert model["input_shape"] == [1, 3, 32, 32]
    assert model["class_names"] == list(CLASS_NAMES)
    pre = model["preprocessing"]
    assert pre["resize"] == [32, 32] and pre["pixel_scale"] == pytest.approx(1 / 255)
    assert pre["mean"] == pytest.approx(MEAN) and pre["std"] == pytest.approx(STD)
    status, headers, body = request(server.port, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'id="drop"' in body and b'id="token"' in body


def test_bad_images_get_400_with_a_message(served):
    server, _ = served
    png = png_bytes(random_image(5))
    from PIL import Image
    import io
    bomb = io.BytesIO()
    Image.new("L", (1200, 1000)).save(bomb, format="PNG")  # 1.2 MP > 1 MP limit, 1 KB
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    cases = {b"": "empty", b"hello, not an image": "not a readable PNG or JPEG",
             png[:len(png) // 2]: "not a readable PNG or JPEG",
             bomb.getvalue(): "decompression bomb", gif.getvalue(): "not a readable PNG"}
    for body, message in cases.items():
        status, _, out = _predict(server.port, body)
        assert status == 400 and message in json.loads(out)["error"], (status, out)
    status, _, out = request(server.port, "POST", "/predictions/tiny?topk=x", png,
                             token=TOKEN)
    assert status == 400 and "topk" in json.loads(out)["error"]
    body, ctype = multipart(png, boundary="a")
    status, _, out = _predict(server.port, body.replace(b"--a--", b""),
                              headers={"Content-Type": ctype})
    assert status == 400, out


def test_unknown_model_404_and_token_401(served):
    server, _ = served
    png = png_bytes(random_image(6))
    status, _, out = _predict(server.port, png, name="nope")
    assert status == 404 and "no model named 'nope'" in json.loads(out)["error"]
    assert request(server.port, "GET", "/nothing/here")[0] == 404
    for token in (None, "wrong", TOKEN + "x", ""):
        status, headers, _ = _predict(server.port, png, token=token)
        assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert request(server.port, "GET", "/models")[0] == 401
    assert request(server.port, "GET", "/metrics")[0] == 401
    assert _predict(server.port, png, token=None,
                    headers={"Authorization": "Basic " + TOKEN})[0] == 401


def test_413_before_the_body_is_read(served):
    import http.client
    server, _ = served
    # Content-Length over the limit, and no byte of the body sent: answered at once.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/predictions/tiny")
    conn.putheader("Authorization", "Bearer " + TOKEN)
    conn.putheader("Content-Length", str(50 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413 and b"at most 100000" in response.read()
    conn.close()
    # chunked, no Content-Length: counted as it streams
    chunks = (b"x" * 30_000 for _ in range(10))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/predictions/tiny", body=chunks, encode_chunked=True,
                 headers={"Authorization": "Bearer " + TOKEN,
                          "Transfer-Encoding": "chunked"})
    response = conn.getresponse()
    assert response.status == 413 and b"over 100000 bytes" in response.read()
    conn.close()


def test_metrics_count_requests_by_model_and_status(served):
    server, _ = served
    port = server.port
    before = {s: metric(port, "gluon_resnet_requests_total", TOKEN, model="tiny", status=s)
              for s in ("200", "400")}
    batches = metric(port, "gluon_resnet_batch_size_count", TOKEN, model="tiny")
    png = png_bytes(random_image(7))
    for body in (png, png, b"junk"):
        _predict(port, body)
    assert metric(port, "gluon_resnet_requests_total", TOKEN, model="tiny",
                  status="200") == before["200"] + 2
    assert metric(port, "gluon_resnet_requests_total", TOKEN, model="tiny",
                  status="400") == before["400"] + 1
    assert metric(port, "gluon_resnet_batch_size_count", TOKEN, model="tiny") == batches + 2
    assert metric(port, "gluon_resnet_request_seconds_count", TOKEN, model="tiny") >= 3
    assert metric(port, "gluon_resnet_queue_seconds_count", TOKEN, model="tiny") >= 2


def _post_in_thread(port, body, out, name="gated"):
    thread = threading.Thread(target=lambda: out.append(
        request(port, "POST", "/predictions/%s" % name, body)))
    thread.start()
    return thread


def _wait_for(check, timeout=10):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_full_queue_503_and_timeout_504():
    real = load_predictor(tiny_export()[0])
    gate = threading.Event()
    gate.set()

    def run(batch):
        gate.wait(20)
        return real(batch)

    app = create_app({"gated": Predictor(run, real.meta)}, queue_size=2, timeout_s=1.0)
    server = ThreadServer(app)
    try:
        png, answers = png_bytes(random_image(8)), []
        gate.clear()
        threads = [_post_in_thread(server.port, png, answers)]
        # one running (held at the gate), then two queued: the queue is full
        _wait_for(lambda: metric(server.port, "gluon_resnet_queue_depth", model="gated") == 1)
        threads += [_post_in_thread(server.port, png, answers) for _ in range(2)]
        _wait_for(lambda: metric(server.port, "gluon_resnet_queue_depth", model="gated") == 3)
        status, headers, body = request(server.port, "POST", "/predictions/gated", png)
        assert status == 503 and headers["retry-after"] == "1", body
        for thread in threads:
            thread.join(10)
        assert sorted(a[0] for a in answers) == [504, 504, 504]
        gate.set()
        assert request(server.port, "POST", "/predictions/gated", png)[0] == 200
        assert metric(server.port, "gluon_resnet_requests_total", model="gated",
                      status="504") == 3
    finally:
        gate.set()
        server.stop()


def test_ready_only_after_every_models_warm_up():
    prefix = tiny_export()[0]
    real = load_predictor(prefix)
    gate = threading.Event()

    def run(batch):
        gate.wait(20)
        return real(batch)

    app = create_app({"slow": Predictor(run, real.meta), "fast": prefix}, max_batch_size=2)
    server = ThreadServer(app, wait_ready=False)
    try:
        assert request(server.port, "GET", "/ping")[0] == 200
        time.sleep(0.2)
        status, _, body = request(server.port, "GET", "/ready")
        # the models share one thread: "fast" warms up after "slow"
        assert status == 503 and json.loads(body)["warming_up"] == ["slow", "fast"]
        gate.set()
        _wait_for(lambda: request(server.port, "GET", "/ready")[0] == 200)
    finally:
        gate.set()
        server.stop()


def test_concurrent_requests_form_one_padded_batch():
    prefix, net = tiny_export()
    app = create_app(["%s=b" % prefix], max_batch_size=4, max_delay_ms=2000)
    server = ThreadServer(app)
    try:
        images = [random_image(10 + i) for i in range(3)]
        answers = {}
        threads = [threading.Thread(target=lambda i=i: answers.__setitem__(
            i, request(server.port, "POST", "/predictions/b", png_bytes(images[i]))))
            for i in range(3)]
        for t in threads:
            t.start()
        _wait_for(lambda: metric(server.port, "gluon_resnet_queue_depth", model="b") == 3)
        threads.append(threading.Thread(target=lambda: answers.__setitem__(
            3, request(server.port, "POST", "/predictions/b", png_bytes(images[0])))))
        threads[-1].start()  # the fourth fills the batch: no 2 s wait
        start = time.monotonic()
        for t in threads:
            t.join(10)
        assert time.monotonic() - start < 1.5
        assert metric(server.port, "gluon_resnet_batch_size_count", model="b") == 1
        assert metric(server.port, "gluon_resnet_batch_size_sum", model="b") == 4
        for i in range(4):
            status, _, body = answers[i]
            ref = reference_probs(net, images[i % 3])
            top = json.loads(body)["predictions"][0]
            assert status == 200 and top["class"] == CLASS_NAMES[int(np.argmax(ref))]
            assert top["prob"] == pytest.approx(ref.max(), rel=1e-4)
    finally:
        server.stop()


def test_startup_errors_name_the_file(tmp_path):
    code, _, err = run_main(["serve", str(tmp_path / "missing")])
    assert code == 2 and "no export sidecar %s-meta.json" % (tmp_path / "missing") in err
    prefix = tiny_export()[0]
    for suffix in ("-meta.json", "-symbol.json", "-0000.params"):
        shutil.copy(prefix + suffix, str(tmp_path / ("tiny" + suffix)))
    with open(str(tmp_path / "tiny-0000.params"), "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\0\0\0\1")
    code, _, err = run_main(["serve", str(tmp_path / "tiny")])
    assert code == 2 and "tiny-0000.params is not the file" in err, err
    code, _, err = run_main(["serve", prefix, prefix])
    assert code == 2 and "two models are named 'tiny'" in err


def test_sigterm_answers_every_queued_request_and_exits_0():
    prefix = tiny_export()[0]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-m", "gluon_resnet", "serve", prefix,
                             "--port", "0", "--max-batch-size", "4", "--max-delay-ms", "2000"],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))
        _wait_for(lambda: request(port, "GET", "/ready")[0] == 200, timeout=60)
        # keep-alive answers are not held by Nagle's algorithm (TCP_NODELAY is only set
        # on sockets made with IPPROTO_TCP): 40 ms each, the client's delayed ACK, if so
        import http.client
        conn, times = http.client.HTTPConnection("127.0.0.1", port, timeout=10), []
        for _ in range(5):
            start = time.monotonic()
            conn.request("GET", "/ping")
            assert conn.getresponse().read() == b'{"status":"alive"}'
            times.append(time.monotonic() - start)
        conn.close()
        assert sorted(times)[2] < 0.030, times
        answers = []
        png = png_bytes(random_image(20))
        threads = [_post_in_thread(port, png, answers, name="tiny") for _ in range(3)]
        _wait_for(lambda: metric(port, "gluon_resnet_queue_depth", model="tiny") == 3)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # well inside the 2 s delay the three wait out
        with pytest.raises(ConnectionRefusedError, match="[Cc]onnection refused"):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        for thread in threads:
            thread.join(15)
        assert [a[0] for a in answers] == [200, 200, 200]
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def test_numpy_mode_on_when_the_app_is_made():
    import mxnet as mx
    prefix, net = tiny_export()
    mx.npx.set_np()  # the conftest fixture turns it off again
    server = ThreadServer(create_app([prefix]))
    try:
        image = random_image(50)
        status, _, body = request(server.port, "POST", "/predictions/tiny", png_bytes(image))
        top = json.loads(body)["predictions"][0]
        mx.npx.reset_np()
        ref = reference_probs(net, image)
        assert status == 200 and top["class"] == CLASS_NAMES[int(np.argmax(ref))]
        assert top["prob"] == pytest.approx(ref.max(), rel=1e-4)
    finally:
        server.stop()
