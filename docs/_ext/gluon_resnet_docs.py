"""Pages generated at build time from the package and the results files (docs/_generated/).

- ``_generated/models_table.md``: every model ``gluon_resnet.list_models()`` returns, with
  its net class, parameters and multiply-adds (``summary``, symbolic shape inference: no
  weights are allocated, all models in a few seconds) at the input ``gluon-resnet models``
  uses, its minimum input, and the published weights it loads (``model_store.PUBLISHED``
  and ``PUBLISHED_TOP1``; ``torch_hub.TORCHVISION``), with their published top-1.
- ``_generated/api.rst``: an autosummary table of every public name of ``gluon_resnet``
  (``gluon_resnet.__all__`` when defined, else the module's public attributes).
- ``_generated/results/*.md`` and ``_generated/results.md``: each benchmarks/results/*.md,
  grouped by the CPU (or GPU) it was measured on.
"""
import os
import re
import shutil

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(HERE)
GEN = os.path.join(HERE, "_generated")
RESULTS = os.path.join(REPO, "benchmarks", "results")


def _write(path, text):
    """Write ``text`` only when it changed (so Sphinx does not reread the page), atomically."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def public_names():
    """Every public name of gluon_resnet: its ``__all__``, else what it exports."""
    import types

    import gluon_resnet
    names = getattr(gluon_resnet, "__all__", None)
    if names is None:
        names = [n for n, v in vars(gluon_resnet).items()
                 if not n.startswith("_") and not isinstance(v, types.ModuleType)]
    return sorted(names, key=lambda n: (n.lower(), n))


def published_weights(name):
    """The published weights model ``name`` loads: the MXNet/GluonCV zoo file
    (``model_store.PUBLISHED``, with GluonCV's published top-1 where its table lists that
    file: ``PUBLISHED_TOP1``), then torchvision's (``torch_hub.TORCHVISION``, with their
    published ImageNet top-1; also into the MXNet-named nets of the same structure)."""
    from gluon_resnet.models.model_store import PUBLISHED, PUBLISHED_TOP1
    from gluon_resnet.models.torch_hub import SAME_STRUCTURE, TORCHVISION
    out = []
    if name in PUBLISHED:
        zoo, published = PUBLISHED[name][:2]
        top1 = " (top-1 %.2f%%)" % PUBLISHED_TOP1[name] if name in PUBLISHED_TOP1 else ""
        out.append("%s `%s`%s" % ({"mxnet": "MXNet", "gluoncv": "GluonCV"}.get(zoo, zoo),
                                  published, top1))
    for key, (ours, _, top1) in sorted(TORCHVISION.items()):
        if name == ours or name in SAME_STRUCTURE.get(ours, ()):
            out.append("torchvision `%s` (top-1 %.2f%%)" % (key, top1))
    return out


def model_rows():
    """One row per registered model: name, class, params, MACs, input, min input, weights."""
    import gluon_resnet
    from gluon_resnet.cli.info import _summary_shape
    from gluon_resnet.models.summary import summary
    rows = []
    for name in gluon_resnet.list_models():
        net = gluon_resnet.get_model(name, hybridize=False, initialize=False)
        shape = _summary_shape(name)
        s = summary(net, shape)
        min_size = getattr(net, "min_size", None)
        rows.append((name, type(net).__name__, s.total_params, s.total_macs,
                     "x".join(map(str, shape[1:])),
                     "%dx%d" % (min_size, min_size) if min_size else "",
                     "; ".join(published_weights(name)) or "—"))
    return rows


def models_table():
    lines = ["| model | net | params | multiply-adds | at input | minimum input | "
             "loads published weights of |",
             "|---|---|---:|---:|---|---|---|"]
    for name, cls, params, macs, shape, min_in, pub in model_rows():
        lines.append("| `%s` | `%s` | %.2f M | %.2f G | %s | %s | %s |"
                     % (name, cls, params / 1e6, macs / 1e9, shape, min_in, pub))
    return "\n".join(lines) + "\n"


def api_page():
    names = public_names()
    return ("API reference\n=============\n\n"
            "Every public name of ``gluon_resnet`` (%d), generated from the package at build "
            "time. Import them from ``gluon_resnet`` itself.\n\n"
            ".. currentmodule:: gluon_resnet\n\n"
            ".. autosummary::\n   :toctree: api\n\n%s\n"
            % (len(names), "".join("   %s\n" % n for n in names)))


_CPUS = [("AMD EPYC (AVX-512, AVX512_BF16, no AMX)", re.compile(r"AMD EPYC")),
         ("Intel Xeon with AMX", re.compile(r"Xeon")),
         ("GPU (NVIDIA H100)", re.compile(r"\bGPU\b|H100"))]


def _cpu_of(text):
    """The machine a results file was measured on: the first one its opening lines name."""
    head = "\n".join(text.splitlines()[:60])
    hits = [(m.start(), label) for label, rx in _CPUS for m in [rx.search(head)] if m]
    return min(hits)[1] if hits else "Other"


def results_pages():
    """Copy benchmarks/results/ into _generated/results/ (its .md files become pages, the
    files they link to downloads or images); return the index page grouping the top-level
    files by CPU. Nested pages (per-CPU details) are reached from their parents' links."""
    groups = {}
    for root, _, files in os.walk(RESULTS):
        rel = os.path.relpath(root, RESULTS)
        for fn in sorted(files):
            src = os.path.join(root, fn)
            dst = os.path.join(GEN, "results", rel, fn)
            if not fn.endswith(".md"):
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if (not os.path.exists(dst)
                        or os.path.getmtime(dst) < os.path.getmtime(src)):
                    shutil.copyfile(src, dst)
                continue
            with open(src, encoding="utf-8") as f:
                text = f.read()
            if rel == ".":
                groups.setdefault(_cpu_of(text), []).append(fn[:-3])
            else:
                text = "---\norphan: true\n---\n" + text
            _write(dst, text)
    out = ["# Measured results, per CPU", "",
           "Every file in `benchmarks/results/`, rendered, grouped by the machine it was "
           "measured on (the first one the file names).", ""]
    for label in [lab for lab, _ in _CPUS] + ["Other"]:
        if label in groups:
            out += ["## " + label, "", "```{toctree}", ":maxdepth: 1", ""]
            out += ["results/" + s for s in sorted(groups[label])] + ["```", ""]
    return "\n".join(out)


