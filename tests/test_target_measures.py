"""The streaming summary's one-pass target measures (sim315/results/measures.py, Numba)
against the reference, :func:`sim315.language.targets.measure` target by target: the same
values (rounded counts, every year's additions, the worst year), the same verdicts, for
every kind and comparison, with NaN, infinities, signed zeros and values on a bound."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim315.language import targets as tg
from sim315.results.measures import TargetMeasures
from sim315.schemas.target import Target

TIMES = np.arange(2020.0, 2028.5, 0.5)  # half-yearly, so the kernel must pick the columns

COMPARES = [
    (">", None, 30.0),
    (">=", None, 30.0),
    ("<", None, 30.0),
    ("<=", None, -2.0),
    ("~", "met", 30.0),
    ("~", "miss", 30.0),
    ("between", None, (20.0, 40.0)),
    ("between", "met", (20.0, 40.0)),
    (">=", None, 0.0),
]


def _targets():
    out = []
    for (cmp, over, value), kind, count in itertools.product(
        COMPARES, ("level", "cumulative", "growth", "every_year"), (False, True)
    ):
        if count and kind == "growth":
            continue
        when = {"year": 2026} if kind == "level" else {"window": (2023, 2027)}
        v = (
            value
            if kind != "growth"
            else (tuple(x / 100 for x in value) if cmp == "between" else value / 100)
        )
        out.append(Target(kind=kind, compare=cmp, value=v, overshoot=over, count=count, **when))
    return out


def _layout(targets, outputs):
    """The summary's (output, target, time columns, first column) rows and their width."""
    rows, width = [], 0
    for k, t in enumerate(targets):
        cols = sorted(tg.time_index(TIMES, y) for y in t.years_needed())
        rows.append((k % outputs, t, cols, width))
        width += 1 + (len(cols) - 1 if t.kind == "every_year" else 0)
    return rows, width


def _values(rng, runs, outputs):
    x = rng.normal(30.0, 15.0, (runs, TIMES.size, outputs)).cumsum(axis=1) / 3
    x[rng.random(x.shape) < 0.02] = np.nan
    x[rng.random(x.shape) < 0.01] = np.inf
    x[rng.random(x.shape) < 0.01] = -np.inf
    x[rng.random(x.shape) < 0.02] = 0.0
    x[rng.random(x.shape) < 0.01] = -0.0
    half = rng.random(x.shape) < 0.05  # whole and half numbers: rounding and equal bounds
    x[half] = np.round(x[half] * 2) / 2
    x[rng.random(x.shape) < 0.02] = 30.0 * (1 + 1e-10)  # within EQUAL_RTOL of a bound
    at = np.array([b[0] for t in _targets() for b in t.bounds() if b is not None])
    edge = rng.random(x.shape) < 0.05  # exactly on a bound: strict or not decides
    x[edge] = rng.choice(at, int(edge.sum()))
    return x


def _check(rows, width, x):
    E, met = TargetMeasures(rows, width).of(x)
    for k, (m, t, _, at) in enumerate(rows):
        with np.errstate(all="ignore"):  # inf - inf in the reference's np.diff
            ref = tg.measure(t, x[:, :, m], TIMES)
        np.testing.assert_array_equal(E[:, at], ref.value, err_msg=t.describe())
        np.testing.assert_array_equal(np.signbit(E[:, at]), np.signbit(ref.value))
        np.testing.assert_array_equal(met[:, k], ref.met, err_msg=t.describe())
        if ref.additions is not None:
            adds = E[:, at + 1 : at + 1 + ref.additions.shape[1]]
            np.testing.assert_array_equal(adds, ref.additions)


def test_every_kind_and_comparison_as_measure_gives():
    targets = _targets()
    rows, width = _layout(targets, outputs=5)
    _check(rows, width, _values(np.random.default_rng(8), 3000, 5))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_any_values(seed, runs):
    rows, width = _layout(_targets(), outputs=3)
    _check(rows, width, _values(np.random.default_rng(seed), runs, 3))


def test_a_target_whose_years_are_not_saved_is_refused_when_measured():
    t = Target(kind="level", compare=">=", value=1.0, year=2031)
    m = TargetMeasures([(0, t, [], 0)], 1)
    with pytest.raises(ValueError, match="not saved"):
        m.of(np.zeros((2, TIMES.size, 1)))


def test_no_targets():
    E, met = TargetMeasures([], 0).of(np.zeros((4, TIMES.size, 2)))
    assert E.shape == (4, 0) and met.shape == (4, 0)
