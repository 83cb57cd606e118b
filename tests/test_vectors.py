"""Vensim's vector functions (issue 13): vector_select, elm_map, vector_sort_order,
vector_rank and vector_reorder against hand-computed values, their errors, the Vensim
import and the CUDA path under Numba's simulator."""

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

C = ["c1", "c2", "c3", "c4", "c5"]
REV = [5000, 3000, 8000, 3000, 1000]  # c2 and c4 tie
SEL = [1, 0, 2, 0, 0.5]


def vector_model(**aux) -> dict:
    m = {
        "name": "vectors",
        "time": {"start": 0, "stop": 10, "dt": 1, "units": "year"},
        "dimensions": {
            "company": C,
            "scompany": {"elements": ["s1", "s2", "s3", "s4", "s5"], "maps_to": {"company": None}},
            "region": ["A", "B"],
        },
        "parameters": {
            "year": {"value": 1, "units": "year"},
            "rev": {"dims": ["company"], "value": dict(zip(C, REV, strict=True))},
            "sel": {"dims": ["company"], "value": dict(zip(C, SEL, strict=True))},
            "zero": {"dims": ["company"], "value": 0},
            "m": {
                "dims": ["region", "company"],
                "value": {
                    f"{r}, {c}": v
                    for r, row in zip("AB", [[3, 1, 2, 5, 4], [9, 9, 1, 0, 2]], strict=True)
                    for c, v in zip(C, row, strict=True)
                },
            },
        },
        "stocks": {"acc": {"initial": 0, "inflows": ["f"], "units": "1"}},
        "flows": {"f": {"equation": "0 / year", "units": "1/year"}},
        "auxiliaries": aux,
    }
    return m


def simulate(tmp_path, model: dict, outputs, **kw):
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    m = sim315.load_model(path)
    return m.simulate(outputs=list(outputs), **kw)


ORDERS = {
    "rank": {"dims": ["company"], "equation": "vector_rank(rev[company!], 1)"},
    "rankd": {"dims": ["company"], "equation": "vector_rank(rev[company!], 0)"},
    "so": {"dims": ["scompany"], "equation": "vector_sort_order(rev[company!], 1)"},
    "sod": {"dims": ["scompany"], "equation": "vector_sort_order(rev[company!], -1)"},
    "srt": {"dims": ["scompany"], "equation": "vector_reorder(rev[company!], so[scompany])"},
    "nxt": {"dims": ["company"], "equation": "elm_map(rev[company], 1)", "elements": {"c5": "0"}},
    "med": {"equation": "elm_map(rev[c1], so[s3])"},
    "rk2": {"dims": ["region", "company"], "equation": "vector_rank(m[region, company!], 1)"},
    "vs": {"equation": "vector_select(sel[company!], rev[company!], -1, time / year, 0)"},
}

WANT = {
    # ascending 1000 (c5) < 3000 (c2) = 3000 (c4) < 5000 (c1) < 8000 (c3); ties in order
    "rank": [4, 2, 5, 3, 1],
    "rankd": [2, 4, 1, 3, 5],
    "so": [4, 1, 3, 0, 2],
    "sod": [2, 0, 3, 1, 4],
    "srt": [1000, 3000, 3000, 5000, 8000],
    "nxt": [3000, 8000, 3000, 1000, 0],
    "med": [3000],
    "rk2": [3, 1, 2, 5, 4, 4, 5, 2, 1, 3],
}

#: vector_select(sel, rev) for actions 0..10: selected rev 5000, 8000, 1000 by 1, 2, 0.5
VS = [
    5000 + 16000 + 500,
    5000 * 16000 * 500,
    500,
    16000,
    (5000 + 16000 + 500) / 3,
    5000 * 8000**2 * 1000**0.5,
    14000,
    5000 * 8000 * 1000,
    1000,
    8000,
    14000 / 3,
]


def names_of(name: str) -> list[str]:
    n = len(WANT[name])
    if name in ("so", "sod", "srt"):
        return [f"{name}[s{i}]" for i in range(1, 6)]
    if name == "med":
        return ["med"]
    if name == "rk2":
        return [f"rk2[{r},{c}]" for r in "AB" for c in C]
    assert n == 5
    return [f"{name}[{c}]" for c in C]


def test_orders_ranks_reorder_and_elm_map_by_hand(tmp_path):
    outs = [n for name in WANT for n in names_of(name)] + ["vs"]
    res = simulate(tmp_path, vector_model(**ORDERS), outs)
    assert res.status[0] == 0
    got = dict(zip(outs, res.values[0, 0], strict=True))
    for name, want in WANT.items():
        assert [got[n] for n in names_of(name)] == want, name
    np.testing.assert_allclose(res.values[0, :, -1], VS, rtol=1e-15)


