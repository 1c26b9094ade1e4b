"""``gluon-resnet models`` and ``info``: the registered models with their sizes, and this
machine's CPU, ISA flags and AMX state."""
import json
import os


def _summary_shape(name):
    """The input a model is summarised at: the images it is made for (its lineage spec:
    1x28x28 or the chapter's size for the d2l forms), 3x32x32 for the CIFAR ResNets,
    3x224x224 for the ImageNet forms."""
    from ..models.lineage import SPECS
    if name in SPECS:
        return (1,) + tuple(SPECS[name].input_shape)
    return (1, 3, 32, 32) if name.startswith("cifar_") else (1, 3, 224, 224)


def _cmd_models(args):
    from ..models.registry import get_model, list_models
    from ..models.summary import summary
    print("%-18s %14s %10s  %s" % ("model", "params", "MACs", "input"))
    for name in list_models():
        shape = _summary_shape(name)
        # Parameters stay uninitialised: the summary only infers shapes (initialising
        # every model would queue seconds of random-number work for nothing).
        s = summary(get_model(name, hybridize=False, initialize=False), shape)
        print("%-18s %14s %8.2f G  %s" % (name, "{:,}".format(s.total_params),
                                           s.total_macs / 1e9, "x".join(map(str, shape[1:]))))
    return 0


def _cmd_info(args):
    import platform

    import mxnet as mx

    from ..cpu import cpu_report
    from ..training.precision import auto_summary
    report = cpu_report()
    report["precision_auto"] = auto_summary()
    features = mx.runtime.Features()
    report.update(python=platform.python_version(), mxnet=mx.__version__,
                  mxnet_features=[f for f in ("MKLDNN", "CUDA", "DIST_KVSTORE", "OPENMP")
                                  if features.is_enabled(f)],
                  OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("CPU:      %s (%s, %s logical CPUs)" % (report["model"], report["machine"],
                                                  report["cores"]))
    print("ISA:      %s" % (" ".join(report["flags"]) or "none of those that matter here"))
    print("AMX:      %s: %s" % ("on" if report["amx"] else "off", report["amx_reason"]))
    print("auto:     %s" % report["precision_auto"])
    print("Python:   %s; MXNet %s (%s); OMP_NUM_THREADS=%s" % (
        report["python"], report["mxnet"], ", ".join(report["mxnet_features"]),
        report["OMP_NUM_THREADS"]))
    return 0


def add_parsers(sub):
    """``models`` and ``info``."""
    p = sub.add_parser("models", help="list the registered models with parameters and "
                       "multiply-adds",
                       description="Every registered model with its parameter count and "
                       "multiply-adds per image, with the default number of classes, at "
                       "the input it is made for: 3x224x224, 3x32x32 for cifar_*, 1x32x32 "
                       "for lenet, the chapter's size for the d2l_* forms (1x28x28 to "
                       "1x224x224).")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("info", help="this machine's CPU, its ISA flags, and whether "
                       "oneDNN may use AMX", description="The CPU model, the vector and "
                       "matrix ISA flags that decide MXNet's (oneDNN's) kernels, whether AMX "
                       "was unlocked for oneDNN and why (or why not), and the versions.")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=_cmd_info)
