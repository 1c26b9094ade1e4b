"""``gluon-resnet serve`` under load: throughput, p50 and p99 latency by concurrency.

ResNet-18 at 224 x 224 (random weights: speed does not depend on them) is exported as
fp32 ``symbol`` and in the fastest format measured for it (``onnx-int8``, see
throughput.md), and served by ``gluon-resnet serve`` in a subprocess, with batching off
(``--max-batch-size 1``) and on (``--max-batch-size B --max-delay-ms D``). A client of
``C`` threads, each with one keep-alive connection, posts the same 224 x 224 JPEG for
``--seconds`` after ``--warmup`` seconds; every answer that is not 200 is counted as an
error. The ceiling: the same export called in-process through ``load_predictor``
(decoding excluded), one image at a time and in batches of ``B``. Then a soak: a steady
load for ``--soak-minutes`` (default 10) on the first format with batching on, the
server's resident memory sampled every ``--soak-every`` seconds: no answer but 200, and
RSS within 10% of its value after the first tenth of the run.

The client shares the CPU with the server (state this with the numbers: on a small
machine it takes a noticeable share). Outputs in ``--out`` (default
``benchmarks/results``): ``serve.md`` (tables, the command, the machine and its CPU
flags) and ``serve.json``.

Usage::

    python benchmarks/serve.py                 # the full measurement, on a quiet machine
    python benchmarks/serve.py --quick         # a small net, short runs, to a temp dir
    python benchmarks/serve.py --torchserve ../ts-venv/bin/python   # with the peer
"""
import argparse
import http.client
import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gluon_resnet  # noqa: E402  (must come before mxnet)
import numpy as np  # noqa: E402
from _machine import machine_info, machine_lines  # noqa: E402
from gluon_resnet.deploy import load_predictor  # noqa: E402
from gluon_resnet.deploy.formats import export_net  # noqa: E402
from gluon_resnet.params import write_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOAK_TOLERANCE = 0.10  # RSS within 10% of its settled value


def export_models(directory, model, size, formats):
    """``{format: prefix}`` of ``model`` at ``size`` exported in each format."""
    import mxnet as mx
    net = gluon_resnet.get_model(model, classes=1000)
    net(mx.nd.zeros((1, 3, size, size)))
    calib = np.random.RandomState(0).uniform(-2, 2, (8, 3, size, size)).astype(np.float32)
    out = {}
    for fmt in formats:
        prefix = os.path.join(directory, "%s-%s" % (model, fmt))
        export_net(net, prefix, (3, size, size), fmt, mean=[0.485, 0.456, 0.406],
                   std=[0.229, 0.224, 0.225], model_name=model,
                   calib_data=calib if "int8" in fmt else None)
        out[fmt] = prefix
    return out


