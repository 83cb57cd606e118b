"""Tier (d): hypothesis properties — conservation, determinism across threads and batch
splits, Euler error shrinking with dt."""

import numba
import numpy as np
from conftest import compile_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

RING = {
    "name": "ring",
    "time": {"start": 0, "stop": 10, "dt": 0.25, "units": "year"},
    "parameters": {f"r{i}": {"value": 0.1, "units": "1/year"} for i in range(4)},
    "stocks": {
        f"s{i}": {
            "initial": 1.0,
            "units": "t",
            "inflows": [f"f{(i - 1) % 4}"],
            "outflows": [f"f{i}"],
        }
        for i in range(4)
    },
    "flows": {f"f{i}": {"equation": f"r{i} * s{i}", "units": "t/year"} for i in range(4)},
}


@SETTINGS
@given(
    rates=arrays(np.float64, 4, elements=st.floats(0.0, 2.0)),
    initial=arrays(np.float64, 4, elements=st.floats(0.0, 1e6)),
    method=st.sampled_from(["euler", "rk2", "rk4"]),
)
def test_closed_chain_conserves_its_total(rates, initial, method):
    model = compile_spec(RING)
    P = model.parameters(
        **{f"r{i}": rates[i] for i in range(4)}, **{f"s{i}.init": initial[i] for i in range(4)}
    )
    res = model.simulate(P, method=method, outputs=[f"s{i}" for i in range(4)])
    total = res.values[0].sum(axis=1)
    np.testing.assert_allclose(total, initial.sum(), rtol=1e-12, atol=1e-9)


@SETTINGS
@given(
    runs=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(["euler", "rk4"]),
    data=st.data(),
)
def test_same_inputs_same_outputs_for_any_threads_and_batches(ladder, runs, seed, method, data):
    rng = np.random.default_rng(seed)
    P = ladder.parameters(runs=runs) * rng.uniform(0.5, 1.5, size=(runs, len(ladder.defaults)))
    whole = ladder.simulate(P, method=method, threads=1)
    threads = data.draw(st.integers(1, numba.config.NUMBA_NUM_THREADS))
    cuts = sorted(data.draw(st.lists(st.integers(0, runs), max_size=4)))
    pieces = [
        ladder.simulate(P[a:b], method=method, threads=threads).values
        for a, b in zip([0, *cuts], [*cuts, runs], strict=True)
        if b > a
    ]
    np.testing.assert_array_equal(np.concatenate(pieces), whole.values)


DECAY = {
    "name": "decay",
    "time": {"start": 0, "stop": 4, "dt": 0.25, "units": "year"},
    "parameters": {"k": {"value": -1.0, "units": "1/year"}},
    "stocks": {"x": {"initial": 1.0, "units": "unit", "inflows": ["change"]}},
    "flows": {"change": {"equation": "k * x", "units": "unit/year"}},
}


@SETTINGS
@given(k=st.floats(-1.0, 1.0).filter(lambda v: abs(v) > 0.05), x0=st.floats(0.1, 1e3))
def test_euler_error_shrinks_with_dt(k, x0):
    model = compile_spec(DECAY)
    P = model.parameters(k=k, **{"x.init": x0})
    exact = x0 * np.exp(k * 4.0)
    errors = [
        abs(model.simulate(P, dt=dt, save_every=4.0)["x"][0, -1] - exact)
        for dt in (1 / 16, 1 / 32, 1 / 64)  # |k*dt| <= 1/16: the asymptotic regime
    ]
    assert errors[0] > errors[1] > errors[2]
    assert 1.7 < errors[1] / errors[2] < 2.3  # first order: halving dt about halves the error
