"""Start where history ends: every run of a scenario starts from the state its own
calibrated history run reached, stocks and SMOOTH/DELAY states alike, run by run."""

import csv
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import sim315
from sim315.analysis.calibration import calibrate, write_result
from sim315.cli import main
from sim315.compilation.lowering import start_parameter
from sim315.core.errors import Sim315Error
from sim315.ensembles.calibrated import read_calibrated
from sim315.ensembles.runner import execute, plan_run
from sim315.results.layout import parameter_matrix

ROOT = Path(__file__).resolve().parents[1]

# the model file describes the scenario period (2022-2030); the fit simulates 2015-2022
MODEL = """\
name: spin
time: {start: 2022, stop: 2030, dt: 0.25, units: year}
parameters:
  r: {value: 0.1, units: 1/year, bounds: [0.01, 0.3]}
  x0: {value: 500, units: firm}
  lag: {value: 2, units: year}
  push: {value: 1, units: "1"}
stocks:
  x: {initial: x0, units: firm, inflows: [growth]}
  y: {initial: 0, units: firm, inflows: [follow], doc: counted from the start}
flows:
  growth: {equation: r * push * x, units: firm/year}
  follow: {equation: "delay3(growth, lag)", units: firm/year}
auxiliaries:
  seen: {equation: "smooth(x, lag)", units: firm}
"""


def _history(folder: Path, r: float = 0.12) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(MODEL)
    (folder / "history.yaml").write_text("model: model.yaml\noverrides: {push: 1.0}\n")
    rows = [
        {
            "indicator": "firms",
            "unit": "count",
            "year": str(year),
            "value": f"{100 * (1 + r * 0.25) ** (4 * (year - 2015)):.4f}",  # Euler, exact
            "scope": "city",
            "source_url": "synthetic",
            "quote": "",
        }
        for year in (2016, 2018, 2020, 2022)
    ]
    with (folder / "data.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    fit = {
        "scenario": "history.yaml",
        "data": "data.csv",
        "window": {"start": 2015, "stop": 2022},
        "fixed": {"x0": 100},
        "free": {
            "r": {"low": 0.01, "high": 0.3},
            "lag": {"low": 1, "high": 4, "transfer": False},
        },
        "series": [{"indicator": "firms", "output": "x", "rel_error": 0.02}],
        "starts": 2,
        "posterior": {"walkers": 8, "steps": 400, "burn": 100, "thin": 5, "check_draws": 50},
    }
    (folder / "fit.yaml").write_text(yaml.safe_dump(fit))
    write_result(calibrate(folder / "fit.yaml"), folder / "res.yaml")


SCENARIO = """\
model: model.yaml
calibrated: res.yaml
calibrated_draws: true
start_from_history: true
runs: 300
seed: 9
sampler: lhs
method: {method}
overrides: {{push: 2.0}}
uncertain:
  lag: {{dist: uniform, low: 1, high: 3}}
outputs: [x, y, seen, follow]
"""


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spin")
    _history(folder)
    return folder


