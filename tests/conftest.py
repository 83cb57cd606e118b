"""Shared test helpers.

Kernels compile into a cache folder private to the test session (unless SIM315_CACHE_DIR is
already set), so tests never depend on, or litter, the user's cache. The session's first
process makes it (under pytest-xdist, ``-n auto`` in pyproject's addopts, the controller,
whose workers inherit its environment) and removes it when the session ends. The workers
share it, as the tests of one process did: each kernel compiles once per session, and the
cache's writes are atomic (``sim315.compilation.cache``), so workers can fill it side by side.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

if "SIM315_CACHE_DIR" not in os.environ:  # made here: removed at the session's end, here
    os.environ["SIM315_CACHE_DIR"] = tempfile.mkdtemp(prefix="sim315-test-cache-")
    os.environ["SIM315_TEST_CACHE_MADE_BY"] = str(os.getpid())

import sim315

MODELS = Path(__file__).parent / "models"


def write_model(folder: Path, spec: dict, name: str = "model.yaml") -> Path:
    """Write a model dict as YAML and return its path."""
    path = folder / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


_compiled: dict[str, "sim315.CompiledModel"] = {}


def compile_spec(spec: dict) -> "sim315.CompiledModel":
    """Compile a model dict once per test session (keyed by its YAML text)."""
    text = yaml.safe_dump(spec, sort_keys=True)
    if text not in _compiled:
        folder = Path(tempfile.mkdtemp(prefix="sim315-model-"))
        _compiled[text] = sim315.load_model(write_model(folder, spec))
    return _compiled[text]


def blocked_chain() -> dict:
    """A model the generator writes in blocks: a chain of auxiliaries past the block
    threshold (the last feeding a stock's inflow)."""
    from sim315.compilation.blocked import BLOCK_THRESHOLD

    n = BLOCK_THRESHOLD + 20
    aux = {f"a{i}": {"equation": f"a{i - 1} * 1.0001", "units": "1"} for i in range(1, n)}
    return {
        "name": "chain",
        "time": {"start": 0, "stop": 3, "dt": 0.5, "units": "year"},
        "parameters": {"g": {"value": 0.1, "units": "1/year"}},
        "stocks": {"s": {"initial": 1.0, "units": "1", "inflows": ["f"]}},
        "flows": {"f": {"equation": f"g * s * a{n - 1}", "units": "1/year"}},
        "auxiliaries": {"a0": {"equation": "s", "units": "1"}, **aux},
    }


def datasets(path: Path) -> dict:
    """Every per-run dataset of a result file (outputs, parameters, statuses), as arrays."""
    import json

    import h5py

    from sim315.results.layout import parameter_matrix

    with h5py.File(path) as h5:
        names = [*json.loads(h5.attrs["outputs"]), "run_status"]
        return {**{n: h5[n][:] for n in names}, "parameter_values": parameter_matrix(h5)}


@pytest.fixture(scope="session")
def ladder():
    """The ladder reference model, compiled once."""
    return sim315.load_model(MODELS / "ladder" / "model.yaml")


def _small_run(factory, name: str, runs: int = 40) -> Path:
    """A small run of a packaged scenario (seed 7), written once per test session."""
    from sim315.ensembles.runner import execute, plan_run

    out = factory.mktemp("results") / f"{name}.h5"
    execute(plan_run(name, runs=runs, seed=7), out, progress=False)
    return out


@pytest.fixture(scope="session")
def plan_h5(tmp_path_factory) -> Path:
    """results of the packaged plan scenario, 40 runs, seed 7."""
    return _small_run(tmp_path_factory, "plan")


@pytest.fixture(scope="session")
def baseline_h5(tmp_path_factory) -> Path:
    """results of the packaged baseline scenario, 40 runs, seed 7."""
    return _small_run(tmp_path_factory, "baseline")


def cpu_and_cuda_simulator(path: Path, outputs: list[str], runs: int, method: str = "euler"):
    """The model at ``path`` run on the CPU and on Numba's CUDA simulator, in a fresh
    process (the simulator is chosen when numba is imported): both results' values."""
    import subprocess
    import sys
    import textwrap

    import numpy as np

    code = textwrap.dedent(f"""
        import numpy as np, sim315
        m = sim315.load_model({str(path)!r})
        P = m.parameters({runs})
        a = m.simulate(P, outputs={outputs!r}, method={method!r})
        b = m.simulate(P, outputs={outputs!r}, method={method!r}, target="cuda")
        np.save({str(path) + ".cpu.npy"!r}, a.values)
        np.save({str(path) + ".cuda.npy"!r}, b.values)
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return np.load(str(path) + ".cpu.npy"), np.load(str(path) + ".cuda.npy")


@pytest.hookimpl(trylast=True)  # after xdist's controller has stopped its workers
def pytest_sessionfinish(session):
    """The session's kernel cache removed by the process that made it (48 MB a session)."""
    if os.environ.get("SIM315_TEST_CACHE_MADE_BY") == str(os.getpid()):  # not a worker
        shutil.rmtree(os.environ["SIM315_CACHE_DIR"], ignore_errors=True)
