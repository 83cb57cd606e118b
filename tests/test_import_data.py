"""The importer's data files (GET XLS / GET DIRECT CONSTANTS, DATA, LOOKUPS), XMILE groups,
original names in ``model show``, macros with extra outputs, and PySD imported without its
simulation backend. Spreadsheets are written here with openpyxl; the corpus cases
(``tests/get_constants``, ``tests/get_data``) run when the corpus is present."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

pytest.importorskip("pysd")

import sim315
from sim315.cli import main
from sim315.core.errors import ModelError
from sim315.imports import import_model, translated
from sim315.imports.equations import VENSIM_NA

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "sd-test-models"

_CONTROL = """
FINAL TIME = 6 ~ Month ~ |
INITIAL TIME = 0 ~ Month ~ |
SAVEPER = TIME STEP ~ Month ~ |
TIME STEP = 0.5 ~ Month ~ |

\\\\\\---/// Sketch information - do not modify anything except names
"""


def model(folder: Path, text: str) -> Path:
    path = folder / "m.mdl"
    path.write_text("{UTF-8}\n" + text + _CONTROL, encoding="utf-8")
    return path


def workbook(folder: Path, name: str = "d.xlsx") -> Path:
    """Times 1, 3, 4 (value missing), 5 down column A, values in B; a constant in D1."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "S"
    for row in [("Time", "v"), (1, 10), (3, 30), (4, None), (5, 50)]:
        sheet.append(row)
    sheet["D1"] = 7.5
    book.save(folder / name)
    return folder / name


def run(path: Path):
    return sim315.load_model(path).simulate(method="euler")


def test_get_xls_data_follows_vensims_keywords(tmp_path):
    workbook(tmp_path)
    get = "GET XLS DATA('d.xlsx', 'S', 'A', 'B2') ~ ~ |\n"
    path = model(
        tmp_path,
        f"a := {get}b :HOLD BACKWARD: := {get}c :LOOK FORWARD: := {get}r :RAW: := {get}",
    )
    spec = import_model(path)
    assert spec["auxiliaries"]["a"]["equation"] == "lookup(a_table, time)"
    assert spec["lookups"]["a_table"]["source"] == (
        "d.xlsx, sheet 'S', times in column A, values from cell B2"
    )
    res = run(path)
    t = res.time  # 0, 0.5, ..., 6; data at 1, 3, 5 (4 is blank: left out)
    np.testing.assert_allclose(res["a"][0], np.interp(t, [1, 3, 5], [10, 30, 50]))
    np.testing.assert_allclose(res["b"][0], np.select([t < 3, t < 5], [10, 30], 50))
    np.testing.assert_allclose(res["c"][0], np.select([t <= 1, t <= 3], [10, 30], 50))
    raw = np.select([t == 1, t == 3, t == 5], [10, 30, 50], VENSIM_NA)
    np.testing.assert_array_equal(res["r"][0], raw)


def test_get_constants_and_lookups_from_files(tmp_path):
    workbook(tmp_path)
    (tmp_path / "c.csv").write_text("x;y\n0;1\n10;3\n", encoding="utf-8")
    path = model(
        tmp_path,
        "k = GET XLS CONSTANTS('d.xlsx', 'S', 'D1') ~ ~ |\n"
        "t = GET DIRECT LOOKUPS('c.csv', ';', 'A', 'B2') ~ ~ |\n"
        "u = t(Time) + k ~ ~ |\n",
    )
    spec = import_model(path)
    assert spec["parameters"]["k"] == {
        "value": 7.5,
        "units": "1",
        "source": "d.xlsx, sheet 'S', cell D1",
    }
    assert spec["lookups"]["t"]["x"] == [0.0, 10.0]
    res = run(path)
    np.testing.assert_allclose(res["u"][0], 7.5 + 1 + 0.2 * res.time)


def test_get_direct_data_reads_time_across_in_text_files(tmp_path):
    (tmp_path / "d.tab").write_text("Time\t0\t2\t6\nv\t1\t5\t5\n", encoding="utf-8")
    path = model(tmp_path, "v := GET DIRECT DATA('d.tab', '', '1', 'B2') ~ ~ |\n")
    res = run(path)
    np.testing.assert_allclose(res["v"][0], np.interp(res.time, [0, 2, 6], [1, 5, 5]))


