# The two commands: `make demo` and `make test`. Both set up what they need first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A Python 3.12 or 3.13 for the second test run (pyenv's, or one on PATH).
PY_NEW ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12 \
                                 $(HOME)/.pyenv/versions/3.13*/bin/python3.13) \
                      $(shell command -v python3.12 python3.13 2>/dev/null))
VENV_NEW ?= .venv-py3new
# Fashion-MNIST's four .gz files: $FASHION_MNIST_DIR if set, else ../shared/data/fashion-mnist
# if it holds them, else ~/.mxnet/datasets/fashion-mnist (downloaded there when missing).
ifeq ($(FASHION_MNIST_DIR),)
ifneq ($(wildcard ../shared/data/fashion-mnist/*.gz),)
export FASHION_MNIST_DIR := $(abspath ../shared/data/fashion-mnist)
endif
endif
# MXNet's default thread settings are slow on small machines: one OpenMP thread per core.
export OMP_NUM_THREADS ?= $(shell nproc 2>/dev/null || echo 2)
# The tests run in one pytest worker per core (pytest-xdist; a test file stays on one
# worker), each with one OpenMP thread: most of a test's time is Python, not arithmetic.
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
TEST_ENV = OMP_NUM_THREADS=1 GLUON_RESNET_D2L=required
PYTEST_ARGS = -q -n $(TEST_WORKERS) --dist loadfile

.PHONY: demo test test-sweep test-no-amx test-py3new install horovod browser docs docs-test clean

# The demo: a short ResNet-18 run on Fashion-MNIST (a few minutes on 2 CPU cores), its
# curves, and an export for deployment. DEMO_ARGS adds or overrides train options.
DEMO_OUT ?= runs/demo
DEMO_ARGS ?=
demo: $(VENV)/.installed
	$(PY) -m gluon_resnet train --model resnet18 --resize 32 --epochs 2 --batch-size 128 \
	    --optimizer adam --lr 0.002 --schedule cosine --warmup 0.1 --seed 0 \
	    --out $(DEMO_OUT) $(DEMO_ARGS)
	$(PY) -m gluon_resnet export $(DEMO_OUT) --out $(DEMO_OUT)/export/resnet18
	@echo
	@echo "demo done: checkpoint, history.json and curves.png in $(DEMO_OUT)/,"
	@echo "the deployable net in $(DEMO_OUT)/export/ (resnet18-symbol.json, -0000.params, -meta.json;"
	@echo "gluon_resnet.load_predictor(\"$(DEMO_OUT)/export/resnet18\") runs it)"


install: $(VENV)/.installed

# Debian's Chromium, which the browser tests drive headless through playwright (its
# Python package is a test extra; playwright's own browser download is not used). Installed
# with apt-get where we may (root); elsewhere those tests say so and skip (CI: they fail).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	    || echo "make: no chromium (apt-get install chromium); the browser tests will skip"; }

# d2l's MXNet code is a test reference (tests/test_d2l.py, the numpy-mode notebook). Its
# packages pin numpy/matplotlib versions older than MXNet 1.9 needs, so they go in without
# their dependencies (the test extras hold what they import): 0.17.6 (train_ch6) into the
# venv, 1.0.3 (Classifier, Trainer) into VENV/d2l-1.0.3, where the tests load it from.
D2L_INSTALL = $(1)/bin/python -m pip install -q --no-deps "d2l==0.17.6" && \
	$(1)/bin/python -m pip install -q --no-deps --upgrade --target $(1)/d2l-1.0.3 "d2l==1.0.3"

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	$(call D2L_INSTALL,$(VENV))
	touch $@

$(VENV_NEW)/.installed: setup.py
	$(PY_NEW) -m venv $(VENV_NEW)
	$(VENV_NEW)/bin/python -m pip install -q --upgrade pip
	$(VENV_NEW)/bin/python -m pip install -q -e ".[test]"
	$(call D2L_INSTALL,$(VENV_NEW))
	touch $@

# Horovod (optional: `train --kvstore horovod`, `launch --engine horovod`) compiles from
# source, about a minute on 2 cores; without --no-build-isolation pip builds it without MXNet.
horovod: $(VENV)/.installed
	HOROVOD_WITH_MXNET=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 HOROVOD_WITHOUT_TENSORFLOW=1 \
	    HOROVOD_WITHOUT_PYTORCH=1 $(PY) -m pip install -q --no-build-isolation "horovod==0.28.1"

# One model per family in the per-model comparisons; every other model (`sweep`) is
# `make test-sweep`, about 4 minutes more on 2 cores: run it when models or blocks change.
test: $(VENV)/.installed browser
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) -m "not sweep and not docs"
	$(MAKE) --no-print-directory test-py3new

test-sweep: $(VENV)/.installed
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) -m sweep

# The tests whose expectations follow the CPU's flags (`cpu_kind`) again, as on a CPU with
# AVX512_BF16 and no AMX (this project's AMD EPYC machines): gluon_resnet reads the flags
# from tests/cpuinfo/no-amx.txt, so AMX stays off and oneDNN runs bfloat16 on AVX-512 as
# it does there. On a CPU without AMX it repeats what make test ran. About a minute.
test-no-amx: $(VENV)/.installed
	GLUON_RESNET_CPUINFO=$(abspath tests/cpuinfo/no-amx.txt) $(TEST_ENV) $(PY) -m pytest \
	    $(PYTEST_ARGS) -m "cpu_kind and not sweep"

# The suite again on Python 3.12/3.13, with one model per family in the per-model sweeps
# as the main run, and without the long end-to-end runs (`slow`: killed-and-resumed processes, notebooks),
# which the main run covers (GluonCV does not install there: its tests are left out). CI
# must have such an interpreter; elsewhere a missing one is reported and skipped.
test-py3new:
ifeq ($(PY_NEW),)
	@if [ -n "$$CI" ]; then echo "no Python 3.12/3.13 found for the second test run" >&2; exit 1; fi
	@echo "make test: no Python 3.12/3.13 found; skipped the second run (set PY_NEW=...)"
else
	$(MAKE) --no-print-directory $(VENV_NEW)/.installed
	$(TEST_ENV) $(VENV_NEW)/bin/python -m pytest $(PYTEST_ARGS) -m "not gluoncv and not sweep and not slow and not docs"
endif

# The documentation site, offline, into docs/_build/html: Sphinx + MyST-NB (the docs extra,
# installed on first use), the notebooks executed in their quick configuration (outputs
# cached in docs/_build/.jupyter_cache), the models table and API reference generated from
# the package; warnings are errors. Then the docstrings' examples run as doctests.
DOCS_SPHINXOPTS = -W -n --keep-going -q
docs: $(VENV)/.docs-installed
	$(PY) -m sphinx $(DOCS_SPHINXOPTS) -b html -d docs/_build/doctrees docs docs/_build/html
	$(PY) -m sphinx $(DOCS_SPHINXOPTS) -b doctest -d docs/_build/doctrees docs docs/_build/doctest
	@echo "the site is in docs/_build/html (open docs/_build/html/index.html)"

$(VENV)/.docs-installed: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[docs]"
	touch $@

# Builds the site, then checks it in headless chromium (tests/test_docs_site.py).
docs-test: docs browser
	$(TEST_ENV) $(PY) -m pytest -q -m docs tests/test_docs_site.py

clean:
	rm -rf $(VENV) $(VENV_NEW) *.egg-info .pytest_cache
