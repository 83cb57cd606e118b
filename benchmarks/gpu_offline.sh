#!/usr/bin/env bash
# Issue 15's GPU measurement on a lent machine that has an NVIDIA GPU, CUDA, numba and
# numba-cuda installed but no network (the workplace's "cuda" image): installs sim315 without
# its dependencies, adds pydantic from wheels carried in .gpuwheels/ (download them here with
#   pip download --only-binary=:all: --python-version 3.12 --platform manylinux_2_28_x86_64 \
#       -d .gpuwheels pydantic "numpy>=2.2,<2.5"
# ), then measures (benchmarks/gpu_benchmark.py, which checks every CUDA figure's first runs
# against the CPU kernel). CHECK=1 also runs benchmarks/gpu_check.py (CPU against GPU on the
# reference models and the flagship plan). Writes logs and JSON under $OUT (default ./gpu-out).
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
PY=${PY:-python3}
{
  nvidia-smi -L
  $PY -c 'import sys, numpy, numba; print(sys.version.split()[0], "numpy", numpy.__version__, "numba", numba.__version__)'
  $PY -m pip install -q --no-index --find-links .gpuwheels pydantic
  $PY -m pip install -q --no-deps --no-build-isolation -e . || $PY -m pip install -q --no-deps --no-build-isolation .
  # numba-cuda 0.2x fails at its first kernel compile (not at import) with numpy 2.5, which
  # removed np.row_stack: seen on the workplace's image (numpy 2.5.2), 2026-11-27
  if $PY -c 'import numpy, sys; sys.exit(tuple(map(int, numpy.__version__.split(".")[:2])) < (2, 5))'; then
    $PY -m pip install -q --no-index --find-links .gpuwheels "numpy<2.5"
  fi
  $PY -c 'from numba import cuda; print("CUDA device:", cuda.get_current_device().name)'
} 2>&1 | tee "$OUT/setup.log"
if [ "${CHECK:-0}" = 1 ]; then
  timeout 200 $PY benchmarks/gpu_check.py --runs 4000 --json "$OUT/gpu_check.json" 2>&1 | tee "$OUT/check.log"
fi
timeout "${BENCH_TIMEOUT:-400}" $PY benchmarks/gpu_benchmark.py --json "$OUT/gpu_benchmark.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/benchmark.log"
