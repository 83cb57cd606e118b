"""Vensim subscripts through the importer: ranges, subranges, mappings, per-element and
:EXCEPT: definitions, constant lists and tables, subscripted references and SUM. Models are
small Vensim texts written here; the corpus tier is ``test_import_conformance.py``."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pysd")

import sim315
from sim315.core.errors import ModelError
from sim315.imports import import_model
from sim315.imports.subscripts import original_elements

_CONTROL = """
\\\\\\---/// Sketch information - do not modify anything except names
"""

_TIME = {"INITIAL TIME": "0", "FINAL TIME": "4", "TIME STEP": "1", "SAVEPER": "1"}


def mdl(folder: Path, text: str) -> Path:
    """A Vensim model file: ``text`` (``name = equation`` lines, ranges ``r: a, b``)."""
    body = "{UTF-8}\n"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    lines += [f"{k} = {v}" for k, v in _TIME.items()]
    for line in lines:
        body += line.strip() + "\n\t~\t\n\t~\t\t|\n\n"
    path = folder / "model.mdl"
    path.write_text(body + _CONTROL, encoding="utf-8")
    return path


def run(path: Path):
    return sim315.load_model(path).simulate(method="euler")


def test_ranges_constants_lists_and_a_stock(tmp_path):
    path = mdl(
        tmp_path,
        """
        Region: North Side, South, East
        rate[Region] = 0.1, 0.2, 0.3
        flow[Region] = rate[Region] * 10
        S[Region] = INTEG(flow[Region], 1)
        """,
    )
    model = import_model(path)
    region = model["dimensions"]["region"]
    assert region["elements"] == ["north_side", "south", "east"]
    assert original_elements(model)["north_side"] == "North Side"
    assert model["parameters"]["rate"]["value"] == {"north_side": 0.1, "south": 0.2, "east": 0.3}
    res = run(path)
    np.testing.assert_allclose(res["s[east]"][0], 1 + 3.0 * res.time)
    np.testing.assert_allclose(res["s[north_side]"][0], 1 + 1.0 * res.time)


def test_two_dimensional_table_and_sum_over_a_dimension(tmp_path):
    path = mdl(
        tmp_path,
        """
        a: a1, a2
        b: b1, b2, b3
        m[a, b] = 1, 2, 3; 4, 5, 6;
        total = SUM(m[a!, b!])
        row[a] = SUM(m[a, b!])
        col[b] = SUM(m[a!, b])
        """,
    )
    res = run(path)
    assert res["total"][0, 0] == 21
    assert res["row[a2]"][0, 0] == 15
    assert res["col[b1]"][0, 0] == 5
    assert res["m[a2,b3]"][0, 0] == 6


def test_subrange_and_per_element_definitions(tmp_path):
    path = mdl(
        tmp_path,
        """
        layers: l1, l2, l3, l4
        upper: l1, l2
        v[layers] = 1, 2, 3, 4
        w[upper] = 10 * v[upper]
        w[l3] = 7
        w[l4] = v[l1] - 1
        """,
    )
    model = import_model(path)
    assert model["dimensions"]["upper"]["subrange_of"] == "layers"
    res = run(path)
    got = [res[f"w[l{i}]"][0, 0] for i in range(1, 5)]
    assert got == [10, 20, 7, 0]


def test_except_is_the_default_equation(tmp_path):
    path = mdl(
        tmp_path,
        """
        p: p1, p2, p3
        x[p] :EXCEPT: [p2] = Time + 1
        x[p2] = 5
        c[p] :EXCEPT: [p1] = 2
        c[p1] = 3
        """,
    )
    model = import_model(path)
    aux = model["auxiliaries"]["x"]
    assert aux["equation"] == "(time + 1.0)"
    assert aux["elements"] == {"p2": "5.0"}
    assert model["parameters"]["c"]["value"] == {"p1": 3.0, "p2": 2.0, "p3": 2.0}
    res = run(path)
    assert [res[f"x[p{i}]"][0, 0] for i in (1, 2, 3)] == [1, 5, 1]


def test_mapping_reads_the_mapped_range_by_position(tmp_path):
    path = mdl(
        tmp_path,
        """
        skills: machiners, assemblers -> products
        products: parts, systems
        force[skills] = 5, 10
        work[products] = 2 * force[skills]
        """,
    )
    model = import_model(path)
    assert "skills" in model["dimensions"]["products"]["maps_to"]
    res = run(path)
    assert res["work[systems]"][0, 0] == 20


def test_a_range_name_as_a_value_is_the_element_number(tmp_path):
    path = mdl(
        tmp_path,
        """
        d: d1, d2, d3
        n[d] = d * 2
        same[d] = IF THEN ELSE(d = d2, 1, 0)
        """,
    )
    res = run(path)
    assert [res[f"n[d{i}]"][0, 0] for i in (1, 2, 3)] == [2, 4, 6]
    assert [res[f"same[d{i}]"][0, 0] for i in (1, 2, 3)] == [0, 1, 0]


def test_per_element_lookups_are_an_array_of_tables(tmp_path):
    path = mdl(
        tmp_path,
        """
        d: d1, d2
        t[d1]( (0,0),(10,10) )
        t[d2]( (0,1),(10,21) )
        y[d] = t[d](Time)
        """,
    )
    model = import_model(path)
    assert model["lookups"]["t"]["y"] == {"d1": [0.0, 10.0], "d2": [1.0, 21.0]}
    assert model["auxiliaries"]["y"]["equation"] == "lookup(t[d], time)"
    res = run(path)
    assert (res["y[d1]"][0, 2], res["y[d2]"][0, 2]) == (2, 5)


def test_arrays_of_data_without_equations_need_a_data_file_in_one_line(tmp_path):
    path = mdl(
        tmp_path,
        """
        d: d1, d2
        x[d] :HOLD BACKWARD:
        """,
    )
    with pytest.raises(ModelError, match=r"x: a data variable without an equation") as info:
        import_model(path)
    assert "\n" not in str(info.value)
    assert "--data" in str(info.value)  # tests/test_import_datafiles.py reads them


def test_mapping_by_element_list(tmp_path):
    path = mdl(
        tmp_path,
        """
        a: a1, a2 -> (b: b2, b1)
        b: b1, b2
        x[a] = 1, 2
        y[b] = x[a]
        """,
    )
    model = import_model(path)
    assert model["dimensions"]["a"] == {"elements": ["a1", "a2"], "maps_to": {"b": ["b2", "b1"]}}
    res = run(path)
    assert (res["y[b1]"][0, 0], res["y[b2]"][0, 0]) == (2, 1)


def test_original_element_names_in_outputs(tmp_path):
    from click.testing import CliRunner

    from sim315.cli import main

    mdl = tmp_path / "names.mdl"
    mdl.write_text(
        "{UTF-8}\n"
        "Region Set: North Side, South Side ~~|\n"
        "Sales[Region Set] = 3, 4 ~ widgets ~ |\n"
        "Total Sales = SUM(Sales[Region Set!]) ~ widgets ~ |\n"
        "INITIAL TIME = 0 ~ Month ~ |\nFINAL TIME = 2 ~ Month ~ |\n"
        "TIME STEP = 1 ~ Month ~ |\nSAVEPER = TIME STEP ~ Month ~ |\n"
    )
    args = ["model", "simulate", str(mdl), "--outputs", "Sales[North Side],sales[south_side]"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    head = r.output.splitlines()[0]
    assert "Sales[North Side]" in head and "Sales[South Side]" in head
    assert r.output.splitlines()[1].split() == ["0", "3", "4"]
