"""The block-of-runs kernel (``sim315.compilation.lanes``): its driver, its numbers against
the scalar kernel's (bit for bit without exp/log/power, within their stated error with
them), its independence of threads and chunking, when it is chosen, and that LLVM
vectorises it."""

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import MODELS, compile_spec
from numba import njit
from sim315.kernels import lanes_driver
from test_driver import _expected, _function_source, _inputs

import sim315
from sim315.compilation.lanes import LANES_FROM, lane_source
from sim315.ensembles.kernelcall import values
from sim315.ensembles.threads import entry_args

KERNELS = MODELS.parents[1] / "kernels"

#: Exponential growth with a logistic brake, a log, powers, a lookup, a STEP, a smooth, a
#: random draw and a conditional: every kind of statement the lanes write.
CURVES = {
    "name": "curves",
    "time": {"start": 0, "stop": 12, "dt": 0.25, "units": "year"},
    "parameters": {
        "r": {"value": 0.3, "units": "1/year"},
        "k": {"value": 1.0, "units": "1/year"},
        "cap": {"value": 50.0, "units": "1"},
        "e": {"value": 0.7, "units": "1"},
        "t_step": {"value": 4.0, "units": "year"},
    },
    "stocks": {
        "x": {"initial": 1.0, "units": "1", "inflows": ["grow"]},
        "y": {"initial": 2.0, "units": "1", "inflows": ["push"], "non_negative": True},
    },
    "flows": {
        "grow": {"equation": "r * x * exp(-x / cap) * eff", "units": "1/year"},
        "push": {
            "equation": "k * (log(1 + x) * (y / cap) ** e - y * 0.1 + step(0.5, t_step)"
            " + if_then_else(x > cap / 2, 0.1, 0) + noise + sq)",
            "units": "1/year",
        },
    },
    "auxiliaries": {
        "eff": {"equation": "lookup(effect, smooth(x, t_step) / cap)", "units": "1"},
        "noise": {"equation": "random_normal(0, 0.01)", "units": "1"},
        "sq": {"equation": "x ** 2 / cap ** 2", "units": "1"},
    },
    "lookups": {"effect": {"x": [0, 0.5, 1, 2], "y": [1.0, 0.9, 0.6, 0.2]}},
}


