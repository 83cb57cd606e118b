"""Builtins against closed forms: SMOOTH/SMOOTH3/DELAY1/DELAY3 step responses, DELAY FIXED
as an exact shift, lookup interpolation and clamping, STEP/PULSE/RAMP on the dt grid.

Under Euler every linear builtin has an exact discrete solution, so those comparisons are
tight (rtol 1e-12). The continuous closed forms are checked at small dt with a tolerance of
the order of Euler's error, dt/tau.
"""

import numpy as np
import pytest
from conftest import compile_spec
from scipy.stats import binom


def _spec(dt: float, stop: float = 20.0, t_step: float = 2.0) -> dict:
    aux = {
        "input": ("step(height, t_step)", "unit"),
        "s1": ("smooth(input, tau)", "unit"),
        "s3": ("smooth3(input, tau)", "unit"),
        "d1": ("delay1(input, tau)", "unit"),
        "d3": ("delay3(input, tau)", "unit"),
        "sq": ("time * time / one_year2", "unit"),
        "dfix": ("delay_fixed(sq, tau, -1)", "unit"),
        "pul": ("pulse(3, 2)", "1"),
        "rmp": ("ramp(rate, 2, 6)", "unit"),
        "lk": ("lookup(tab, time)", "unit"),
    }
    return {
        "name": "builtins",
        "time": {"start": 0, "stop": stop, "dt": dt, "units": "year"},
        "parameters": {
            "height": {"value": 1.0, "units": "unit"},
            "t_step": {"value": t_step, "units": "year"},
            "tau": {"value": 4.0, "units": "year"},
            "rate": {"value": 0.5, "units": "unit/year"},
            "one_year2": {"value": 1.0, "units": "year^2/unit"},
        },
        "stocks": {},
        "auxiliaries": {k: {"equation": e, "units": u} for k, (e, u) in aux.items()},
        "lookups": {"tab": {"x": [2, 4, 8], "y": [1, 3, 2], "x_units": "year", "y_units": "unit"}},
    }


@pytest.fixture(scope="module")
def euler():
    model = compile_spec(_spec(0.25))
    return model.simulate(method="euler")


def _after_step(res, t_step=2.0, dt=0.25):
    n = np.round((res.time - t_step) / dt).astype(int)
    return np.maximum(n, 0)


