"""The main job: ``sim315 run scenarios/plan.yaml`` (4,000 runs of the flagship, each
starting from the 2015-2022 history of its posterior draw, simulated once per draw), in
process with a warm kernel cache."""

import tempfile
import time
from pathlib import Path

from sim315.ensembles.runner import execute, plan_run

from .common import ROOT

SCENARIO = ROOT / "scenarios" / "plan.yaml"


class PlanScenario:
    timeout = 300
    number = 1
    repeat = 5

    def setup(self):
        plan = plan_run(SCENARIO)
        plan.model.warm_up()
        plan.start.model.warm_up()
        self.tmp = tempfile.TemporaryDirectory()
        self.n = 0

    def teardown(self):
        self.tmp.cleanup()

    def _out(self) -> Path:
        self.n += 1
        return Path(self.tmp.name) / f"plan{self.n}.h5"

    def time_plan_and_run(self):
        """Reading and checking the scenario, model, calibration and posterior, then the run."""
        execute(plan_run(SCENARIO), self._out(), progress=False)

    def track_share_in_history_runs(self):
        """Share of the run's wall time spent simulating the 2015-2022 histories (one per
        posterior draw the runs take)."""
        plan = plan_run(SCENARIO)
        t0 = time.perf_counter()
        for a in range(0, plan.runs, plan.chunk):
            P = plan.sampler.rows(a, min(plan.runs, a + plan.chunk))
            plan.start.apply(P, a, plan.sampler, threads=1)
        history = time.perf_counter() - t0
        plan.start.ends.forget()  # the run simulates them again
        t0 = time.perf_counter()
        execute(plan, self._out(), progress=False)
        return history / (time.perf_counter() - t0)

    track_share_in_history_runs.unit = "share"


def time_split() -> dict[str, float]:
    """Where a warm main job's time goes, in seconds: a process's imports, planning (reading
    and checking the scenario, model, calibration and posterior), drawing the parameters,
    the history runs, the scenario's kernel calls alone, and the rest of ``execute`` (writing
    the file, the summary, the target table)."""
    import subprocess
    import sys

    from sim315.ensembles.executors import plan_call

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sim315.ensembles.runner"], check=True)
    imports = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = plan_run(SCENARIO)
    planning = time.perf_counter() - t0
    plan.model.warm_up()
    plan.start.model.warm_up()
    call = plan_call(plan)
    draws = history = kernel = 0.0
    for a in range(0, plan.runs, plan.chunk):
        t0 = time.perf_counter()
        P = plan.sampler.rows(a, min(plan.runs, a + plan.chunk))
        t1 = time.perf_counter()
        P = plan.start.apply(P, a, plan.sampler, threads=1)
        t2 = time.perf_counter()
        plan.model.run_call(call, P, run_offset=a)
        t3 = time.perf_counter()
        draws, history, kernel = draws + t1 - t0, history + t2 - t1, kernel + t3 - t2
    plan.start.ends.forget()  # the run simulates the histories again
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        execute(plan, Path(d) / "plan.h5", progress=False)
        total = time.perf_counter() - t0
    rest = total - draws - history - kernel
    return {
        "imports (fresh process)": imports,
        "planning": planning,
        "parameter draws": draws,
        "history runs 2015-2022": history,
        "scenario kernel calls": kernel,
        "writing, summary, targets": rest,
        "execute in all": total,
    }


if __name__ == "__main__":
    for name, seconds in time_split().items():
        print(f"{name:28s} {seconds:6.3f} s")
