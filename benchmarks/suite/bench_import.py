"""Import plus cold compile of generated 500-variable Vensim models, in a fresh process
with an empty cache (translation cache and kernel cache), as a user meets it the first time:
``sim315.load_model("model.mdl")`` and one run. Target: under 5 s (issue 12).

``python -m suite.bench_import [typical|stateful]`` prints the figures once;
``python -m suite.bench_import --split [typical|stateful]`` prints where the time goes (each
stage timed in the same fresh process: imports, PySD's parse, the mapping, the checks and
lowering, the cache file, code generation, Numba).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The generated models: ``typical`` has 50 chains of 10 variables (a stock, its inflow and
#: outflow, 3 constants, 4 auxiliaries: a lookup, an IF THEN ELSE, a product, a link to the
#: next chain), 50 stocks in all, the mix of a hand-built model; ``stateful`` has 100 chains
#: of 5 (a stock, an inflow reading a lookup, an outflow through a SMOOTH, a constant, an
#: IF THEN ELSE), 200 states, a worst case for the compiler.
SHAPES = ("typical", "stateful")


def vensim_model(shape: str = "typical") -> str:
    """A generated Vensim model of 500 variables (plus the control variables)."""
    out = ["{UTF-8}"]

    def eq(name: str, text: str) -> None:
        out.append(f"{name}=\n\t{text}\n\t~\tunits\n\t~\t\t|\n")

    out.append("effect table(\n\t[(0,0)-(10,2)],(0,0.5),(5,1),(10,1.5))\n\t~\t\n\t~\t\t|\n")
    if shape == "typical":
        chains = 50
        for i in range(chains):
            nxt = (i + 1) % chains
            eq(f"Stock {i}", f"INTEG(Inflow {i} - Outflow {i}, {10 + i})")
            eq(f"Inflow {i}", f"Rate {i} * Effect {i} + 0.01 * Stock {nxt}")
            eq(f"Outflow {i}", f"Stock {i} / Residence {i} * Pressure {i}")
            eq(f"Rate {i}", f"{1 + i % 7}")
            eq(f"Residence {i}", f"{4 + i % 3}")
            eq(f"Target {i}", f"{20 + i}")
            eq(f"Effect {i}", f"effect table(Stock {i} / Target {i} * 5)")
            eq(f"Gap {i}", f"Target {i} - Stock {i}")
            eq(f"Pressure {i}", f"IF THEN ELSE(Gap {i} > 0, 1, 1.2)")
            eq(f"Share {i}", f"Stock {i} / (Stock {i} + Stock {nxt} + 1)")
    else:
        chains = 100
        for i in range(chains):
            nxt = (i + 1) % chains
            eq(f"Stock {i}", f"INTEG(Inflow {i} - Outflow {i}, {10 + i})")
            eq(f"Inflow {i}", f"Rate {i} * effect table(Time / 10) + 0.01 * Stock {nxt}")
            eq(f"Outflow {i}", f"SMOOTH(Stock {i} / Residence {i}, 2)")
            eq(f"Rate {i}", f"{1 + i % 7}")
            eq(f"Residence {i}", f"IF THEN ELSE(Time > 5, {4 + i % 3}, {5 + i % 3})")
    for name, value in (("FINAL TIME", 20), ("INITIAL TIME", 0), ("TIME STEP", 0.125)):
        eq(name, str(value))
    eq("SAVEPER", "1")
    return "\n".join(out) + "\n\\\\\\---/// Sketch information\n"


_CODE = (
    "import time, sim315\n"
    "t0 = time.perf_counter()\n"
    "m = sim315.load_model({path!r})\n"
    "t1 = time.perf_counter()\n"
    "m.warm_up()\n"
    "print(t1 - t0, time.perf_counter() - t1)\n"
)


#: The stages of ``load_model`` + ``warm_up``, each timed by wrapping the function that does it.
_SPLIT = """
import collections, sys, time
T = collections.defaultdict(float)
t00 = time.perf_counter()
import sim315
import sim315.ensembles.model as em
T["importing sim315's run path (numba, pydantic, h5py)"] = time.perf_counter() - t00
import sim315.compilation.compiler as comp
import sim315.imports as imp
import sim315.imports.loading as loading
from sim315.imports import reader

def wrap(owner, name, label):
    f = getattr(owner, name)
    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            T[label] += time.perf_counter() - t
    setattr(owner, name, timed)

