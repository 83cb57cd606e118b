"""Random builtins: statistics (mean, variance, autocorrelation) and determinism.

Draws come from a counter-based generator keyed by (seed, run, step, call site), so they do
not depend on threads or on how runs are split; tolerances are 5 standard errors.
"""

import numpy as np
import pytest
from conftest import compile_spec

NOISE = {
    "name": "noise",
    "time": {"start": 0, "stop": 50, "dt": 0.25, "units": "year"},
    "parameters": {
        "lo": {"value": 2.0, "units": "u"},
        "hi": {"value": 5.0, "units": "u"},
        "mu": {"value": 1.0, "units": "u"},
        "sd": {"value": 3.0, "units": "u"},
        "tau": {"value": 2.0, "units": "year"},
    },
    "stocks": {"acc": {"initial": "random_uniform(lo, hi)", "units": "u"}},
    "auxiliaries": {
        "uni": {"equation": "random_uniform(lo, hi)", "units": "u"},
        "uni2": {"equation": "random_uniform(lo, hi)", "units": "u"},
        "nor": {"equation": "random_normal(mu, sd)", "units": "u"},
        "pink": {"equation": "pink_noise(sd, tau)", "units": "u"},
    },
}


@pytest.fixture(scope="module")
def model():
    return compile_spec(NOISE)


@pytest.fixture(scope="module")
def draws(model):
    return model.simulate(model.parameters(runs=400), seed=42)


def test_uniform_mean_and_variance(draws):
    x = draws["uni"].ravel()
    n = x.size
    assert abs(x.mean() - 3.5) < 5 * np.sqrt(9 / 12 / n)
    assert abs(x.var() - 9 / 12) < 5 * 9 / 12 * np.sqrt(0.8 / n)  # var of var: (9/5 - 1)/n
    assert x.min() >= 2.0
    assert x.max() < 5.0


def test_normal_mean_and_variance(draws):
    x = draws["nor"].ravel()
    n = x.size
    assert abs(x.mean() - 1.0) < 5 * 3 / np.sqrt(n)
    assert abs(x.std() - 3.0) < 5 * 3 / np.sqrt(2 * n)


def test_two_call_sites_are_independent(draws):
    a = draws["uni"].ravel()
    b = draws["uni2"].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 5 / np.sqrt(a.size)


def test_white_noise_has_no_autocorrelation(draws):
    x = draws["nor"] - 1.0
    lag1 = (x[:, 1:] * x[:, :-1]).mean() / x.var()
    assert abs(lag1) < 5 / np.sqrt(x[:, 1:].size)


def test_pink_noise_sd_and_autocorrelation(draws):
    x = draws["pink"][:, 40:]  # after 10 years (5 correlation times) of start-up
    a = 0.25 / 2.0
    assert abs(x.mean()) < 0.3
    assert abs(x.std() - 3.0) < 0.1
    for lag in (1, 4, 8):
        rho = (x[:, lag:] * x[:, :-lag]).mean() / x.var()
        assert abs(rho - (1 - a) ** lag) < 0.05, lag


def test_same_seed_same_numbers_other_seed_other_numbers(model):
    P = model.parameters(runs=5)
    a = model.simulate(P, seed=7).values
    b = model.simulate(P, seed=7).values
    c = model.simulate(P, seed=8).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_draws_depend_on_the_run_number_not_the_batch(model):
    P = model.parameters(runs=12)
    whole = model.simulate(P, seed=3, threads=2).values
    part = model.simulate(P[5:9], seed=3, run_offset=5, threads=1).values
    np.testing.assert_array_equal(part, whole[5:9])
    assert not np.array_equal(whole[0], whole[1])


def test_random_initial_values_differ_between_runs(draws):
    first = draws["acc"][:, 0]
    assert np.unique(first).size == first.size
    assert np.all((first >= 2) & (first < 5))


def test_unseeded_runs_record_their_entropy(model):
    res = model.simulate(model.parameters(runs=2))
    again = model.simulate(model.parameters(runs=2), seed=res.entropy)
    np.testing.assert_array_equal(res.values, again.values)
