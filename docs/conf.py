"""Sphinx configuration for the gluon-resnet documentation site (``make docs``).

Offline by design: no intersphinx, no network. Built with ``-W -n`` (warnings are errors,
every cross-reference must resolve); references to MXNet, numpy and builtin types, which
cannot resolve without intersphinx, are ignored below. The notebooks (notebooks/, linked
into docs/_generated/notebooks) are executed at build in their quick configuration
(``GLUON_RESNET_NB_QUICK=1``, as tests/test_notebook.py runs them), cached by MyST-NB.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "_ext"))
sys.path.insert(0, REPO)

# The notebooks' kernels inherit this environment.
os.environ.setdefault("GLUON_RESNET_NB_QUICK", "1")
_fmnist = os.path.join(os.path.dirname(REPO), "shared", "data", "fashion-mnist")
if "FASHION_MNIST_DIR" not in os.environ and os.path.isdir(_fmnist):
    os.environ["FASHION_MNIST_DIR"] = _fmnist

import gluon_resnet  # noqa: E402  (first: it readies MXNet's import)

project = "gluon-resnet"
author = "the gluon-resnet authors"
copyright = "2026, " + author
release = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "gluon_resnet_docs",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
html_theme = "furo"
html_title = "gluon-resnet"

# MyST: heading anchors so that [text](page.md#a-heading) links resolve.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]

# Notebooks: executed at build, outputs cached (docs/_build/.jupyter_cache), a cell that
# raises fails the build.
nb_execution_mode = "cache"
nb_execution_timeout = 900
# Run in a temporary directory, so nothing a notebook writes lands in the repository.
nb_execution_in_temp = True
nb_execution_raise_on_error = True
nb_execution_show_tb = True

# API reference: autosummary makes a page per public name (api/ is generated).
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
templates_path = ["_templates"]
autodoc_typehints = "none"
napoleon_numpy_docstring = True
napoleon_google_docstring = False

nitpicky = True
# Types outside gluon_resnet (MXNet, numpy, builtins, prose like "tuple of int") cannot
# resolve offline; references into gluon_resnet must.
nitpick_ignore_regex = [
    (r"py:.*", r"(?!gluon_resnet\.).*"),
    # The reference documents the public names (gluon_resnet.X), not the modules.
    (r"py:mod", r"gluon_resnet(\..*)?"),
    # Docstrings name where things are defined (gluon_resnet.training.loop.train): those
    # that are public resolve to the API reference (docs/_ext/gluon_resnet_docs.py); the
    # rest are internal helpers the reference does not document. gluon_resnet.X must resolve.
    (r"py:.*", r"gluon_resnet\.[a-z_]+\..+"),
]

# The docstrings' examples run as doctests (`make docs` runs the doctest builder too), in a
# namespace with the public names, as the examples assume.
doctest_global_setup = """
import gluon_resnet
from gluon_resnet import *
import mxnet as mx
"""