@pytest.mark.parametrize("method", ["euler", "rk4"])
def test_each_run_starts_where_its_own_history_ended(fitted, method):
    (fitted / f"plan_{method}.yaml").write_text(SCENARIO.format(method=method))
    plan = plan_run(fitted / f"plan_{method}.yaml")
    out = fitted / f"plan_{method}.h5"
    execute(plan, out, progress=False)
    names = list(plan.model.parameter_names)
    with h5py.File(out) as h5:
        P = parameter_matrix(h5)
        x, seen, y = h5["x"][:], h5["seen"][:], h5["y"][:]
        t = h5["time"][:]
        assert (h5["run_status"][:] == 0).all()
    assert t[0] == 2022.0
    # the history again, independently: the fit's own problem with each run's posterior row
    cal = read_calibrated(fitted / "res.yaml")
    rows = cal.sample[plan.sampler.posterior_rows(0, plan.runs)]
    hist = sim315.load_model(fitted / "model.yaml")
    H = hist.parameters(plan.runs, x0=100.0, push=1.0)
    H[:, hist.parameter_index("r")] = rows[:, cal.names.index("r")]
    H[:, hist.parameter_index("lag")] = rows[:, cal.names.index("lag")]
    ref = hist.simulate(H, start=2015, stop=2022, outputs=["x", "seen", "y"])
    np.testing.assert_array_equal(x[:, 0], ref["x"][:, -1])
    np.testing.assert_array_equal(seen[:, 0], ref["seen"][:, -1])  # a SMOOTH state
    np.testing.assert_array_equal(y[:, 0], ref["y"][:, -1])
    # the start state is on file, as parameters of the run
    np.testing.assert_array_equal(P[:, names.index(start_parameter("x"))], ref["x"][:, -1])
    # the history used each run's own draws: the states differ from run to run
    assert np.unique(x[:, 0]).size > 150
    # and the scenario's own levers act from its start (push doubles growth)
    r = P[:, names.index("r")]
    g = 2 * r * 0.25
    factor = 1 + g if method == "euler" else 1 + g + g**2 / 2 + g**3 / 6 + g**4 / 24
    np.testing.assert_allclose(x[:, 1] / x[:, 0], factor, rtol=1e-12)
    # the window-only parameter (lag, transfer: false) is the scenario's draw after 2022
    lag = P[:, names.index("lag")]
    assert lag.min() >= 1 and lag.max() <= 3 and np.unique(lag).size > 250


def test_a_delay_state_is_handed_on_not_restarted(fitted):
    """A DELAY3 restarted at 2022 would start in equilibrium with growth at 2022; handed on,
    its outflow lags the growth that history had."""
    (fitted / "one.yaml").write_text(
        SCENARIO.format(method="euler").replace("runs: 300", "runs: 4")
    )
    plan = plan_run(fitted / "one.yaml")
    P = plan.rows(0, 4)
    names = list(plan.model.parameter_names)
    hidden = [h.name for h in plan.model.ir.hidden]
    assert hidden
    for h in hidden:
        assert np.all(np.isfinite(P[:, names.index(start_parameter(h))]))
    res = plan.model.simulate(P, outputs=["follow", "growth"])
    assert np.all(res["follow"][:, 0] < res["growth"][:, 0])  # lagging exponential growth


def test_a_failed_history_run_fails_its_scenario_run(fitted):
    (fitted / "fail.yaml").write_text(
        SCENARIO.format(method="euler").replace("runs: 300", "runs: 3")
    )
    plan = plan_run(fitted / "fail.yaml")
    start = plan.start
    bad = start.base.copy()
    bad[list(plan.model.parameter_names).index("x0")] = np.inf
    object.__setattr__(start, "base", bad)
    P = plan.rows(0, 3)
    res = plan.model.simulate(P, outputs=["x"])
    assert np.all(res.status == 1)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            "model: model.yaml\nstart_from_history: true\n",
            r"start_from_history: needs the fitted history.*add calibrated:",
        ),
        (
            "model: model.yaml\ncalibrated: res.yaml\nstart_from_history: true\n"
            "uncertain: {x0: {dist: uniform, low: 50, high: 150}}\n",
            r"uncertain\.x0: sets only an initial value.*give its 2015 value in fit\.yaml",
        ),
    ],
)
def test_bad_history_starts_say_why(fitted, text, pattern):
    (fitted / "bad.yaml").write_text(text)
    with pytest.raises(Sim315Error, match=pattern):
        plan_run(fitted / "bad.yaml")
    res = CliRunner().invoke(main, ["validate", str(fitted / "bad.yaml")])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_the_window_must_end_where_the_model_starts(tmp_path):
    _history(tmp_path)
    doc = yaml.safe_load((tmp_path / "fit.yaml").read_text())
    doc["window"]["stop"] = 2021
    (tmp_path / "fit.yaml").write_text(yaml.safe_dump(doc))
    (tmp_path / "sc.yaml").write_text(
        "model: model.yaml\ncalibrated: res.yaml\nstart_from_history: true\n"
    )
    with pytest.raises(Sim315Error, match="window ends at 2021 but the model starts at 2022"):
        plan_run(tmp_path / "sc.yaml")


