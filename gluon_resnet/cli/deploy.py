"""``gluon-resnet export``, ``convert`` and ``predict``: deployable files from a run, old
checkpoints rewritten, and image files classified."""
import os

from .common import _SPLITS, CLIError, _int_in, parse_ctx


def _cmd_predict(args):
    import json

    from ..deploy.predict import format_predictions, predict
    ctx = parse_ctx(args.ctx)
    if len(ctx) > 1:
        raise CLIError("predict runs on one context; got --ctx %s" % args.ctx)
    try:
        results = predict(args.model, args.inputs, topk=args.topk, ctx=ctx[0])
    except (OSError, ValueError, ImportError) as err:
        raise CLIError(str(err)) from None
    if args.json:
        print(json.dumps([{"path": r["path"], "top": [{"class": c, "prob": p}
                                                       for c, p in r["top"]]}
                          for r in results], indent=1))
    else:
        print(format_predictions(results))
    return 0


def _cmd_export(args):
    from ..deploy import export_checkpoint
    from ..training.checkpoint import read_checkpoint
    try:
        doc = read_checkpoint(args.run)
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    if args.out is not None:
        directory = os.path.dirname(os.path.abspath(args.out))
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as err:
            raise CLIError("cannot write to %s: %s" % (directory, err.strerror or err)) from None
    try:
        paths = export_checkpoint(doc["path"], args.out, format=args.format,
                                  calib_images=args.calib_images, data_dir=args.data_dir)
    except (OSError, ValueError, ImportError) as err:
        raise CLIError(str(err)) from None
    for path in paths:
        print(path)
    return 0


def _cmd_convert(args):
    from ..training.checkpoint import read_checkpoint
    try:
        doc = read_checkpoint(args.run, allow_pickle=True)  # converts a format-1 run
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    print("%s is a checkpoint of format %d" % (doc["path"], doc["format"]))
    return 0


def add_parsers(sub):
    """``export``, ``convert`` and ``predict``."""
    p = sub.add_parser("export", help="write the trained net for deployment (symbol, ONNX, "
                       "int8, ONNX int8 or bf16), with a PREFIX-meta.json sidecar",
                       description="Export the trained net of a run for deployment, with "
                       "PREFIX-meta.json saying how to feed it (gluon_resnet.load_predictor "
                       "reads both). symbol: PREFIX-symbol.json + PREFIX-0000.params "
                       "(mx.gluon.SymbolBlock.imports); onnx: PREFIX.onnx (ONNX Runtime); "
                       "int8: a oneDNN-quantized symbol + params for CPUs (fastest on "
                       "large batches); onnx-int8: PREFIX.onnx quantized by ONNX Runtime "
                       "(fastest at batch 1). Both are calibrated on Fashion-MNIST "
                       "training images prepared as in training. bf16: a symbol + params "
                       "with bfloat16 convolutions (float32 in and out), for CPUs with AMX. "
                       "safetensors: PREFIX.safetensors, the weights alone; for the v1b/"
                       "v1c/v1d/v1s/v1e, wide and resnext101 models in torchvision's and "
                       "timm's layout, which PyTorch loads.")
    p.add_argument("run", metavar="RUN_DIR", help="a run directory or its checkpoint.json")
    p.add_argument("--out", metavar="PREFIX", default=None,
                   help="path prefix of the files (default RUN_DIR/MODEL for symbol, "
                   "RUN_DIR/MODEL-FORMAT for the others)")
    p.add_argument("--format", choices=("symbol", "onnx", "int8", "onnx-int8", "bf16",
                                        "safetensors"),
                   default="symbol", help="default symbol")
    p.add_argument("--calib-images", type=_int_in(1, _SPLITS["num_train"], "an integer"),
                   default=512, help="int8, onnx-int8: training images to calibrate on "
                   "(default 512)")
    p.add_argument("--data-dir", default=None, help="int8, onnx-int8: Fashion-MNIST directory")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("convert", help="rewrite an old checkpoint (format 1, pickled states) "
                       "in the current format",
                       description="Checkpoints written before format 2 keep the optimizer "
                       "and random states as Python pickles, which can run code when they "
                       "are loaded, so they are refused. For a run you trust, this converts "
                       "it once; every command reads it without unpickling from then on.")
    p.add_argument("run", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--trust-pickle", action="store_true", required=True,
                   help="confirm that you trust the run (required)")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("predict", help="classify image files with a run or an export",
                       description="Print the top classes, with probabilities, of PNG/JPEG "
                       "images (or of every image in a folder).")
    p.add_argument("model", metavar="MODEL", help="a run directory, its checkpoint.json, or "
                   "an export prefix (as `gluon-resnet export` wrote)")
    p.add_argument("inputs", metavar="IMAGE_OR_FOLDER", nargs="+")
    p.add_argument("--topk", type=_int_in(1, what="an integer"), default=5,
                   help="classes per image (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON: a list of {path, top: "
                   "[{class, prob}, ...]}")
    p.add_argument("--ctx", default="cpu", help="cpu or gpuN (default cpu)")
    p.set_defaults(func=_cmd_predict)
