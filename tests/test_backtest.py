"""Out-of-sample evidence: the backtest machinery on synthetic data, and the flagship's
backtest against the thresholds that docs/model.md writes down."""

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from test_calibration import _synthetic
from test_posterior import _with_posterior

from sim315.analysis.backtest import backtest, markdown
from sim315.cli import main
from sim315.core.errors import Sim315Error

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "model.md"


def test_a_correct_model_predicts_its_later_figures(tmp_path):
    fit = _with_posterior(_synthetic(tmp_path, 0.5, 6000, seed=8, noise=0.005))
    doc = yaml.safe_load(fit.read_text())
    doc["holdout"] = [{"indicator": "firms", "output": "n", "rel_error": 0.03}]
    doc["series"][0]["exclude"] = ["2014"]  # a figure the fit does not use: held out
    fit.write_text(yaml.safe_dump(doc))
    report = backtest(fit, until=2019)
    later = report["backtest"]
    assert [r["year"] for r in later["figures"]] == ["2021", "2024"]
    assert later["covered"] == 2 and later["max_abs_rel_error"] < 0.1
    held = report["held_out"]
    assert [r["year"] for r in held["figures"]] == ["2014"]
    assert held["covered"] == 1
    assert "| fit to 2019 | firms | 2021 |" in markdown(report)


def test_a_wrong_model_is_caught(tmp_path):
    """Data from a logistic curve, a model whose capacity is fixed too low: the fit to 2016
    cannot know, the later figures leave the band."""
    fit = _with_posterior(_synthetic(tmp_path, 0.5, 9000, seed=8))
    doc = yaml.safe_load(fit.read_text())
    doc["free"] = {"r": {"low": 0.1, "high": 1.5}}
    doc["fixed"] = {"capacity": 2500}
    fit.write_text(yaml.safe_dump(doc))
    report = backtest(fit, until=2016)
    assert report["backtest"]["coverage"] < 0.5
    assert report["backtest"]["max_abs_rel_error"] > 0.5


def test_bad_backtest_requests_say_why(tmp_path):
    fit = _synthetic(tmp_path, 0.5, 6000, seed=8)
    with pytest.raises(Sim315Error, match="needs posterior settings"):
        backtest(fit, until=2019)
    fit = _with_posterior(fit)
    res = CliRunner().invoke(main, ["backtest", str(fit), "--until", "2030"])
    assert res.exit_code == 2 and "not inside the window 2010..2024" in res.output


def _thresholds() -> dict:
    m = re.search(r"<!-- backtest-thresholds (\{.*?\}) -->", DOC.read_text(), re.S)
    assert m, "docs/model.md must state the backtest thresholds"
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def flagship():
    limits = _thresholds()
    return limits, backtest(ROOT / "calibration" / "jiaxing.yaml", until=limits["until"])


def test_the_flagship_backtest_keeps_its_documented_thresholds(flagship):
    limits, report = flagship
    for check in ("backtest", "held_out"):
        got, lim = report[check], limits[check]
        assert got["coverage"] >= lim["min_coverage"], (check, got["coverage"])
        for r in got["figures"]:
            if r["rel_error"] is None:
                continue
            cap = lim["max_abs_rel_error"].get(r["indicator"], lim["max_abs_rel_error"]["*"])
            assert abs(r["rel_error"]) <= cap, (check, r["indicator"], r["year"], r["rel_error"])


def test_the_backtest_table_in_the_docs_is_current(flagship):
    _, report = flagship
    block = DOC.read_text().split("<!-- backtest:begin -->")[1].split("<!-- backtest:end -->")[0]
    assert markdown(report).strip() == block.strip(), (
        "regenerate: sim315 backtest calibration/jiaxing.yaml --until 2019"
    )
