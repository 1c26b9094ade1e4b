"""The package's layout holds (docs/architecture.md): imports point one way, no module
is over 600 lines and no function over 80, and every public name users had still imports
from ``gluon_resnet``, as do the names the README and the notebooks use."""
import ast
import json
import os
import re

import pytest

import gluon_resnet

from conftest import REPO

PACKAGE = os.path.join(REPO, "gluon_resnet")
# The layers, lowest first: a module may import from its own subpackage, the base and
# any layer below its own, never above or beside it.
LAYERS = {"base": 0, "models": 1, "data": 1, "training": 2, "deploy": 3, "lab": 3, "serve": 4,
          "cli": 5}
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# Every public (non-module) name `gluon_resnet` had before the subpackages (39cf24e plus
# try_gpu, try_all_gpus and GPUUnavailableError): user code written against it must run.
PUBLIC_NAMES = (
    "AlexNet Animator BasicBlockV1 BasicBlockV1b BasicBlockV2 BottleneckV1 BottleneckV1b "
    "BottleneckV2 Concurrent DenseBlock DenseNet GPUUnavailableError GoogLeNet History "
    "Inception Predictor PrintLines ProgressBar ResNetV1 ResNetV1b ResNetV2 Residual SPECS "
    "SameConv2D SaveCurves SequentialNet Summary TrainingDiverged VGG ZeroPadShortcut "
    "alexnet amx_status cifar_plain110 cifar_plain20 cifar_plain32 cifar_plain44 "
    "cifar_plain56 cifar_resnet110 cifar_resnet20 cifar_resnet32 cifar_resnet44 "
    "cifar_resnet56 cpu_report d2l_alexnet d2l_densenet d2l_googlenet d2l_lenet d2l_nin "
    "d2l_resnet18 d2l_vgg11 densenet121 densenet161 densenet169 densenet201 "
    "evaluate_accuracy export export_checkpoint export_net get_model googlenet lenet "
    "list_models load_checkpoint load_exported load_parameters load_predictor nin "
    "optimize_for_inference plain18 plain34 register_model resnet101 resnet101_v1b "
    "resnet101_v2 resnet152 resnet152_v1b resnet152_v2 resnet18 resnet18_v1b resnet18_v2 "
    "resnet200_v2 resnet34 resnet34_v1b resnet34_v2 resnet50 resnet50_v1b resnet50_v2 "
    "resnet_block resnext101_32x4d resnext50_32x4d save_parameters summary train "
    "try_all_gpus try_gpu vgg11 vgg11_bn vgg13 vgg13_bn vgg16 vgg16_bn vgg19 vgg19_bn "
    "lineage").split()


def _modules():
    """``{dotted name: path}`` of every module of the package."""
    out = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(root, name), REPO)[:-3].replace(os.sep, ".")
                out[rel[:-len(".__init__")] if rel.endswith(".__init__") else rel] = \
                    os.path.join(root, name)
    return out


def _is_package(path):
    return os.path.basename(path) == "__init__.py"


