"""End-to-end ``sim315 run`` against the kernel alone for the same runs: the ladder model
(``scenarios/ladder-e2e.yaml``) and the flagship plan scenario (``scenarios/plan.yaml``,
each run first simulating its 2015-2022 history): wall time, peak memory, the share spent
writing HDF5 and summarising, and the ratio to the kernel calls alone."""

import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from sim315.ensembles.executors import plan_call
from sim315.ensembles.runner import execute, plan_run

from .common import ROOT

SCENARIO = ROOT / "benchmarks" / "scenarios" / "ladder-e2e.yaml"
PLAN = ROOT / "scenarios" / "plan.yaml"


def cold(plan):
    """The plan as a fresh ``sim315 run`` has it: no history simulated yet (a plan that
    starts from history simulates each posterior draw's once, then reuses its end state)."""
    if plan.start is not None:
        plan.start.ends.forget()
    return plan


def kernel_alone(plan, reuse: bool = False) -> float:
    """Wall seconds of the kernel calls alone for a plan's runs and chunks: each chunk's
    parameters are drawn untimed; the history runs (a plan that starts from history: one
    per posterior draw) and the scenario's kernel are timed, with the default threads.
    ``reuse``: the chunks' output buffers reused as ``sim315 run`` reuses them (else each
    call allocates its own, as ``simulate`` does: the ratio's reference)."""
    from sim315.ensembles.executors import ChunkBuffers

    cold(plan)
    call = plan_call(plan)
    pool = ChunkBuffers(call) if reuse else None
    total = 0.0
    for a in range(0, plan.runs, plan.chunk):
        P = plan.sampler.rows(a, min(plan.runs, a + plan.chunk))
        t0 = time.perf_counter()
        if plan.start is not None:
            P = plan.start.apply(P, a, plan.sampler)
        buffers = None if pool is None else pool.take(P.shape[0])
        plan.model.run_call(call, P, run_offset=a, buffers=buffers)
        total += time.perf_counter() - t0
    return total


def compute_alone(plan) -> float:
    """Wall seconds of the run's computing alone, pipelined as ``sim315 run`` does (the next
    chunk's draws and history runs prefetched while a chunk's kernel runs), with nothing
    written or summarised: what the file and the summary add is the rest."""
    from sim315.ensembles.executors import LocalExecutor

    cold(plan)
    t0 = time.perf_counter()
    for _ in LocalExecutor().compute(plan, list(range(0, plan.runs, plan.chunk))):
        pass
    return time.perf_counter() - t0


class EndToEnd:
    params = [10**4, 10**6]  # noqa: RUF012 (asv reads these class attributes)
    param_names = ["runs"]  # noqa: RUF012
    timeout = 900
    number = 1
    repeat = 1
    scenario = SCENARIO

    def setup(self, runs):
        self.plan = plan_run(self.scenario, runs=runs)
        self.plan.model.warm_up()
        if self.plan.start is not None:
            self.plan.start.model.warm_up()
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
        execute(cold(self.plan), self.out, progress=False)

    def peakmem_run(self, runs):
        execute(cold(self.plan), self.out, progress=False)

    def track_share_writing_hdf5(self, runs):
        """The writer thread's busy time (storing chunks) and the summary thread's (feeding
        the streaming summary), which run at once, plus writing the summary, over the whole
        run's wall time (above 1 where the two threads overlap)."""
        o = execute(cold(self.plan), self.out, progress=False)
        t = o.timings
        busy = t["writing"] + t["measuring"] + t["summarising"] + t["summary"]
        return busy / o.seconds

    track_share_writing_hdf5.unit = "share"

    def track_ratio_to_kernel_only(self, runs):
        """End-to-end wall time (default options) over the kernel calls alone."""
        kernel = kernel_alone(self.plan)
        o = execute(cold(self.plan), self.out, progress=False)
        return o.seconds / kernel

    track_ratio_to_kernel_only.unit = "ratio"


class PlanEndToEnd(EndToEnd):
    """The plan scenario; 10^5 runs in the suite (10^6 take minutes on 2 cores: run
    ``python -m suite.bench_run plan 1000000`` for that figure)."""

    params = [10**5]  # noqa: RUF012
    scenario = PLAN


