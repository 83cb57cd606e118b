"""The GPU benchmark: runs/s of the plan scenario on the CUDA executor against the CPU
executor of the same machine, at 10^6 and 10^7 runs. Run it once on a machine with an NVIDIA
GPU (it is not part of CI, which has none):

    python3 -m venv /tmp/gpu && /tmp/gpu/bin/pip install -e . numba-cuda "numpy<2.5"
    /tmp/gpu/bin/python benchmarks/gpu_benchmark.py [--runs 1000000 10000000]

("numpy<2.5": some numba-cuda releases fail to import with numpy 2.5, which removed
``np.row_stack``; sim315 carries no shim, the benchmark's environment brings a matching
numpy.) It prints one line per (executor, runs) and the GPU's name; record them in
benchmarks/README.md. Parameters are sampled and results kept chunk by chunk (one output
saved), so memory stays bounded at 10^7 runs.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from sim315.ensembles.runner import plan_run

ROOT = Path(__file__).resolve().parents[1]


def runs_per_second(plan, runs: int, target: str, chunk: int) -> float:
    seconds = 0.0
    for a in range(0, runs, chunk):
        P = plan.sampler.chunk(a % plan.runs, min(plan.runs, a % plan.runs + chunk))
        t0 = time.perf_counter()
        plan.model.simulate(P, outputs=plan.outputs[:1], seed=1, run_offset=a, target=target)
        seconds += time.perf_counter() - t0
    return runs / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[10**6, 10**7])
    parser.add_argument("--chunk", type=int, default=10**6)
    args = parser.parse_args()
    from numba import cuda

    print("GPU:", cuda.get_current_device().name.decode() if cuda.is_available() else "none")
    plan = plan_run(ROOT / "scenarios" / "plan.yaml", runs=args.chunk)
    warm = plan.sampler.chunk(0, 1024)
    for target in ("cpu", "cuda"):
        plan.model.simulate(warm, outputs=plan.outputs[:1], target=target)  # compile
    for runs in args.runs:
        for target in ("cpu", "cuda"):
            rate = runs_per_second(plan, runs, target, min(args.chunk, runs))
            print(f"{target:5s} {runs:>10,d} runs  {rate:14,.0f} runs/s", flush=True)
    print("numpy", np.__version__)


if __name__ == "__main__":
    main()
