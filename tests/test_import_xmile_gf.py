"""XMILE graphical functions defined per element of an array (XMILE 1.0, non-apply-to-all
arrays): each ``<element subscript="...">`` holds its own ``<gf>`` (``<xscale>`` and
``<ypts>``, or ``<xpts>`` and ``<ypts>``; ``type`` continuous, extrapolate or discrete), its
``<eqn>`` in the element or once at the variable. PySD 3.14's parser fails on the second
form (IndexError) and drops the element's table in the first; sim315 works around both
(``_xmile_element_gf`` in ``sim315/imports/reader.py``). Models are small XMILE texts written
here, checked against values worked out by hand; the corpus case is
samples/arrays/non-a2a/non-a2a-gf.stmx."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pysd")

import sim315
from sim315.imports import import_model

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "sd-test-models"

_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><vendor>test</vendor><product version="1">test</product></header>
<sim_specs method="Euler"><start>0</start><stop>5</stop><dt>0.25</dt></sim_specs>
<dimensions><dim name="X"><elem name="a"/><elem name="b"/><elem name="c"/></dim></dimensions>
<model><variables>
"""
_TAIL = "</variables></model>\n</xmile>\n"

#: One equation for all elements (at the variable), each element's table by <xscale> only:
#: its x points spread evenly over [min, max], as many as <ypts> has values.
_SHARED_EQN = """
<aux name="g">
  <dimensions><dim name="X"/></dimensions>
  <element subscript="a"><gf>
    <xscale min="0" max="4"/><yscale min="0" max="40"/><ypts>0,10,20,30,40</ypts>
  </gf></element>
  <element subscript="b"><gf>
    <xscale min="1" max="3"/><yscale min="0" max="5"/><ypts>5,1,3</ypts>
  </gf></element>
  <element subscript="c"><gf>
    <xscale min="0" max="4"/><yscale min="0" max="1"/><ypts sep=";">1;0</ypts>
  </gf></element>
  <eqn>TIME</eqn>
</aux>
"""

#: Each element its own equation and its own table by <xpts> (uneven), one of each type.
_OWN_EQN = """
<aux name="h">
  <dimensions><dim name="X"/></dimensions>
  <element subscript="a"><eqn>TIME - 1</eqn><gf>
    <yscale min="0" max="20"/><xpts>0,1,3</xpts><ypts>0,10,20</ypts>
  </gf></element>
  <element subscript="b"><eqn>TIME - 1</eqn><gf type="extrapolate">
    <yscale min="0" max="20"/><xpts>0,1,3</xpts><ypts>0,10,20</ypts>
  </gf></element>
  <element subscript="c"><eqn>2 * TIME</eqn><gf type="discrete">
    <yscale min="0" max="7"/><xpts>0,2,3</xpts><ypts>1,5,7</ypts>
  </gf></element>
</aux>
"""


def xmile(folder: Path, body: str) -> Path:
    path = folder / "model.xmile"
    path.write_text(_HEAD + body + _TAIL, encoding="utf-8")
    return path


def run(path: Path):
    return sim315.load_model(path).simulate(method="euler")


def _pysd_alone(path: Path):
    from sim315.imports.reader import pysd_version

    pysd_version()
    from pysd.translators.xmile.xmile_file import XmileFile

    parsed = XmileFile(path)
    parsed.parse()
    return parsed.get_abstract_model()


def test_pysd_alone_fails_on_an_element_gf_with_the_equation_at_the_variable(tmp_path):
    # Aux._parse_component reads <eqn> in the <element> only: none there, so Element.parse
    # indexes an empty list (self._parse_component(subnode, behaviors)[0])
    with pytest.raises(IndexError, match="list index out of range"):
        _pysd_alone(xmile(tmp_path, _SHARED_EQN))


def test_pysd_alone_drops_an_elements_own_gf(tmp_path):
    # ... and it reads <gf> at the variable only: an element's own table is lost, each
    # element parsed as its bare equation (TIME - 1), without a lookup
    elements = _pysd_alone(xmile(tmp_path, _OWN_EQN)).sections[0].elements
    (el,) = [e for e in elements if e.name == "h"]
    assert [type(c.ast).__name__ for c in el.components] == ["ArithmeticStructure"] * 3


