"""Kernel speed on the ladder reference model (tests/models/ladder): one run, ensembles,
ns per run-step, and the generated kernel against a hand-written one."""

import numpy as np

import sim315
from sim315.ensembles.threads import entry_args

from .common import LADDER, OUTPUTS, best_of, handwritten, interleaved_ratio, parameter_matrix


class LadderRun:
    """One run of the ladder model (160 Euler steps, 41 saved times, 5 outputs)."""

    def setup(self):
        self.model = sim315.load_model(LADDER)
        self.model.warm_up()
        self.p1 = parameter_matrix(self.model, 1)
        call = self.model.kernel_call(outputs=OUTPUTS, seed=0)
        self.out, self.status = call.buffers(1)
        self.kernel = self.model.kernel_module("euler").ensemble_serial
        self.args = entry_args(call.args(self.p1, self.out, self.status, 0))

    def time_one_run_api(self):
        """``model.simulate`` of one run: the kernel plus the Python around it."""
        self.model.simulate(self.p1, outputs=OUTPUTS)

    def time_one_run_kernel(self):
        """The compiled kernel alone, for one run (its claims counter reset: a call claims
        its runs from it, sim315.kernels.claims)."""
        self.args[-1][0] = 0
        self.kernel(*self.args)


class LadderEnsemble:
    """Ensembles of the ladder model: generated vs hand-written, ns per run-step."""

    params = [10**3, 10**5]  # noqa: RUF012 (asv reads these class attributes)
    param_names = ["runs"]  # noqa: RUF012
    timeout = 300

    def setup(self, runs):
        self.model = sim315.load_model(LADDER)
        self.model.warm_up()
        handwritten.check_layout(self.model)
        self.P = parameter_matrix(self.model, runs)
        ours = self.model.simulate(self.P[:100], outputs=OUTPUTS, threads=1).values
        theirs = handwritten.simulate(self.model, self.P[:100], serial=True)
        np.testing.assert_array_equal(ours, theirs)  # like for like
        handwritten.simulate(self.model, self.P[:100])  # compile its parallel entry too

    def time_ensemble(self, runs):
        self.model.simulate(self.P, outputs=OUTPUTS)

    def time_ensemble_handwritten(self, runs):
        handwritten.simulate(self.model, self.P)

    def peakmem_ensemble(self, runs):
        self.model.simulate(self.P, outputs=OUTPUTS)

    def track_ns_per_run_step_1thread(self, runs):
        seconds = best_of(lambda: self.model.simulate(self.P, outputs=OUTPUTS, threads=1), 5)
        return seconds / (runs * self.model.grid.n_steps) * 1e9

    track_ns_per_run_step_1thread.unit = "ns"

    def track_ratio_generated_to_handwritten(self, runs):
        """Generated / hand-written wall time, one thread, measured interleaved."""
        return interleaved_ratio(
            lambda: self.model.simulate(self.P, outputs=OUTPUTS, threads=1),
            lambda: handwritten.simulate(self.model, self.P, serial=True),
        )

    track_ratio_generated_to_handwritten.unit = "ratio"

    def track_ratio_block_to_scalar_handwritten(self, runs):
        """The block-of-runs experiment (16 lanes, hand-written) over the scalar kernel."""
        return interleaved_ratio(
            lambda: handwritten.simulate_block(self.model, self.P),
            lambda: handwritten.simulate(self.model, self.P, serial=True),
        )

    track_ratio_block_to_scalar_handwritten.unit = "ratio"
