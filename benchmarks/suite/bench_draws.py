"""Parameter draws (issue 15): Beta-PERT values through sim315's own beta quantile
(``kernels/betapoly.py``) against scipy's ``beta.ppf``, the method it replaced, on the same
unit-interval draws, and what making a distribution's polynomials costs; the flagship
plan's parameter rows per run (its 26 distributions, 16 of them PERT, and its posterior
draws); and what a Latin hypercube of the plan's size
makes before a run's first chunk (its shuffles) against the whole design.

``python -m suite.bench_draws`` prints the figures of benchmarks/README.md.
"""

import time

import numpy as np

from sim315.schemas.distributions import Pert

from .common import interleaved_ratio

#: PERT shapes of the plan scenario's kind: the mode near the low end, in the middle, high.
SHAPES = [(0.04, 0.05, 0.09), (0.2, 0.5, 0.8), (1.0, 2.8, 3.0)]
VALUES = 10**6


class PertDraws:
    """10^6 PERT values per shape: sim315's quantile, scipy's, and their ratio; and the
    milliseconds a distribution's polynomials take to make (once, when a run starts)."""

    timeout = 300

    def setup(self):
        self.u = np.random.default_rng(1).random(VALUES)
        self.specs = [Pert(dist="pert", low=a, mode=m, high=b) for a, m, b in SHAPES]
        self.ours = [s.fast_ppf() for s in self.specs]
        self.theirs = [s.frozen().ppf for s in self.specs]
        for f, g in zip(self.ours, self.theirs, strict=True):  # compiled; the same values
            np.testing.assert_allclose(f(self.u[:1000]), g(self.u[:1000]), rtol=0, atol=1e-14)

    def _ours(self):
        for f in self.ours:
            f(self.u)

    def _theirs(self):
        for g in self.theirs:
            g(self.u)

    def time_sim315_quantile(self):
        self._ours()

    def time_scipy_beta_ppf(self):
        self._theirs()

    def track_ratio_to_scipy(self):
        """sim315's time over scipy's for the same values, interleaved (below 1: faster)."""
        return interleaved_ratio(self._ours, self._theirs, repeats=3)

    track_ratio_to_scipy.unit = "ratio"

    def track_ms_to_make_a_distribution(self):
        """A PERT's polynomials (``Pert.fast_ppf``: its nodes' quantiles and the fit), the
        least of five, per distribution."""
        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            for s in self.specs:
                s.fast_ppf()
            best = min(best, (time.perf_counter() - t0) / len(self.specs))
        return best * 1e3

    track_ms_to_make_a_distribution.unit = "ms"


class PlanRows:
    """The plan scenario's parameter rows (draws and posterior rows, no history runs):
    microseconds per run, 10^5 runs in its chunks."""

    timeout = 300

    def setup(self):
        from sim315.ensembles.runner import plan_run

        from .bench_run import PLAN

        self.plan = plan_run(PLAN, runs=10**5)
        self.plan.sampler.rows(0, 10)  # tables made, kernels compiled

    def _rows(self):
        p = self.plan
        for a in range(0, p.runs, p.chunk):
            p.sampler.rows(a, min(p.runs, a + p.chunk))

    def track_us_per_run(self):
        t0 = time.perf_counter()
        self._rows()
        return (time.perf_counter() - t0) / self.plan.runs * 1e6

    track_us_per_run.unit = "us"


class HypercubeStart:
    """A Latin hypercube of 10^6 runs in 26 dimensions (the plan's, at 10^6 runs): what a run
    waits for before its first chunk, the shuffles (``LatinHypercube``, each chunk then
    draws its own rows), against the whole design as one array (``latin_hypercube``, what
    the runs waited for until the eighth session); interleaved, in one process."""

    timeout = 300
    RUNS, DIMENSIONS = 10**6, 26

    def _shuffles(self):
        from sim315.ensembles.hypercube import LatinHypercube

        LatinHypercube(np.random.SeedSequence(315), self.RUNS, self.DIMENSIONS)

    def _whole(self):
        from sim315.ensembles.hypercube import latin_hypercube

        latin_hypercube(np.random.SeedSequence(315), self.RUNS, self.DIMENSIONS)

    def track_ratio_to_whole_design(self):
        return interleaved_ratio(self._shuffles, self._whole, repeats=3)

    track_ratio_to_whole_design.unit = "ratio"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":  # pragma: no cover
    b = PertDraws()
    b.setup()
    n = VALUES * len(SHAPES)
    ours, theirs = (min(_timed(f) for _ in range(3)) for f in (b._ours, b._theirs))
    print(
        f"PERT values: sim315 {ours / n * 1e9:.0f} ns, scipy {theirs / n * 1e9:.0f} ns a value; "
        f"ratio {b.track_ratio_to_scipy():.3f}; a distribution's polynomials "
        f"{b.track_ms_to_make_a_distribution():.1f} ms"
    )
    r = PlanRows()
    r.setup()
    print(f"plan rows: {min(r.track_us_per_run() for _ in range(3)):.2f} us a run")
    h = HypercubeStart()
    shuffles, whole = (min(_timed(f) for _ in range(3)) for f in (h._shuffles, h._whole))
    print(
        f"Latin hypercube 10^6 x 26 before the first chunk: shuffles {shuffles:.2f} s, "
        f"whole design {whole:.2f} s; ratio {h.track_ratio_to_whole_design():.2f}"
    )
