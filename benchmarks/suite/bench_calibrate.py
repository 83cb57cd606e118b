"""Calibration wall time: the flagship fit (calibration/jiaxing.yaml), 5 starts, 2 cores."""

from sim315.analysis.calibration import calibrate

from .common import ROOT

FIT = ROOT / "calibration" / "jiaxing.yaml"


class Calibrate:
    timeout = 600
    number = 1
    repeat = 3

    def setup(self):
        calibrate(FIT, starts=1)  # compile (or load) the kernel outside the timing

    def time_flagship_fit_5_starts(self):
        calibrate(FIT, starts=5)

    def track_kernel_runs_of_the_fit(self):
        """Model runs the fit simulated (all in batched kernel calls)."""
        return calibrate(FIT, starts=5).problem.evaluations

    track_kernel_runs_of_the_fit.unit = "runs"