t = time.perf_counter()
reader.pysd_version()
from pysd.translators.vensim.vensim_file import VensimFile
from sim315.imports import mapping
T["importing PySD's translators and the importer"] = time.perf_counter() - t
wrap(reader, "read_abstract_model", "PySD's parse (the abstract model)")
imp.read_abstract_model = reader.read_abstract_model
wrap(mapping.ModelMapping, "build", "mapping to a model file (both unit passes)")
for owner in (comp, loading):
    wrap(owner, "compile_spec", "checks and lowering (compile_spec: 2 in the import, 1 after)")
wrap(imp, "model_text", "writing the translation cache (YAML)")
wrap(em.CompiledModel, "__init__", "code generation (CompiledModel)")
t = time.perf_counter()
m = sim315.load_model({path!r})
T["load_model, all"] = time.perf_counter() - t
from numba.core import event

class Passes(event.Listener):  # exclusive time per compiler pass and per function
    def __init__(self):
        self.stack, self.by = [], collections.Counter()
    def on_start(self, ev):
        self.stack.append([ev.data["name"], time.perf_counter(), 0.0])
    def on_end(self, ev):
        name, t0, inner = self.stack.pop()
        d = time.perf_counter() - t0
        what, _, fn = name.partition(" [")
        self.by["pass " + what] += d - inner
        self.by["function " + fn.rstrip("]").split(".<")[0]] += d - inner
        if self.stack:
            self.stack[-1][2] += d

class Lock(event.Listener):  # time inside the LLVM lock: optimisation and machine code
    total = 0.0
    def on_start(self, ev):
        self.t = time.perf_counter()
    def on_end(self, ev):
        self.total += time.perf_counter() - self.t

passes, llvm = Passes(), Lock()
event.register("numba:run_pass", passes)
event.register("numba:llvm_lock", llvm)
t = time.perf_counter()
m.warm_up()
T["Numba: compiling the kernel and the first run (warm_up)"] = time.perf_counter() - t
T["the whole process"] = time.perf_counter() - t00
for k, v in T.items():
    print(f"{{v:6.2f}} s  {{k}}")
print(f"Numba, exclusive times: {{llvm.total:6.2f}} s inside the LLVM lock")
for k, v in passes.by.most_common():
    if v >= 0.05:
        print(f"{{v:6.2f}} s  {{k}}")
"""


def split(shape: str = "typical") -> str:
    """The time split of one fresh process with empty caches, as printed lines."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.mdl"
        path.write_text(vensim_model(shape), encoding="utf-8")
        env = dict(os.environ, SIM315_CACHE_DIR=str(Path(d) / "cache"))
        code = _SPLIT.format(path=str(path))
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        )
    return done.stdout


def measure(shape: str = "typical") -> tuple[float, float, float]:
    """(translate + check seconds, compile + first run seconds, whole process seconds)."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.mdl"
        path.write_text(vensim_model(shape), encoding="utf-8")
        env = dict(os.environ, SIM315_CACHE_DIR=str(Path(d) / "cache"))
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _CODE.format(path=str(path))],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        whole = time.perf_counter() - t0
    load, compile_run = (float(v) for v in done.stdout.split())
    return load, compile_run, whole


class ImportVensim:
    timeout = 300
    number = 1
    repeat = 1
    params = SHAPES
    param_names = ("model",)

    def setup(self, shape):
        self.load, self.compile, self.whole = measure(shape)

    def track_import_and_cold_compile_seconds(self, shape):
        """Translate (PySD + mapping + checks) and compile the kernel cold, run once."""
        return self.load + self.compile

    track_import_and_cold_compile_seconds.unit = "s"

    def track_import_seconds(self, shape):
        """The translation alone: PySD's parse, the mapping, the compiler's checks."""
        return self.load

    track_import_seconds.unit = "s"

    def track_process_seconds(self, shape):
        """The whole fresh process, interpreter and imports included."""
        return self.whole

    track_process_seconds.unit = "s"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--split"]:
        for shape in sys.argv[2:] or SHAPES:
            print(f"{shape}:\n{split(shape)}")
        sys.exit(0)
    for shape in sys.argv[1:] or SHAPES:
        load, comp, whole = measure(shape)
        print(
            f"{shape}: import {load:.2f} s + cold compile and first run {comp:.2f} s = "
            f"{load + comp:.2f} s; whole process {whole:.2f} s"
        )
