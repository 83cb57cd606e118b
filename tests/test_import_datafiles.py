"""Data variables without an equation (``x :INTERPOLATE:``, ``x :=`` with nothing), their
values read from the data files given at import (``sim315 import --data``,
``data_files=``) and copied into the model file. Small models and data files are written
here; the expected values are the data's closed forms (interpolation, holding, looking
forward, :RAW:). The corpus case ``tests/data_from_other_model`` runs in the conformance
tier (tests/conformance.py)."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

pytest.importorskip("pysd")

from test_import_data import _CONTROL  # the same control section

import sim315
from sim315.cli import main
from sim315.core.errors import ModelError
from sim315.imports import import_model, translated
from sim315.imports.equations import VENSIM_NA

#: Four data variables, one per Vensim keyword, an array of each kind of definition, one
#: without a keyword, and a variable with an equation that the data files also hold.
_MODEL = """
a :INTERPOLATE: ~ widgets ~ |
b :HOLD BACKWARD: ~ widgets ~ |
c :LOOK FORWARD: ~ widgets ~ |
r :RAW: ~ widgets ~ |
n :=
 ~ widgets ~ |
k = 2 ~ widgets ~ |
d: d1, d2 ~ ~ |
e: e1, e2 ~ ~ |
x[d] :INTERPOLATE: ~ widgets ~ |
y[d, e] :HOLD BACKWARD: ~ widgets ~ |
total = a + SUM(x[d!]) + k ~ widgets ~ |
"""

#: Times 1, 3, 4, 5 down the first column; a's value at 4 is blank (a missing point).
_TAB = (
    "Time\ta\tb\tc\tr\tn\tk\n"
    "1\t10\t10\t10\t10\t1\t99\n"
    "3\t30\t30\t30\t30\t1\t99\n"
    "4\t\t40\t40\t40\t3\t99\n"
    "5\t50\t50\t50\t50\t5\t99\n"
)

#: The arrays, names down the first column and times across (row oriented), written with
#: other spacing and case than the model's (a name with a comma quoted, as CSV quotes it).
_CSV = (
    "Time,0,2,4\n"
    "X[D1],0,20,40\n"
    "x[ d2 ],1,1,5\n"
    '"y[d1,e1]",1,2,3\n'
    '"y[d1, e2]",4,5,6\n'
    '"Y[D2,E1]",7,8,9\n'
    '"y[d2,e2]",10,11,12\n'
)


def write(folder: Path, text: str = _MODEL, tab: str = _TAB, csv: str = _CSV) -> Path:
    path = folder / "m.mdl"
    path.write_text("{UTF-8}\n" + text + _CONTROL, encoding="utf-8")
    (folder / "d.tab").write_text(tab, encoding="utf-8")
    (folder / "a.csv").write_text(csv, encoding="utf-8")
    return path


def run(model):
    return sim315.load_model(model).simulate(method="euler")


def check(res) -> None:
    """The closed forms of :data:`_MODEL` with :data:`_TAB` and :data:`_CSV`."""
    t = res.time  # 0, 0.5, ..., 6
    np.testing.assert_allclose(res["a"][0], np.interp(t, [1, 3, 5], [10, 30, 50]))
    np.testing.assert_allclose(res["b"][0], np.select([t < 3, t < 4, t < 5], [10, 30, 40], 50))
    np.testing.assert_allclose(res["c"][0], np.select([t <= 1, t <= 3, t <= 4], [10, 30, 40], 50))
    raw = np.select([t == 1, t == 3, t == 4, t == 5], [10, 30, 40, 50], VENSIM_NA)
    np.testing.assert_array_equal(res["r"][0], raw)
    np.testing.assert_allclose(res["n"][0], np.interp(t, [1, 3, 4, 5], [1, 1, 3, 5]))
    np.testing.assert_array_equal(res["k"][0], 2.0)  # its equation, not the file's 99
    x1, x2 = np.interp(t, [0, 2, 4], [0, 20, 40]), np.interp(t, [0, 2, 4], [1, 1, 5])
    np.testing.assert_allclose(res["x[d1]"][0], x1)
    np.testing.assert_allclose(res["x[d2]"][0], x2)
    held = np.select([t < 2, t < 4], [0, 1], 2)  # which of the three values holds
    for j, name in enumerate(["y[d1,e1]", "y[d1,e2]", "y[d2,e1]", "y[d2,e2]"]):
        np.testing.assert_array_equal(res[name][0], 1 + 3 * j + held)
    np.testing.assert_allclose(res["total"][0], np.interp(t, [1, 3, 5], [10, 30, 50]) + x1 + x2 + 2)


def test_data_files_give_the_data_variables_values(tmp_path):
    path = write(tmp_path)
    files = [tmp_path / "d.tab", tmp_path / "a.csv"]
    spec = import_model(path, files)
    aux, tables = spec["auxiliaries"], spec["lookups"]
    assert aux["a"]["equation"] == "lookup(a_table, time)"
    assert aux["b"]["equation"] == "lookup_backward(b_table, time)"
    assert aux["c"]["equation"] == "lookup_forward(c_table, time)"
    assert aux["y"]["equation"] == "lookup_backward(y_table[d, e], time)"
    assert tables["a_table"]["source"] == "d.tab, column 'a'"
    assert tables["a_table"]["x"] == [1.0, 3.0, 5.0]  # the blank at 4 is left out
    assert tables["x_table"]["source"] == "a.csv, rows 'x[...]'"
    assert tables["y_table"]["y"]["d2, e1"] == [7.0, 8.0, 9.0]
    assert spec["parameters"]["k"]["value"] == 2.0
    check(sim315.load_model(path, data_files=files).simulate(method="euler"))


def test_cli_import_copies_the_values_into_the_model_file(tmp_path):
    path = write(tmp_path)
    out = tmp_path / "m.yaml"
    args = ["import", str(path), "--data", str(tmp_path / "d.tab"), "--data"]
    result = CliRunner().invoke(main, [*args, str(tmp_path / "a.csv"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    (tmp_path / "d.tab").unlink()  # the model file runs without the data files
    (tmp_path / "a.csv").unlink()
    check(run(out))


def test_the_first_file_that_has_a_series_gives_it(tmp_path):
    path = write(tmp_path)
    (tmp_path / "b.tab").write_text("Time\ta\n0\t7\n", encoding="utf-8")
    files = [tmp_path / "b.tab", tmp_path / "d.tab", tmp_path / "a.csv"]
    res = sim315.load_model(path, data_files=files).simulate(method="euler")
    np.testing.assert_array_equal(res["a"][0], 7.0)  # one point: held everywhere
    np.testing.assert_allclose(res["x[d1]"][0], np.interp(res.time, [0, 2, 4], [0, 20, 40]))


def test_translation_cache_follows_the_data_files(tmp_path, monkeypatch):
    monkeypatch.setenv("SIM315_CACHE_DIR", str(tmp_path / "cache"))
    path = write(tmp_path)
    files = [tmp_path / "d.tab", tmp_path / "a.csv"]
    assert translated(path, files)["lookups"]["a_table"]["y"] == [10.0, 30.0, 50.0]
    (tmp_path / "d.tab").write_text(_TAB.replace("\t30\t", "\t33\t", 1), encoding="utf-8")
    assert translated(path, files)["lookups"]["a_table"]["y"] == [10.0, 33.0, 50.0]


def _error(path: Path, files) -> str:
    with pytest.raises(ModelError) as info:
        import_model(path, files)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_errors_name_the_file_the_variable_and_the_fix(tmp_path):
    path = write(tmp_path)
    text = _error(path, None)
    assert text.startswith(f"{path}: a: a data variable without an equation")
    assert "none was given" in text and "--data FILE.tab" in text
    text = _error(path, [tmp_path / "d.tab"])  # x and y are not in it
    assert text == (
        f"{path}: x: the data files given (d.tab) have no series 'x[d1]'; add its column to "
        "a data file, or give the file that has it with --data"
    )
    text = _error(path, [tmp_path / "missing.tab"])
    assert text.startswith(f"{tmp_path / 'missing.tab'}: --data: cannot read the data file")
    assert text.endswith("check the path")
    (tmp_path / "run.vdf").write_bytes(b"\x00\x01")
    assert "export it as a .tab or .csv" in _error(path, [tmp_path / "run.vdf"])
    (tmp_path / "numbers.tab").write_text("0\t1\n1\t2\n", encoding="utf-8")
    assert "no variable names" in _error(path, [tmp_path / "numbers.tab"])


def test_cli_without_a_data_file_says_which_flag(tmp_path):
    path = write(tmp_path)
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2
    assert "a: a data variable without an equation" in result.output
    assert "--data" in result.output


def test_a_sim315_model_file_takes_no_data_files(tmp_path):
    path = write(tmp_path)
    files = [tmp_path / "d.tab", tmp_path / "a.csv"]
    out = tmp_path / "m.yaml"
    out.write_text(yaml.safe_dump(import_model(path, files)), encoding="utf-8")
    with pytest.raises(ModelError, match="data files are read when a Vensim"):
        sim315.load_model(out, data_files=files)