@pytest.mark.parametrize(
    ("equation", "match"),
    [
        (
            "GET XLS DATA('nope.xlsx', 'S', 'A', 'B2')",
            r"m\.mdl: x: the data file 'nope\.xlsx' is not in the model file's folder; put",
        ),
        (
            "GET XLS DATA('d.xlsx', 'Sheet9', 'A', 'B2')",
            r"m\.mdl: x: d\.xlsx has no sheet 'Sheet9' \(it has 'S'\); name one of them",
        ),
        (
            "GET XLS DATA('d.xlsx', 'S', 'A', 'F2')",
            r"m\.mdl: x: no numbers at d\.xlsx, sheet 'S', times in column A, values from cell F2",
        ),
        (
            "GET XLS CONSTANTS('d.xlsx', 'S', 'A1')",
            r"m\.mdl: x: d\.xlsx, sheet 'S', cell A1 holds no number; check the cell",
        ),
        (
            "GET XLS DATA('d.xlsx', 'S', 'A1x', 'B2')",
            r"m\.mdl: x: 'A1x' is neither a row number, a column letter nor a named range",
        ),
        (
            "GET XLS CONSTANTS('d.xlsx', 'S', 'my range')",
            r"m\.mdl: x: 'my range' is neither a cell like B2 nor a named range",
        ),
    ],
)
def test_data_file_errors_are_one_line(tmp_path, equation, match):
    workbook(tmp_path)
    path = model(tmp_path, f"x {':=' if 'DATA' in equation else '='} {equation} ~ ~ |\n")
    with pytest.raises(ModelError, match=match) as info:
        import_model(path)
    assert "\n" not in str(info.value)


def test_named_ranges_give_times_values_and_constants(tmp_path):
    from openpyxl.workbook.defined_name import DefinedName

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "S"
    sheet.append(["Time", 0, 2, 4])
    sheet.append(["v", 1, 3, 2])
    book.defined_names["times"] = DefinedName("times", attr_text="S!$B$1:$D$1")
    book.defined_names["vals"] = DefinedName("vals", attr_text="S!$B$2:$D$2")
    book.save(tmp_path / "n.xlsx")
    path = model(
        tmp_path,
        "v := GET DIRECT DATA('n.xlsx', 'S', 'times', 'vals') ~ ~ |\n"
        "k = GET DIRECT CONSTANTS('n.xlsx', 'S', 'vals') ~ ~ |\n",
    )
    spec = import_model(path)
    assert spec["parameters"]["k"]["source"] == "n.xlsx, sheet 'S', range vals"
    res = run(path)
    np.testing.assert_allclose(res["v"][0], np.interp(res.time, [0, 2, 4], [1, 3, 2]))
    np.testing.assert_allclose(res["k"][0], 1.0)


def test_a_changed_spreadsheet_is_translated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM315_CACHE_DIR", str(tmp_path / "cache"))
    book = workbook(tmp_path)
    path = model(tmp_path, "k = GET XLS CONSTANTS('d.xlsx', 'S', 'D1') ~ ~ |\n")
    assert translated(path)["parameters"]["k"]["value"] == 7.5
    assert translated(path)["parameters"]["k"]["value"] == 7.5  # from the cache
    wb = openpyxl.load_workbook(book)
    wb["S"]["D1"] = 9.0
    wb.save(book)
    assert translated(path)["parameters"]["k"]["value"] == 9.0


def test_an_xls_name_reads_the_xlsx_saved_beside_it(tmp_path):
    workbook(tmp_path)  # d.xlsx; the model names d.xls
    path = model(tmp_path, "k = GET XLS CONSTANTS('d.xls', 'S', 'D1') ~ ~ |\n")
    assert import_model(path)["parameters"]["k"]["value"] == 7.5


@pytest.mark.skipif(not CORPUS.is_dir(), reason="SD corpus not found")
def test_corpus_get_data_matches_its_data_files():
    res = run(CORPUS / "tests" / "get_data" / "test_get_data.mdl")
    # times 1, 2, 3; down: column B (1, 4, 7); across: row 2 (1, 2, 3); time 0 holds the first
    np.testing.assert_allclose(res["xls_data_down"][0], [1, 1, 4, 7])
    np.testing.assert_allclose(res["direct_data_down"][0], [1, 1, 4, 7])
    np.testing.assert_allclose(res["xls_data_across"][0], [1, 1, 2, 3])
    np.testing.assert_allclose(res["direct_data_across"][0], [1, 1, 2, 3])