def test_vector_select_missing_value_and_constant_actions(tmp_path):
    aux = {
        "none": {"equation": "vector_select(zero[company!], rev[company!], -7, 0, 0)"},
        "one": {
            "equation": "vector_select(zero[company!] + (rev[company!] == 8000), "
            "rev[company!], -7, 9, 2)"
        },
        "rows": {
            "dims": ["region"],
            "equation": "vector_select(m[region, company!], rev[company!], -1, 6, 0)",
        },
        "cross": {"equation": "vector_select(sel[company!], m[region!, company!], -1, 7, 0)"},
    }
    outs = ["none", "one", "rows[A]", "rows[B]", "cross"]
    res = simulate(tmp_path, vector_model(**aux), outs)
    assert res.status[0] == 0
    got = dict(zip(outs, res.values[0, 0], strict=True))
    assert got["none"] == -7
    assert got["one"] == 8000
    assert got["rows[A]"] == sum(REV)  # every m[A, c] non-zero
    assert got["rows[B]"] == 5000 + 3000 + 8000 + 1000  # m[B, c4] = 0
    # selected over company (c1, c3, c5) and every region: 3 1 2 5 4 / 9 9 1 0 2
    assert got["cross"] == 3 * 2 * 4 * 9 * 1 * 2


@pytest.mark.parametrize(
    "equation",
    [
        "vector_select(zero[company!], rev[company!], -7, 0, 1)",  # nothing selected
        "vector_select(sel[company!], rev[company!], -7, 0, 2)",  # more than one
        "vector_select(sel[company!], rev[company!], -7, time / year + 9, 0)",  # action 11
        "elm_map(rev[c5], time / year)",  # past the array from time 1 on
    ],
)
def test_an_error_action_or_a_read_past_the_array_stops_the_run(tmp_path, equation):
    res = simulate(tmp_path, vector_model(x={"equation": equation}), ["x"])
    assert res.status[0] != 0
    assert np.isnan(res.values[0, -1, 0])


@pytest.mark.parametrize(
    ("aux", "message"),
    [
        ({"x": {"equation": "vector_rank(rev[company!], 1)"}}, "gives one value per element"),
        (
            {"x": {"dims": ["company"], "equation": "vector_rank(rev[company], 1)"}},
            "one dimension marked",
        ),
        ({"x": {"dims": ["company"], "equation": "elm_map(rev[company!], 1)"}}, "elm_map() in"),
        ({"x": {"equation": "vector_select(sel[c1], rev[c2], 0, 0, 0)"}}, "no dimension to select"),
        ({"x": {"equation": "vector_select(sel[company!], rev[company!], 0, 12, 0)"}}, "action 12"),
        (
            {"x": {"equation": "vector_select(sel[company!], rev[company!], 0, 0, 5)"}},
            "error action 5",
        ),
        ({"x": {"dims": ["region"], "equation": "vector_rank(rev[company!], 1)"}}, "'company'"),
        (
            {"x": {"equation": "vector_select(sel[company!], rev[company!], 0, time, 0)"}},
            "the action of vector_select() must be in '1'",
        ),
    ],
)
def test_vector_errors_name_the_element(aux, message):
    with pytest.raises(ModelError) as info:
        compile_spec(ModelFile.model_validate(vector_model(**aux)), "m.yaml")
    assert "x" in info.value.where, info.value
    assert message in str(info.value)


MDL = """{UTF-8}
company : (c1-c5) -> scompany ~~|
scompany : (s1-s5) -> company ~~|
rev[company] = 5000, 3000, 8000, 3000, 1000 ~~|
sel[company] = 1, 0, 2, 0, 0.5 ~~|
so[scompany] = VECTOR SORT ORDER(rev[company], 1) ~~|
rank[company] = VECTOR RANK(rev[company], 0) ~~|
srt[scompany] = VECTOR REORDER(rev[company], so[scompany]) ~~|
med = VECTOR ELM MAP(rev[c1], so[s3]) ~~|
vs = VECTOR SELECT(sel[company!], rev[company!], -1, 8, 0) ~~|
FINAL TIME = 1 ~~|
INITIAL TIME = 0 ~~|
SAVEPER = 1 ~~|
TIME STEP = 1 ~~|
"""


def test_the_vensim_functions_are_imported(tmp_path):
    path = tmp_path / "v.mdl"
    path.write_text(MDL)
    m = sim315.load_model(path)
    outs = [f"so[s{i}]" for i in range(1, 6)] + [f"rank[{c}]" for c in C]
    outs += [f"srt[s{i}]" for i in range(1, 6)] + ["med", "vs"]
    res = m.simulate(outputs=outs)
    got = list(res.values[0, 0])
    assert got[:5] == WANT["so"]
    assert got[5:10] == WANT["rankd"]
    assert got[10:15] == WANT["srt"]
    assert got[15:] == [3000, 1000]


def test_cuda_simulator_runs_the_vector_functions(tmp_path):
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(vector_model(**ORDERS), sort_keys=False))
    outs = [n for name in WANT for n in names_of(name)] + ["vs"]
    a, b = cpu_and_cuda_simulator(path, outs, 3)
    np.testing.assert_array_equal(a, b)
