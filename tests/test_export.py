"""``sim315 export``: CSV and Excel, long and wide, runs and percentiles, round-tripped."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim315
from sim315.cli import main


def _export(h5, out, *args):
    res = CliRunner().invoke(main, ["export", str(h5), "-o", str(out), *args])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize("wide", [False, True])
def test_csv_round_trips_the_runs(plan_h5, tmp_path, wide):
    flags = ["--csv", "--vars", "tech_smes,little_giants"] + (["--wide"] if wide else [])
    back = pd.read_csv(_export(plan_h5, tmp_path / "runs.csv", *flags))
    ds = sim315.open_results(plan_h5)
    if wide:
        np.testing.assert_array_equal(back["tech_smes"], ds["tech_smes"].values.ravel())
        np.testing.assert_array_equal(back["time"], np.tile(ds["time"].values, ds.sizes["run"]))
    else:
        got = back[back.variable == "little_giants"].pivot(index="run", columns="time")["value"]
        np.testing.assert_array_equal(got.to_numpy(), ds["little_giants"].values)


def test_xlsx_round_trips_the_percentiles(plan_h5, tmp_path):
    out = _export(plan_h5, tmp_path / "p.xlsx", "--xlsx", "--percentiles", "--wide")
    sheets = pd.read_excel(out, sheet_name=None, engine="openpyxl")
    assert set(sheets) == {"percentiles", "targets", "about"}
    ds = sim315.open_results(plan_h5)
    p = sheets["percentiles"]
    tech = p[p.variable == "tech_smes"]
    # openpyxl writes 16 significant digits (Excel shows 15): equal to 1e-15, not bit for bit
    want = ds["summary_tech_smes"].values[4]
    np.testing.assert_allclose(tech["p95"].to_numpy(), want, rtol=1e-15, atol=0)
    np.testing.assert_allclose(sheets["targets"]["p_met"], ds["summary_p_met"].values, rtol=1e-15)
    about = dict(zip(sheets["about"]["field"], sheets["about"]["value"].astype(str), strict=True))
    assert about["model_hash"] == ds.attrs["model_hash"]


def test_xlsx_that_cannot_fit_says_what_to_do(plan_h5, tmp_path, monkeypatch):
    monkeypatch.setattr("sim315.reports.export.EXCEL_ROWS", 100)
    res = CliRunner().invoke(main, ["export", str(plan_h5), "--xlsx", "-o", str(tmp_path / "x")])
    assert res.exit_code == 2
    assert "do not fit an Excel sheet (100); use --wide" in res.output