def _spread(model, runs: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return model.parameters(runs) * rng.uniform(0.8, 1.2, size=(runs, len(model.defaults)))


def _both(model, P, method="euler", seed=5, run0=0, call=None):
    """(scalar, lanes) results of the rows P from the same module."""
    mod = model.kernel_module(method)
    call = call or model.kernel_call(method=method, seed=seed)
    got = []
    for lanes in (False, True):  # each kernel with its layout of out
        c = dataclasses.replace(call, lanes=lanes)
        out, status = c.buffers(P.shape[0])
        getattr(mod, c.entry_points[1])(*entry_args(c.args(P, out, status, run0)))
        got.append((values(out), status))
    return got


@pytest.mark.parametrize("name", lanes_driver.ENTRY_POINTS[:2])
@pytest.mark.parametrize("jitted", [True, False])
@pytest.mark.parametrize("by_column", [True, False])
def test_entry_points_run_blocks_with_the_placeholder(name, jitted, by_column):
    """Blocks of 4 runs by absolute run number (run0 = 40, 11 runs: blocks of 4, 4, 3),
    into an output by column (with room past the runs) or by rows of runs."""
    P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0 = _inputs()
    shape = (int(n_steps // stride) + 1, sel.shape[0])
    if by_column:
        out = np.full((*shape, P.shape[0] + 8), np.nan)[:, :, : P.shape[0]]
    else:
        out = np.full((P.shape[0], *shape), np.nan)
    status = np.full(P.shape[0], -1, dtype=np.int32)
    fn = getattr(lanes_driver, name)
    fn = fn if jitted else fn.py_func
    for a, b in ((0, 3), (3, 4), (4, 11)):  # chunks that cut blocks
        o = out[:, :, a:b] if by_column else out[a:b]
        args = (P[a:b], lx, ly, lo, t0, dt, n_steps, stride, sel, o, status[a:b], key, run0 + a)
        fn(*(entry_args(args, 2) if name.endswith("_serial") else args))  # 2 claims, one caller
    want_out, want_status = _expected(P, lx, ly, lo, t0, dt, n_steps, stride, sel, key, run0)
    np.testing.assert_array_equal(values(out), want_out)
    np.testing.assert_array_equal(status, want_status)


def test_generated_modules_hold_the_lanes_driver_as_written(ladder):
    source = ladder.source_code("rk4")
    for name in lanes_driver.ENTRY_POINTS:
        assert _function_source(KERNELS / "lanes_driver.py", name) in source
    assert source.count("def _run_lanes(") == 1


@pytest.mark.parametrize(
    ("name", "method"),
    [("ladder", "euler"), ("sir", "rk4"), ("teacup", "rk2")],
)
def test_lanes_equal_the_scalar_kernel_bit_for_bit(name, method):
    """No exp, log or power: each lane computes what the scalar kernel computes."""
    model = sim315.load_model(MODELS / name / "model.yaml")
    P = _spread(model, 37)
    (a, sa), (b, sb) = _both(model, P, method, run0=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)


@pytest.mark.parametrize("method", ["euler", "rk2"])
def test_lanes_equal_the_scalar_kernel_within_the_math_error(method):
    """exp, log and ** differ from the C library by an ulp or a few: so do the results."""
    model = compile_spec(CURVES)
    P = _spread(model, 45)
    (a, sa), (b, sb) = _both(model, P, method, run0=3)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-300)
    assert not np.array_equal(a, b)  # the fast math is in use


def test_tables_of_another_length_keep_the_scalar_kernel(ladder):
    """The lanes look tables up by selects over the model's number of points: a table of
    another length (``lookups=``) runs on the scalar kernel, and the lanes refuse it."""
    P = _spread(ladder, 5)
    same = {"knowledge_effect_table": ([0, 0.4, 1, 1.6, 2, 3.5], [0.5, 0.7, 1, 1.2, 1.4, 1.6])}
    call = ladder.kernel_call(lookups=same, runs=LANES_FROM)
    assert call.lanes
    (a, _), (b, _) = _both(ladder, P, call=call)
    np.testing.assert_array_equal(a, b)
    other = {"knowledge_effect_table": ([0.0, 1.0, 3.0], [0.5, 1.0, 1.5])}
    call = ladder.kernel_call(lookups=other, runs=LANES_FROM)
    assert not call.lanes
    with pytest.raises(ValueError, match="must have 6 points"):
        _both(ladder, P, call=call)


def test_a_lane_that_blows_up_stops_as_the_scalar_run_does():
    model = compile_spec(CURVES)
    P = _spread(model, 21)
    P[[2, 17], model.parameter_index("cap")] = 0.0  # x / cap: NaN from the first step
    P[9, model.parameter_index("r")] = 1e300  # overflows later
    (a, sa), (b, sb) = _both(model, P)
    np.testing.assert_array_equal(sa, sb)
    assert sorted(np.flatnonzero(sb)) == [2, 9, 17]
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))


@pytest.mark.parametrize(
    ("outputs", "every"), [(None, None), (["x"], 1.0)], ids=["all-every-step", "one-sparse"]
)
def test_saved_outputs_are_the_scalar_kernels(outputs, every):
    """Every output at every step, or one output every fourth step, written a (time,
    output) column at a time (``save_outputs`` in compilation/lanesaves.py): the scalar kernel's
    outputs and statuses, lanes that blow up included."""
    model = compile_spec(CURVES)
    P = _spread(model, 45)
    P[[2, 17], model.parameter_index("cap")] = 0.0
    P[9, model.parameter_index("r")] = 1e300
    call = model.kernel_call(outputs=outputs, save_every=every, seed=5)
    (a, sa), (b, sb) = _both(model, P, call=call)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-300)  # exp/log/**: the fast math
    ladder = sim315.load_model(MODELS / "ladder" / "model.yaml")  # no exp/log: bit for bit
    call = ladder.kernel_call(outputs=outputs and ["hightech"], seed=5)
    (a, sa), (b, sb) = _both(ladder, _spread(ladder, 37), call=call)
    np.testing.assert_array_equal(a, b)


