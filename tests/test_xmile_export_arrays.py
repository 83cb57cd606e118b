"""``sim315 model export --xmile`` of array models (sim315/imports/xmile_arrays.py): the
XMILE 1.0 file reads back through the importer to the same numbers, and what XMILE 1.0
cannot say (mappings, arrays over subranges, vector, matrix and allocation functions) is
refused with one line."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("pysd")

import sim315
from sim315.cli import main

ROOT = Path(__file__).resolve().parents[1]
COUNTY = ROOT / "scenarios" / "examples" / "ladder-by-county.model.yaml"

_HEAD = "name: t\ntime: {start: 0, stop: 4, dt: 0.5, units: year}\n"


def _export(tmp_path, model: Path):
    out = tmp_path / "out.xmile"
    r = CliRunner().invoke(main, ["model", "export", str(model), "--xmile", "-o", str(out)])
    return r, out


def _round_trip(tmp_path, text_or_path, rename=lambda n: n) -> str:
    """Export, import, and compare every saved output; returns the XMILE text."""
    first = text_or_path
    if isinstance(text_or_path, str):
        first = tmp_path / "m.yaml"
        first.write_text(_HEAD + text_or_path, encoding="utf-8")
    r, out = _export(tmp_path, first)
    assert r.exit_code == 0, r.output
    a, b = sim315.load_model(first), sim315.load_model(out)
    ra, rb = a.simulate(method="euler"), b.simulate(method="euler")
    step = round(a.grid.save_every / b.grid.save_every)  # XMILE saves every dt
    for name in ra.names:
        assert rename(name) in rb.names, name
        np.testing.assert_allclose(
            ra[name][0], rb[rename(name)][0][::step], rtol=1e-12, err_msg=name
        )
    return out.read_text(encoding="utf-8")


def test_county_example_reads_back(tmp_path):
    # a subrange in `elements` keys and a sum over it are written out element by element
    text = _round_trip(tmp_path, COUNTY)
    assert '<dim name="county"><elem name="nanhu"/>' in text
    assert "SUM(smes[*])" in text and "MAX(hightech[*])" in text
    assert '<element subscript="haining"><eqn>' in text
    assert '<dim name="coastal"' not in text and "[coastal" not in text


_PER_ELEMENT = """
dimensions:
  county: {elements: [haining, pinghu, tongxiang], names: {haining: Hai Ning}}
  north: {elements: [pinghu, tongxiang], subrange_of: county}
parameters:
  rate: {dims: [county], value: {haining: 0.1, north: 0.2}, units: 1/year}
  boost: {dims: [county], value: 0.5}
stocks:
  firms: {initial: 100, dims: [county], units: firm, inflows: [growth]}
flows:
  growth:
    dims: [county]
    units: firm/year
    equation: rate[county] * firms[county]
    elements:
      haining: boost[haining] * rate * firms
      tongxiang: rate[tongxiang] * firms[pinghu]
auxiliaries:
  total: {equation: "sum(firms[county!])", units: firm}
  north_total: {equation: "sum(firms[north!])", units: firm}
  share: {dims: [county], equation: "firms / total"}
"""


def test_per_element_definitions_read_back(tmp_path):
    text = _round_trip(tmp_path, _PER_ELEMENT, lambda n: n.replace("haining", "hai_ning"))
    # the dimension's original element names are the XMILE names
    assert '<elem name="Hai Ning"/>' in text
    assert "<eqn>((boost[Hai_Ning] * rate[Hai_Ning]) * firms[Hai_Ning])</eqn>" in text
    assert "(firms[pinghu] + firms[tongxiang])" in text  # the subrange, written out


_TWO_D = """
dimensions:
  region: [east, west]
  age: [young, mid, old]
parameters:
  w:
    dims: [region, age]
    value: {"east, young": 1, "east, mid": 2, "east, old": 3, "west, young": 4, "west, mid": 5,
            "west, old": 6}
  k: {value: 2, units: person}
stocks:
  people: {initial: "w[region, age] * k", dims: [region, age], units: person, inflows: [aging]}
flows:
  aging: {dims: [region, age], units: person/year,
          equation: "people[region, age] * w[region, age] / sum(w[region, age!]) / (1 + time)"}
