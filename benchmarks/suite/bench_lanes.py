"""The block-of-runs kernel (sim315.compilation.lanes) on the ladder reference model, 10^5
runs on one thread, against the hand-written scalar kernel (handwritten.py) and the
generated scalar kernel, each ratio measured interleaved in the same process.

Run alone for the figure of benchmarks/README.md: ``python -m suite.bench_lanes [runs]``;
``python -m suite.bench_lanes --saves``: lanes / scalar on runs that save much per step.
"""

import sys

import numpy as np

import sim315
from sim315.compilation.lanes import LANES_FROM

from .common import LADDER, OUTPUTS, best_of, handwritten, interleaved_ratio, parameter_matrix


class LadderLanes:
    """10^5 ladder runs, one thread: lanes, generated scalar, hand-written scalar."""

    params = [10**5]  # noqa: RUF012 (asv reads these class attributes)
    param_names = ["runs"]  # noqa: RUF012
    timeout = 600

    def setup(self, runs):
        self.model = sim315.load_model(LADDER)
        self.model.warm_up()
        handwritten.check_layout(self.model)
        self.P = parameter_matrix(self.model, runs)
        self.lanes = self.model.kernel_call(outputs=OUTPUTS, runs=runs)
        self.scalar = self.model.kernel_call(outputs=OUTPUTS)
        assert self.lanes.lanes and runs >= LANES_FROM
        first = self.P[:1000]
        ours = self.model.run_call(self.lanes, first, threads=1).values  # compiles it
        np.testing.assert_array_equal(ours, handwritten.simulate(self.model, first, serial=True))

    def run_lanes(self):
        return self.model.run_call(self.lanes, self.P, threads=1)

    def run_scalar(self):
        return self.model.run_call(self.scalar, self.P, threads=1)

    def run_handwritten(self):
        return handwritten.simulate(self.model, self.P, serial=True)

    def time_lanes_1thread(self, runs):
        self.run_lanes()

    def time_handwritten_1thread(self, runs):
        self.run_handwritten()

    def track_ratio_lanes_to_handwritten(self, runs):
        """Lanes / hand-written scalar wall time, one thread, interleaved (target <= 2/3)."""
        return interleaved_ratio(self.run_lanes, self.run_handwritten)

    track_ratio_lanes_to_handwritten.unit = "ratio"

    def track_ratio_lanes_to_generated_scalar(self, runs):
        """Lanes / the generated scalar kernel, one thread, interleaved."""
        return interleaved_ratio(self.run_lanes, self.run_scalar)

    track_ratio_lanes_to_generated_scalar.unit = "ratio"

    def track_ns_per_run_step_lanes(self, runs):
        return best_of(self.run_lanes, 5) / (runs * self.model.grid.n_steps) * 1e9

    track_ns_per_run_step_lanes.unit = "ns"


#: Runs that save every step: (model folder under tests/models, outputs, save_every, runs).
#: Two or more values a step go straight to the output array (``_save`` in lanes.py).
SAVE_HEAVY = {
    "teacup-4-every-step": ("teacup", 4, None, 100_000),
    "sir-5-every-step": ("sir", 5, None, 20_000),
    "ladder-5-every-step": ("ladder", 5, 0.125, 100_000),
    "ladder-5-every-4th-step": ("ladder", 5, None, 100_000),
}


class LanesSaves:
    """Lanes / the generated scalar kernel, one thread, on runs that save much per step."""

    params = [list(SAVE_HEAVY)]  # noqa: RUF012 (asv reads these class attributes)
    param_names = ["case"]  # noqa: RUF012
    timeout = 600

    def setup(self, case):
        folder, n_out, every, runs = SAVE_HEAVY[case]
        self.model = sim315.load_model(LADDER.parents[1] / folder / "model.yaml")
        outputs = self.model.output_names[:n_out]
        self.lanes = self.model.kernel_call(outputs=outputs, save_every=every, runs=runs)
        self.scalar = self.model.kernel_call(outputs=outputs, save_every=every)
        assert self.lanes.lanes
        rng = np.random.default_rng(1)
        n_par = len(self.model.parameter_names)
        self.P = self.model.parameters(runs) * rng.uniform(0.9, 1.1, size=(runs, n_par))
        a = self.model.run_call(self.lanes, self.P[:1000], threads=1).values  # compiles
        b = self.model.run_call(self.scalar, self.P[:1000], threads=1).values
        np.testing.assert_allclose(a, b, rtol=1e-12)

    def track_ratio_lanes_to_generated_scalar(self, case):
        """Lanes / scalar wall time, one thread, interleaved, fresh output arrays."""
        return interleaved_ratio(
            lambda: self.model.run_call(self.lanes, self.P, threads=1),
            lambda: self.model.run_call(self.scalar, self.P, threads=1),
        )

    track_ratio_lanes_to_generated_scalar.unit = "ratio"


def saves() -> None:
    for case in SAVE_HEAVY:
        bench = LanesSaves()
        bench.setup(case)
        ratio = bench.track_ratio_lanes_to_generated_scalar(case)
        print(f"{case}: lanes/scalar {ratio:.3f}")


def main(runs: int = 10**5, rounds: int = 3) -> None:
    bench = LadderLanes()
    bench.setup(runs)
    for _ in range(rounds):
        hand = bench.track_ratio_lanes_to_handwritten(runs)
        scalar = bench.track_ratio_lanes_to_generated_scalar(runs)
        print(f"{runs} runs, 1 thread: lanes/hand-written {hand:.3f}, lanes/scalar {scalar:.3f}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--saves"]:
        saves()
    else:
        main(*map(int, sys.argv[1:2]))