def test_the_flagship_plan_starts_where_its_calibrated_history_ends():
    """scenarios/plan.yaml, run by run: every stock at the end of 2022 equals what the fit's
    own problem (calibration/jiaxing.yaml, the code path that fitted the posterior) gives for
    that run's posterior draw."""
    from sim315.analysis.calibration import prepare

    plan = plan_run(ROOT / "scenarios" / "plan.yaml", runs=24)
    stocks = list(plan.model.ir.stocks)
    res = plan.model.simulate(plan.rows(0, 24), outputs=stocks, stop=2023)
    assert res.time[0] == 2022.0 and (res.status == 0).all()
    problem = prepare(ROOT / "calibration" / "jiaxing.yaml")
    cal = read_calibrated(ROOT / "calibration" / "jiaxing-result.yaml")
    assert cal.names == problem.free
    draws = cal.sample[plan.sampler.posterior_rows(0, 24)]
    problem.outputs = stocks
    hist = problem.simulate(draws)
    assert hist.time[-1] == 2022.0
    np.testing.assert_array_equal(res.values[:, 0, :], hist.values[:, -1, :])
    assert np.unique(res["ht_cert_1"][:, 0]).size > 12  # each run its own history


def test_the_history_scenario_decides_the_numbers_so_resume_and_provenance_know_it(fitted):
    (fitted / "fp.yaml").write_text(SCENARIO.format(method="euler"))
    plan = plan_run(fitted / "fp.yaml")
    before = plan.fingerprint_parts()["history run"]
    assert "push: 1.0" in plan.start.record and "window 2015..2022" in plan.start.record
    history = (fitted / "history.yaml").read_text()
    try:
        (fitted / "history.yaml").write_text(history.replace("push: 1.0", "push: 1.5"))
        after = plan_run(fitted / "fp.yaml").fingerprint_parts()["history run"]
    finally:
        (fitted / "history.yaml").write_text(history)
    assert after != before
    out = fitted / "fp.h5"
    execute(plan_run(fitted / "fp.yaml", runs=4), out, progress=False)
    with h5py.File(out) as h5:
        assert "push: 1.0" in h5.attrs["history_start"]


