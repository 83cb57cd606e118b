"""The Vensim/XMILE builtins (issue 12) against closed forms and hand computations.

One model holds them all (one kernel). Under Euler each stateful builtin has an exact
discrete recursion, written out here in numpy (the hand computation) and compared with
rtol 1e-12; the pure ones are compared with numpy's functions or with values worked out by
hand (Vensim's own output where it shows a convention, as for MODULO of a negative number).
"""

import numpy as np
import pytest
from conftest import compile_spec

from sim315.core.errors import ModelError

DT = 0.25
TAU = 4.0


def _spec() -> dict:
    aux = {
        "x": "2.5 - 0.5 * time",
        "inp": "step(1, 2)",
        "tan_": "tan(0.05 * time)",
        "asin_": "arcsin(0.04 * time)",
        "acos_": "arccos(0.04 * time)",
        "atan_": "arctan(time - 10)",
        "int_": "integer(x)",
        "mod_": "modulo(x, 3)",
        "mod_neg": "modulo(-10, 3)",
        "quant": "quantum(x, 3)",
        "quant_neg": "quantum(x, -3)",
        "den": "2 - step(2, 5)",
        "xidz_": "xidz(1, den, 7)",
        "zidz_": "zidz(1, den)",
        "and_": "logical_and(time > 2, time < 5)",
        "or_": "logical_or(time < 2, time >= 5, time == 3)",
        "not_": "logical_not(time > 2)",
        "ptrain": "pulse_train(1, 0.5, 2, 8)",
        "lx": "lookup_extrapolate(tab, time)",
        "lf": "lookup_forward(tab, time)",
        "lb": "lookup_backward(tab, time)",
        "d1i": "delay1i(inp, tau, 5)",
        "d3i": "delay3i(inp, tau, 5)",
        "dn": "delayn(inp, tau, 5, 2)",
        "s1i": "smoothi(inp, tau, 5)",
        "s3i": "smooth3i(inp, tau, 5)",
        "sn": "smoothn(inp, tau, 5, 4)",
        "grow": "exp(0.1 * time)",
        "tr": "trend(grow, tau, 0.1)",
        "fc": "forecast(grow, tau, 2, 0.1)",
        "init_": "initial(time + 3)",
        "ai": "active_initial(time + 10, 1)",
        "sampled": "sample_if_true(pulse_train(3, 0, 4, 100), time, -1)",
    }
    return {
        "name": "vensim_builtins",
        "time": {"start": 0, "stop": 20, "dt": DT, "units": "1"},
        "parameters": {"tau": {"value": TAU}},
        "stocks": {"st": {"initial": "ai", "units": "1"}},
        "auxiliaries": {k: {"equation": e} for k, e in aux.items()},
        "lookups": {"tab": {"x": [2, 4, 8], "y": [1, 3, 2]}},
    }


@pytest.fixture(scope="module")
def res():
    return compile_spec(_spec()).simulate(method="euler")


@pytest.fixture(scope="module")
def t(res):
    return res.time


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_trigonometry(res, t):
    _close(res["tan_"][0], np.tan(0.05 * t))
    _close(res["asin_"][0], np.arcsin(0.04 * t))
    _close(res["acos_"][0], np.arccos(0.04 * t))
    _close(res["atan_"][0], np.arctan(t - 10))


def test_integer_modulo_quantum(res, t):
    x = 2.5 - 0.5 * t
    _close(res["int_"][0], np.trunc(x))  # toward zero: INTEGER(-3.5) = -3
    assert res["int_"][0][t == 12][0] == -3.0
    _close(res["mod_"][0], np.fmod(x, 3))  # the sign of x, as Vensim prints
    assert res["mod_neg"][0][0] == -1.0  # Vensim: MODULO(-10, 3) = -1 (subscripted_round)
    _close(res["quant"][0], 3 * np.trunc(x / 3))
    assert res["quant"][0][t == 20][0] == -6.0  # x = -7.5: 3 * INTEGER(-2.5)
    _close(res["quant_neg"][0], x)  # QUANTUM(x, q <= 0) = x


def test_xidz_zidz(res, t):
    _close(res["xidz_"][0], np.where(t < 5, 0.5, 7.0))
    _close(res["zidz_"][0], np.where(t < 5, 0.5, 0.0))


def test_logical_operators(res, t):
    _close(res["and_"][0], ((t > 2) & (t < 5)).astype(float))
    _close(res["or_"][0], ((t < 2) | (t >= 5) | (t == 3)).astype(float))
    _close(res["not_"][0], (t <= 2).astype(float))


