"""How ``sim315 run`` of the plan scenario scales with CPU threads (issue 15): at each thread
count, in a fresh process (``NUMBA_NUM_THREADS``), the kernel calls alone (fresh and reused
output buffers, ``suite.bench_run.kernel_alone``) and the whole run (``execute``, default
options unless told), the least of ``--repeat`` runs, and their ratio.

The Latin hypercube is built before the timed runs, as in ``suite/bench_run.py``'s
breakdown: both figures leave it out. For a machine with more cores than CI's two (a lent
GPU machine's 16, say), with sim315 importable:

    python benchmarks/many_cores.py --threads 16 8 4 --runs 1000000 --json cores.json

``--switch-interval`` sets ``sys.setswitchinterval`` for the timed runs (CPython's default
is 0.005 s), to see whether threads wait on the GIL's hand-over.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(runs: int, repeat: int, save: str, switch: float | None) -> dict:
    """This process's figures (its thread count is ``NUMBA_NUM_THREADS``)."""
    sys.path.insert(0, str(HERE))
    import numba
    from suite.bench_run import PLAN, cold, kernel_alone

    from sim315.ensembles.runner import execute, plan_run

    plan = plan_run(PLAN, runs=runs)
    plan.model.warm_up()
    if plan.start is not None:
        plan.start.model.warm_up()
    plan.rows(0, 1)  # the Latin hypercube, untimed
    row = {
        "threads": numba.config.NUMBA_NUM_THREADS,
        "runs": runs,
        "kernel_alone": kernel_alone(plan),
        "kernel_alone_reused": kernel_alone(plan, reuse=True),
    }
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(repeat):
            old = sys.getswitchinterval()
            if switch:
                sys.setswitchinterval(switch)
            try:
                out = Path(tmp) / f"run{k}.h5"
                o = execute(cold(plan), out, progress=False, save=save)
            finally:
                sys.setswitchinterval(old)
            out.unlink()
            if best is None or o.seconds < best.seconds:
                best = o
    row.update(seconds=best.seconds, ratio=best.seconds / row["kernel_alone"], **best.timings)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1])
    ap.add_argument("--runs", type=int, default=10**6)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--save", default="auto", help="as sim315 run's --save")
    ap.add_argument("--switch-interval", type=float, default=None)
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    opts = [f"--runs={a.runs}", f"--repeat={a.repeat}", f"--save={a.save}"]
    if a.switch_interval:
        opts.append(f"--switch-interval={a.switch_interval}")
    if a.child:
        print(json.dumps(measure(a.runs, a.repeat, a.save, a.switch_interval)))
        return 0
    rows = []
    for t in a.threads:
        env = {**os.environ, "NUMBA_NUM_THREADS": str(t)}
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, __file__, "--child", *opts], env=env, capture_output=True, text=True
        )
        if res.returncode:
            print(res.stderr, file=sys.stderr)
            return res.returncode
        row = json.loads(res.stdout.strip().splitlines()[-1])
        row["process_seconds"] = time.perf_counter() - t0
        rows.append(row)
        print(
            f"{t:3d} threads: run {row['seconds']:6.2f} s, kernel alone "
            f"{row['kernel_alone']:6.2f} s (reused buffers {row['kernel_alone_reused']:.2f}), "
            f"ratio {row['ratio']:.2f}",
            flush=True,
        )
        if a.json:
            Path(a.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
