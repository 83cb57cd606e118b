"""Large models' kernels are written in blocks (sim315/compilation/blocked.py) so that their
compile time grows linearly; the numbers must be the scalar kernel's, bit for bit."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import MODELS, write_model
from sim315.kernels.tableaus import METHODS
from test_builtins import _spec

import sim315
from sim315.cli import main
from sim315.compilation import blocked

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from suite.bench_compile_size import chain_model  # noqa: E402  (the benchmark's model)


def _both(path, monkeypatch):
    scalar = sim315.load_model(path)
    monkeypatch.setattr(blocked, "BLOCK_THRESHOLD", 0)
    blocks = sim315.load_model(path)
    for method in METHODS:  # sources are written on first use: while the patch holds
        blocks.source_code(method)
    monkeypatch.undo()
    assert "def _b0(" in blocks.source_code() and "def _b0(" not in scalar.source_code()
    return scalar, blocks


def _spread(model, runs=40):
    rng = np.random.default_rng(5)
    return model.parameters(runs) * rng.uniform(0.8, 1.2, size=(runs, len(model.parameter_names)))


@pytest.mark.parametrize("method", ["euler", "rk4"])
@pytest.mark.parametrize(
    "path",
    [
        MODELS / "ladder" / "model.yaml",
        MODELS / "sir" / "model.yaml",
        MODELS / "teacup" / "model.yaml",
        ROOT / "sim315" / "models" / "plan315.yaml",
    ],
    ids=["ladder", "sir", "teacup", "plan315"],
)
def test_blocks_give_the_scalar_kernels_numbers(path, method, monkeypatch):
    scalar, blocks = _both(path, monkeypatch)
    P = _spread(scalar)
    a = scalar.simulate(P, method=method, seed=11)
    b = blocks.simulate(P, method=method, seed=11)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.status, b.status)


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_blocks_keep_every_builtins_semantics(tmp_path, method, monkeypatch):
    """Delays (DELAY FIXED's buffer included), smooths, STEP, PULSE, RAMP and lookups."""
    spec = _spec(0.25, stop=12.0, t_step=4.5)
    spec["auxiliaries"]["noisy"] = {
        "equation": "random_normal(0, 1) * height",
        "units": "unit",
    }
    scalar, blocks = _both(write_model(tmp_path, spec), monkeypatch)
    P = _spread(scalar, 12)
    a = scalar.simulate(P, method=method, seed=4)
    b = blocks.simulate(P, method=method, seed=4)
    np.testing.assert_array_equal(a.values, b.values)


def test_a_run_that_blows_up_stops_the_same_way(tmp_path, monkeypatch):
    spec = {
        "name": "boom",
        "time": {"start": 0, "stop": 10, "dt": 0.5, "units": "year"},
        "parameters": {
            "r": {"value": 300.0, "units": "1/unit"},
            "g": {"value": 1.0, "units": "1/year"},
        },
        "stocks": {"x": {"initial": 1.0, "units": "unit", "inflows": ["grow"]}},
        "flows": {"grow": {"equation": "x * exp(r * x) * g", "units": "unit/year"}},
    }
    scalar, blocks = _both(write_model(tmp_path, spec), monkeypatch)
    a, b = scalar.simulate(), blocks.simulate()
    assert a.status[0] != 0
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.status, b.status)


def test_a_large_model_is_written_in_blocks_of_bounded_size(tmp_path):
    n = blocked.BLOCK_THRESHOLD + 20
    model = sim315.load_model(write_model(tmp_path, chain_model(n)))
    src = model.source_code()
    assert blocked.uses_blocks(model.ir)
    bodies = src.split("\ndef _b")[1:]
    assert len(bodies) >= 2 * (n // blocked.BLOCK_SIZE)  # the initialisation and each step
    for body in bodies:
        equations = [ln for ln in body.split("\ndef ")[0].splitlines() if " = (" in ln]
        assert len(equations) <= blocked.BLOCK_SIZE
    # the closed form of the chain at the first saved time: a_i = k*(1 - q^i)/(1 - q) + q^i a0
    res = model.simulate(outputs=[f"a{n - 1}"])
    q, k, a0 = 0.999, 0.01, 0.01
    expected = k * (1 - q ** (n - 1)) / (1 - q) + q ** (n - 1) * a0
    assert res.values[0, 0, 0] == pytest.approx(expected, rel=1e-12)


def test_block_functions_are_bounded_in_source_lines_too():
    """An array's statement (a loop, a VECTOR SELECT's branches) spans many lines: a block
    function takes them until BLOCK_LINES, not BLOCK_SIZE of them, in order; a statement
    longer than that is a block alone."""
    long = ("", "\n".join(["for i in range(3):", "    V[i] = 1.0"] * 30), "V[0]")  # 60 lines
    short = ("v_1", "(x + 1.0)", "V[1]")
    lines = [short] * 150 + [long] * 20 + [short] * 3 + [("", "x\n" * 500, "V[2]"), short]
    chunks = blocked.split_lines(lines)
    assert [ln for c in chunks for ln in c] == lines
    for c in chunks:
        spans = [1 if t else e.count("\n") + 1 for t, e, _s in c]
        assert len(c) <= blocked.BLOCK_SIZE
        assert sum(spans) <= blocked.BLOCK_LINES or len(c) == 1
    assert len(chunks[0]) == blocked.BLOCK_SIZE  # one-line equations: by count
    fit = (blocked.BLOCK_LINES - 50) // 60  # statements: by their lines
    assert chunks[1] == [short] * 50 + [long] * fit
    assert chunks[2] == [long] * (blocked.BLOCK_LINES // 60)
    assert [len(c) for c in chunks[-2:]] == [1, 1]  # the 501-line statement alone


def test_a_time_tabled_lever_in_blocks(tmp_path, monkeypatch):
    scenario = tmp_path / "s.yaml"
    data = {
        "model": str(MODELS / "ladder" / "model.yaml"),
        "runs": 6,
        "seed": 3,
        "method": "rk4",
        "overrides": {"support_boost": {"table": {0: 0.0, 5.3: 0.25, 10: 0.5}}},
        "uncertain": {"entry_rate": {"dist": "uniform", "low": 0.06, "high": 0.1}},
    }
    scenario.write_text(yaml.safe_dump(data))
    results = []
    for threshold in (blocked.BLOCK_THRESHOLD, 0):
        monkeypatch.setattr(blocked, "BLOCK_THRESHOLD", threshold)
        out = tmp_path / f"r{threshold}.h5"
        res = CliRunner().invoke(main, ["run", str(scenario), "-q", "-o", str(out)])
        assert res.exit_code == 0, res.output
        with h5py.File(out) as h5:
            results.append({k: h5[k][()] for k in json_outputs(h5)})
    for name in results[0]:
        np.testing.assert_array_equal(results[0][name], results[1][name], err_msg=name)


def json_outputs(h5):
    return json.loads(h5.attrs["outputs"])


def test_blocks_on_the_cuda_path_under_the_simulator(tmp_path):
    code = textwrap.dedent(
        f"""
        import numpy as np, sim315
        from sim315.compilation import blocked
        blocked.BLOCK_THRESHOLD = 0
        m = sim315.load_model({str(MODELS / "ladder" / "model.yaml")!r})
        assert "def _b0(" in m.source_code("rk4", "cuda")
        P = m.parameters(3)
        a = m.simulate(P, method="rk4", target="cpu")
        b = m.simulate(P, method="rk4", target="cuda")
        assert np.array_equal(a.values, b.values), np.max(np.abs(a.values - b.values))
        print("ok")
        """
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