def test_pulse_train(res, t):
    # by hand: on for 0.5 from 1, 3, 5 and 7; the train ends at 8
    on = np.zeros_like(t)
    for start in (1, 3, 5, 7):
        on[(t >= start) & (t < start + 0.5)] = 1.0
    _close(res["ptrain"][0], on)


def test_lookup_variants(res, t):
    # table (2,1) (4,3) (8,2)
    ext = np.interp(t, [2, 4, 8], [1, 3, 2])
    ext = np.where(t < 2, 1 + (t - 2), ext)  # first segment's slope 1 extended
    ext = np.where(t > 8, 2 - 0.25 * (t - 8), ext)  # last segment's slope -1/4
    _close(res["lx"][0], ext)
    fwd = np.select([t <= 2, t <= 4, t <= 8], [1.0, 3.0, 2.0], 2.0)
    _close(res["lf"][0], fwd)
    back = np.select([t < 4, t < 8], [1.0, 3.0], 2.0)
    _close(res["lb"][0], back)


def _inp(t):
    return np.where(t >= 2 - 1e-9, 1.0, 0.0)


def _material(t, n, init):
    """Euler's recursion of an n-stage material delay (hand computation)."""
    stages = np.full(n, init * TAU / n)
    out = []
    for k, tk in enumerate(t):
        flows = stages / (TAU / n)
        out.append(flows[-1])
        inflow = np.concatenate(([_inp(tk)], flows[:-1]))
        if k + 1 < t.size:
            stages = stages + DT * (inflow - flows)
    return np.array(out)


def _smooth(t, n, init):
    stages = np.full(n, float(init))
    out = []
    for tk in t:
        out.append(stages[-1])
        prev = np.concatenate(([_inp(tk)], stages[:-1]))
        stages = stages + DT * (prev - stages) / (TAU / n)
    return np.array(out)


def test_delays_with_initial_values(res, t):
    _close(res["d1i"][0], _material(t, 1, 5))
    _close(res["d3i"][0], _material(t, 3, 5))
    _close(res["dn"][0], _material(t, 2, 5))  # a constant delay time: no lag to show
    assert res["d3i"][0][0] == 5.0  # the output starts at the initial value


def test_smooths_with_initial_values(res, t):
    _close(res["s1i"][0], _smooth(t, 1, 5))
    _close(res["s3i"][0], _smooth(t, 3, 5))
    _close(res["sn"][0], _smooth(t, 4, 5))


def test_trend_and_forecast(res, t):
    g = 0.1
    x = np.exp(g * t)
    avg = x[0] / (1 + g * TAU)  # started at the steady state of growth g
    trend = []
    for k in range(t.size):
        trend.append((x[k] - avg) / (TAU * abs(avg)))
        avg = avg + DT * (x[k] - avg) / TAU
    trend = np.array(trend)
    _close(res["tr"][0], trend)
    _close(res["fc"][0], x * (1 + trend * 2))
    # closed form: exponential growth at rate g has TREND g (within Euler's error)
    np.testing.assert_allclose(res["tr"][0], g, rtol=0.02)


def test_initial_active_initial_and_sample_if_true(res, t):
    _close(res["init_"][0], np.full_like(t, 3.0))
    _close(res["ai"][0], t + 10)  # the value during the run ...
    _close(res["st"][0], np.full_like(t, 1.0))  # ... but 1 while initialising
    want = np.where(t < 3, -1.0, 3 + 4 * np.floor((t - 3 + 1e-9) / 4))
    _close(res["sampled"][0], want)


@pytest.mark.parametrize(
    ("equation", "match"),
    [
        ("delayn(time, tau, 0, 2.5)", "order of delayn"),
        ("smoothn(time, tau, 0, tau)", "order of smoothn"),
        ("lookup_forward(2, time)", "table argument"),
    ],
)
def test_bad_arguments_are_one_line_errors(equation, match):
    spec = _spec()
    spec["auxiliaries"] = {"bad": {"equation": equation}}
    spec["stocks"] = {}
    with pytest.raises(ModelError, match=match):
        compile_spec(spec)


def test_integer_keeps_huge_and_infinite_values():
    from sim315.kernels.builtins import integer

    assert integer(-3.7) == -3.0 and integer(3.7) == 3.0
    assert integer(1e300) == 1e300 and integer(float("inf")) == float("inf")
    assert np.isnan(integer(float("nan")))
