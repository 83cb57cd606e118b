"""Calibration: synthetic recovery, the real fit's convergence, fitted draws, bad fit files."""

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import sim315
from sim315.analysis.calibration import calibrate, result_document, theil, write_result
from sim315.cli import main
from sim315.ensembles.runner import plan_run

ROOT = Path(__file__).resolve().parents[1]

LOGISTIC = """\
name: logistic
time: {start: 2010, stop: 2030, dt: 0.25, units: year}
parameters:
  r: {value: 0.5, units: 1/year, bounds: [0.05, 2]}
  capacity: {value: 5000, units: firm, bounds: [1000, 20000]}
  n0: {value: 100, units: firm}
stocks:
  n: {initial: n0, units: firm, inflows: [growth]}
flows:
  growth: {equation: r * n * (1 - n / capacity), units: firm/year}
"""

FIT = {
    "scenario": "sc.yaml",
    "data": "data.csv",
    "window": {"start": 2010, "stop": 2024},
    "free": {"r": {"low": 0.1, "high": 1.5}, "capacity": {"low": 1500, "high": 15000}},
    "series": [{"indicator": "firms", "output": "n"}],
    "starts": 3,
}


def _synthetic(folder: Path, r: float, k: float, seed: int, noise: float = 0.03) -> Path:
    """As sparse as the real data: six irregular years, 3 % noise, and a lower bound."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(LOGISTIC)
    (folder / "sc.yaml").write_text("model: model.yaml\n")
    rng = np.random.default_rng(seed)
    model = sim315.load_model(folder / "model.yaml")  # the data come from the model itself
    truth = model.simulate(model.parameters(r=r, capacity=k), outputs=["n"])
    rows = []
    for year in (2012, 2014, 2016, 2019, 2021, 2024):
        v = np.interp(year, truth.time, truth["n"][0])
        v *= 1 + noise * rng.standard_normal()
        rows.append(
            {
                "indicator": "firms",
                "unit": "count",
                "year": str(year),
                "value": f"{v:.3f}",
                "scope": "city",
                "source_url": "synthetic",
                "quote": "",
            }
        )
    rows.append(
        {
            "indicator": "firms",
            "unit": "count",
            "year": "2018-07 snapshot",
            "value": ">10",
            "scope": "city",
            "source_url": "synthetic",
            "quote": "",
        }
    )
    with (folder / "data.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    path = folder / "fit.yaml"
    path.write_text(yaml.safe_dump(FIT))
    return path


def test_synthetic_recovery_within_intervals_in_90_percent_of_seeds(tmp_path):
    rng = np.random.default_rng(20261126)
    seeds = 20
    covered = {"r": 0, "capacity": 0}
    for seed in range(seeds):
        r, k = rng.uniform(0.3, 0.8), rng.uniform(3000, 9000)
        result = calibrate(_synthetic(tmp_path / f"s{seed}", r, k, seed))
        doc = result_document(result)
        for name, true in (("r", r), ("capacity", k)):
            lo, hi = doc["parameters"][name]["ci95"]
            covered[name] += lo <= true <= hi
            assert hi - lo < 0.6 * true, f"interval of {name} absurdly wide: {lo}..{hi}"
    for name, n in covered.items():
        assert n >= 0.9 * seeds, f"{name}: true value inside the 95 % interval in {n}/{seeds}"


def test_the_real_fit_converges_from_several_starts_to_one_optimum(tmp_path):
    result = calibrate(ROOT / "calibration" / "jiaxing.yaml", starts=3)
    doc = result_document(result)
    assert doc["starts_agree"], [s["cost"] for s in doc["starts"]]
    estimates = np.array([s["estimate"] for s in doc["starts"]])
    transferable = [
        j
        for j, n in enumerate(result.problem.free)
        if doc["parameters"][n]["interval"] == "jacobian"
    ]
    np.testing.assert_allclose(
        estimates[:, transferable], estimates[[0] * len(estimates)][:, transferable], rtol=1e-3
    )
    # only observations up to 2022 are fitted: later figures stay out of sample
    assert max(o.time for _, o in result.problem.obs) <= 2022
    assert doc["series"]["rd_intensity_share_of_gdp"]["mape"] < 0.1


def test_differential_evolution_finds_the_same_optimum(tmp_path):
    path = _synthetic(tmp_path, 0.5, 6000, 7)
    ls = calibrate(path)
    de = calibrate(path, method="differential_evolution")
    np.testing.assert_allclose(de.x, ls.x, rtol=1e-3)


def test_theil_shares_sum_to_one():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a = rng.normal(size=8)
        s = a + rng.normal(scale=0.3, size=8) + rng.normal()
        assert sum(theil(s, a)) == pytest.approx(1.0)


def test_scenarios_take_the_calibrated_estimates(tmp_path):
    """Point estimates; per-run draws from the posterior are tested in test_posterior.py."""
    fit = _synthetic(tmp_path, 0.5, 6000, 11)
    result = calibrate(fit)
    write_result(result, tmp_path / "res.yaml")
    (tmp_path / "fixed.yaml").write_text("model: model.yaml\ncalibrated: res.yaml\n")
    plan = plan_run(tmp_path / "fixed.yaml")
    i = plan.model.parameter_index("r")
    est = result.x[result.problem.free.index("r")]
    assert plan.sampler.base[i] == pytest.approx(est)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            {"series": [{"indicator": "firmz", "output": "n"}]},
            r"series\.0\.indicator: no series 'firmz' in data\.csv; did you mean 'firms'",
        ),
        (
            {"series": [{"indicator": "firms", "output": "nn"}]},
            r"series\.0\.output: unknown output 'nn'",
        ),
        (
            {"free": {"rr": {"low": 0.1, "high": 1}}},
            r"free\.rr: unknown parameter 'rr'; did you mean 'r'",
        ),
        (
            {"free": {"r": {"low": 1.5, "high": 0.1}}},
            r"free\.r: bounds \[1\.5, 0\.1\] are reversed",
        ),
        (
            {"window": {"start": 2030, "stop": 2040}},
            r"window: no observation of the series falls in 2030\.\.2040",
        ),
        (
            {"window": {"start": 2020, "stop": 2010}},
            r"window: start \(2020\.0\) must be before stop",
        ),
        ({"fixed": {"k": 1.0}}, r"fixed\.k: unknown parameter 'k'"),
        ({"scenario": "none.yaml"}, r"scenario: no scenario file 'none\.yaml'"),
        ({"starts": 0}, r"starts: Input should be greater than or equal to 1"),
        ({"seriez": []}, r"unknown field 'seriez'; did you mean 'series'"),
    ],
)
def test_bad_fit_files(tmp_path, change, pattern):
    import re

    path = _synthetic(tmp_path, 0.5, 6000, 1)
    data = {**FIT, **change}
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["calibrate", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert re.search(pattern, lines[0]), lines[0]
    assert str(path) in lines[0]


def test_calibrate_cli_writes_the_result_and_figures(tmp_path):
    path = _synthetic(tmp_path, 0.5, 6000, 2)
    result = CliRunner().invoke(main, ["calibrate", str(path), "--plots", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load((tmp_path / "fit-result.yaml").read_text())
    assert set(doc["parameters"]) == {"r", "capacity"}
    assert {"mape", "r2", "theil_um", "theil_us", "theil_uc"} <= set(doc["series"]["firms"])
    assert (tmp_path / "figs" / "fit_n_0.png").stat().st_size > 10_000
