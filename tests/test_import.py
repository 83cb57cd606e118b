"""The Vensim/XMILE importer: names, mapping, PySD workarounds, the CLI and the XMILE round
trip. Models are written here as small Vensim files; the corpus tier is
``test_import_conformance.py``."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("pysd")

import sim315
from sim315.cli import main
from sim315.core.errors import ModelError
from sim315.imports import import_model, model_text
from sim315.imports.names import NameTable, safe_identifier

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "sd-test-models"

_CONTROL = """
********************************************************
\t.Control
********************************************************~
\t\tSimulation Control Parameters
\t|

FINAL TIME  = {stop}
\t~\tMonth
\t~\tThe final time for the simulation.
\t|

INITIAL TIME  = 0
\t~\tMonth
\t~\tThe initial time for the simulation.
\t|

SAVEPER  = {saveper}
\t~\tMonth
\t~\tThe frequency with which output is stored.
\t|

TIME STEP  = {dt}
\t~\tMonth
\t~\tThe time step for the simulation.
\t|

\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
"""


def mdl(folder: Path, equations: dict[str, str], stop=10, dt=0.25, saveper="TIME STEP") -> Path:
    """A Vensim model file of ``name = equation`` pairs."""
    body = "{UTF-8}\n"
    for k, v in equations.items():  # a table is written name(points), the rest name = eq
        head = f"{k}(\n\t{v[1:]}" if v.startswith("([") else f"{k}=\n\t{v}"
        body += head + "\n\t~\t\n\t~\t\t|\n\n"
    path = folder / "model.mdl"
    path.write_text(body + _CONTROL.format(stop=stop, dt=dt, saveper=saveper), encoding="utf-8")
    return path


def run(path: Path):
    return sim315.load_model(path).simulate(method="euler")


@pytest.mark.parametrize(
    ("name", "ident"),
    [
        ("Teacup Temperature", "teacup_temperature"),
        ('"Aux with $peC!@| characters"', "aux_with_pec_characters"),
        ("import", "import_"),
        ("time", "time_"),
        ("exp", "exp_"),
        ("2nd stage", "v_2nd_stage"),
        ("Café Crème", "cafe_creme"),
        ("人口", "u4eba_u53e3"),
        ("!!!", "v"),
    ],
)
def test_safe_identifiers(name, ident):
    assert safe_identifier(name) == ident


def test_name_table_is_unique_and_keeps_originals():
    table = NameTable()
    a, b, c = table.add("Stock A"), table.add("stock_a"), table.add("Stock-A")
    assert (a, b, c) == ("stock_a", "stock_a", "stock_a_2")  # Vensim: case and _ = space
    assert table.renamed() == {"stock_a": "Stock A", "stock_a_2": "Stock-A"}


def test_vensim_model_maps_structure_names_and_numbers(tmp_path):
    path = mdl(
        tmp_path,
        {
            '"Water in Tank"': 'INTEG("Inflow (l)" - drain, 10)',
            '"Inflow (l)"': "supply / 2",
            "supply": "4",
            "drain": '"Water in Tank" / residence',
            "residence": "4",
        },
    )
    model = import_model(path)
    stock = model["stocks"]["water_in_tank"]
    assert stock["inflows"] == ["inflow_l"] and stock["outflows"] == ["drain"]
    assert model["names"]["inflow_l"] == "Inflow (l)"
    assert model["parameters"]["residence"]["value"] == 4.0
    # a constant is a parameter (a scenario may vary it), so it cannot also be a flow
    res = run(path)
    t = res.time
    # dW/dt = 2 - W/4 under Euler: W_n = 8 + 2*(1 - 1/16)^n
    n = np.round(t / 0.25)
    np.testing.assert_allclose(res["water_in_tank"][0], 8 + 2 * (1 - 0.25 / 4) ** n, rtol=1e-12)


def test_names_round_trip_through_the_model_file(tmp_path):
    path = mdl(tmp_path, {'"Stock-A"': "INTEG(1, 0)", "import": '"Stock-A" * 2'})
    out = tmp_path / "model.yaml"
    out.write_text(model_text(import_model(path), path))
    again = yaml.safe_load(out.read_text())
    assert again["names"] == {"stock_a": "Stock-A", "import_": "import"}
    r = CliRunner().invoke(main, ["model", "simulate", str(out), "--outputs", "Stock-A,import"])
    assert r.exit_code == 0, r.output
    assert "Stock-A" in r.output and "import" in r.output  # shown by their own names


def test_a_net_flow_that_is_no_sum_of_flows_becomes_one_flow(tmp_path):
    path = mdl(tmp_path, {"S": "INTEG(0.5 * S, 1)"})
    model = import_model(path)
    assert model["stocks"]["s"]["inflows"] == ["s_net_flow"]
    assert model["flows"]["s_net_flow"]["equation"] == "(0.5 * s)"


def test_vensim_functions_map_to_builtins(tmp_path):
    path = mdl(
        tmp_path,
        {
            "a": "LOG(8, 2) + LN(1) + GAME(3)",
            "b": "IF THEN ELSE(Time > 2 :AND: Time < 4, 1, 0)",
            "c": "XIDZ(1, 0, 7) + ZIDZ(1, 0) + POWER(2, 3)",
            "d": "tbl(Time)",
            "tbl": "([(0,0)-(10,10)],(0,0),(10,10))",
            "e": "WITH LOOKUP(Time, ([(0,0)-(10,10)],(0,1),(10,21)))",
            "f": "SINH(1) - (EXP(1) - EXP(-1)) / 2",
            "g": ":NA:",
            "h": "PULSE TRAIN(1, 1, 3, 8)",
            "ext": "LOOKUP EXTRAPOLATE(tbl, Time + 2)",
            "fwd": "LOOKUP FORWARD(tbl2, Time)",
            "bwd": "LOOKUP BACKWARD(tbl2, Time)",
            "tbl2": "([(0,0)-(10,10)],(0,0),(1,5),(4,7))",
        },
    )
    res = run(path)
    t = res.time
    np.testing.assert_allclose(res["a"][0], 6.0)  # log2(8) + 0 + GAME(3) = 3
    np.testing.assert_allclose(res["b"][0], ((t > 2) & (t < 4)).astype(float))
    np.testing.assert_allclose(res["c"][0], 15.0)
    np.testing.assert_allclose(res["d"][0], t)
    np.testing.assert_allclose(res["e"][0], 1 + 2 * t)
    np.testing.assert_allclose(res["f"][0], 0.0, atol=1e-15)
    assert res["g"][0][0] == -(2.0**109)  # Vensim's :NA:, not NaN
    on = ((t >= 1) & (t < 2)) | ((t >= 4) & (t < 5)) | ((t >= 7) & (t < 8))
    np.testing.assert_allclose(res["h"][0], on.astype(float))
    np.testing.assert_allclose(res["ext"][0], t + 2)  # the table's slope past x = 10
    np.testing.assert_allclose(res["fwd"][0], np.select([t <= 0, t <= 1, t <= 4], [0, 5, 7], 7))
    np.testing.assert_allclose(res["bwd"][0], np.select([t < 1, t < 4], [0, 5], 7))


def test_delay_n_order_is_fixed_at_the_start(tmp_path):
    path = mdl(tmp_path, {"o": "2 + STEP(1, 5)", "x": "DELAY N(1, 3, 0, o)"})
    assert "delayn(1.0, 3.0, 0.0, 2)" in import_model(path)["auxiliaries"]["x"]["equation"]


def test_delay_n_order_is_cut_to_fit_the_time_step(tmp_path):
    # Vensim: the delay time must exceed order * TIME STEP, else the order is reduced
    path = mdl(tmp_path, {"x": "DELAY N(1, 1, 0, 8)", "y": "DELAY N(1, 0.1, 0, 3)"}, dt=0.25)
    aux = import_model(path)["auxiliaries"]
    assert aux["x"]["equation"].endswith(", 3)")  # 1 > 3 * 0.25, not 4 * 0.25
    assert aux["y"]["equation"].endswith(", 1)")  # shorter than a step: first order


@pytest.mark.parametrize(
    ("equations", "match"),
    [
        ({"x": "GET XLS DATA('a.xlsx', 'b', 'A', 'B2')"}, "x: "),
        ({"x": "ALLOCATE AVAILABLE(1, 2, 3)"}, "x: "),
        ({"x": "DELAY N(1, 3, 0, RANDOM UNIFORM(1, 3, 1))"}, "x: a DELAY N order that is not"),
        ({"x": "DELAY N(1, 3, 0, 2.5)"}, "x: a DELAY N order of 2.5"),
        ({"x": "INTEG(1, 0) + 2"}, "x: INTEG inside an expression is not supported"),
    ],
)
def test_unsupported_constructs_are_one_line_errors(tmp_path, equations, match):
    path = mdl(tmp_path, equations)
    with pytest.raises(ModelError, match=match):
        import_model(path)


def test_control_variables_that_change_are_refused(tmp_path):
    path = mdl(tmp_path, {"x": "1"}, stop="10 + RANDOM UNIFORM(0, 1, 1)")
    with pytest.raises(ModelError, match="FINAL TIME: a control variable that is not constant"):
        import_model(path)


def test_control_variables_that_are_constant_equations_are_evaluated(tmp_path):
    path = mdl(tmp_path, {"x": "1", "horizon": "5"}, stop="2 * horizon", dt="1 / 4", saveper=1)
    time = import_model(path)["time"]
    assert (time["stop"], time["dt"], time["save_every"]) == (10.0, 0.25, 1.0)


def test_macros_are_expanded_per_call(tmp_path):
    path = tmp_path / "m.mdl"
    text = mdl(tmp_path, {"y": "EXPSMOOTH(1, 2, 5) + EXPSMOOTH(2, 4, 1)"}).read_text("utf-8")
    macro = (
        ":MACRO: EXPSMOOTH(input, delay time, init)\n"
        "EXPSMOOTH = INTEG((input - EXPSMOOTH) / delay time, init)\n\t~\t\n\t~\t\t|\n\n"
        ":END OF MACRO:\n"
    )
    path.write_text(text.replace("{UTF-8}\n", "{UTF-8}\n" + macro), encoding="utf-8")
    model = import_model(path)
    assert set(model["stocks"]) == {"expsmooth_1_expsmooth", "expsmooth_2_expsmooth"}
    res = run(path)
    n = np.round(res.time / 0.25)
    # each call has its own stock: 1 + 4*(1 - dt/2)^n and 2 - (1 - dt/4)^n under Euler
    want = 1 + 4 * (1 - 0.25 / 2) ** n + 2 - (1 - 0.25 / 4) ** n
    np.testing.assert_allclose(res["y"][0], want, rtol=1e-12)


def test_a_macro_called_with_too_few_arguments_is_one_line(tmp_path):
    path = tmp_path / "m.mdl"
    text = mdl(tmp_path, {"y": "TWICE(3, 4)"}).read_text(encoding="utf-8")
    macro = ":MACRO: TWICE(input)\nTWICE = 2 * input\n\t~\t\n\t~\t\t|\n\n:END OF MACRO:\n"
    path.write_text(text.replace("{UTF-8}\n", "{UTF-8}\n" + macro), encoding="utf-8")
    with pytest.raises(ModelError, match="y: a call of the macro twice with 2 arguments"):
        import_model(path)


def test_cli_import_writes_a_model_and_errors_are_one_line(tmp_path):
    path = mdl(tmp_path, {"S": "INTEG(1, 0)"})
    out = tmp_path / "out.yaml"
    r = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert out.is_file() and "wrote" in r.output
    bad = mdl(tmp_path, {"x": "ALLOCATE AVAILABLE(1, 2, 3)"})
    r = CliRunner().invoke(main, ["import", str(bad)])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1 and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["import", str(tmp_path / "nope.mdl")])
    assert r.exit_code == 2 and "no such model file" in r.output


def test_model_commands_read_vensim_directly(tmp_path):
    path = mdl(tmp_path, {"S": "INTEG(1, 0)"})
    r = CliRunner().invoke(main, ["model", "check", str(path)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["model", "simulate", str(path)])
    assert r.exit_code == 0 and "10" in r.output.splitlines()[-1]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="SD corpus not found")
def test_pysd_xmile_lookup_call_workaround():
    # PySD 3.14 alone fails on LOOKUP(table, x) in XMILE (a TypeError while parsing)
    model = import_model(CORPUS / "tests" / "lookups" / "test_lookups.stmx")
    eq = model["auxiliaries"]["lookup_function_call"]["equation"]
    assert eq == "lookup(lookup_function_table_table, time)"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="SD corpus not found")
def test_pysd_unquoted_flow_names_workaround():
    # PySD 3.14 alone fails on <inflow>Flow_w/_division</inflow> (parsed as an expression)
    path = CORPUS / "tests" / "special_characters_xmile" / "test_special_variable_names.stmx"
    model = import_model(path)
    stock = model["stocks"]["stock_with_newline_character"]
    assert stock["inflows"] == ["flow_w_division_lists_and_initial_construction_functions"]


@pytest.mark.parametrize(
    "case",
    [
        "samples/teacup/teacup.mdl",
        "samples/SIR/SIR.mdl",
        "tests/smooth/test_smooth.mdl",
        "tests/delays/test_delays.mdl",
        "tests/lookups/test_lookups.mdl",
        "tests/special_characters_xmile/test_special_variable_names.xmile",
    ],
)
def test_xmile_export_reads_back_to_the_same_numbers(tmp_path, case):
    if not CORPUS.is_dir():
        pytest.skip("SD corpus not found")
    first = tmp_path / "a.yaml"
    first.write_text(model_text(import_model(CORPUS / case), case))
    xmile = tmp_path / "a.xmile"
    r = CliRunner().invoke(main, ["model", "export", str(first), "--xmile", "-o", str(xmile)])
    assert r.exit_code == 0, r.output
    a, b = sim315.load_model(first), sim315.load_model(xmile)
    ra, rb = a.simulate(method="euler"), b.simulate(method="euler")
    assert set(ra.names) <= set(rb.names)
    step = round(a.grid.save_every / b.grid.save_every)  # XMILE saves every dt
    for name in ra.names:
        np.testing.assert_array_equal(ra[name][0], rb[name][0][::step], err_msg=name)
    assert math.isclose(a.grid.stop, b.grid.stop)


def test_missing_pysd_is_one_line(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_pysd(name, *args, **kwargs):
        if name == "pysd" or name.startswith("pysd."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pysd)
    from sim315.imports.reader import pysd_version

    with pytest.raises(ModelError, match=re.escape("needs PySD; pip install 'sim315[import]'")):
        pysd_version()


_XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><vendor>test</vendor><product version="1">test</product></header>
<sim_specs method="Euler" time_units="Months"><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
<model><variables>
<stock name="Tank"><eqn>2</eqn><inflow>fill</inflow><outflow>drain</outflow><non_negative/></stock>
<flow name="fill"><eqn>1 - TIME</eqn><non_negative/></flow>
<flow name="drain"><eqn>1</eqn></flow>
<aux name="either"><eqn>IF TIME &gt; 1 AND NOT (TIME &gt; 3) THEN 1 ELSE 0</eqn></aux>
</variables></model>
</xmile>
"""