def test_a_block_whose_lanes_all_blow_up_stops():
    model = compile_spec(CURVES)
    P = _spread(model, 5)
    P[:, model.parameter_index("cap")] = 0.0
    (a, sa), (b, sb) = _both(model, P)
    assert sb.tolist() == sa.tolist() == [1] * 5
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))


def test_a_runs_plan_picks_the_kernel_of_all_its_chunks(tmp_path):
    from sim315.ensembles.executors import plan_call
    from sim315.ensembles.runner import plan_run

    model = Path(__file__).resolve().parent / "models" / "ladder" / "model.yaml"
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"model: {model}\nseed: 1\n")  # no levers: lanes allowed
    assert plan_call(plan_run(scenario, runs=LANES_FROM)).lanes
    assert not plan_call(plan_run(scenario, runs=LANES_FROM - 1)).lanes


def test_lanes_do_not_depend_on_threads_or_chunking():
    model = compile_spec(CURVES)
    runs = LANES_FROM + 77
    P = _spread(model, runs)
    call = model.kernel_call(seed=9, runs=runs)
    assert call.lanes
    whole = model.run_call(call, P, threads=1).values
    parts = [model.run_call(call, P[a : a + 29], run_offset=a) for a in range(0, runs, 29)]
    np.testing.assert_array_equal(whole, np.concatenate([p.values for p in parts]))
    np.testing.assert_array_equal(whole, model.run_call(call, P, threads=2).values)
    np.testing.assert_array_equal(whole, model.simulate(P, seed=9).values)


def test_the_kernel_is_chosen_by_ensemble_size(ladder, monkeypatch):
    assert ladder.kernel_call(runs=LANES_FROM).lanes
    assert not ladder.kernel_call(runs=LANES_FROM - 1).lanes
    assert not ladder.kernel_call().lanes
    lever = ladder.with_levers({"entry_rate": ("hold", ([0.0, 5.0], [0.08, 0.1]))})
    assert not lever.kernel_call(runs=10**6).lanes  # levers: the scalar kernel
    monkeypatch.setenv("SIM315_LANES", "0")
    assert not ladder.kernel_call(runs=10**6).lanes


def test_delay_fixed_keeps_the_scalar_kernel():
    spec = {
        "name": "fixed",
        "time": {"start": 0, "stop": 4, "dt": 0.5, "units": "year"},
        "stocks": {"x": {"initial": 1.0, "units": "u", "inflows": ["f"]}},
        "parameters": {"tau": {"value": 1.0, "units": "year"}},
        "flows": {"f": {"equation": "delay_fixed(x, tau, 0) / tau", "units": "u/year"}},
    }
    model = compile_spec(spec)
    assert lane_source(model.ir) == ""
    assert not model.kernel_call(runs=10**6).lanes


def test_llvm_vectorises_the_lanes(ladder):
    """The step's arithmetic compiles to packed instructions (4 or 8 float64 per op)."""
    mod = ladder.kernel_module("euler")
    fresh = njit(error_model="numpy")(mod._run_lanes.py_func)  # not cached: inspectable
    call = ladder.kernel_call(runs=LANES_FROM)
    P = ladder.parameters(3)
    out, status = call.buffers(3)
    fresh(*call.args(P, out, status, 0), np.int64(0), np.int64(3), np.int64(mod.LANES))
    asm = fresh.inspect_asm(fresh.signatures[0])
    packed = re.findall(r"\bv(?:mul|div|add|sub)pd\s+[^\n]*%[yz]mm", asm)
    assert len(packed) >= 20, len(packed)
