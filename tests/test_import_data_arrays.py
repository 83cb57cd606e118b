"""Subscripted GET XLS / GET DIRECT functions: array constants, data and lookups read from
spreadsheets in Vensim's order, and subscript ranges read with GET DIRECT SUBSCRIPT. The
workbooks are written here with openpyxl."""

from pathlib import Path

import numpy as np
import openpyxl
import pytest

pytest.importorskip("pysd")

import sim315
from sim315.core.errors import ModelError
from sim315.imports import import_model

_CONTROL = """
INITIAL TIME = 0 ~ Month ~ |
FINAL TIME = 6 ~ Month ~ |
TIME STEP = 1 ~ Month ~ |
SAVEPER = TIME STEP ~ Month ~ |
"""


def mdl(folder: Path, text: str) -> Path:
    path = folder / "m.mdl"
    body = "\n".join(line.strip() for line in text.strip().splitlines())
    path.write_text("{UTF-8}\n" + body.replace("\n", " ~~|\n") + " ~~|\n" + _CONTROL)
    return path


def book(folder: Path, rows: list[tuple], name: str = "d.xlsx") -> Path:
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "S"
    for row in rows:
        sheet.append(row)
    wb.save(folder / name)
    return folder / name


def run(path: Path):
    return sim315.load_model(path).simulate(method="euler")


GRID = [  # A1:D3
    (1, 2, 3, 4),
    (5, 6, 7, 8),
    (9, 10, 11, 12),
]


def test_constants_fill_the_last_subscript_across_and_star_transposes(tmp_path):
    book(tmp_path, GRID)
    path = mdl(
        tmp_path,
        """
        r: r1, r2
        c: c1, c2, c3
        across[c] = GET XLS CONSTANTS('d.xlsx', 'S', 'B1')
        down[c] = GET XLS CONSTANTS('d.xlsx', 'S', 'A1*')
        table[r, c] = GET XLS CONSTANTS('d.xlsx', 'S', 'A2')
        turned[r, c] = GET XLS CONSTANTS('d.xlsx', 'S', 'A1*')
        """,
    )
    params = import_model(path)["parameters"]
    assert params["across"]["value"] == {"c1": 2.0, "c2": 3.0, "c3": 4.0}
    assert params["across"]["source"] == "d.xlsx, sheet 'S', cells from B1"
    assert params["down"]["value"] == {"c1": 1.0, "c2": 5.0, "c3": 9.0}
    assert params["table"]["value"] == {
        "r1, c1": 5.0, "r1, c2": 6.0, "r1, c3": 7.0,
        "r2, c1": 9.0, "r2, c2": 10.0, "r2, c3": 11.0,
    }  # fmt: skip
    # transposed: r across the columns, c down the rows
    assert params["turned"]["value"] == {
        "r1, c1": 1.0, "r1, c2": 5.0, "r1, c3": 9.0,
        "r2, c1": 2.0, "r2, c2": 6.0, "r2, c3": 10.0,
    }  # fmt: skip


def test_partial_definitions_mix_numbers_files_and_equations(tmp_path):
    book(tmp_path, GRID)
    path = mdl(
        tmp_path,
        """
        d: d1, d2, d3, d4
        sub: d3, d2
        e: e1, e2
        x[d1] = 70
        x[sub] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'C1*')
        x[d4] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'D3')
        y[d, e1] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'A3')
        y[d, e2] = Time
        """,
    )
    res = run(path)
    got = [res[f"x[{k}]"][0, 0] for k in ("d1", "d2", "d3", "d4")]
    assert got == [70.0, 7.0, 3.0, 12.0]  # sub lists d3 first: C1 -> d3, C2 -> d2
    assert [res[f"y[d{i},e1]"][0, 0] for i in range(1, 5)] == [9.0, 10.0, 11.0, 12.0]
    np.testing.assert_allclose(res["y[d2,e2]"][0], res.time)


