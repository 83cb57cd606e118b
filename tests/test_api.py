"""The Python API: sim315.run / open_results return the result file's numbers as xarray,
to_dataframe tidies them, and packaged model and scenario names work everywhere."""

import json
import os

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

import sim315
from sim315.cli import main
from sim315.core.errors import Sim315Error
from sim315.results.layout import parameter_matrix


def _same_as_file(ds, path):
    """Every dataset of the file, the summary group's too, equals the Dataset's, bit for bit."""
    with h5py.File(path) as h5:
        names = [*json.loads(h5.attrs["outputs"]), "run_status", "time"]
        for n in names:
            np.testing.assert_array_equal(ds[n].values, h5[n][:], err_msg=n)
        np.testing.assert_array_equal(ds["parameter_values"].values, parameter_matrix(h5))
        assert ds["parameter_values"].dims == ("run", "parameter")
        for n, item in h5["summary"].items():
            if n in ("percentile", "time", "target"):
                continue
            got = ds["summary_" + n].values
            want = item[:]
            if want.dtype.kind in "OS":
                want = np.array([w.decode() for w in want])
                got = got.astype(str)
            np.testing.assert_array_equal(got, want, err_msg=n)
        assert list(ds["target"].values) == [t.decode() for t in h5["summary/target"][:]]
        assert ds.attrs["model_hash"] == h5.attrs["model_hash"]
        assert int(ds.attrs["seed"]) == int(h5.attrs["seed"])


def test_run_returns_the_file_content(tmp_path):
    out = tmp_path / "plan.h5"
    ds = sim315.run("plan", runs=12, seed=5, out=out)
    assert ds.sizes["run"] == 12
    _same_as_file(ds, out)
    again = sim315.run("plan", runs=12, seed=5)  # in a temporary file, removed
    np.testing.assert_array_equal(again["tech_smes"].values, ds["tech_smes"].values)


def test_open_results_equals_the_file(plan_h5):
    ds = sim315.open_results(plan_h5)
    _same_as_file(ds, plan_h5)
    assert ds["tech_smes"].attrs["units"] == "firm"


def test_to_dataframe_long_and_wide(plan_h5):
    ds = sim315.open_results(plan_h5)
    long = sim315.to_dataframe(ds, ["tech_smes", "little_giants"])
    assert list(long.columns) == ["variable", "units", "run", "time", "value"]
    assert len(long) == 2 * ds.sizes["run"] * ds.sizes["time"]
    row = long[(long.variable == "tech_smes") & (long.run == 3)]
    np.testing.assert_array_equal(row["value"].to_numpy(), ds["tech_smes"].values[3])
    wide = sim315.to_dataframe(plan_h5, ["tech_smes", "little_giants"], wide=True)
    np.testing.assert_array_equal(
        wide["little_giants"].to_numpy(), ds["little_giants"].values.ravel()
    )
    pct = sim315.to_dataframe(ds, ["tech_smes"], what="percentiles", wide=True)
    assert list(pct.columns) == ["variable", "units", "time", "p5", "p25", "p50", "p75", "p95"]
    np.testing.assert_array_equal(pct["p50"].to_numpy(), ds["summary_tech_smes"].values[2])
    tg = sim315.to_dataframe(ds, what="targets")
    np.testing.assert_array_equal(tg["p_met"].to_numpy(), ds["summary_p_met"].values)


def test_unknown_variable_is_one_line(plan_h5):
    with pytest.raises(Sim315Error, match=r"no output 'tech_sme'.*did you mean 'tech_smes'"):
        sim315.to_dataframe(plan_h5, ["tech_sme"])


def test_open_results_of_a_missing_file(tmp_path):
    with pytest.raises(Sim315Error, match="no such result file"):
        sim315.open_results(tmp_path / "none.h5")


def test_packaged_model_by_name():
    model = sim315.load_model("plan315")
    assert "tech_smes" in model.output_names
    res = CliRunner().invoke(main, ["model", "show", "plan315"])
    assert res.exit_code == 0, res.output
    assert "model 'plan315'" in res.output


def test_packaged_scenario_runs_from_any_folder(tmp_path):
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        res = CliRunner().invoke(main, ["run", "plan", "--runs", "8", "-q"])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "results" / "plan.h5").is_file()
    assert "patents_per_10k" in res.output or "P(met)" in res.output