def test_smooth_and_delay1_step_response_is_euler_exact(euler):
    n = _after_step(euler)
    expected = 1.0 - (1.0 - 0.25 / 4.0) ** n
    np.testing.assert_allclose(euler["s1"][0], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(euler["d1"][0], expected, rtol=1e-12, atol=1e-15)


def test_smooth3_and_delay3_step_response_is_euler_exact(euler):
    # a cascade of three first-order stages, each with Euler gain a = dt/(tau/3): the step
    # response after n steps is P(Binomial(n, a) >= 3)
    n = _after_step(euler)
    a = 0.25 / (4.0 / 3.0)
    expected = binom.sf(2, n, a)
    np.testing.assert_allclose(euler["s3"][0], expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(euler["d3"][0], expected, rtol=1e-12, atol=1e-15)


def test_step_responses_approach_continuous_closed_forms():
    model = compile_spec(_spec(1 / 256))
    res = model.simulate(method="euler", save_every=0.25)
    s = np.maximum(res.time - 2.0, 0.0) / 4.0
    first = 1.0 - np.exp(-s)
    erlang3 = 1.0 - np.exp(-3 * s) * (1 + 3 * s + (3 * s) ** 2 / 2)  # Erlang-3 CDF
    tol = 2 * (1 / 256) / (4.0 / 3.0)  # Euler's error is O(dt/tau)
    for name, exact in (("s1", first), ("d1", first), ("s3", erlang3), ("d3", erlang3)):
        assert np.max(np.abs(res[name][0] - exact)) < tol, name


def test_delay_fixed_is_an_exact_shift(euler):
    sq = euler["sq"][0]
    out = euler["dfix"][0]
    shift = round(4.0 / 0.25)
    np.testing.assert_array_equal(out[shift:], sq[:-shift])
    np.testing.assert_array_equal(out[:shift], -1.0)


def test_delay_fixed_rounds_the_delay_to_whole_steps():
    spec = _spec(1.0, stop=10.0)
    model = compile_spec(spec)
    for tau, steps in ((0.4, 1), (1.2, 1), (1.5, 2), (3.7, 4)):
        res = model.simulate(model.parameters(tau=tau), outputs=["sq", "dfix"])
        sq, out = res["sq"][0], res["dfix"][0]
        np.testing.assert_array_equal(out[steps:], sq[:-steps], err_msg=f"tau={tau}")
        np.testing.assert_array_equal(out[:steps], -1.0)


def test_lookup_interpolates_and_holds_its_ends(euler):
    expected = np.interp(euler.time, [2, 4, 8], [1, 3, 2])
    np.testing.assert_allclose(euler["lk"][0], expected, rtol=1e-15)
    assert euler["lk"][0][0] == 1.0
    assert euler["lk"][0][-1] == 2.0


def test_lookup_points_can_be_replaced_without_recompiling(euler):
    model = compile_spec(_spec(0.25))
    res = model.simulate(lookups={"tab": ([0, 20], [0, 40])}, outputs=["lk"])
    np.testing.assert_allclose(res["lk"][0], 2 * res.time, rtol=1e-15)


def test_step_pulse_ramp_on_the_dt_grid(euler):
    t = euler.time
    np.testing.assert_array_equal(euler["input"][0], np.where(t >= 2.0, 1.0, 0.0))
    np.testing.assert_array_equal(euler["pul"][0], np.where((t >= 3.0) & (t < 5.0), 1.0, 0.0))
    np.testing.assert_allclose(euler["rmp"][0], 0.5 * (np.clip(t, 2, 6) - 2), rtol=1e-15)


@pytest.mark.parametrize("m", range(1, 30))
def test_step_fires_on_its_grid_point_with_a_decimal_dt(m):
    # 0.1 is not exact in binary: t = k*0.1 may land just below m*0.1; the step must still
    # fire at k = m, never one step late
    model = compile_spec(_spec(0.1, stop=3.0))
    res = model.simulate(model.parameters(t_step=m * 0.1), outputs=["input"])
    assert np.argmax(res["input"][0] > 0) == m


def test_pulse_narrower_than_dt_lasts_one_step():
    spec = _spec(0.25)
    spec["auxiliaries"]["pul"]["equation"] = "pulse(3, 0)"
    res = compile_spec(spec).simulate(outputs=["pul"])
    assert res["pul"][0].sum() == 1.0
    assert res["pul"][0][res.time == 3.0] == 1.0


# -- whole-step events and time-tabled levers (issue 14) --------------------------------------
@pytest.mark.parametrize(
    ("t_step", "fires_at"),
    [(2.0, 2.0), (2.1, 2.0), (2.12, 2.0), (2.13, 2.25), (2.125, 2.25), (1.9, 2.0)],
)
def test_an_off_grid_step_fires_at_the_nearest_step_a_tie_at_the_later(t_step, fires_at):
    # Vensim's rule, Time + TIME STEP/2 > step time, in whole steps: floor((T - t0)/dt + 1/2)
    model = compile_spec(_spec(0.25))
    res = model.simulate(model.parameters(t_step=t_step), outputs=["input"])
    assert res.time[np.argmax(res["input"][0] > 0)] == fires_at


def test_a_pulse_at_a_half_step_still_lasts_one_step():
    spec = _spec(0.25)
    spec["auxiliaries"]["pul"]["equation"] = "pulse(3.125, 0)"
    res = compile_spec(spec).simulate(outputs=["pul"], save_every=0.25)
    assert res["pul"][0].sum() == 1.0
    assert res["pul"][0][res.time == 3.25] == 1.0


def _lever_spec(equation: str) -> dict:
    return {
        "name": "levers",
        "time": {"start": 0, "stop": 4, "dt": 0.25, "units": "year"},
        "parameters": {
            "rate": {"value": 1.0, "units": "unit/year"},
            "per_year": {"value": 1.0, "units": "unit/year"},
        },
        "stocks": {"x": {"initial": 0, "units": "unit", "inflows": ["inflow"]}},
        "flows": {"inflow": {"equation": equation, "units": "unit/year"}},
        "lookups": {"tab": {"x": [0.5, 1.5, 3], "y": [1, 3, 2], "x_units": "year", "y_units": "1"}},
    }


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_a_linear_lever_is_the_table_read_at_each_stage_time(method):
    # the same numbers as the equation written with the table, Runge-Kutta stages included
    tabled = compile_spec(_lever_spec("rate")).with_levers(
        {"rate": ("linear", ([0.5, 1.5, 3], [1, 3, 2]))}
    )
    written = compile_spec(_lever_spec("lookup(tab, time) * per_year"))
    a = tabled.simulate(method=method, outputs=["x", "inflow"])
    b = written.simulate(method=method, outputs=["x", "inflow"])
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.parametrize("method", ["euler", "rk2", "rk4"])
def test_a_hold_lever_is_a_sum_of_steps(method):
    tabled = compile_spec(_lever_spec("rate")).with_levers(
        {"rate": ("hold", ([0.5, 1.5, 3], [1, 3, 2]))}
    )
    written = compile_spec(_lever_spec("per_year * (1 + step(2, 1.5) + step(-1, 3))"))
    a = tabled.simulate(method=method, outputs=["x", "inflow"])
    b = written.simulate(method=method, outputs=["x", "inflow"])
    np.testing.assert_array_equal(a.values, b.values)


def test_a_lever_is_kernel_data_recorded_as_the_parameter():
    model = compile_spec(_lever_spec("rate"))
    levered = model.with_levers({"rate": ("hold", ([0, 1.1, 2], [5.0, 6.0, 7.0]))})
    other = model.with_levers({"rate": ("linear", ([0, 3], [1.0, 2.0]))})
    # the model text's lever variant: every lever scenario shares it, whatever its tables
    assert levered.kernel_module() is other.kernel_module()
    assert levered.kernel_module() is not model.kernel_module()
    assert levered.hash_of() == model.hash_of() and levered.hash == model.hash
    res = levered.simulate(outputs=["rate"], save_every=0.25)
    # a value listed off the grid (1.1) applies from the nearest step (1.0)
    expected = np.select([res.time < 1.0, res.time < 2.0], [5.0, 6.0], 7.0)
    np.testing.assert_array_equal(res["rate"][0], expected)
    plain = model.simulate(outputs=["rate"])
    np.testing.assert_array_equal(plain["rate"][0], 1.0)  # the model itself is unchanged


def test_levers_are_checked():
    from sim315.core.errors import Sim315Error

    model = compile_spec(_lever_spec("rate"))
    with pytest.raises(Sim315Error, match="not a parameter"):
        model.with_levers({"rat": ("hold", ([0], [1]))})
    with pytest.raises(Sim315Error, match="strictly increasing"):
        model.with_levers({"rate": ("hold", ([1, 0], [1, 2]))})
    with pytest.raises(Sim315Error, match="unknown mode"):
        model.with_levers({"rate": ("cubic", ([0], [1]))})


def test_a_warm_start_is_the_same_kernel():
    from sim315.ensembles.model import CompiledModel

    model = compile_spec(_spec(0.25))
    warm = CompiledModel(model.ir.warm_started())
    assert warm.hash_of("rk4") == model.hash_of("rk4") and warm.hash == model.hash
    assert warm.parameter_names[: len(model.parameter_names)] == model.parameter_names
    P = warm.parameters()
    cold = warm.simulate(P, outputs=["s1", "d3"])
    np.testing.assert_array_equal(cold.values, model.simulate(outputs=["s1", "d3"]).values)
