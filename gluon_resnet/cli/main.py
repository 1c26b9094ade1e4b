"""The ``gluon-resnet`` command: ``train``, ``evaluate``, ``export``, ``models``,
``split-data``, ``predict``, ``convert``, ``info``, ``launch``, ``lab`` and ``serve``, one
module per command group (``train``, ``deploy``, ``info``, ``launch``, ``lab``, ``serve``;
what they share is in ``common``).

Argument parsing only; the work is done by the library: :mod:`gluon_resnet.training`,
:mod:`gluon_resnet.deploy`, :mod:`gluon_resnet.models`, :mod:`gluon_resnet.data` and
:mod:`gluon_resnet.lab`.
Bad arguments end with one line on stderr, ``gluon-resnet: error: ...``, and exit status
2; a training run that diverged or could not write its checkpoint ends with exit status 1.

Threads: MXNet reads ``OMP_NUM_THREADS`` once, when it is imported, and without it
uses half the processors (on x86), which on small machines trains ResNet-18 at about
60% of the speed it reaches with all of them. When run as a program and the variable is
not set, :func:`main` sets it to ``os.cpu_count()`` (logical processors; on machines
without simultaneous multithreading that is the number of physical cores) and, because
importing ``gluon_resnet`` has already imported MXNet, re-executes itself once
(POSIX only). A value the user set is never changed.
"""

import os
import sys

from . import deploy, info, lab, launch, serve, train
from .common import PROG, CLIError, _Parser, _default_threads, parse_ctx  # noqa: F401

__all__ = ["main", "build_parser", "PROG", "CLIError", "parse_ctx"]


def build_parser():
    """The argument parser (``gluon-resnet --help``): each command group adds its own."""
    parser = _Parser(prog=PROG, description="Train, evaluate and export ResNets on "
                     "Fashion-MNIST with MXNet Gluon, the d2l way.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (train, deploy, info, launch, lab, serve):
        group.add_parsers(sub)
    return parser


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns 0 on success.

    Raises
    ------
    SystemExit
        2 for bad arguments (one line on stderr), 1 if training diverged, 130 if
        interrupted.
    """
    if argv is None and sys.argv[1:2] != ["launch"]:  # the launcher sets the workers' threads
        _default_threads()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train" and args.out is None and not args.base:
            # (with --from, the model and so the default is known once it is loaded)
            args.out = os.path.join("runs", args.model or "resnet18")
        return args.func(args)
    except CLIError as err:
        print("%s: error: %s" % (PROG, err), file=sys.stderr)
        raise SystemExit(2) from None
