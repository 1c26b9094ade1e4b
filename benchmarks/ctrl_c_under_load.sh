#!/usr/bin/env bash
# The launcher's Ctrl-C test N times in a row (default 20) with every core kept busy by
# `yes` (issue 22: the race showed only under load). Not part of make test.
#   bash benchmarks/ctrl_c_under_load.sh [N]
set -u
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
N=${1:-20}
hogs=()
for _ in $(seq "$(nproc)"); do yes > /dev/null & hogs+=($!); done
trap 'kill "${hogs[@]}" 2>/dev/null' EXIT
pass=0
for i in $(seq "$N"); do
  if OMP_NUM_THREADS=1 timeout 300 "$PY" -m pytest -q -p no:cacheprovider \
      tests/test_distributed.py -k ctrl_c > /tmp/ctrl_c_$i.log 2>&1; then
    pass=$((pass + 1))
  else
    echo "run $i failed: /tmp/ctrl_c_$i.log"
  fi
done
echo "$pass of $N passed with $(nproc) cores busy"
[ "$pass" -eq "$N" ]
