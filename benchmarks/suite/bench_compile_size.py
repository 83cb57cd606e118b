"""Compile time against model size (issue 15): a chain of 100, 1,000 and 3,000 auxiliaries
(``a_i = 0.999 a_(i-1) + k``, one stock fed by the last), and the flagship plan315 model, each
loaded and run once in a fresh process with an empty kernel cache. Past
``sim315.compilation.blocked.BLOCK_THRESHOLD`` equations the kernel is written in blocks,
whose compile time grows linearly (targets: 3,000 auxiliaries under 20 s, plan315 under 2 s).

    cd benchmarks && python -m suite.bench_compile_size   # prints the table
    cd benchmarks && python -m suite.bench_compile_size --access   # indexing vs pointers
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .common import ROOT

PLAN315 = ROOT / "sim315" / "models" / "plan315.yaml"
SIZES = (100, 1000, 3000)


def chain_model(n: int) -> dict:
    """A model of ``n`` chained auxiliaries: the worst case for one large function."""
    aux = {"a0": {"equation": "stock * r", "units": "firm/year"}}
    for i in range(1, n):
        aux[f"a{i}"] = {"equation": f"a{i - 1} * 0.999 + k", "units": "firm/year"}
    return {
        "name": f"chain{n}",
        "time": {"start": 0, "stop": 10, "dt": 0.25, "units": "year"},
        "parameters": {
            "k": {"value": 0.01, "units": "firm/year"},
            "r": {"value": 0.01, "units": "1/year"},
        },
        "stocks": {"stock": {"initial": 1.0, "units": "firm", "inflows": ["grow"]}},
        "flows": {"grow": {"equation": f"a{n - 1} * 0.001", "units": "firm/year"}},
        "auxiliaries": aux,
    }


def cold_seconds(path: Path) -> float:
    """A fresh process with an empty kernel cache loads ``path`` and runs it once (Euler):
    the whole process, start-up, imports and exit included."""
    return _cold(path)[0]


_IN_PROCESS = """
import time
import sim315, numba
t0 = time.perf_counter()
m = sim315.load_model({path!r})
m.simulate() if {runs} is None else m.simulate(m.parameters({runs}), threads=1)
print(time.perf_counter() - t0)
"""


def _cold(path: Path, runs: int | None = None) -> tuple[float, float]:
    """The whole process's seconds, and those from ``load_model`` to the first run's
    result inside it (``sim315`` and ``numba`` imported before: the interpreter's start-up,
    the imports, 0.2 s, and its exit are left out). ``runs``: an ensemble of that many runs
    of the default parameters on one thread instead of one run (from
    ``sim315.compilation.lanes.LANES_FROM`` runs: the block-of-runs kernel, compiled alone)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, SIM315_CACHE_DIR=cache)
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _IN_PROCESS.format(path=str(path), runs=runs)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return time.perf_counter() - t0, float(done.stdout)


#: One function of ``n`` constant-index loads and ``n`` stores, written either way the
#: generator could: Numba's indexing, or the data-pointer intrinsics of
#: ``sim315.kernels.pointers`` that block functions and the record now use.
_ACCESS = """
import sys, time
import numpy as np
from numba import njit
from sim315.kernels.pointers import data_pointer as _ptr, load as _ld, store as _st
n, form = {n}, {form!r}
lines = ["def f(A, B):"]
if form == "pointers":
    lines += ["    pA = _ptr(A)", "    pB = _ptr(B)"]
    lines += [f"    x{{i}} = _ld(pA, {{i}})" for i in range(n)]
    lines += [f"    _st(pB, {{i}}, x{{i}} * 2.0)" for i in range(n)]
else:
    lines += [f"    x{{i}} = A[{{i}}]" for i in range(n)]
    lines += [f"    B[{{i}}] = x{{i}} * 2.0" for i in range(n)]
ns = dict(_ptr=_ptr, _ld=_ld, _st=_st)
exec("\\n".join(lines + ["    return 0"]), ns)
t = time.perf_counter()
njit(ns["f"])(np.ones(n), np.zeros(n))
print(time.perf_counter() - t)
"""


#: The scalar kernel of plan315 compiled in a fresh process, with the lean pipeline as
#: generated or with Numba's own (the generated text without ``pipeline_class``): the
#: seconds of that compile alone (the model loaded and Numba's first-compile set-up done
#: before, by a trivial function's compile).
_PIPELINE = """
import sys, time
import sim315
from numba import njit
from sim315.compilation.cache import compile_entry, load_kernel_module
from sim315.ensembles.threads import entry_args
njit(lambda x: x + 1.0)(1.0)
m = sim315.load_model({path!r})
source = m.source_code("euler")
assert ", pipeline_class=_LeanPipeline)" in source  # else the two would be one
if {pipeline!r} == "numba":
    source = source.replace(", pipeline_class=_LeanPipeline)", ")")
mod, _, _ = load_kernel_module(source)
call = m.kernel_call(method="euler", seed=1)
P = m.parameters(1)
out, status = call.buffers(1)
t = time.perf_counter()
compile_entry(mod.ensemble_serial, entry_args(call.args(P, out, status, 0)))
print(time.perf_counter() - t)
"""


