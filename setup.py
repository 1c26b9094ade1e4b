from setuptools import find_packages, setup

setup(
    name="gluon-resnet",
    version="0.1.0",
    description="The ResNet family in MXNet Gluon: define, train, understand, ship.",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["gluon_resnet", "gluon_resnet.*"]),
    python_requires=">=3.9,<3.14",
    install_requires=[
        "mxnet==1.9.1",
        # MXNet 1.9.1 needs numpy < 2; numpy 1.26 is the first with 3.12/3.13 wheels and
        # needs the aliases gluon_resnet._compat restores.
        "numpy<1.24; python_version<'3.12'",
        "numpy>=1.26,<2; python_version>='3.12'",
        # Python 3.12 dropped distutils, which MXNet imports; setuptools provides it.
        "setuptools; python_version>='3.12'",
        "tqdm",
        # Reading PNG/JPEG images (predict, image folders).
        "Pillow",
        # Training curves (the CLI's PNG, the notebooks' live plot).
        "matplotlib<3.9; python_version<'3.13'",
        "matplotlib>=3.9,<3.10; python_version>='3.13'",
    ],
    extras_require={
        # `gluon-resnet export --format onnx` and ONNX predictors: MXNet 1.9's exporter
        # imports onnx.mapping, which onnx 1.16 removed; onnx < 1.16 has no wheels for
        # Python 3.12+, where gluon_resnet._compat rebuilds onnx.mapping. There, onnx
        # 1.23 makes ONNX Runtime's quantizer (`--format onnx-int8`) write operators at
        # an opset ONNX Runtime cannot run (measured); 1.17 works. The quantizer imports
        # ml_dtypes (< 0.5 works with numpy < 1.24).
        "onnx": ["onnx<1.16; python_version<'3.12'", "onnx>=1.16,<1.18; python_version>='3.12'",
                 "onnxruntime", "ml_dtypes<0.5; python_version<'3.12'",
                 "ml_dtypes; python_version>='3.12'"],
        # Horovod for `train --kvstore horovod` / `launch --engine horovod`. It compiles
        # from source against the installed MXNet, so install it with
        # HOROVOD_WITH_MXNET=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 and
        # --no-build-isolation (else it builds without MXNet): `make horovod`.
        "horovod": ["horovod==0.28.1"],
        # `gluon-resnet serve` (gluon_resnet.serve): an ASGI app on Starlette and uvicorn,
        # Prometheus metrics, multipart bodies.
        "serve": ["starlette", "uvicorn", "prometheus_client", "python-multipart"],
        # `make docs` (the site in docs/_build/html; Python 3.11, the main .venv): Sphinx,
        # MyST-NB (Markdown pages, notebooks executed at build), the furo theme. Pinned to
        # what was built with; none of them pulls numpy.
        "docs": ["sphinx==8.2.3", "myst-nb==1.4.0", "myst-parser==5.2.0", "furo==2025.12.19"],
        "test": [
            "pytest",
            # make test runs the suite on every core (pytest -n, one file per worker).
            "pytest-xdist",
            # Fuzzed parsers (tests/test_fuzz.py, benchmarks/fuzz.py).
            "hypothesis",
            # Browser tests (the serve page, the docs site) drive Debian's chromium.
            "playwright",
            # The server's tests (tests/test_serve*.py), as the serve extra.
            "starlette",
            "uvicorn",
            "prometheus_client",
            "python-multipart",
            # The notebook runs end to end in the tests.
            "nbclient",
            "nbformat",
            "ipykernel",
            # What the d2l package (a test reference, installed with --no-deps by the
            # Makefile: its own pins predate MXNet 1.9's numpy) imports; IPython 9 breaks
            # matplotlib < 3.9's pyplot.
            "ipython<9",
            "matplotlib-inline",
            "pandas",
            "requests",
            # ONNX exports are checked in ONNX Runtime (as above).
            "onnx<1.16; python_version<'3.12'",
            "onnx>=1.16,<1.18; python_version>='3.12'",
            "onnxruntime",
            "ml_dtypes<0.5; python_version<'3.12'",
            "ml_dtypes; python_version>='3.12'",
            # PyTorch, torchvision and timm are references for the weights that load from
            # and save to their formats (tests/_torch_ref.py): torch 2.13's CPU wheel is on
            # the build machines for Python 3.11 only (elsewhere pip would fetch a CUDA
            # build of several GB), and torchvision 0.28 is the release made for it.
            # safetensors (the package) checks our own reader and writer of its format.
            "torch==2.13.0; python_version<'3.12'",
            "torchvision==0.28.0; python_version<'3.12'",
            "timm; python_version<'3.12'",
            "safetensors",
            # GluonCV is a reference for the tests (its weights and models); its own
            # dependencies are pinned so pip keeps numpy below 2.
            "gluoncv==0.10.5.post0; python_version<'3.12'",
            "opencv-python<4.9; python_version<'3.12'",
            "scipy<1.12; python_version<'3.12'",
            "pandas<2.1; python_version<'3.12'",
        ],
    },
    entry_points={"console_scripts": ["gluon-resnet=gluon_resnet.cli:main"]},
)
