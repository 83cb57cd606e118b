#!/usr/bin/env bash
# one device call: plan 10^6 end to end / kernel alone on 2 cores (taskset), f8bbc88 vs HEAD alternated
set -u
PY=${PY:-python3}
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpuwheels/*.whl || exit 1
export PYTHONUNBUFFERED=1
for d in $ROOT $ROOT/.devrun/old; do
  ln -sfn ../kernels $d/sim315/kernels; ln -sfn ../../scenarios $d/sim315/data/scenarios; ln -sfn ../../calibration $d/sim315/data/calibration
done
{ nproc; lscpu | grep -E 'Model name|MHz|L3'; $PY -c 'import sys, numpy, numba, scipy, h5py; print(sys.version.split()[0], numpy.__version__, numba.__version__, scipy.__version__, h5py.__version__)'; } 2>&1 | tee $OUT/machine.txt
$PY -c 'import numpy as np; a = np.ones(2**30); a += 1; print("touched 8 GiB")'
for name in old new; do
  d=$ROOT; [ $name = old ] && d=$ROOT/.devrun/old
  t0=$(date +%s)
  (cd $d && PYTHONPATH=/tmp/site:$d NUMBA_NUM_THREADS=2 taskset -c 0,1 timeout 200 $PY -m sim315.cli run scenarios/plan.yaml --runs 20000 -q -o /tmp/warm-$name.h5 > $OUT/warm-$name.log 2>&1)
  echo "$name warm-up rc $? $(( $(date +%s) - t0 )) s" | tee -a $OUT/warm.txt
done
for i in 1 2; do
  for name in old new; do
    d=$ROOT; [ $name = old ] && d=$ROOT/.devrun/old
    (cd $d/benchmarks && PYTHONPATH=/tmp/site:$d NUMBA_NUM_THREADS=2 taskset -c 0,1 timeout 150 $PY -m suite.bench_run plan 1000000 2>&1 | tail -1 | sed "s/^/$name $i /") | tee -a $OUT/ab.txt
  done
done