def _imports(module, path):
    """The package modules ``module`` imports (at any depth of its code), resolved."""
    tree = ast.parse(open(path).read())
    package = module if _is_package(path) else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = ["%s.%s" % (target, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.update(n for n in names if n.split(".")[0] == "gluon_resnet")
    return found


def _layer(module):
    parts = module.split(".")
    if len(parts) == 1:
        return None, None  # the package itself: it gathers the public names
    if parts[1] in LAYERS:
        return parts[1], LAYERS[parts[1]]
    if len(parts) == 2 and parts[1] != "__main__":
        return "base", 0
    return None, None


def _graph():
    modules = _modules()
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name in _imports(module, path):
            while name not in modules and "." in name:  # an attribute, not a module
                name = name.rsplit(".", 1)[0]
            if name in modules and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def test_imports_point_one_way():
    wrong = []
    for module, targets in _graph().items():
        group, level = _layer(module)
        if group is None:
            continue
        for target in targets:
            tgroup, tlevel = _layer(target)
            if tgroup is None:
                wrong.append("%s imports the package root %s" % (module, target))
            elif tgroup != group and (tlevel >= level and tgroup != "base"):
                wrong.append("%s (%s) imports %s (%s)" % (module, group, target, tgroup))
    assert not wrong, "\n".join(sorted(wrong))


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    # A subpackage's __init__ gathers its modules' names: the edges from a module to the
    # __init__ of a package above it are what the layer test forbids, so they are left
    # out here, where only module-to-module cycles are looked for.
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in _graph().items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    # and the layer rule would catch an upward import
    assert _layer("gluon_resnet.models.resnet") == ("models", 1)
    assert _layer("gluon_resnet.cli.main") == ("cli", 5)
    assert _layer("gluon_resnet.arrays") == ("base", 0)


def _long_functions(path):
    tree = ast.parse(open(path).read())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            first = body[0]
            start = first.lineno
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):  # the docstring does not count
                start = body[1].lineno if len(body) > 1 else first.end_lineno
            lines = node.end_lineno - start + 1
            if lines > MAX_FUNCTION_LINES:
                out.append("%s: %s() has %d lines" % (os.path.relpath(path, REPO), node.name,
                                                      lines))
    return out


def test_no_module_over_600_lines_and_no_function_over_80():
    too_long = []
    for path in _modules().values():
        with open(path) as f:
            n = sum(1 for _ in f)
        if n > MAX_MODULE_LINES:
            too_long.append("%s has %d lines" % (os.path.relpath(path, REPO), n))
        too_long += _long_functions(path)
    assert not too_long, "\n".join(too_long)


def test_the_size_check_counts_a_long_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text('def f():\n    """doc\n\n    more"""\n' + "    x = 1\n" * 81)
    assert _long_functions(str(path)) == ["%s: f() has 81 lines" % os.path.relpath(path, REPO)]
    path.write_text('def f():\n    """doc"""\n' + "    x = 1\n" * 80)
    assert _long_functions(str(path)) == []


def test_every_public_name_of_before_still_imports():
    missing = [n for n in PUBLIC_NAMES if not hasattr(gluon_resnet, n)]
    assert not missing
    ns = {}
    exec("from gluon_resnet import " + ", ".join(PUBLIC_NAMES), ns)
    assert ns["train"] is gluon_resnet.training.train
    assert ns["load_predictor"] is gluon_resnet.deploy.load_predictor


def _names_used(text):
    """``gluon_resnet.NAME`` and ``from gluon_resnet[.SUB] import NAMES`` in code."""
    used = set(re.findall(r"(?<!from )\bgluon_resnet\.([A-Za-z_][A-Za-z0-9_]*)", text))
    imports = re.findall(r"from (gluon_resnet[\w.]*) import \(([^)]*)\)", text)
    imports += re.findall(r"from (gluon_resnet[\w.]*) import ([^(\n]+)", text)
    for module, names in imports:
        for name in re.sub(r"#.*", "", names).replace("\n", " ").split(","):
            name = name.strip().split(" as ")[0].strip()
            if name:
                used.add((module, name) if module != "gluon_resnet" else name)
    return used


def _check_names(used, where):
    import importlib
    bad = []
    for item in used:
        module, name = item if isinstance(item, tuple) else ("gluon_resnet", item)
        try:
            ok = hasattr(importlib.import_module(module), name)
        except ImportError:
            ok = False
        if not ok:  # a subpackage or module, which `from PACKAGE import NAME` loads
            try:
                importlib.import_module("%s.%s" % (module, name))
                ok = True
            except ImportError:
                pass
        if not ok:
            bad.append("%s: %s.%s" % (where, module, name))
    return bad


def test_names_the_readme_docs_and_notebooks_use_import():
    texts = {}
    docs = [os.path.join(REPO, "README.md")] + [
        os.path.join(REPO, "docs", f) for f in sorted(os.listdir(os.path.join(REPO, "docs")))
        if f.endswith(".md")] if os.path.isdir(os.path.join(REPO, "docs")) else \
        [os.path.join(REPO, "README.md")]
    for path in docs:
        blocks = re.findall(r"```python\n(.*?)```", open(path).read(), re.S)
        texts[os.path.relpath(path, REPO)] = "\n".join(blocks)
    nb_dir = os.path.join(REPO, "notebooks")
    for name in sorted(os.listdir(nb_dir)):
        if name.endswith(".ipynb"):
            cells = json.load(open(os.path.join(nb_dir, name)))["cells"]
            texts["notebooks/" + name] = "\n".join(
                "".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert any("gluon_resnet" in t for t in texts.values())
    bad = []
    for where, text in texts.items():
        bad += _check_names(_names_used(text), where)
    assert not bad, "\n".join(sorted(bad))


def test_the_name_check_would_catch_a_missing_name():
    used = _names_used("from gluon_resnet import train, no_such_name\n"
                       "gluon_resnet.also_missing(1)\n"
                       "from gluon_resnet.training import (Callback,\n    nothing_here)\n")
    assert used == {"train", "no_such_name", "also_missing",
                    ("gluon_resnet.training", "Callback"),
                    ("gluon_resnet.training", "nothing_here")}
    assert sorted(_check_names(used, "x")) == [
        "x: gluon_resnet.also_missing", "x: gluon_resnet.no_such_name",
        "x: gluon_resnet.training.nothing_here"]
