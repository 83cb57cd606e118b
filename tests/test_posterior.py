"""Posterior sampling: recovery and diagnostics on synthetic data, the censored observation
model by hand, draws from the stored sample, and the flagship's diagnostics."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import norm
from test_calibration import _synthetic

from sim315.analysis.calibration import calibrate, prepare, write_result
from sim315.analysis.posterior import RHAT_LIMIT, log_likelihood, model_at_observations
from sim315.core.errors import Sim315Error
from sim315.ensembles.calibrated import read_calibrated
from sim315.ensembles.runner import plan_run
from sim315.results.layout import parameter_matrix

ROOT = Path(__file__).resolve().parents[1]
QUICK = {"walkers": 16, "steps": 1500, "burn": 500, "thin": 5, "check_draws": 300}


def _with_posterior(fit: Path, **settings) -> Path:
    doc = yaml.safe_load(fit.read_text())
    doc["posterior"] = {**QUICK, **settings}
    doc["series"] = [{**s, "rel_error": 0.03} for s in doc["series"]]
    fit.write_text(yaml.safe_dump(doc))
    return fit


def test_posterior_covers_the_truth_and_converges(tmp_path):
    r, k = 0.55, 6500
    fit = _with_posterior(_synthetic(tmp_path, r, k, seed=4))
    result = calibrate(fit)
    post = result.posterior
    s = post.sample
    assert s.shape == (post.walkers * (QUICK["steps"] - QUICK["burn"]) // QUICK["thin"], 2)
    for j, true in enumerate({"r": r, "capacity": k}[n] for n in post.names):
        lo, hi = np.percentile(s[:, j], [1, 99])
        assert lo <= true <= hi, (post.names[j], lo, true, hi)
        assert np.all((s[:, j] >= result.problem.low[j]) & (s[:, j] <= result.problem.high[j]))
    assert all(post.rhat[n] < RHAT_LIMIT for n in post.names), post.rhat
    assert all(post.ess[n] > 100 for n in post.names), post.ess
    assert post.converged()
    assert result.check["share"] >= 0.85, result.check


def test_censored_and_point_figures_by_hand(tmp_path):
    fit = _with_posterior(_synthetic(tmp_path, 0.5, 6000, seed=2))
    problem = prepare(fit)
    X = np.array([[6000.0, 0.5], [4000.0, 0.7]])
    assert problem.free == ["capacity", "r"]
    Y = model_at_observations(problem, X)
    expected = np.zeros(2)
    for i, (_, o) in enumerate(problem.obs):
        z = (Y[:, i] - o.value) / (0.03 * abs(o.value))
        expected += -0.5 * z * z if o.kind == "=" else norm.logcdf(z)
    assert any(o.kind == ">" for _, o in problem.obs)
    np.testing.assert_allclose(log_likelihood(problem, X), expected, rtol=1e-10)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fitted")
    fit = _with_posterior(_synthetic(folder, 0.5, 6000, seed=11))
    write_result(calibrate(fit), folder / "res.yaml")
    return folder


def test_result_file_names_its_fit_and_sample_relative_to_itself(fitted):
    cal = read_calibrated(fitted / "res.yaml")
    assert cal.fit == (fitted / "fit.yaml").resolve()
    assert cal.sample is not None and cal.sample.shape[1] == len(cal.names) == 2
    doc = yaml.safe_load((fitted / "res.yaml").read_text())
    assert doc["posterior"]["sample"] == "res-posterior.csv"
    assert set(doc["posterior"]["parameters"]["r"]) >= {"rhat", "ess_bulk", "ci90"}


def test_scenarios_draw_rows_of_the_posterior_sample(fitted):
    (fitted / "draw.yaml").write_text(
        "model: model.yaml\ncalibrated: res.yaml\ncalibrated_draws: true\nruns: 3000\nseed: 5\n"
    )
    plan = plan_run(fitted / "draw.yaml")
    P = plan.rows(0, 3000)
    cal = read_calibrated(fitted / "res.yaml")
    cols = [plan.model.parameter_index(n) for n in cal.names]
    sample = cal.sample
    rows = {tuple(x) for x in sample}
    assert all(tuple(x) in rows for x in P[:, cols])
    assert len({tuple(x) for x in P[:, cols]}) > 1000  # not one row over and over
    # run i's row depends on (seed, i) only: chunking and a resumed sampler change nothing
    np.testing.assert_array_equal(np.vstack([plan.rows(0, 1000), plan.rows(1000, 3000)]), P)
    again = plan_run(fitted / "draw.yaml", entropy=plan.sampler.entropy)
    np.testing.assert_array_equal(again.rows(0, 3000), P)
    other = plan_run(fitted / "draw.yaml", seed=6).rows(0, 3000)
    assert not np.array_equal(other, P)


def test_drawing_needs_a_posterior_sample(tmp_path):
    fit = _synthetic(tmp_path, 0.5, 6000, seed=3)
    write_result(calibrate(fit), tmp_path / "res.yaml")
    (tmp_path / "draw.yaml").write_text(
        "model: model.yaml\ncalibrated: res.yaml\ncalibrated_draws: true\n"
    )
    with pytest.raises(Sim315Error, match=r"holds no posterior sample.*add a posterior: section"):
        plan_run(tmp_path / "draw.yaml")


def test_a_tampered_sample_is_refused(fitted, tmp_path):
    for name in ("model.yaml", "sc.yaml", "fit.yaml", "data.csv", "res.yaml"):
        (tmp_path / name).write_bytes((fitted / name).read_bytes())
    (tmp_path / "res-posterior.csv").write_text("r,capacity\n0.5,nan\n")
    (tmp_path / "draw.yaml").write_text(
        "model: model.yaml\ncalibrated: res.yaml\ncalibrated_draws: true\n"
    )
    with pytest.raises(Sim315Error, match="non-finite"):
        plan_run(tmp_path / "draw.yaml")


def test_the_flagship_posterior_is_converged_and_agrees_with_history():
    doc = yaml.safe_load((ROOT / "calibration" / "jiaxing-result.yaml").read_text())
    post = doc["posterior"]
    ident = [n for n, p in post["parameters"].items() if p["identifiable"]]
    assert ident, "no parameter is identified by the data"
    for name in ident:
        assert post["parameters"][name]["rhat"] < RHAT_LIMIT, name
    assert all(p["ess_bulk"] > 400 for p in post["parameters"].values())
    assert post["predictive_check"]["share"] >= 0.85
    cal = read_calibrated(ROOT / "calibration" / "jiaxing-result.yaml")
    assert cal.sample.shape[0] == post["draws"]


def test_a_resumed_unseeded_run_keeps_its_calibrated_draws(fitted, tmp_path, monkeypatch):
    """Resume plans again from the same inputs under the recorded seed entropy: the runs
    after the interruption take the same posterior rows as an uninterrupted run's."""
    import h5py

    from sim315.ensembles import runner

    (fitted / "unseeded.yaml").write_text(
        "model: model.yaml\ncalibrated: res.yaml\ncalibrated_draws: true\nruns: 60\n"
    )
    scenario = fitted / "unseeded.yaml"
    out = tmp_path / "r.h5"
    real_write = runner.ResultWriter.write
    calls = {"n": 0}

    def flaky(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_write(self, *args)

    monkeypatch.setattr(runner.ResultWriter, "write", flaky)
    with pytest.raises(KeyboardInterrupt):
        runner.execute(plan_run(scenario, chunk=20), out, progress=False)
    monkeypatch.setattr(runner.ResultWriter, "write", real_write)
    fresh = plan_run(scenario, chunk=20)  # a new plan draws new entropy: resume replans
    done = runner.execute(fresh, out, resume=True, progress=False)
    assert done.resumed_from == 20
    with h5py.File(out) as h5:
        entropy = int(h5.attrs["seed_entropy"])
        resumed = {k: h5[k][()] for k in ("varied_values", "run_status", *fresh.outputs)}
        resumed_P = parameter_matrix(h5)
    assert entropy != fresh.sampler.entropy
    whole = tmp_path / "whole.h5"
    runner.execute(plan_run(scenario, entropy=entropy), whole, progress=False)
    with h5py.File(whole) as h5:
        for name, values in resumed.items():
            assert values.tobytes() == h5[name][()].tobytes(), name
    cal = read_calibrated(fitted / "res.yaml")
    cols = [fresh.model.parameter_index(n) for n in cal.names]
    drawn = resumed_P[:, cols]
    assert len({tuple(x) for x in drawn[20:]}) > 20  # posterior draws, not the estimates
    assert {tuple(x) for x in drawn} <= {tuple(x) for x in cal.sample}