def interrupt_after_first_chunk(monkeypatch, run) -> None:
    """``run()`` (an ``execute``) stopped by a KeyboardInterrupt as it stores its second
    chunk, leaving its partial file as an interrupted command does; the writer restored."""
    from sim315.ensembles import runner

    real_write = runner.ResultWriter.write

    def interrupted(self, a, *args):
        if a > 0:
            raise KeyboardInterrupt
        return real_write(self, a, *args)

    monkeypatch.setattr(runner.ResultWriter, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run()
    monkeypatch.setattr(runner.ResultWriter, "write", real_write)


def test_a_resumed_unseeded_run_starts_from_the_same_histories(fitted, tmp_path, monkeypatch):
    """Resume plans again from the same inputs under the recorded seed entropy: calibrated
    draws and the history runs that start from them are those of an uninterrupted run."""
    text = SCENARIO.format(method="euler").replace("runs: 300\nseed: 9\n", "runs: 60\n")
    (fitted / "unseeded.yaml").write_text(text)
    scenario = fitted / "unseeded.yaml"
    out = tmp_path / "r.h5"
    interrupt_after_first_chunk(
        monkeypatch, lambda: execute(plan_run(scenario, chunk=25), out, progress=False)
    )
    assert execute(plan_run(scenario, chunk=25), out, resume=True, progress=False).resumed_from
    whole = tmp_path / "whole.h5"
    with h5py.File(out) as h5:
        entropy = int(h5.attrs["seed_entropy"])
        resumed = {k: h5[k][()] for k in ("varied_values", "x", "y", "seen", "follow")}
    execute(plan_run(scenario, entropy=entropy), whole, progress=False)
    with h5py.File(whole) as h5:
        for name, values in resumed.items():
            assert values.tobytes() == h5[name][()].tobytes(), name


def test_each_posterior_draw_has_its_history_simulated_once(fitted):
    """A draw's history is the same for every run that draws it (the model draws no random
    numbers): simulated the first time, handed on after. The start states are those of one
    history per run, bit for bit, for any chunking."""
    (fitted / "once.yaml").write_text(SCENARIO.format(method="euler"))
    plan = plan_run(fitted / "once.yaml")
    assert not plan.start.model.draws_random
    rows = plan.sampler.posterior_rows(0, plan.runs)
    assert np.unique(rows).size < plan.runs  # some runs share a draw
    whole = plan.rows(0, plan.runs)
    assert plan.start.ends.simulated == np.unique(rows).size
    again = plan.rows(0, plan.runs)  # every draw seen: nothing simulated again
    assert plan.start.ends.simulated == np.unique(rows).size
    np.testing.assert_array_equal(again, whole)
    chunked = plan_run(fitted / "once.yaml")
    parts = [chunked.rows(a, min(plan.runs, a + 7)) for a in range(0, plan.runs, 7)]
    assert np.concatenate(parts).tobytes() == whole.tobytes()
    per_run = plan_run(fitted / "once.yaml")
    per_run.start.model.__dict__["draws_random"] = True  # as a model with noise would be
    assert per_run.rows(0, plan.runs).tobytes() == whole.tobytes()
    assert per_run.start.ends.simulated == 0  # one history per run, none kept


def test_histories_run_on_the_scalar_kernel_whatever_the_batch():
    """A batch of LANES_FROM runs of a model without time-tabled levers could take the
    block kernel (equal to the scalar within its error, not bit for bit): a run's start
    state would then depend on the size of the batch its draw was first seen in. The plan's
    history, without its levers (as a fit scenario without time tables has it)."""
    import dataclasses

    from sim315.compilation.lanes import LANES_FROM

    start = plan_run(ROOT / "scenarios" / "plan.yaml", runs=LANES_FROM).start
    start = dataclasses.replace(start, model=start.model.with_levers({}))
    assert start.model.kernel_call(runs=LANES_FROM).lanes  # the block kernel would be chosen
    rows = np.arange(LANES_FROM) % start.sample.shape[0]
    big = start._row_ends(rows, None)
    small = [start._row_ends(rows[a : a + 500], 1) for a in range(0, rows.size, 500)]
    assert big.tobytes() == np.concatenate(small).tobytes()


def test_a_history_without_levers_says_it_runs_on_the_scalar_kernel(fitted):
    """Before, such a history's batches of 10,000+ runs took the block kernel: its partial
    files are not resumed (the record is in the fingerprint). The plan's history has time
    tables, never took the block kernel, and its record (and fingerprint) is unchanged."""
    (fitted / "rec.yaml").write_text(SCENARIO.format(method="euler"))
    assert "history kernel: scalar" in plan_run(fitted / "rec.yaml").start.record
    plan = plan_run(ROOT / "scenarios" / "plan.yaml", runs=8)
    assert plan.start.model.levers and "history kernel" not in plan.start.record


def test_draws_random_tells_models_with_noise(tmp_path):
    spec = yaml.safe_load(MODEL)
    assert not sim315.load_model(_write(tmp_path / "calm.yaml", spec)).draws_random
    spec["flows"]["growth"]["equation"] = "r * push * x * (1 + random_normal(0, 0.01))"
    assert sim315.load_model(_write(tmp_path / "noisy.yaml", spec)).draws_random


def _write(path: Path, spec: dict) -> Path:
    path.write_text(yaml.safe_dump(spec))
    return path