auxiliaries:
  by_region: {dims: [region], equation: "sum(people[region, age!])", units: person}
  by_age: {dims: [age], equation: "sum(people[region!, age])", units: person}
  everyone: {equation: "sum(people[region!, age!])", units: person}
  extremes: {equation: "vmax(w[region!, age!]) - vmin(w[east, age!]) + max(w[region!, old])
    + min(w[west, age!]) + prod(w[region!, young])"}
  weighted: {equation: "sum(w[region!, young] * people[region!, young])", units: person}
"""


def test_two_dimensions_and_reductions_read_back(tmp_path):
    text = _round_trip(tmp_path, _TWO_D)
    assert "SUM(people[region, *])" in text and "SUM(people[*, age])" in text
    assert "SUM(people[*, *])" in text and "PROD(w[*, young])" in text
    assert "MIN(w[east, *])" in text
    # a reduction of an expression (not one array) is written out term by term
    assert "((w[east, young] * people[east, young]) + (w[west, young]" in text


_TABLES = """
dimensions:
  county: [haining, pinghu, tongxiang]
  north: {elements: [pinghu, tongxiang], subrange_of: county}
stocks:
  level: {initial: 1, dims: [county], units: firm, inflows: [rise]}
flows:
  rise: {dims: [county], units: firm/year, equation: "lookup(effect[county], time) * level"}
auxiliaries:
  shared: {dims: [county], equation: "lookup(same, time / 2)", units: 1/year}
  own: {dims: [county], equation: "lookup(effect, time) + lookup(effect[pinghu], 1)",
        units: 1/year}
lookups:
  effect:
    dims: [county]
    x: [0, 2, 4]
    x_units: year
    y: {haining: [1, 2, 3], north: [0.5, 0.5, 1.5]}
    y_units: 1/year
  same: {dims: [county], x: [0, 1, 2], x_units: year, y: [0, 1, 0.5], y_units: 1/year}
"""


def test_arrayed_lookups_with_per_element_tables_read_back(tmp_path):
    text = _round_trip(tmp_path, _TABLES)
    assert '<gf name="effect"><dimensions><dim name="county"/></dimensions>' in text
    assert '<element subscript="pinghu"><gf><xpts>0.0,2.0,4.0</xpts>' in text
    assert "LOOKUP(effect[county], TIME)" in text


_STOCK_INITIALS = """
dimensions:
  county: [haining, pinghu, tongxiang]
  north: {elements: [pinghu, tongxiang], subrange_of: county}
parameters:
  k: {value: 3, units: firm}
  rate: {value: 0.1, units: 1/year}
stocks:
  firms: {initial: {haining: 10, north: "k * 2"}, dims: [county], units: firm,
          inflows: [growth]}
flows:
  growth: {dims: [county], units: firm/year, equation: "rate * firms"}
"""


def test_arrayed_stock_with_per_element_initial_values_reads_back(tmp_path):
    # PySD reads a stock's initial <eqn> at the variable only, so the values per element
    # are written as an array auxiliary (firms_initial) that the stock's initial reads
    text = _round_trip(tmp_path, _STOCK_INITIALS)
    assert "<eqn>firms_initial[county]</eqn>" in text
    assert '<element subscript="pinghu"><eqn>(k * 2.0)</eqn></element>' in text


def _refused(tmp_path, body: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_text(_HEAD + "stocks: {s: {initial: 0, units: '1'}}\n" + body, encoding="utf-8")
    assert sim315.load_model(path)  # a valid model, refused only by the export
    r, out = _export(tmp_path, path)
    assert r.exit_code != 0
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert not out.exists()
    return r.output


_VEC = """
dimensions:
  d: [a, b, c]
parameters:
  x: {dims: [d], value: {a: 3, b: 1, c: 2}}
auxiliaries:
  y: {dims: [d], equation: "EQ"}
"""


@pytest.mark.parametrize(
    ("fn", "equation"),
    [
        ("vector_select", "vector_select(x[d!], x[d!], 0, 0, 0)"),
        ("elm_map", "elm_map(x[d], 1)"),
        ("vector_sort_order", "vector_sort_order(x[d!], 1)"),
        ("vector_rank", "vector_rank(x[d!], 1)"),
        ("vector_reorder", "vector_reorder(x[d!], x[d] - 1)"),
        ("allocate_by_priority", "allocate_by_priority(x[d!], x[d!], 1, 4)"),
    ],
)
def test_vector_and_allocation_functions_are_refused(tmp_path, fn, equation):
    out = _refused(tmp_path, _VEC.replace("EQ", equation))
    assert f"auxiliaries.y.equation: {fn}() (a vector, matrix or allocation function)" in out
    assert "has no XMILE 1.0 counterpart; export a model without it" in out


def test_allocate_available_and_invert_matrix_are_refused(tmp_path):
    body = """
dimensions:
  d: [a, b]
  p: [ptype, ppriority, pwidth, pextra]
  r: [r1, r2]
  c: [c1, c2]
parameters:
  req: {dims: [d], value: 2}
  pp: {dims: [d, p], value: {"a, ptype": 1, "a, ppriority": 2, "a, pwidth": 1, "a, pextra": 0,
       "b, ptype": 1, "b, ppriority": 1, "b, pwidth": 1, "b, pextra": 0}}
  m: {dims: [r, c], value: {"r1, c1": 2, "r1, c2": 0, "r2, c1": 0, "r2, c2": 4}}
auxiliaries:
  got: {dims: [d], equation: "allocate_available(req[d!], pp[d!, ptype], 3)"}
"""
    out = _refused(tmp_path, body)
    assert "allocate_available() (a vector, matrix or allocation function)" in out
    body = body.replace(
        'equation: "allocate_available(req[d!], pp[d!, ptype], 3)"', 'equation: "req[d]"'
    )
    out = _refused(
        tmp_path, body + '  inv: {dims: [r, c], equation: "invert_matrix(m[r!, c!], 2)"}\n'
    )
    assert "auxiliaries.inv.equation: invert_matrix()" in out


def test_mappings_are_refused(tmp_path):
    out = _refused(
        tmp_path,
        """
dimensions:
  county: [haining, pinghu]
  region: {elements: [r1, r2], maps_to: {county: null}}
parameters:
  rate: {dims: [county], value: 0.1}
auxiliaries:
  by_region: {dims: [region], equation: "rate[county]"}
""",
    )
    assert "dimensions.region: a dimension mapping (maps_to) has no XMILE 1.0 counterpart" in out
    assert "export a model without maps_to" in out


def test_arrays_over_a_subrange_are_refused(tmp_path):
    out = _refused(
        tmp_path,
        """
dimensions:
  county: [haining, pinghu, tongxiang]
  north: {elements: [pinghu, tongxiang], subrange_of: county}
parameters:
  rate: {dims: [north], value: 0.1}
""",
    )
    assert "rate: an array over the subrange 'north' has no XMILE 1.0 counterpart" in out
    assert "declare it over 'county' to export it" in out