@pytest.mark.skipif(not CORPUS.is_dir(), reason="SD corpus not found")
def test_corpus_get_constants_with_its_missing_csv_supplied(tmp_path):
    case = CORPUS / "tests" / "get_constants"
    for name in ("test_get_constants.mdl", "data.xlsx"):
        shutil.copy(case / name, tmp_path / name)
    # the case's README lists data.csv; the corpus holds its rows as "data down.csv"
    shutil.copy(case / "data down.csv", tmp_path / "data.csv")
    params = import_model(tmp_path / "test_get_constants.mdl")["parameters"]
    assert params["xls_constants"]["value"] == 1.0  # A2 of sheet தாள்
    assert params["direct_constants"]["value"] == 1.0
    assert params["direct_constants"]["source"] == "data.csv, cell A2"


_XMILE = """<?xml version="1.0" encoding="utf-8"?>
<xmile version="1.0" xmlns="http://docs.oasis-open.org/xmile/ns/XMILE/v1.0">
<header><vendor>test</vendor><product version="1">test</product></header>
<sim_specs method="Euler" time_units="Months"><start>0</start><stop>4</stop><dt>1</dt></sim_specs>
<model><variables>
<stock name="Cash"><eqn>2</eqn><inflow>income</inflow></stock>
<stock name="Debt"><eqn>1</eqn></stock>
<flow name="income"><eqn>1</eqn></flow>
<group name="Finance Sector"><entity name="Cash"/><entity name="income"/></group>
</variables></model>
</xmile>
"""


def test_xmile_groups_become_stock_groups(tmp_path):
    path = tmp_path / "g.xmile"
    path.write_text(_XMILE, encoding="utf-8")
    stocks = import_model(path)["stocks"]
    assert stocks["cash"]["group"] == "Finance Sector"
    assert "group" not in stocks["debt"]


def test_model_show_prints_the_original_names(tmp_path):
    path = model(tmp_path, '"Stock-A" = INTEG(1, 0) ~ ~ |\nimport = "Stock-A" * 2 ~ ~ |\n')
    r = CliRunner().invoke(main, ["model", "show", str(path)])
    assert r.exit_code == 0, r.output
    assert 'stock_a ("Stock-A")' in r.output and 'import_ ("import")' in r.output


_MACRO = ":MACRO: MM(x : y2)\nMM = x * 2 ~ ~ |\ny2 = x * 3 ~ ~ |\n:END OF MACRO:\n"


def test_a_macro_with_extra_outputs_expands_when_called_without_them(tmp_path):
    path = model(tmp_path, _MACRO + "z = MM(Time) ~ ~ |\n")
    res = run(path)
    np.testing.assert_allclose(res["z"][0], 2 * res.time)


def test_taking_a_macros_extra_outputs_is_one_line(tmp_path):
    path = model(tmp_path, _MACRO + "z = MM(Time : w) ~ ~ |\nq = w ~ ~ |\n")
    with pytest.raises(ModelError, match="MM: a call that takes the macro's extra outputs"):
        import_model(path)


def test_translators_import_without_pysds_simulation_backend():
    code = (
        "import sys\n"
        "from sim315.imports.reader import abstract_expressions\n"
        "abstract_expressions()\n"
        "from pysd.translators.vensim.vensim_file import VensimFile\n"
        "assert 'xarray' not in sys.modules and 'pysd.py_backend' not in sys.modules\n"
        "import pysd\n"
        "assert callable(pysd.read_vensim) and pysd.__version__\n"  # the rest, on demand
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason="SD corpus not found")
def test_old_xls_workbooks_are_read_through_pandas():
    pytest.importorskip("xlrd")
    from sim315.imports.spreadsheets import Workbooks

    books = Workbooks(CORPUS / "tests" / "get_constants_incomplete_subscript")
    assert books.constant("inputs.xls", "tab1", "B2") == (1.0, "inputs.xls, sheet 'tab1', cell B2")
