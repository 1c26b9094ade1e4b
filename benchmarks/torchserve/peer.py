"""TorchServe as the serving benchmark's peer (benchmarks/serve.py --torchserve PYTHON).

PYTHON is an interpreter with torch, torchserve and torch-model-archiver (TorchServe 0.12,
the last release; it needs Java 17), kept apart from the project's own environment, e.g.::

    python3 -m venv ../ts-venv && ../ts-venv/bin/pip install torch==2.13.0 \\
        torchserve==0.12.0 torch-model-archiver==0.12.0 pillow numpy \\
        pyyaml psutil packaging

The network is the benchmarks' PyTorch ResNet (throughput_cases.torch_resnet, torchvision's
structure) traced to TorchScript, served by one worker with OMP_NUM_THREADS threads,
dynamic batching as asked (batchSize, maxBatchDelay).
"""
import http.client
import json
import os
import socket
import subprocess
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = os.path.dirname(HERE)

_TRACE = textwrap.dedent("""
    import json, sys, torch
    sys.path.insert(0, %r)
    from throughput_cases import torch_resnet
    net = torch_resnet(18).eval()
    torch.jit.trace(net, torch.zeros(1, 3, %d, %d)).save(%r)
    json.dump({"size": %d}, open(%r, "w"))
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_archive(python, workdir, size):
    """``workdir/store/m.mar``: the traced ResNet-18 and the handler."""
    bin_dir = os.path.dirname(python)
    model, meta = os.path.join(workdir, "model.pt"), os.path.join(workdir, "size.json")
    subprocess.run([python, "-c", _TRACE % (BENCHMARKS, size, size, model, size, meta)],
                   check=True)
    store = os.path.join(workdir, "store")
    os.makedirs(store, exist_ok=True)
    subprocess.run([os.path.join(bin_dir, "torch-model-archiver"), "--model-name", "m",
                    "--version", "1.0", "--serialized-file", model, "--handler",
                    os.path.join(HERE, "handler.py"), "--extra-files", meta,
                    "--export-path", store, "--force"], check=True)
    return store


class TorchServe:
    """TorchServe in the foreground on free ports, serving ``m`` with one worker."""

    def __init__(self, python, store, workdir, batch, delay_ms, threads, body):
        self.port, self.body = _free_port(), body
        config = os.path.join(workdir, "config-%d.properties" % batch)
        models = {"m": {"1.0": {"defaultVersion": True, "marName": "m.mar",
                                "minWorkers": 1, "maxWorkers": 1, "batchSize": batch,
                                "maxBatchDelay": int(delay_ms), "responseTimeout": 120}}}
        with open(config, "w") as f:
            f.write("inference_address=http://127.0.0.1:%d\n" % self.port)
            f.write("management_address=http://127.0.0.1:%d\n" % _free_port())
            f.write("metrics_address=http://127.0.0.1:%d\n" % _free_port())
            f.write("disable_token_authorization=true\nenable_envvars_config=false\n")
            # TorchServe's default job queue (100) is shorter than the highest concurrency:
            # the same 1024 as ours (--queue-size 1024), so neither refuses work.
            f.write("install_py_dep_per_model=false\nload_models=m.mar\n")
            f.write("job_queue_size=1024\n")
            f.write("model_store=%s\nmodels=%s\n" % (store, json.dumps(models)))
        env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                   PATH=os.path.dirname(python) + os.pathsep + os.environ["PATH"])
        self.log = open(os.path.join(workdir, "torchserve-%d.log" % batch), "w")
        self.proc = subprocess.Popen(
            [os.path.join(os.path.dirname(python), "torchserve"), "--start", "--foreground",
             "--ncs", "--ts-config", config, "--model-store", store],
            cwd=workdir, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while not self._ready():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("TorchServe did not start; see %s" % self.log.name)
            time.sleep(0.5)

    def _ready(self):
        """A 200 for a prediction: /ping answers before the worker has the model."""
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            conn.request("POST", "/predictions/m", self.body, {"Content-Type": "image/jpeg"})
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def stop(self):
        subprocess.run([os.path.join(os.path.dirname(self.proc.args[0]), "torchserve"),
                        "--stop"], capture_output=True)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(60)
        self.log.close()
