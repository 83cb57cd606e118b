"""Subscripts at scale (issue 13): a model with a 1,000-element dimension against the same
model hand-written as Numba loops, and its cold compile.

The model: firms in each of ``n`` regions grow logistically (``rate[r] * firms[r] * (1 -
firms[r] / cap[r])``) and drift toward the regional mean (``mig * (firms[r] -
mean_firms)``, the mean from ``sum(firms[region!])``); Euler, 80 steps, 11 saved times.
The hand-written kernel does the same arithmetic in the same order, so both give identical
numbers (checked in ``setup``). Target: generated within 1.5x of hand-written, cold compile
under 10 s.

    cd benchmarks && python -m suite.bench_arrays     # prints both figures
"""

import tempfile
from pathlib import Path

import numpy as np
import yaml
from numba import njit, prange

import sim315

from .bench_compile_size import cold_seconds
from .common import interleaved_ratio

N = 1000
OUTPUTS = ("total", "firms[e0]", f"firms[e{N - 1}]")


def region_model(n: int = N) -> dict:
    """The model of the module docstring over ``n`` regions."""
    r = "[region]"
    births = f"rate{r} * firms{r} * (1 - firms{r} / cap{r})"
    return {
        "name": f"regions{n}",
        "time": {"start": 0, "stop": 10, "dt": 0.125, "save_every": 1, "units": "year"},
        "dimensions": {"region": [f"e{i}" for i in range(n)]},
        "parameters": {
            "rate": {"value": 0.05, "dims": ["region"], "units": "1/year"},
            "cap": {"value": 1000.0, "dims": ["region"], "units": "firms"},
            "mig": {"value": 0.01, "units": "1/year"},
        },
        "stocks": {
            "firms": {
                "initial": 10.0,
                "dims": ["region"],
                "units": "firms",
                "inflows": ["births"],
                "outflows": ["exits"],
            },
        },
        "flows": {
            "births": {"dims": ["region"], "units": "firms/year", "equation": births},
            "exits": {
                "dims": ["region"],
                "units": "firms/year",
                "equation": f"mig * (firms{r} - mean_firms)",
            },
        },
        "auxiliaries": {
            "total": {"equation": "sum(firms[region!])", "units": "firms"},
            "mean_firms": {"equation": f"total / {n}", "units": "firms"},
        },
    }


def write_model(folder: Path, n: int = N) -> Path:
    path = folder / f"regions{n}.yaml"
    path.write_text(yaml.safe_dump(region_model(n), sort_keys=False))
    return path


@njit(cache=True, error_model="numpy")
def region_run(p, n, t0, dt, n_steps, stride, out):
    """One run, hand-written: ``p`` is rate[n], cap[n], mig, firms.init[n]."""
    rate = p[0:n]
    cap = p[n : 2 * n]
    mig = p[2 * n]
    s = p[2 * n + 1 : 3 * n + 1].copy()
    births = np.empty(n)
    exits = np.empty(n)
    j = 0
    for step in range(n_steps + 1):
        total = 0.0
        for i in range(n):
            total = total + s[i]
        mean = total / n
        for i in range(n):
            births[i] = (rate[i] * s[i]) * (1.0 - s[i] / cap[i])
            exits[i] = mig * (s[i] - mean)
        if step % stride == 0:
            out[j, 0] = total
            out[j, 1] = s[0]
            out[j, 2] = s[n - 1]
            j += 1
        if step == n_steps:
            break
        for i in range(n):
            s[i] = s[i] + dt * (births[i] - exits[i])


@njit(cache=True, parallel=True, error_model="numpy")
def region_ensemble(P, n, t0, dt, n_steps, stride, out):
    for r in prange(P.shape[0]):
        region_run(P[r], n, t0, dt, n_steps, stride, out[r])


@njit(cache=True, error_model="numpy")
def region_ensemble_serial(P, n, t0, dt, n_steps, stride, out):
    for r in range(P.shape[0]):
        region_run(P[r], n, t0, dt, n_steps, stride, out[r])


def handwritten(model, P, serial: bool = True) -> np.ndarray:
    g = model.grid
    out = np.empty((P.shape[0], g.n_saved, len(OUTPUTS)))
    fn = region_ensemble_serial if serial else region_ensemble
    fn(P, N, g.start, g.dt, g.n_steps, g.stride, out)
    return out


class RegionArrays:
    """A 1,000-element dimension: generated against hand-written, 1 thread, 200 runs."""

    timeout = 600
    runs = 200

    def setup(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = write_model(Path(self.tmp.name))
        self.model = sim315.load_model(self.path)
        rng = np.random.default_rng(0)
        base = self.model.parameters(self.runs)
        self.P = base * rng.uniform(0.9, 1.1, size=base.shape)
        ours = self.model.simulate(self.P[:5], outputs=OUTPUTS, threads=1).values
        np.testing.assert_array_equal(ours, handwritten(self.model, self.P[:5]))

    def teardown(self):
        self.tmp.cleanup()

    def track_ratio_generated_to_handwritten(self):
        """Generated / hand-written wall time, one thread, measured interleaved."""
        return interleaved_ratio(
            lambda: self.model.simulate(self.P, outputs=OUTPUTS, threads=1),
            lambda: handwritten(self.model, self.P),
        )

    track_ratio_generated_to_handwritten.unit = "ratio"

    def track_cold_compile_seconds(self):
        """A fresh process with an empty kernel cache loads the model and runs it once."""
        return cold_seconds(self.path)

    track_cold_compile_seconds.unit = "seconds"


if __name__ == "__main__":
    bench = RegionArrays()
    bench.setup()
    print(
        f"generated / hand-written, {N} elements, 1 thread: "
        f"{bench.track_ratio_generated_to_handwritten():.2f}"
    )
    print(f"cold compile and one run: {bench.track_cold_compile_seconds():.1f} s")
    bench.teardown()