def test_named_ranges_hold_array_constants(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName

    path = book(tmp_path, GRID)
    wb = openpyxl.load_workbook(path)
    wb.defined_names["col"] = DefinedName("col", attr_text="S!$B$1:$B$3")
    wb.save(path)
    model = mdl(tmp_path, "d: d1, d2, d3\nx[d] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'col*')")
    params = import_model(model)["parameters"]
    assert params["x"]["value"] == {"d1": 2.0, "d2": 6.0, "d3": 10.0}
    assert params["x"]["source"] == "d.xlsx, sheet 'S', range col"


def test_array_data_follow_their_keyword_per_element(tmp_path):
    book(tmp_path, [("t", 1, 3, 5), ("a", 10, None, 50), ("b", 1, 3, 5)])
    path = mdl(
        tmp_path,
        """
        d: a, b
        e: e1, e2, e3
        v[d] :HOLD BACKWARD: := GET XLS DATA('d.xlsx', 'S', '1', 'B2')
        w[e1] := GET XLS DATA('d.xlsx', 'S', '1', 'B3')
        w[e2] = 4
        w[e3] = Time * 2
        """,
    )
    spec = import_model(path)
    assert spec["auxiliaries"]["v"]["equation"] == "lookup_backward(v_table[d], time)"
    table = spec["lookups"]["v_table"]
    assert table["dims"] == ["d"] and table["x"]["a"] == [1.0, 5.0]  # the blank: left out
    assert table["source"] == "d.xlsx, sheet 'S', times in row 1, values from cell B2"
    assert spec["auxiliaries"]["w"]["elements"]["e1"] == "lookup(w_table[e1], time)"
    res = run(path)
    t = res.time
    np.testing.assert_allclose(res["v[a]"][0], np.where(t < 5, 10, 50))
    np.testing.assert_allclose(res["v[b]"][0], np.select([t < 3, t < 5], [1, 3], 5))
    np.testing.assert_allclose(res["w[e1]"][0], np.interp(t, [1, 3, 5], [1, 3, 5]))
    np.testing.assert_allclose(res["w[e2]"][0], 4.0)
    np.testing.assert_allclose(res["w[e3]"][0], 2 * t)


def test_array_lookups_read_one_column_per_element(tmp_path):
    book(tmp_path, [("x", "a", "b"), (0, 0, 10), (10, 10, 30)])
    path = mdl(
        tmp_path,
        """
        d: a, b
        tab[d] = GET DIRECT LOOKUPS('d.xlsx', 'S', 'A', 'B2')
        y[d] = tab[d](Time)
        """,
    )
    spec = import_model(path)
    assert spec["lookups"]["tab"]["y"] == {"a": [0.0, 10.0], "b": [10.0, 30.0]}
    res = run(path)
    np.testing.assert_allclose(res["y[a]"][0], res.time)
    np.testing.assert_allclose(res["y[b]"][0], 10 + 2 * res.time)


def test_subscript_ranges_read_from_files(tmp_path):
    book(tmp_path, [("names", 1, 2, None, "x y"), ("k", 5, 6, 7)])
    path = mdl(
        tmp_path,
        """
        d: GET DIRECT SUBSCRIPT('d.xlsx', 'S', 'B1', 'E1', 'n')
        x[d] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'B2')
        """,
    )
    spec = import_model(path)  # across then down, the blank left out
    assert spec["dimensions"]["d"]["elements"] == ["n1", "n2", "nx_y"]
    assert spec["dimensions"]["d"]["names"] == {"nx_y": "nx y"}
    res = run(path)
    assert [res[f"x[{e}]"][0, 0] for e in ("n1", "n2", "nx_y")] == [5.0, 6.0, 7.0]


def test_time_blanks_in_the_middle_are_left_out(tmp_path):
    book(tmp_path, [("t", 1, None, 3, "n/a", 5), ("v", 1, 99, 3, 99, 5)])
    path = mdl(tmp_path, "v := GET XLS DATA('d.xlsx', 'S', '1', 'B2')")
    res = run(path)
    np.testing.assert_allclose(res["v"][0], np.interp(res.time, [1, 3, 5], [1, 3, 5]))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "a: a1, a2\nb: b1, b2\nc: c1, c2\n"
            "x[a, b, c] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'A1')",
            r"m\.mdl: x: GET \.\.\. CONSTANTS over more than 2 subscripts of more than one "
            r"element is not supported; write one definition per element",
        ),
        (
            "a: a1, a2\nb: b1, b2\nx[a, b] := GET DIRECT DATA('d.xlsx', 'S', '1', 'A2')",
            r"x: GET \.\.\. DATA or LOOKUPS over more than 1 subscript of more than one",
        ),
        (
            "a: a1, a2\nx[a] = GET DIRECT CONSTANTS('d.xlsx', 'S', 'A3')",
            r"x: d\.xlsx, sheet 'S', cells from A3: a cell holds no number; check the cells",
        ),
    ],
)
def test_what_cannot_be_read_is_one_line(tmp_path, text, match):
    book(tmp_path, GRID[:2])
    with pytest.raises(ModelError, match=match) as info:
        import_model(mdl(tmp_path, text))
    assert "\n" not in str(info.value)
