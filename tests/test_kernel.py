"""The ensemble kernel's contract: shapes, statuses, constraints, caching, overrides."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import compile_spec

import sim315
from sim315.core.errors import Sim315Error

GROWTH = {
    "name": "growth",
    "time": {"start": 0, "stop": 10, "dt": 0.5, "units": "year"},
    "parameters": {"k": {"value": 0.1, "units": "1/year"}, "d": {"value": 1.0, "units": "1"}},
    "stocks": {
        "x": {"initial": 1.0, "units": "u", "inflows": ["g"]},
        "floor": {"initial": 1.0, "units": "u", "outflows": ["drain"], "non_negative": True},
    },
    "flows": {
        "g": {"equation": "k * x / d", "units": "u/year"},
        "drain": {"equation": "1", "units": "u/year"},
    },
}


def test_shapes_and_names(ladder):
    P = ladder.parameters(runs=7)
    res = ladder.simulate(P, outputs=["smes", "leaders"])
    assert res.values.shape == (7, ladder.grid.n_saved, 2)
    assert res.names == ("smes", "leaders")
    assert res.time[0] == 0.0
    assert res.time[-1] == 20.0
    assert res.status.tolist() == [0] * 7


def test_nonfinite_run_stops_with_status_and_others_go_on():
    model = compile_spec(GROWTH)
    P = model.parameters(runs=3)
    P[1, model.parameter_index("d")] = 0.0  # k*x/0 -> inf
    res = model.simulate(P)
    assert res.status.tolist() == [0, 1, 0]
    assert np.all(np.isnan(res["x"][1][1:]))
    assert np.all(np.isfinite(res["x"][0]))
    np.testing.assert_array_equal(res["x"][0], res["x"][2])
    assert res.n_failed == 1
    assert "NaN" in model.status_message(1)


def test_non_negative_stock_is_floored_at_zero():
    res = compile_spec(GROWTH).simulate()
    assert res["floor"][0].min() == 0.0
    assert res["floor"][0][2] == 0.0  # 1 - 0.5 - 0.5


def test_parameter_overrides_and_initial_values_are_kernel_inputs():
    model = compile_spec(GROWTH)
    assert model.parameter_names == ("k", "d", "x.init", "floor.init")
    P = model.parameters(runs=2, **{"x.init": 3.0})
    res = model.simulate(P, outputs=["x"])
    assert res["x"][0][0] == 3.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "rk5"}, "unknown method 'rk5'; did you mean 'rk4'"),
        ({"outputs": ["xx"]}, "unknown output 'xx'"),
        ({"dt": 0.3}, "does not divide the horizon"),
        ({"save_every": 0.75}, "not a whole multiple of dt"),
        ({"threads": 0}, "threads must be"),
        ({"lookups": {"nope": ([0], [1])}}, "unknown table 'nope'"),
    ],
)
def test_bad_simulate_arguments(kwargs, message):
    model = compile_spec(GROWTH)
    with pytest.raises(Sim315Error, match=message):
        model.simulate(**kwargs)


def test_wrong_parameter_matrix_shape():
    model = compile_spec(GROWTH)
    with pytest.raises(Sim315Error, match=r"expected shape \(runs, 4\)"):
        model.simulate(np.zeros((2, 3)))


def test_unknown_parameter_name_suggests():
    model = compile_spec(GROWTH)
    with pytest.raises(Sim315Error, match="did you mean 'k'"):
        model.parameter_index("kk")


def test_second_process_loads_the_kernel_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM315_CACHE_DIR", str(tmp_path / "cache"))
    code = (
        "import sim315\n"
        "m = sim315.load_model('tests/models/teacup/model.yaml')\n"
        "m.warm_up()\n"
        "print(sum(m.kernel_module().ensemble_serial.stats.cache_hits.values()),"
        " sum(m.kernel_module().ensemble_serial.stats.cache_misses.values()))\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout.split() == ["0", "1"]  # cold: compiled
    assert runs[1].stdout.split() == ["1", "0"]  # warm: loaded, no compile


def test_parameter_values_do_not_change_the_kernel(tmp_path):
    a = compile_spec(GROWTH)
    changed = {
        **GROWTH,
        "parameters": {**GROWTH["parameters"], "k": {"value": 0.7, "units": "1/year"}},
    }
    b = compile_spec(changed)
    assert a.hash == b.hash
    assert a.hash_of("rk2") == b.hash_of("rk2")
    structural = {
        **GROWTH,
        "flows": {**GROWTH["flows"], "g": {"equation": "k * x * d", "units": "u/year"}},
    }
    assert compile_spec(structural).hash != a.hash
    for method in ("euler", "rk4"):
        assert compile_spec(structural).hash_of(method) != a.hash_of(method)


def test_import_has_no_side_effects():
    code = "import sys, sim315; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_public_api():
    assert callable(sim315.load_model)
    with pytest.raises(AttributeError):
        _ = sim315.nothing_here


def test_nested_if_then_else_generates_linear_code(tmp_path):
    # each level's condition used to be emitted twice: 2**depth code, minutes of compiling
    from conftest import write_model

    from sim315.compilation.codegen import generate_source
    from sim315.imports.loading import compile_file

    eq = "r"
    for _ in range(14):  # the old code: 2**14 copies, several hundred kB
        eq = f"if_then_else({eq} > r, r, 2 * r)"
    spec = {
        "name": "nested",
        "time": {"start": 0, "stop": 1, "dt": 0.5},
        "parameters": {"r": {"value": 1.0, "units": "u/year"}},
        "stocks": {"x": {"initial": 1.0, "units": "u", "inflows": ["f"]}},
        "flows": {"f": {"equation": eq, "units": "u/year"}},
    }
    source = generate_source(compile_file(write_model(tmp_path, spec)))
    assert len(source) < 30_000