def _cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def breakdown(runs: int, scenario=SCENARIO, repeat: int = 1, **options) -> dict:
    """The timings of one run and its ratio to the kernel alone, for benchmarks/README.md:
    the kernel alone and the whole run alternated ``repeat`` times, the least of each (the
    least disturbed by other load on a shared machine); and each repeat's own ratio, its
    two figures measured within 15 seconds of each other, with their median (a shared
    machine's speed drifts by 20-30 % from one half hour to the next, and the least of
    each may come from different moments). ``busy_each``: each whole run's share of the
    cores kept busy (the process's CPU seconds over cores x wall), steadier than its wall
    when the machine's speed drifts, as the CPU a run takes drifts with it."""
    bench = EndToEnd()
    bench.scenario = scenario
    bench.setup(runs)
    try:
        kernel, reused, compute, best = float("inf"), float("inf"), float("inf"), None
        pairs, busy = [], []
        for _ in range(repeat):
            alone = kernel_alone(bench.plan)
            kernel = min(kernel, alone)
            reused = min(reused, kernel_alone(bench.plan, reuse=True))
            compute = min(compute, compute_alone(bench.plan))
            t0 = os.times()
            o = execute(cold(bench.plan), bench.out, progress=False, **options)
            t1 = os.times()
            pairs.append(o.seconds / alone)
            cpu = t1.user - t0.user + t1.system - t0.system
            busy.append(cpu / (_cores() * o.seconds))
            size = o.path.stat().st_size
            if best is None or o.seconds < best.seconds:
                best = o
        return {
            "seconds": best.seconds,
            "kernel_alone": kernel,
            "ratio": best.seconds / kernel,
            "ratio_each": [round(r, 3) for r in pairs],
            "ratio_median": float(np.median(pairs)),
            "busy_each": [round(b, 3) for b in busy],
            "busy_median": float(np.median(busy)),
            "kernel_alone_reused": reused,
            "ratio_to_reused": best.seconds / reused,
            "compute_alone": compute,
            "ratio_to_compute": best.seconds / compute,
            **best.timings,
            "runs/s": runs / best.seconds,
            "file_MB": size / 1e6,
            "peak_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    finally:
        bench.teardown(runs)


_START = """
import time
from sim315.ensembles.executors import LocalExecutor, plan_call
from sim315.ensembles.runner import plan_run
plan = plan_run({plan!r}, runs=10**6)
t0 = time.perf_counter()
if {beside}:
    LocalExecutor().prepare(plan)
else:
    plan.model.prepare(plan_call(plan))
    plan.start.prepare()
plan.rows(0, plan.chunk)
print(time.perf_counter() - t0)
"""


class RunStart:
    """The start of the plan at 10^6 runs, to its first chunk's rows, in a fresh process
    with a warm kernel cache (as a ``sim315 run`` starts): the kernels loaded with the
    sampler's start (its Latin hypercube's shuffles) in a thread beside them, as ``sim315
    run`` does, against the two one after the other; alternated three times."""

    timeout = 300

    @staticmethod
    def _start(beside: bool) -> float:
        import subprocess
        import sys

        code = _START.format(plan=str(PLAN), beside=beside)
        done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        return float(done.stdout)

    def track_ratio_to_one_after_the_other(self):
        self._start(True)  # the kernel cache warm
        beside = after = float("inf")
        for _ in range(3):
            beside = min(beside, self._start(True))
            after = min(after, self._start(False))
        return beside / after

    track_ratio_to_one_after_the_other.unit = "ratio"


def per_thread(runs: int, scenario=PLAN) -> tuple[float, dict]:
    """One ``execute`` (the design made before, as in :func:`breakdown`): its wall seconds
    and the CPU seconds of each kind of thread (``sim315-writer``, ``sim315-feed``...;
    ``MainThread`` runs a share of the kernel), read from ``/proc`` every 50 ms while it
    runs (Linux only)."""
    import threading

    plan = plan_run(scenario, runs=runs)
    plan.model.warm_up()
    if plan.start is not None:
        plan.start.model.warm_up()
    plan.sampler.rows(0, 1)
    tick = os.sysconf("SC_CLK_TCK")

    def cpu(tid) -> float | None:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended
            return None
        return (int(fields[11]) + int(fields[12])) / tick

    base = {int(t): cpu(t) or 0.0 for t in os.listdir("/proc/self/task")}
    seen: dict[int, float] = {}
    names: dict[int, str] = {}
    done = threading.Event()

    def poll():
        while not done.wait(0.05):
            names.update({t.native_id: t.name for t in threading.enumerate()})
            for tid in os.listdir("/proc/self/task"):
                c = cpu(tid)
                if c is not None:
                    seen[int(tid)] = c

    poller = threading.Thread(target=poll, name="poller")
    poller.start()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        execute(cold(plan), Path(d) / "out.h5", progress=False)
        wall = time.perf_counter() - t0
    done.set()
    poller.join()
    kinds: dict[str, float] = {}
    for tid, c in seen.items():
        name = names.get(tid, "other").rsplit("_", 1)[0]
        kinds[name] = kinds.get(name, 0.0) + c - base.get(tid, 0.0)
    kinds.pop("poller", None)
    return wall, kinds


if __name__ == "__main__":  # pragma: no cover
    import argparse

    ap = argparse.ArgumentParser(description="sim315 run end to end against the kernel alone")
    ap.add_argument("scenario", choices=["ladder", "plan"])
    ap.add_argument("runs", type=int)
    ap.add_argument("--save", default="auto")
    ap.add_argument("--float32", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--per-thread", action="store_true", help="CPU seconds by thread instead")
    a = ap.parse_args()
    which = PLAN if a.scenario == "plan" else SCENARIO
    if a.per_thread:
        wall, kinds = per_thread(a.runs, which)
        print(f"wall {wall:.2f} s, CPU {sum(kinds.values()):.2f} s:")
        for name, c in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print(f"  {name:24s} {c:6.2f}")
        raise SystemExit
    res = breakdown(a.runs, which, a.repeat, save=a.save, float32=a.float32)
    print({k: v if isinstance(v, list) else round(v, 3) for k, v in res.items()}, np.__version__)
