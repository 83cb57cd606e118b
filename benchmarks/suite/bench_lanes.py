"""The block-of-runs kernel (sim315.compilation.lanes) on the ladder reference model, 10^5
runs on one thread, against the hand-written scalar kernel (handwritten.py) and the
generated scalar kernel, each ratio measured interleaved in the same process.

Run alone for the figure of benchmarks/README.md: ``python -m suite.bench_lanes [runs]``.
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


def main(runs: int = 10**5, rounds: int = 3) -> None:
    bench = LadderLanes()
    bench.setup(runs)
    for _ in range(rounds):
        hand = bench.track_ratio_lanes_to_handwritten(runs)
        scalar = bench.track_ratio_lanes_to_generated_scalar(runs)
        print(f"{runs} runs, 1 thread: lanes/hand-written {hand:.3f}, lanes/scalar {scalar:.3f}")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:2]))