def test_element_gfs_with_xscale_and_the_equation_at_the_variable(tmp_path):
    path = xmile(tmp_path, _SHARED_EQN)
    model = import_model(path)
    elements = model["auxiliaries"]["g"]["elements"]
    tables = {k: model["lookups"][elements[k].split("(")[1].split(",")[0]] for k in "abc"}
    assert tables["a"] == {"x": [0.0, 1.0, 2.0, 3.0, 4.0], "y": [0.0, 10.0, 20.0, 30.0, 40.0]}
    assert tables["b"] == {"x": [1.0, 2.0, 3.0], "y": [5.0, 1.0, 3.0]}
    assert tables["c"] == {"x": [0.0, 4.0], "y": [1.0, 0.0]}
    res = run(path)
    t = res.time
    np.testing.assert_allclose(t, np.arange(0, 5.0001, 0.25))
    # a: y = 10 x on [0, 4], held at 40 after (continuous: the end values hold)
    np.testing.assert_allclose(res["g[a]"][0], np.minimum(10 * t, 40))
    # b: 5 up to x = 1, down to 1 at x = 2, up to 3 at x = 3, then 3
    b = np.where(t <= 1, 5, np.where(t <= 2, 5 - 4 * (t - 1), np.where(t <= 3, 1 + 2 * (t - 2), 3)))
    np.testing.assert_allclose(res["g[b]"][0], b)
    # c: two points, from 1 at x = 0 to 0 at x = 4 (values separated by ";"), then 0
    np.testing.assert_allclose(res["g[c]"][0], np.maximum(1 - t / 4, 0))


def test_element_gfs_with_xpts_their_own_equations_and_types(tmp_path):
    path = xmile(tmp_path, _OWN_EQN)
    model = import_model(path)
    elements = model["auxiliaries"]["h"]["elements"]
    assert elements["a"].startswith("lookup(") and elements["a"].endswith(", (time - 1.0))")
    assert elements["b"].startswith("lookup_extrapolate(")
    assert elements["c"].startswith("lookup_backward(")
    # a and b share one table (the same points): it is written once
    assert elements["a"].split(",")[0][7:] == elements["b"].split(",")[0][19:]
    res = run(path)
    x = res.time - 1  # -1 .. 4
    # a, continuous: 10 x on [0, 1], 10 + 5 (x - 1) on [1, 3], the end values outside
    inside = np.where(x <= 1, 10 * x, 10 + 5 * (x - 1))
    np.testing.assert_allclose(res["h[a]"][0], np.clip(inside, 0, 20))
    # b, extrapolate: the end segments extended, slope 10 below 0 and 5 above 3
    np.testing.assert_allclose(res["h[b]"][0], np.where(x <= 1, 10 * x, 10 + 5 * (x - 1)))
    # c, discrete at 2 t: 1 on [0, 2), 5 on [2, 3), 7 from 3 on
    x2 = 2 * res.time
    np.testing.assert_allclose(res["h[c]"][0], np.where(x2 < 2, 1, np.where(x2 < 3, 5, 7)))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="SD corpus not found")
def test_corpus_non_a2a_gf():
    path = CORPUS / "samples" / "arrays" / "non-a2a" / "non-a2a-gf.stmx"
    res = run(path)
    t = res.time  # 1 .. 13, dt 1/4; the tables' x points are 1, 2, ..., 13
    pizza = [97.3, 91.4, 86.5, 78.4, 71.9, 65.9, 57.8, 50.3, 43.8, 33, 20, 2.7, 0]
    salad = [2.2, 5.9, 10.3, 14.9, 19.5, 30.8, 45.4, 53.5, 62.2, 68.6, 80, 92.4, 100]
    at = np.searchsorted(t, [1, 1.5, 7.25, 13])
    got = res["converter_1[pizza]"][0, at], res["converter_1[salad]"][0, at]
    np.testing.assert_allclose(got[0], [97.3, (97.3 + 91.4) / 2, 57.8 + 0.25 * (50.3 - 57.8), 0])
    np.testing.assert_allclose(got[1], [2.2, (2.2 + 5.9) / 2, 45.4 + 0.25 * (53.5 - 45.4), 100])
    whole = np.searchsorted(t, np.arange(1, 14))
    np.testing.assert_allclose(res["converter_1[pizza]"][0, whole], pizza)
    np.testing.assert_allclose(res["converter_1[salad]"][0, whole], salad)


def test_vensim_per_element_with_lookup_keeps_each_table(tmp_path):
    # the same mapping path: one inline table per distinct table of an array's elements
    # (before, every element read the table of the last element mapped)
    path = tmp_path / "model.mdl"
    lines = [
        "d: d1, d2",
        "x[d1] = WITH LOOKUP(Time, ([(0,0)-(10,10)],(0,0),(10,10)))",
        "x[d2] = WITH LOOKUP(Time, ([(0,0)-(10,30)],(0,1),(10,21)))",
        "INITIAL TIME = 0",
        "FINAL TIME = 4",
        "TIME STEP = 1",
        "SAVEPER = 1",
    ]
    body = "".join(f"{ln}\n\t~\t\n\t~\t\t|\n\n" for ln in lines)
    path.write_text("{UTF-8}\n" + body, encoding="utf-8")
    model = import_model(path)
    assert model["auxiliaries"]["x"]["elements"] == {
        "d1": "lookup(x_table, time)",
        "d2": "lookup(x_table_2, time)",
    }
    res = run(path)
    np.testing.assert_allclose(res["x[d1]"][0], res.time)
    np.testing.assert_allclose(res["x[d2]"][0], 1 + 2 * res.time)