def pipeline_seconds(path: Path, pipeline: str) -> float:
    """Compile time of the model's scalar kernel with ``pipeline`` ('lean' or 'numba'), in a
    fresh process with an empty kernel cache."""
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run(
            [sys.executable, "-c", _PIPELINE.format(path=str(path), pipeline=pipeline)],
            env=dict(os.environ, SIM315_CACHE_DIR=cache),
            check=True,
            capture_output=True,
            text=True,
        )
    return float(done.stdout)


def access_seconds(n: int, form: str) -> float:
    """Compile time of one function of ``n`` loads and ``n`` stores (``form``: 'indexing' or
    'pointers'), in a fresh process."""
    done = subprocess.run(
        [sys.executable, "-c", _ACCESS.format(n=n, form=form)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout)


class CompileAccess:
    timeout = 300
    number = 1
    repeat = 1
    params = ((300, 600), ("indexing", "pointers"))
    param_names = ("accesses", "form")

    def track_compile_seconds(self, n, form):
        """Compile one function of n constant-index loads and n stores."""
        return access_seconds(n, form)

    track_compile_seconds.unit = "s"


class CompileSize:
    timeout = 600
    number = 1
    repeat = 1
    params = SIZES
    param_names = ("auxiliaries",)

    def setup(self, n):
        self.dir = tempfile.TemporaryDirectory()
        self.path = Path(self.dir.name) / "chain.yaml"
        self.path.write_text(yaml.safe_dump(chain_model(n), sort_keys=False))

    def teardown(self, n):
        self.dir.cleanup()

    def track_cold_seconds(self, n):
        """Load, compile and run once in a fresh process with an empty cache."""
        return cold_seconds(self.path)

    track_cold_seconds.unit = "s"


class CompilePlan315:
    timeout = 300
    number = 1
    repeat = 1

    def track_cold_seconds(self):
        """The flagship model, cold: load, compile (Euler) and run once in a fresh process."""
        return cold_seconds(PLAN315)

    track_cold_seconds.unit = "s"
    # its reference, a process importing sim315 and numba only: Compile.track_import_only

    def track_load_to_result_seconds(self):
        """The same, from ``load_model`` to the first result inside the fresh process."""
        return _cold(PLAN315)[1]

    track_load_to_result_seconds.unit = "s"

    def track_lanes_load_to_result_seconds(self):
        """The same for a first ensemble on the block-of-runs kernel (``LANES_FROM`` runs):
        what a first ``sim315 run`` of 10^4 runs or more compiles, once per model text."""
        from sim315.compilation.lanes import LANES_FROM

        return _cold(PLAN315, LANES_FROM)[1]

    track_lanes_load_to_result_seconds.unit = "s"

    def track_ratio_lean_to_numba_pipeline(self):
        """The scalar kernel's compile with sim315's lean pipeline (``kernels/pipeline.py``)
        over the same source's with Numba's own, each in a fresh process, three of each
        alternated, the least of each."""
        lean, numba = [], []
        for _ in range(3):
            lean.append(pipeline_seconds(PLAN315, "lean"))
            numba.append(pipeline_seconds(PLAN315, "numba"))
        return min(lean) / min(numba)

    track_ratio_lean_to_numba_pipeline.unit = "ratio"


if __name__ == "__main__":
    if sys.argv[1:] == ["--access"]:
        for n in (300, 600):
            a, b = access_seconds(n, "indexing"), access_seconds(n, "pointers")
            print(f"{n} loads + {n} stores: indexing {a:5.2f} s, pointers {b:5.2f} s")
        sys.exit()
    for _ in range(3):
        whole, inside = _cold(PLAN315)
        print(f"plan315 cold: process {whole:5.2f} s, load_model to result {inside:5.2f} s")
    for _ in range(3):
        lean, numba = pipeline_seconds(PLAN315, "lean"), pipeline_seconds(PLAN315, "numba")
        print(
            f"plan315 scalar kernel's compile: lean {lean:5.2f} s, Numba's pipeline {numba:5.2f} s"
        )
    from sim315.compilation.lanes import LANES_FROM

    inside = _cold(PLAN315, LANES_FROM)[1]
    print(
        f"plan315 cold, {LANES_FROM:,} runs (block-of-runs kernel): load_model to result "
        f"{inside:5.2f} s"
    )
    with tempfile.TemporaryDirectory() as d:
        for n in SIZES:
            path = Path(d) / f"chain{n}.yaml"
            path.write_text(yaml.safe_dump(chain_model(n), sort_keys=False))
            print(f"chain of {n:>5,d} auxiliaries   cold {cold_seconds(path):6.1f} s", flush=True)
    print(f"plan315                      cold {cold_seconds(PLAN315):6.1f} s")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sim315, numba"], check=True)
    print(f"import sim315, numba only         {time.perf_counter() - t0:6.1f} s")
