"""The ``gluon-resnet`` command: parsing only; every command calls the library.

One module per command group: ``train`` (train, evaluate, split-data), ``deploy`` (export,
convert, predict), ``info`` (models, info), ``launch``, ``lab``; ``common`` holds what they
share and ``main`` puts the parser together.
"""
from .common import _default_threads, parse_ctx  # noqa: F401
from .main import PROG, CLIError, build_parser, main  # noqa: F401
