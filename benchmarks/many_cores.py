"""How ``sim315 run`` of the plan scenario scales with CPU threads (issue 15): at each thread
count, in a fresh process (``NUMBA_NUM_THREADS``), ``suite/bench_run.py``'s breakdown: the
kernel calls alone (fresh and reused output buffers), the computing alone and the whole run
(``--save`` as ``sim315 run``'s), the least of ``--repeat`` alternations, and the ratio. The
Latin hypercube is built by the untimed draws before the whole run, which leaves it out.

For a machine with more cores than CI's two (a lent GPU machine's 16, say), with sim315
importable:

    python benchmarks/many_cores.py --threads 16 8 4 --runs 1000000 --json cores.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(runs: int, repeat: int, save: str) -> dict:
    """This process's figures (its thread count is ``NUMBA_NUM_THREADS``): the plan's
    breakdown (``suite.bench_run.breakdown``: kernel alone, reused buffers, computing alone
    and the whole run, alternated ``repeat`` times, the least of each)."""
    sys.path.insert(0, str(HERE))
    import numba
    from suite.bench_run import PLAN, breakdown

    return {"threads": numba.config.NUMBA_NUM_THREADS, "runs": runs} | breakdown(
        runs, PLAN, repeat, save=save
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[os.cpu_count() or 1])
    ap.add_argument("--runs", type=int, default=10**6)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--save", default="auto", help="as sim315 run's --save")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    opts = [f"--runs={a.runs}", f"--repeat={a.repeat}", f"--save={a.save}"]
    if a.child:
        print(json.dumps(measure(a.runs, a.repeat, a.save)))
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