def notebooks_page():
    """Copy notebooks/*.ipynb into _generated/notebooks/ (a copy, not a link: MyST resolves
    links through symlinks, out of the source tree); return the page listing them."""
    nbs = sorted(f[:-6] for f in os.listdir(os.path.join(REPO, "notebooks"))
                 if f.endswith(".ipynb"))
    for n in nbs:
        with open(os.path.join(REPO, "notebooks", n + ".ipynb"), encoding="utf-8") as f:
            _write(os.path.join(GEN, "notebooks", n + ".ipynb"), f.read())
    return ("# Notebooks\n\nEvery notebook in `notebooks/`, executed at build in its quick "
            "configuration (`GLUON_RESNET_NB_QUICK=1`), with its plots.\n\n"
            "```{toctree}\n:maxdepth: 1\n\n%s```\n"
            % "".join("notebooks/%s\n" % n for n in nbs))


def _prune(gen_dir, src_dir):
    """Remove what a generated copy holds that its source no longer does (a renamed
    notebook or results file would otherwise stay a page, outside every toctree)."""
    for root, _, files in os.walk(gen_dir):
        for fn in files:
            rel = os.path.relpath(os.path.join(root, fn), gen_dir)
            if not os.path.exists(os.path.join(src_dir, rel)):
                os.remove(os.path.join(root, fn))


def generate(app, config=None):
    _prune(os.path.join(GEN, "results"), RESULTS)
    _prune(os.path.join(GEN, "notebooks"), os.path.join(REPO, "notebooks"))
    _write(os.path.join(GEN, "models_table.md"), models_table())
    _write(os.path.join(GEN, "api.rst"), api_page())
    # autosummary's stubs of names no longer public would be pages outside every toctree.
    api = os.path.join(GEN, "api")
    keep = {"gluon_resnet.%s.rst" % n for n in public_names()}
    for fn in os.listdir(api) if os.path.isdir(api) else ():
        if fn not in keep:
            os.remove(os.path.join(api, fn))
    _write(os.path.join(GEN, "results.md"), results_pages())
    _write(os.path.join(GEN, "notebooks.md"), notebooks_page())


# Links in the repository's Markdown (docs/*.md, the README) to files that are pages of
# the site under another path: (pattern, replacement), for a page in docs/.
_DOCS_LINKS = [(re.compile(r"\]\(\.\./benchmarks/results/\)"), "](_generated/results.md)"),
               (re.compile(r"\]\(\.\./benchmarks/results/"), "](_generated/results/"),
               (re.compile(r"\]\(\.\./notebooks/\)"), "](_generated/notebooks.md)"),
               (re.compile(r"\]\(\.\./notebooks/"), "](_generated/notebooks/"),
               (re.compile(r"\]\(\.\./README\.md"), "](index.md")]
_README_LINKS = [(re.compile(r"\]\(docs/\)"), "](index.md)"),
                 (re.compile(r"\]\(docs/"), "]("),
                 (re.compile(r"\]\((benchmarks|notebooks)/"), r"](../\1/")]


def _rewrite(text, rules):
    for rx, repl in rules:
        text = rx.sub(repl, text)
    return text


def source_read(app, docname, source):
    if "/" not in docname:
        source[0] = _rewrite(source[0], _DOCS_LINKS)


def include_read(app, relative_path, parent_docname, content):
    if str(relative_path) == os.path.join("..", "README.md"):
        content[0] = _rewrite(_rewrite(content[0], _README_LINKS), _DOCS_LINKS)


def missing_reference(app, env, node, contnode):
    """Resolve ``gluon_resnet.sub.module.Name`` (docstrings name where a thing is defined)
    to ``gluon_resnet.Name`` where that is what the API reference documents."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith("gluon_resnet."):
        return None
    short = "gluon_resnet." + target.rsplit(".", 1)[-1]
    py = env.get_domain("py")
    if short == target or short not in py.objects:
        return None
    return py.resolve_xref(env, node["refdoc"], app.builder, "obj", short, node, contnode)


def process_docstring(app, what, name, obj, options, lines):
    """A data object without a docstring of its own (``SPECS``, a dict) shows its type's
    docstring (``dict()``'s): say what it is instead."""
    if what in ("data", "attribute") and lines and getattr(obj, "__doc__", None) \
            and obj.__doc__ == type(obj).__doc__:
        lines[:] = ["A ``%s`` of %d entries; see the pages of the manual that use it."
                    % (type(obj).__name__, len(obj)) if hasattr(obj, "__len__")
                    else "A ``%s``." % type(obj).__name__]


def setup(app):
    # Before Sphinx looks for source files (autosummary reads _generated/api.rst).
    app.connect("config-inited", generate)
    app.connect("source-read", source_read)
    app.connect("include-read", include_read)
    app.connect("missing-reference", missing_reference)
    app.connect("autodoc-process-docstring", process_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
