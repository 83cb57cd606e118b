"""End-to-end ``sim315 run`` of the ladder model: wall time, peak memory, the share spent
writing HDF5, and the ratio to the kernel alone for the same runs."""

import tempfile
import time
from pathlib import Path

import numpy as np

from sim315.ensembles.runner import execute, plan_run

from .common import ROOT

SCENARIO = ROOT / "benchmarks" / "scenarios" / "ladder-e2e.yaml"


class EndToEnd:
    params = [10**4, 10**6]  # noqa: RUF012 (asv reads these class attributes)
    param_names = ["runs"]  # noqa: RUF012
    timeout = 900
    number = 1
    repeat = 1

    def setup(self, runs):
        self.plan = plan_run(SCENARIO, runs=runs)
        self.plan.model.warm_up()
        self.tmp = tempfile.TemporaryDirectory()
        self.n = 0

    @property
    def out(self) -> Path:
        """A new file each call: replacing a 1.6 GB file would time its deletion too."""
        self.n += 1
        old = Path(self.tmp.name) / f"out{self.n - 1}.h5"
        old.unlink(missing_ok=True)
        return Path(self.tmp.name) / f"out{self.n}.h5"

    def teardown(self, runs):
        self.tmp.cleanup()

    def time_run(self, runs):
        execute(self.plan, self.out, progress=False)

    def peakmem_run(self, runs):
        execute(self.plan, self.out, progress=False)

    def track_share_writing_hdf5(self, runs):
        """Writer-thread busy time plus the summary pass, over the whole run's wall time."""
        o = execute(self.plan, self.out, progress=False)
        return (o.timings["writing"] + o.timings["summary"]) / o.seconds

    track_share_writing_hdf5.unit = "share"

    def track_ratio_to_kernel_only(self, runs):
        """End-to-end wall time over the kernel calls alone for the same runs and chunks."""
        plan = self.plan
        chunks = [
            plan.sampler.rows(a, min(plan.runs, a + plan.chunk))
            for a in range(0, plan.runs, plan.chunk)
        ]
        t0 = time.perf_counter()
        for k, P in enumerate(chunks):
            plan.model.simulate(P, outputs=plan.outputs, run_offset=k * plan.chunk)
        kernel = time.perf_counter() - t0
        del chunks
        o = execute(plan, self.out, progress=False)
        return o.seconds / kernel

    track_ratio_to_kernel_only.unit = "ratio"


def breakdown(runs: int) -> dict:
    """The timings of one run, for benchmarks/README.md (python -m suite.bench_run N)."""
    bench = EndToEnd()
    bench.setup(runs)
    try:
        o = execute(bench.plan, bench.out, progress=False)
        return {"seconds": o.seconds, **o.timings, "runs/s": runs / o.seconds}
    finally:
        bench.teardown(runs)


if __name__ == "__main__":  # pragma: no cover
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10**4
    print({k: round(v, 3) for k, v in breakdown(n).items()}, np.__version__)
