"""A long fuzz run: the properties of tests/test_fuzz.py with many more examples.

``make test`` runs each fuzzed parser (IDX reader, image decoding, MXNet array files,
export sidecars, checkpoint.json, ONNX files given to load_predictor) on a few dozen
inputs; this runs them under hypothesis's ``long`` profile (3,000 examples each, 2,000
mutated ONNX files) and records, per property, whether it held and how long it took.

Outputs ``fuzz.md`` in ``--out`` (default ``benchmarks/results``) with the command, the
machine and its CPU flags.

Usage::

    python benchmarks/fuzz.py            # about 10-20 minutes on 2 cores
    python benchmarks/fuzz.py --quick    # the ci profile, to a temp dir
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

import gluon_resnet  # noqa: E402,F401  (must come before mxnet)
from _machine import machine_info, machine_lines  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the ci profile, to a temp dir")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    profile = "ci" if args.quick else "long"
    out = args.out or (tempfile.mkdtemp() if args.quick else os.path.join(HERE, "results"))
    os.makedirs(out, exist_ok=True)
    info = machine_info()
    env = dict(os.environ, GLUON_RESNET_FUZZ=profile)
    tic = time.time()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=0",
         "-o", "addopts=", os.path.join("tests", "test_fuzz.py")],
        cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.time() - tic
    text = result.stdout + result.stderr
    rows = []
    for m in re.finditer(r"^([0-9.]+)s call\s+tests/test_fuzz.py::(\w+)", text, re.M):
        name = m.group(2)
        failed = re.search(r"FAILED tests/test_fuzz.py::%s\b" % name, text) is not None
        rows.append((name, float(m.group(1)), "FAILED" if failed else "held"))
    summary = (re.findall(r"^=* ?(\d+ (?:passed|failed).*?) ?=*$", text, re.M) or ["?"])[-1]
    lines = ["# Fuzzing the parsers (hypothesis profile `%s`)" % profile, "",
             "Command: `python benchmarks/fuzz.py%s`" % (" --quick" if args.quick else ""), ""]
    lines += machine_lines(info)
    lines += ["- %s in %.0f s (pytest: %s)" % ("every property held" if result.returncode == 0
                                               else "a property FAILED", seconds, summary), "",
              "Each property feeds random and mutated bytes or JSON to one parser and allows "
              "only the library's own clear exceptions: %s examples per property "
              "(ONNX: %s mutated files in a child process)."
              % (("60", "40") if args.quick else ("3,000", "2,000")), "",
              "| property (tests/test_fuzz.py) | seconds | result |", "|---|---:|---|"]
    lines += ["| `%s` | %.1f | %s |" % row for row in rows]
    if result.returncode:
        lines += ["", "```", text[-4000:], "```"]
    with open(os.path.join(out, "fuzz.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
