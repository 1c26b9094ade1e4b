"""A gluon-resnet net on a GPU that MXNet 1.9.1 cannot use, through its ONNX export.

MXNet 1.9.1's CUDA wheels carry no code for Hopper GPUs (H100/H200, see
``benchmarks/cuda_arch.py``). The net still runs there: export it to ONNX here, convert
the ONNX file to a PyTorch module with ``onnx2torch`` there, and compare its outputs
with MXNet's on CPU. Two steps, on two machines::

    # here (MXNet): export a trained run to ONNX, with MXNet's logits for 256 test images
    python benchmarks/onnx_gpu.py prepare runs/r96 gpu-check/
    # on the GPU machine (PyTorch, onnx, onnxruntime, onnx2torch; no MXNet needed)
    python benchmarks/onnx_gpu.py run gpu-check/ --out gpu-check/result.json

``run`` reports the largest difference from MXNet's logits (fp32, and with TF32
convolutions, PyTorch's default), the test accuracy on those images, and images per
second at batch 256 and batch 1 for ONNX Runtime on the providers it has, PyTorch eager
and ``torch.compile``. Results: ``benchmarks/results/gpu.md``.
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
IMAGES = 256


def prepare(run_dir, out_dir, data_dir=None):
    """Export ``run_dir`` to ``OUT/net.onnx`` and write ``OUT/ref.npz``: the first 256
    prepared test images, MXNet's logits for them (the symbol export on CPU), labels."""
    from gluon_resnet import data, deploy
    os.makedirs(out_dir, exist_ok=True)
    deploy.export_checkpoint(run_dir, prefix=os.path.join(out_dir, "net"), format="onnx",
                             data_dir=data_dir)
    images, labels = data.read_fashion_mnist(data_dir, train=False)
    with tempfile.TemporaryDirectory() as tmp:
        sym_prefix = os.path.join(tmp, "net")
        deploy.export_checkpoint(run_dir, prefix=sym_prefix, format="symbol",
                                 data_dir=data_dir)
        predictor = deploy.load_predictor(sym_prefix)
    x = predictor.preprocess(images[:IMAGES])
    np.savez(os.path.join(out_dir, "ref.npz"), x=x, logits=predictor(x),
             labels=labels[:IMAGES])
    print("wrote %s/net.onnx and ref.npz (MXNet %s logits for %d test images)"
          % (out_dir, predictor.meta.get("model"), IMAGES))


def _rate(fn, batch, seconds=2.0, rounds=5):
    """Median images/s of ``fn(batch)`` over ``rounds`` rounds of ~``seconds`` each."""
    fn(batch)
    fn(batch)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.3:
        fn(batch)
        n += 1
    iters = max(1, int(seconds / ((time.perf_counter() - start) / n)))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iters):
            fn(batch)
        times.append((time.perf_counter() - start) / iters)
    per_call = float(np.median(times))
    return dict(img_s=round(len(batch) / per_call, 1), ms=round(1000 * per_call, 3),
                calls_per_round=iters)


def _compare(out, ref, labels):
    return dict(max_abs_diff=float(np.abs(out - ref).max()),
                same_top1=float((out.argmax(1) == ref.argmax(1)).mean()),
                accuracy=float((out.argmax(1) == labels).mean()))


def run(check_dir, device="cuda"):
    ref_file = np.load(os.path.join(check_dir, "ref.npz"))
    x, ref, labels = ref_file["x"], ref_file["logits"], ref_file["labels"]
    onnx_path = os.path.join(check_dir, "net.onnx")
    res = dict(mxnet_cpu_accuracy=float((ref.argmax(1) == labels).mean()), images=len(x))

    import onnxruntime
    res["onnxruntime"] = dict(version=onnxruntime.__version__,
                              providers=onnxruntime.get_available_providers())
    for provider in ("CUDAExecutionProvider", "CPUExecutionProvider"):
        if provider not in res["onnxruntime"]["providers"]:
            continue
        session = onnxruntime.InferenceSession(onnx_path, providers=[provider])
        name = session.get_inputs()[0].name
        infer = lambda b: session.run(None, {name: b})[0]  # noqa: E731
        res[provider] = dict(_compare(infer(x), ref, labels), b256=_rate(infer, x),
                             b1=_rate(infer, x[:1]))
        print(provider, res[provider], flush=True)

    import onnx
    import torch
    from onnx2torch import convert
    res["torch"] = dict(version=torch.__version__, cuda=torch.version.cuda,
                        gpu=torch.cuda.get_device_name(device) if device == "cuda" else None)
    model = convert(onnx.load(onnx_path)).to(device).eval()
    xt = torch.from_numpy(x).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def logits(m):
        with torch.inference_mode():
            return m(xt).cpu().numpy()

    default_tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    res["torch_fp32"] = _compare(logits(model), ref, labels)
    torch.backends.cudnn.allow_tf32 = True
    res["torch_tf32"] = _compare(logits(model), ref, labels)
    torch.backends.cudnn.allow_tf32 = default_tf32  # timed with PyTorch's default

    def timed(m):
        def infer(b):
            with torch.inference_mode():
                m(b)
            sync()
        return infer

    res["torch_eager"] = dict(tf32_conv=default_tf32, b256=_rate(timed(model), xt),
                              b1=_rate(timed(model), xt[:1]))
    print("eager", res["torch_eager"], flush=True)
    compiled = torch.compile(model)
    res["torch_compile"] = dict(tf32_conv=default_tf32, b256=_rate(timed(compiled), xt),
                                b1=_rate(timed(compiled), xt[:1]))
    print("compile", res["torch_compile"], flush=True)
    return res


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare", help="here, with MXNet: export a run and its reference")
    p.add_argument("run_dir", help="a training run directory (or its checkpoint.json)")
    p.add_argument("out_dir")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX files")
    r = sub.add_parser("run", help="on the GPU machine: compare and time")
    r.add_argument("check_dir", help="the directory prepare wrote")
    r.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    r.add_argument("--out", default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.step == "prepare":
        prepare(args.run_dir, args.out_dir, args.data_dir)
        return 0
    if not os.path.exists(os.path.join(args.check_dir, "ref.npz")):
        parser.error("%s has no ref.npz: run `prepare` first" % args.check_dir)
    res = run(args.check_dir, args.device)
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
