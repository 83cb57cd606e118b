"""GET TIME VALUE, INVERT MATRIX, ALLOCATE BY PRIORITY and ALLOCATE AVAILABLE (issue 13):
get_time_value, invert_matrix, allocate_by_priority and allocate_available against
hand-computed values, their errors, the Vensim import and the CUDA path under Numba's
simulator."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import cpu_and_cuda_simulator

import sim315
from sim315.compilation.compiler import compile_spec
from sim315.core.errors import ModelError
from sim315.schemas.modelfile import ModelFile

ROOT = Path(__file__).resolve().parents[1]

R = ["r1", "r2", "r3"]
#: A matrix whose first pivot is 0 (partial pivoting swaps rows), and its inverse by hand:
#: det = 0*(0*8+3*3) - 1*(1*8-3*4) + 2*(1*(-3)-0*4) = 0 + 4 - 6 = -2; adjugate / det.
A3 = [[0, 1, 2], [1, 0, 3], [4, -3, 8]]
A3_INV = [[-4.5, 7, -1.5], [-2, 4, -1], [1.5, -2, 0.5]]
#: [[4, 7], [2, 6]]: det 10, inverse [[6, -7], [-2, 4]] / 10.
A2_INV = [[0.6, -0.7], [-0.2, 0.4]]


ALLOC = {
    "q": {"dims": ["r"], "value": {"r1": 10, "r2": 6, "r3": 3}, "units": "1"},
    "pr": {"dims": ["r"], "value": {"r1": 2, "r2": 4, "r3": 3}},
    # priority profiles (type, priority, width, extra): rectangular; normal
    "rect": {
        "dims": ["r", "pp"],
        "value": {
            f"{r}, {e}": v
            for r, p in zip(R, (2, 4, 3), strict=True)
            for e, v in zip(("ptype", "ppriority", "pwidth", "pextra"), (1, p, 2, 0), strict=True)
        },
    },
    "norm": {
        "dims": ["r", "pp"],
        "value": {
            f"{r}, {e}": v
            for r in R
            for e, v in zip(("ptype", "ppriority", "pwidth", "pextra"), (3, 5, 1, 0), strict=True)
        },
    },
}


def model(**aux) -> dict:
    def matrix(rows, cols, values):
        return {
            f"{r}, {c}": v
            for r, row in zip(rows, values, strict=True)
            for c, v in zip(cols, row, strict=True)
        }

    return {
        "name": "timevalue",
        "time": {"start": 3, "stop": 5, "dt": 0.5, "units": "month"},
        "dimensions": {
            "r": R,
            "c": {"elements": ["c1", "c2", "c3"], "maps_to": {"r": None}},
            "k": ["k1", "k2"],
            "two": ["a", "b"],
            "twoc": ["x", "y"],
            "pp": ["ptype", "ppriority", "pwidth", "pextra"],
        },
        "parameters": {
            "a3": {"dims": ["r", "c"], "value": matrix(R, ["c1", "c2", "c3"], A3)},
            "a2": {
                "dims": ["k", "two", "twoc"],
                "value": {
                    **{f"k1, {key}": v for key, v in matrix("ab", "xy", [[4, 7], [2, 6]]).items()},
                    **{f"k2, {key}": v for key, v in matrix("ab", "xy", [[1, 2], [2, 4]]).items()},
                },
            },
            **ALLOC,
        },
        "stocks": {"acc": {"initial": 0, "inflows": ["f"], "units": "1"}},
        "flows": {"f": {"equation": "0 / time", "units": "1/month"}},
        "auxiliaries": aux,
    }


def simulate(tmp_path, m: dict, outputs, **kw):
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(m, sort_keys=False))
    return sim315.load_model(path).simulate(outputs=list(outputs), **kw)


TIMES = {
    "now": {"equation": "get_time_value(0, 5, 0)", "units": "month"},
    "start": {"equation": "get_time_value(1, -2, 0)", "units": "month"},
}


def test_get_time_value_is_the_time_or_the_initial_time_plus_offset(tmp_path):
    res = simulate(tmp_path, model(**TIMES), ["now", "start"])
    assert res.status[0] == 0
    times = np.arange(3, 5.25, 0.5)
    np.testing.assert_allclose(res.values[0, :, 0], times + 5)
    np.testing.assert_allclose(res.values[0, :, 1], 1.0)


@pytest.mark.parametrize("arrays", [True, False])
def test_get_time_value_in_a_block_of_runs(tmp_path, arrays):
    m = model(**TIMES)
    if not arrays:  # the scalar kernel and its block-of-runs variant
        del m["dimensions"], m["parameters"]
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(m, sort_keys=False))
    m = sim315.load_model(path)
    res = m.simulate(m.parameters(20), outputs=["now", "start"])
    assert (res.status == 0).all()
    np.testing.assert_allclose(res.values[:, -1, 0], 10.0)
    np.testing.assert_allclose(res.values[:, 0, 1], 1.0)


def test_invert_matrix_by_hand(tmp_path):
    aux = {
        "i3": {"dims": ["r", "c"], "equation": "invert_matrix(a3[r!, c!], 3)"},
        "i2": {"dims": ["k", "two", "twoc"], "equation": "invert_matrix(a2[k, two!, twoc!], 2)"},
    }
    outs = [f"i3[{r},c{j}]" for r in R for j in (1, 2, 3)]
    outs += [f"i2[k1,{a},{b}]" for a in "ab" for b in "xy"]
    res = simulate(tmp_path, model(**aux), outs)
    got = res.values[0, 0]
    np.testing.assert_allclose(got[:9], np.ravel(A3_INV), rtol=1e-12)
    np.testing.assert_allclose(got[9:], np.ravel(A2_INV), rtol=1e-12)


def test_a_singular_matrix_is_nan_and_stops_the_run(tmp_path):
    aux = {"i2": {"dims": ["k", "two", "twoc"], "equation": "invert_matrix(a2[k, two!, twoc!], 2)"}}
    res = simulate(tmp_path, model(**aux), ["i2[k2,a,x]", "i2[k1,a,x]"])
    assert res.status[0] != 0
    assert np.isnan(res.values[0, -1, 0])


@pytest.mark.parametrize(
    ("aux", "message"),
    [
        ({"x": {"equation": "get_time_value(2, 0, 0)"}}, "argument 1 of get_time_value()"),
        ({"x": {"equation": "get_time_value(0, 0, 3)"}}, "argument 3 of get_time_value()"),
        (
            {"x": {"dims": ["r", "c"], "equation": "invert_matrix(a3[r!, c!], 2)"}},
            "the size given is 2",
        ),
        (
            {"x": {"dims": ["r", "c"], "equation": "invert_matrix(a3[r, c!], 3)"}},
            "row and column marked",
        ),
        (
            {"x": {"dims": ["r"], "equation": "allocate_by_priority(q[r!], a3[r1, c!], 3, 8)"}},
            "needs its priority over the request's dimension",
        ),
        (
            {"x": {"dims": ["r"], "equation": "allocate_available(q[r!], rect[r!, pwidth], 8)"}},
            "followed by the priority and the width",
        ),
    ],
)
def test_errors_name_the_element(aux, message):
    with pytest.raises(ModelError) as info:
        compile_spec(ModelFile.model_validate(model(**aux)), "m.yaml")
    assert "x" in info.value.where, info.value
    assert message in str(info.value)


#: Requests 10, 6, 3 with priorities 2, 4, 3, width 3, supply 8: r2 alone until it has
#: (4-3)/3 of its 6 (2 used), then r2 and r3 by 6:3 until r3 has (3-2)/3 of its 3 (3 more:
#: r2 4, r3 1), then all three by 6:3:10 for the last 3: r1 30/19, r2 4 + 18/19, r3 1 + 9/19.
SHARES = [30 / 19, 4 + 18 / 19, 1 + 9 / 19]


@pytest.mark.parametrize(
    ("width", "supply", "want"),
    [
        (3, 8, SHARES),
        (0.5, 8, [0, 6, 2]),  # gaps wider than the width: strictly by priority
        (3, 0, [0, 0, 0]),
        (3, 25, [10, 6, 3]),  # every request met, none overfilled
    ],
)
def test_allocate_by_priority_by_hand(tmp_path, width, supply, want):
    m = model(al={"dims": ["r"], "equation": f"allocate_by_priority(q[r!], pr[r!], {width}, s)"})
    m["parameters"]["s"] = {"value": supply, "units": "1"}
    res = simulate(tmp_path, m, [f"al[{r}]" for r in R])
    np.testing.assert_allclose(res.values[0, 0], want, rtol=1e-12, atol=1e-12)


def test_allocate_by_priority_refuses_a_width_of_zero_at_run_time(tmp_path):
    m = model(al={"dims": ["r"], "equation": "allocate_by_priority(q[r!], pr[r!], 0, 8)"})
    res = simulate(tmp_path, m, ["al[r1]"])
    assert res.status[0] != 0


@pytest.mark.parametrize(
    ("profile", "avail", "want"),
    [
        # rectangular, share clamp((p + 1 - x)/2, 0, 1): the market clears at x = 38/13, where
        # r2 (p 4) is full, r1 gets 10 * (1/13)/2 and r3 3 * (14/13)/2; 5/13 + 6 + 21/13 = 8
        ("rect", 8, [5 / 13, 6, 21 / 13]),
        ("norm", 9.5, [5, 3, 1.5]),  # one normal profile for all: half of each at x = 5
        ("rect", 19, [10, 6, 3]),  # every request met
        ("norm", 0, [0, 0, 0]),
    ],
)
def test_allocate_available_by_hand(tmp_path, profile, avail, want):
    eq = f"allocate_available(q[r!], {profile}[r!, ptype], {avail})"
    res = simulate(tmp_path, model(al={"dims": ["r"], "equation": eq}), [f"al[{r}]" for r in R])
    np.testing.assert_allclose(res.values[0, 0], want, rtol=1e-12, atol=1e-12)


MDL = """{UTF-8}
d : A, B ~~|
d1 : A, B ~~|
m[d, d1] = 4, 7; 2, 6; ~~|
mi[d, d1] = INVERT MATRIX(m[d, d1], 2) ~~|
now = GET TIME VALUE(0, 2, 0) ~~|
start = GET TIME VALUE(1, 0, 0) ~~|
q[d] = 10, 6 ~~|
pr[d] = 1, 5 ~~|
al[d] = ALLOCATE BY PRIORITY(q[d], pr[d], ELMCOUNT(d), 1, 7) ~~|
pprofile : ptype, ppriority, pwidth, pextra ~~|
prof[d, pprofile] = 1, 5, 2, 0; 1, 5, 2, 0; ~~|
av[d] = ALLOCATE AVAILABLE(q[d], prof[d, ptype], 8) ~~|
FINAL TIME = 4 ~~|
INITIAL TIME = 1 ~~|
SAVEPER = 1 ~~|
TIME STEP = 1 ~~|
"""


def test_the_vensim_functions_are_imported(tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(MDL)
    m = sim315.load_model(path)
    outs = [f"mi[{a},{b}]" for a in "ab" for b in "ab"] + ["now", "start", "al[a]", "al[b]"]
    res = m.simulate(outputs=[*outs, "av[a]", "av[b]"])
    np.testing.assert_allclose(res.values[0, 0, 6:8], [1, 6])
    np.testing.assert_allclose(res.values[0, 0, 8:], [5, 3], rtol=1e-12)
    np.testing.assert_allclose(res.values[0, 0, :4], np.ravel(A2_INV), rtol=1e-12)
    np.testing.assert_allclose(res.values[0, :, 4], [3, 4, 5, 6])
    np.testing.assert_allclose(res.values[0, :, 5], 1.0)


def test_a_calendar_measure_is_refused_in_one_line(tmp_path):
    path = tmp_path / "m.mdl"
    path.write_text(MDL.replace("GET TIME VALUE(0, 2, 0)", "GET TIME VALUE(0, 2, 3)"))
    with pytest.raises(ModelError) as info:
        sim315.load_model(path)
    text = str(info.value)
    assert "\n" not in text
    assert "now" in text and "GET TIME VALUE(0, ..., 3)" in text


def test_cuda_simulator_runs_the_functions(tmp_path):
    aux = {
        "i3": {"dims": ["r", "c"], "equation": "invert_matrix(a3[r!, c!], 3)"},
        "al": {"dims": ["r"], "equation": "allocate_by_priority(q[r!], pr[r!], 3, 8)"},
        "av": {"dims": ["r"], "equation": "allocate_available(q[r!], norm[r!, ptype], 7)"},
        **TIMES,
    }
    m = model(**aux)
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(m, sort_keys=False))
    outs = [f"i3[{r},c{j}]" for r in R for j in (1, 2, 3)] + ["now", "start"]
    outs += [f"al[{r}]" for r in R] + [f"av[{r}]" for r in R]
    a, b = cpu_and_cuda_simulator(path, outs, 2)
    np.testing.assert_array_equal(a, b)