def jpeg(size):
    from PIL import Image
    rng = np.random.RandomState(1)
    smooth = np.kron(rng.randint(0, 256, (size // 8 + 1, size // 8 + 1, 3)),
                     np.ones((8, 8, 1)))[:size, :size].astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(smooth).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


class Server:
    """``gluon-resnet serve PREFIX=m`` in a subprocess on a free port."""

    def __init__(self, prefix, batch, delay_ms, threads):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gluon_resnet", "serve", prefix + "=m", "--port", "0",
             "--max-batch-size", str(batch), "--max-delay-ms", str(delay_ms),
             "--queue-size", "1024"], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
        line = self.proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.proc.kill()
            raise RuntimeError("the server did not start: %s%s"
                               % (line, self.proc.stderr.read()))
        self.port = int(match.group(1))
        deadline = time.monotonic() + 300
        while self._status("/ready") != 200:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the server never became ready")
            time.sleep(0.1)

    def _status(self, path):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
            return status
        except OSError:
            return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(60)
        self.proc.stderr.close()


def _connect(port):
    # http.client sends the headers and the body in two writes: without TCP_NODELAY,
    # Nagle's algorithm holds the body until the server's delayed ACK (about 40 ms).
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def load(port, body, concurrency, seconds, warmup):
    """Post ``body`` from ``concurrency`` threads: requests/s, p50, p99 (ms), errors."""
    start = time.monotonic()
    measure_from, end = start + warmup, start + warmup + seconds
    latencies, errors = [[] for _ in range(concurrency)], [0] * concurrency

    def client(i):
        conn = _connect(port)
        while True:
            t0 = time.monotonic()
            if t0 >= end:
                break
            try:
                conn.request("POST", "/predictions/m", body,
                             {"Content-Type": "image/jpeg"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = _connect(port)
            t1 = time.monotonic()
            if t0 >= measure_from and t1 <= end:
                latencies[i].append(t1 - t0)
                errors[i] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = np.array([x for per in latencies for x in per]) * 1000
    if not len(lat):
        return {"rps": 0.0, "p50_ms": None, "p99_ms": None, "requests": 0,
                "errors": sum(errors)}
    return {"rps": round(len(lat) / seconds, 1), "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "requests": int(len(lat)),
            "errors": int(sum(errors))}


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS for process %d" % pid)


def soak(prefix, body, args):
    """Steady load for ``--soak-minutes``: the server's RSS every ``--soak-every``
    seconds, and every answer that is not 200."""
    server = Server(prefix, args.batch, args.delay_ms, args.threads)
    points, rows = [], []
    try:
        start = time.monotonic()
        while time.monotonic() - start < 60 * args.soak_minutes:
            rows.append(load(server.port, body, args.soak_concurrency, args.soak_every, 0.0))
            points.append([round(time.monotonic() - start, 1),
                           round(rss_mib(server.proc.pid), 1)])
    finally:
        server.stop()
    settle = max(1, len(points) // 10)  # the first tenth fills pools and caches
    settled = points[settle - 1][1]
    deviation = max(abs(rss - settled) / settled for _, rss in points[settle - 1:])
    errors = sum(r["errors"] for r in rows)
    return {"minutes": args.soak_minutes, "concurrency": args.soak_concurrency,
            "requests": sum(r["requests"] for r in rows), "errors": errors,
            "rss_mib": points, "settled_rss_mib": settled,
            "max_deviation": round(deviation, 4),
            "ok": errors == 0 and deviation <= SOAK_TOLERANCE}


def ceiling(prefix, size, batch, seconds):
    """Images/s of ``load_predictor(prefix)`` called in-process, at batch 1 and ``batch``."""
    predictor = load_predictor(prefix)
    image = np.random.RandomState(2).randint(0, 256, (size, size, 3)).astype(np.uint8)
    out = {}
    for n in sorted({1, batch}):
        images = [image] * n
        predictor.predict_proba(images)
        times, stop = [], time.monotonic() + seconds
        while time.monotonic() < stop:
            t0 = time.monotonic()
            predictor.predict_proba(images)
            times.append(time.monotonic() - t0)
        out[n] = {"images_per_s": round(n * len(times) / sum(times), 1),
                  "p50_ms": round(1000 * float(np.median(times)), 2)}
    return out


def measure(server, doc, body, args, fmt, batching):
    """One row per concurrency against a started server, which is stopped after."""
    try:
        for c in args.concurrency:
            row = load(server.port, body, c, args.seconds, args.warmup)
            row.update(format=fmt, batching=batching, concurrency=c)
            doc["rows"].append(row)
            print("%-10s batching %-3s c=%-4d %8.1f req/s  p50 %s ms  p99 %s ms  errors %d"
                  % (fmt, batching, c, row["rps"], row["p50_ms"], row["p99_ms"],
                     row["errors"]), flush=True)
    finally:
        server.stop()


def torchserve_rows(doc, body, args, tmp):
    """The peer: TorchServe serving the same ResNet as TorchScript (benchmarks/torchserve),
    batching off and on as ours."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchserve"))
    import peer
    if args.model != "resnet18":
        raise SystemExit("--torchserve serves ResNet-18 only (the benchmarks' PyTorch net)")
    work = os.path.join(tmp, "torchserve")
    os.makedirs(work)
    store = peer.build_archive(args.torchserve, work, args.size)
    doc["torchserve"] = subprocess.run(
        [args.torchserve, "-c", "import torch, ts; print(ts.__version__, torch.__version__)"],
        capture_output=True, text=True).stdout.strip()
    for batching, batch in (("off", 1), ("on", args.batch)):
        server = peer.TorchServe(args.torchserve, store, work, batch, args.delay_ms,
                                 args.threads, body)
        measure(server, doc, body, args, "torchserve", batching)


def _versus(doc):
    """Ours (each format) against TorchServe, row by row: throughput ratio and p99."""
    peer = {(r["batching"], r["concurrency"]): r for r in doc["rows"]
            if r["format"] == "torchserve"}
    if not peer:
        return []
    lines = ["", "## Against TorchServe (%s)" % doc.get("torchserve", ""), "",
             "Throughput as a multiple of TorchServe's at the same batching and concurrency, "
             "and p99 (ours / TorchServe's).", "",
             "| format | batching | concurrency | throughput x | p99 ms ours / TorchServe |",
             "|---|---|---:|---:|---:|"]
    for r in doc["rows"]:
        p = peer.get((r["batching"], r["concurrency"]))
        if r["format"] == "torchserve" or not p or not p["rps"]:
            continue
        lines.append("| %s | %s | %d | %.2fx | %s / %s |" % (
            r["format"], r["batching"], r["concurrency"], r["rps"] / p["rps"], r["p99_ms"],
            p["p99_ms"]))
    return lines


def markdown(doc):
    a = doc["args"]
    lines = ["# gluon-resnet serve under load", "",
             "%s at %d x %d, random weights; one JPEG of %d bytes per request. Batching on: "
             "`--max-batch-size %d --max-delay-ms %g`. %g s measured per row after %g s of "
             "warm-up; the client runs on the same CPU as the server (server threads: "
             "OMP_NUM_THREADS=%d)." % (a["model"], a["size"], a["size"], doc["body_bytes"],
                                       a["batch"], a["delay_ms"], a["seconds"], a["warmup"],
                                       a["threads"]), "",
             "Command: `%s`" % doc["command"] + (
                 "; TorchServe's rows measured again with `%s`" % doc["command_torchserve"]
                 if doc.get("command_torchserve") else ""), ""] + machine_lines(doc["machine"]) + [
             "", "## Served over HTTP", "",
             "| format | batching | concurrency | requests/s | p50 ms | p99 ms | errors |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in doc["rows"]:
        lines.append("| %s | %s | %d | %s | %s | %s | %d |" % (
            row["format"], row["batching"], row["concurrency"], row["rps"], row["p50_ms"],
            row["p99_ms"], row["errors"]))
    lines += _versus(doc)
    lines += ["", "## Ceiling: load_predictor in-process (no HTTP, no decoding)", "",
              "| format | batch | images/s | p50 ms per call |", "|---|---:|---:|---:|"]
    for fmt, per in doc["ceiling"].items():
        for n, row in per.items():
            lines.append("| %s | %s | %s | %s |" % (fmt, n, row["images_per_s"], row["p50_ms"]))
    if doc.get("soak"):
        k = doc["soak"]
        lines += ["", "## Soak", "",
                  "%g minutes at concurrency %d (%s, batching on): %d requests, %d not 200; "
                  "server RSS settled at %.1f MiB, largest deviation after %.1f%%: %s." % (
                      k["minutes"], k["concurrency"], doc["args"]["formats"][0],
                      k["requests"], k["errors"], k["settled_rss_mib"],
                      100 * k["max_deviation"], "passed" if k["ok"] else "FAILED"), "",
                  "| seconds | RSS MiB |", "|---:|---:|"]
        lines += ["| %s | %s |" % (t, rss) for t, rss in k["rss_mib"]]
    return "\n".join(lines) + "\n"


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--formats", nargs="+", default=["symbol", "onnx-int8"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 128])
    parser.add_argument("--batch", type=int, default=16, help="--max-batch-size when on")
    parser.add_argument("--delay-ms", type=float, default=5.0, help="--max-delay-ms when on")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="the server's OMP_NUM_THREADS (default all CPUs)")
    parser.add_argument("--soak-minutes", type=float, default=10.0,
                        help="steady load on the first format, batching on (0: no soak)")
    parser.add_argument("--soak-concurrency", type=int, default=16)
    parser.add_argument("--soak-every", type=float, default=10.0,
                        help="seconds between RSS samples")
    parser.add_argument("--torchserve", metavar="PYTHON", default=None,
                        help="an interpreter with torch, torchserve and torch-model-archiver "
                        "(see benchmarks/torchserve/peer.py): serve the same ResNet-18 "
                        "there too, as the peer")
    parser.add_argument("--update-torchserve", action="store_true",
                        help="with --torchserve: measure only TorchServe again, into the "
                        "serve.json already in --out")
    parser.add_argument("--out", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="resnet18 at 32 x 32, concurrency 1 and 8, 1 s runs, to a temp dir")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.concurrency, args.seconds, args.warmup = 32, [1, 8], 1.0, 0.5
        args.batch, args.soak_minutes, args.soak_every = 4, 0.1, 1.0
    return args


def update_torchserve(args, out):
    """Measure the TorchServe rows again into an existing ``serve.json`` (the rest kept)."""
    import json
    with open(os.path.join(out, "serve.json")) as f:
        doc = json.load(f)
    doc["rows"] = [r for r in doc["rows"] if r["format"] != "torchserve"]
    doc["command_torchserve"] = "python benchmarks/serve.py " + " ".join(sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        torchserve_rows(doc, jpeg(args.size), args, tmp)
    return doc


def main(argv=None):
    args = parse(argv)
    if args.update_torchserve:
        out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
        return finish(update_torchserve(args, out), out)
    out = args.out or (tempfile.mkdtemp() if args.quick else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    os.makedirs(out, exist_ok=True)
    body = jpeg(args.size)
    doc = {"command": "python benchmarks/serve.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "machine": machine_info(),
        "args": vars(args), "body_bytes": len(body), "rows": [], "ceiling": {}}
    with tempfile.TemporaryDirectory() as tmp:
        prefixes = export_models(tmp, args.model, args.size, args.formats)
        for fmt, prefix in prefixes.items():
            doc["ceiling"][fmt] = ceiling(prefix, args.size, args.batch, args.seconds)
            for batching, batch in (("off", 1), ("on", args.batch)):
                server = Server(prefix, batch, args.delay_ms, args.threads)
                measure(server, doc, body, args, fmt, batching)
        if args.torchserve:
            torchserve_rows(doc, body, args, tmp)
        if args.soak_minutes > 0:
            doc["soak"] = soak(prefixes[args.formats[0]], body, args)
            print("soak: %(requests)d requests, %(errors)d errors, RSS deviation "
                  "%(max_deviation).3f: %(ok)s" % doc["soak"], flush=True)
    return finish(doc, out)


def finish(doc, out):
    """Write serve.json and serve.md; 1 if any answer was not 200 or the soak failed."""
    write_json(os.path.join(out, "serve.json"), doc)
    path = os.path.join(out, "serve.md")
    with open(path + ".tmp", "w") as f:
        f.write(markdown(doc))
    os.replace(path + ".tmp", path)
    print("results in %s" % path)
    failed = any(r["errors"] for r in doc["rows"]) or not doc.get("soak", {"ok": True})["ok"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
