"""Tier (a): analytic solutions, with tolerance-normalised errors and convergence orders."""

import numpy as np
import pytest
from conftest import compile_spec
from scipy.linalg import expm


def _decay(rate: float) -> dict:
    return {
        "name": "decay",
        "time": {"start": 0, "stop": 4, "dt": 0.25, "units": "year"},
        "parameters": {"k": {"value": rate, "units": "1/year"}},
        "stocks": {"x": {"initial": 2.0, "units": "unit", "inflows": ["change"]}},
        "flows": {"change": {"equation": "k * x", "units": "unit/year"}},
    }


LOGISTIC = {
    "name": "logistic",
    "time": {"start": 0, "stop": 10, "dt": 0.5, "units": "year"},
    "parameters": {
        "r": {"value": 0.9, "units": "1/year"},
        "capacity": {"value": 1000.0, "units": "firm"},
    },
    "stocks": {"n": {"initial": 10.0, "units": "firm", "inflows": ["growth"]}},
    "flows": {"growth": {"equation": "r * n * (1 - n / capacity)", "units": "firm/year"}},
}

# x' = -0.5 x + 0.2 y ; y' = 0.3 x - 0.4 y: two stocks exchanging material, with losses
LINEAR2 = {
    "name": "linear2",
    "time": {"start": 0, "stop": 5, "dt": 0.25, "units": "year"},
    "parameters": {
        "a": {"value": 0.3, "units": "1/year"},
        "b": {"value": 0.2, "units": "1/year"},
        "loss_x": {"value": 0.2, "units": "1/year"},
        "loss_y": {"value": 0.2, "units": "1/year"},
    },
    "stocks": {
        "x": {"initial": 1.0, "units": "t", "inflows": ["y_to_x"], "outflows": ["x_to_y", "lx"]},
        "y": {"initial": 0.0, "units": "t", "inflows": ["x_to_y"], "outflows": ["y_to_x", "ly"]},
    },
    "flows": {
        "x_to_y": {"equation": "a * x", "units": "t/year"},
        "y_to_x": {"equation": "b * y", "units": "t/year"},
        "lx": {"equation": "loss_x * x", "units": "t/year"},
        "ly": {"equation": "loss_y * y", "units": "t/year"},
    },
}


def error(actual, expected, rtol, atol):
    """Tolerance-normalised error: <= 1 means within tolerance (as scipy's ivp tests)."""
    return np.max(np.abs(actual - expected) / (atol + rtol * np.abs(expected)))


@pytest.mark.parametrize("rate", [-0.7, 0.4])
def test_euler_matches_its_closed_form(rate):
    model = compile_spec(_decay(rate))
    res = model.simulate(method="euler")
    k = np.arange(res.time.size)
    expected = 2.0 * (1.0 + 0.25 * rate) ** k
    assert error(res["x"][0], expected, rtol=1e-13, atol=0) <= 1


@pytest.mark.parametrize("rate", [-0.7, 0.4])
@pytest.mark.parametrize(("method", "rtol"), [("rk2", 5e-4), ("rk4", 1e-8)])
def test_exponential_growth_and_decay(rate, method, rtol):
    model = compile_spec(_decay(rate))
    res = model.simulate(method=method, dt=1 / 64, save_every=0.25)
    assert error(res["x"][0], 2.0 * np.exp(rate * res.time), rtol=rtol, atol=1e-12) <= 1


def test_logistic_growth_rk4():
    model = compile_spec(LOGISTIC)
    res = model.simulate(method="rk4", dt=0.0625, save_every=0.5)
    t = res.time
    exact = 1000.0 / (1 + (1000.0 / 10.0 - 1) * np.exp(-0.9 * t))
    assert error(res["n"][0], exact, rtol=1e-6, atol=1e-9) <= 1


def test_linear_two_stock_system_against_expm():
    model = compile_spec(LINEAR2)
    res = model.simulate(method="rk4", dt=0.03125, save_every=0.25)
    a = np.array([[-0.5, 0.2], [0.3, -0.4]])
    exact = np.array([expm(a * t) @ np.array([1.0, 0.0]) for t in res.time])
    got = np.column_stack([res["x"][0], res["y"][0]])
    assert error(got, exact, rtol=1e-7, atol=1e-9) <= 1


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("rk2", 2), ("rk4", 4)])
def test_observed_order_of_convergence(method, order):
    model = compile_spec(LINEAR2)
    a = np.array([[-0.5, 0.2], [0.3, -0.4]])
    exact = expm(a * 5.0) @ np.array([1.0, 0.0])
    errs = []
    dts = [0.25, 0.125, 0.0625, 0.03125]
    for dt in dts:
        res = model.simulate(method=method, dt=dt, save_every=5.0)
        final = np.array([res["x"][0, -1], res["y"][0, -1]])
        errs.append(np.max(np.abs(final - exact)))
    observed = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(observed - order) < 0.15), observed