def test_xmile_uniflows_non_negative_stocks_and_logic(tmp_path):
    path = tmp_path / "tank.xmile"
    path.write_text(_XMILE, encoding="utf-8")
    model = import_model(path)
    assert model["flows"]["fill"]["equation"] == "max((1.0 - time), 0.0)"  # a uniflow
    assert model["stocks"]["tank"]["non_negative"] is True
    # drain = 1 stays a parameter (scenarios vary it); the flow that drains it keeps the rest
    assert model["stocks"]["tank"]["inflows"] == ["fill", "tank_net_flow"]
    assert model["flows"]["tank_net_flow"]["equation"] == "-drain"
    res = run(path)
    # fill = max(1 - t, 0) = 1, 0, 0, ...; drain 1: 2 -> 2 -> 1 -> 0 -> floored at 0
    np.testing.assert_allclose(res["tank"][0], [2, 2, 1, 0, 0])
    np.testing.assert_allclose(res["either"][0], [0, 0, 1, 1, 0])


def test_scenarios_run_vensim_models_directly(tmp_path):
    mdl(tmp_path, {"S": "INTEG(growth * S, 1)", "growth": "0.1"})
    scenario = tmp_path / "sc.yaml"
    scenario.write_text(
        "model: model.mdl\nruns: 4\nseed: 1\n"
        "uncertain:\n  growth: {dist: uniform, low: 0.05, high: 0.15}\n"
    )
    r = CliRunner().invoke(main, ["validate", str(scenario)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["run", str(scenario), "-o", str(tmp_path / "o.h5"), "-q"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o.h5").is_file()


_SKETCH = """\\\\\\---/// Sketch information - do not modify anything except names
V300  Do not put anything below this section - it will be ignored
*Households
$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|72,72,100,0
10,1,Savings,307,235,40,20,3,3,0,0,0,0,0,0
*Firms
$192-192-192,0,Times New Roman|12||0-0-0|0-0-0|0-0-255|-1--1--1|-1--1--1|72,72,100,0
10,1,Capital,307,235,40,20,3,3,0,0,0,0,0,0
"""


def test_vensim_views_become_stock_groups(tmp_path):
    path = mdl(tmp_path, {"Savings": "INTEG(1, 0)", "Capital": "INTEG(2, 0)"})
    text = path.read_text(encoding="utf-8")
    head = text[: text.index("\\\\\\---///")]
    path.write_text(head + _SKETCH, encoding="utf-8")
    stocks = import_model(path)["stocks"]
    assert stocks["savings"]["group"] == "households"  # as PySD names views: lower case
    assert stocks["capital"]["group"] == "firms"
