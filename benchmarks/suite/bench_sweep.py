"""A Sobol' sweep end to end: 20 factors of the flagship model on 2 cores (design, chunked
runs to HDF5, Jansen indices with 200 bootstrap resamples, figures)."""

import tempfile
import time
from pathlib import Path

from sim315.analysis.sweep import figures, plan_sweep, ranked_table, run_sweep

from .common import ROOT

SWEEP = ROOT / "benchmarks" / "scenarios" / "levers20.yaml"


def sweep_seconds(n: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        sp = plan_sweep(SWEEP, n=n)
        _, res = run_sweep(sp, Path(d) / "s.h5", progress=False)
        ranked_table(sp, res)
        figures(sp, res, Path(d) / "fig")
        return time.perf_counter() - t0


class Sweep:
    params = [1024, 2048]  # noqa: RUF012 (asv reads these class attributes)
    param_names = ["n"]  # noqa: RUF012
    timeout = 600
    number = 1
    repeat = 1

    def setup(self, n):
        plan_sweep(SWEEP, n=4).plan.model.warm_up()  # compile outside the timing

    def track_seconds_end_to_end(self, n):
        """N (D + 2) runs: 22,528 at N = 1024, 45,056 at N = 2048."""
        return sweep_seconds(n)

    track_seconds_end_to_end.unit = "s"
