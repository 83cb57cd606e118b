"""``sim315 run --save all|targets|summary`` and ``--float32`` (issue 15): what each keeps,
and every reader of result files on files without per-run outputs, either working from the
summaries or stopping with one line that names the file and the fix."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import sim315
from sim315.cli import main
from sim315.ensembles import runner as runner_mod
from sim315.results.layout import AUTO_ALL_BYTES, parameter_matrix

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"


def run_cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("save")
    sc = folder / "sc.yaml"
    sc.write_text(
        yaml.safe_dump(
            {
                "model": str(LADDER),
                "runs": 300,
                "seed": 5,
                "uncertain": {
                    "sme_promotion": {"dist": "uniform", "low": 0.04, "high": 0.09},
                    "entry_rate": {"dist": "uniform", "low": 0.06, "high": 0.1},
                },
            }
        )
    )
    return sc


@pytest.fixture(scope="module")
def files(scenario) -> dict[str, Path]:
    """The same run saved each way."""
    out = {}
    for save, extra in (("all", []), ("targets", []), ("summary", []), ("f32", ["--float32"])):
        path = scenario.parent / f"{save}.h5"
        mode = "all" if save == "f32" else save
        res = run_cli("run", scenario, "-o", path, "-q", "--save", mode, *extra)
        assert res.exit_code == 0, res.output
        out[save] = path
    return out


def _summary(path):
    with h5py.File(path) as h5:
        return {k: h5["summary"][k][:] for k in h5["summary"]}


def test_each_mode_keeps_what_it_says(files):
    with h5py.File(files["all"]) as h5:
        assert h5.attrs["save"] == "all" and h5["smes"].shape == (300, h5["time"].size)
    with h5py.File(files["targets"]) as h5:
        assert h5.attrs["save"] == "targets" and "smes" not in h5
        ds = h5["target_runs"]["leaders"]
        assert ds.shape == (300, 1) and ds.attrs["time"][0] == 20
        assert h5["varied_values"].shape[0] == 300
    with h5py.File(files["summary"]) as h5:
        assert h5.attrs["save"] == "summary" and "target_runs" not in h5
        assert not any(n in h5 for n in ("smes", "leaders"))
        assert h5["summary"]["leaders"].attrs["units"]  # the outputs' descriptions stay
    with h5py.File(files["f32"]) as h5:
        assert h5["smes"].dtype == np.float32 and h5.attrs["run_dtype"] == "float32"
        with h5py.File(files["all"]) as full:
            np.testing.assert_array_equal(h5["smes"][:], full["smes"][:].astype(np.float32))


def test_the_summary_is_the_same_whatever_is_kept(files):
    ref = _summary(files["all"])
    for key in ("targets", "summary", "f32"):  # float32 storage: summaries from doubles
        got = _summary(files[key])
        for k, v in ref.items():
            np.testing.assert_array_equal(got[k], v, err_msg=f"{key}: {k}")


def test_the_target_table_and_reports_work_from_the_summaries(files, tmp_path):
    assert run_cli("report", files["all"], "--out", tmp_path / "all").exit_code == 0
    expected = (tmp_path / "all" / "targets.csv").read_text()
    for key in ("targets", "summary"):
        res = run_cli("report", files[key], "--out", tmp_path / key)
        assert res.exit_code == 0, res.output
        assert (tmp_path / key / "targets.csv").read_text() == expected
        res = run_cli("compare", files[key], files["all"])
        assert res.exit_code == 0, res.output
        assert "leaders" in res.output
        res = run_cli("report", files[key], files["all"], "--html", tmp_path / f"{key}.html")
        assert res.exit_code == 0, res.output
        res = run_cli("export", files[key], "--percentiles", "-o", tmp_path / f"{key}.csv")
        assert res.exit_code == 0, res.output
        ds = sim315.open_results(files[key])
        assert "summary_smes" in ds and "smes" not in ds
        assert sim315.to_dataframe(ds, what="percentiles").shape[0] > 0
        assert sim315.to_dataframe(ds, what="targets").shape[0] == 2


def test_readers_that_need_runs_say_which_file_and_what_to_do(files, tmp_path):
    res = run_cli("export", files["summary"], "--csv", "-o", tmp_path / "x.csv")
    assert res.exit_code == 2
    assert str(files["summary"]) in res.output and "--save all" in res.output
    assert len(res.output.strip().splitlines()) == 1
    with pytest.raises(sim315.core.errors.Sim315Error, match="rerun with --save all"):
        sim315.to_dataframe(sim315.open_results(files["targets"]))
    res = run_cli("discover", files["summary"], "--target", "leaders")
    assert res.exit_code == 2
    assert str(files["summary"]) in res.output and "--save targets" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = run_cli("discover", files["targets"], "--target", "leaders", "--out", tmp_path)
    assert res.exit_code == 0, res.output


def test_replay_works_on_every_kind_of_file(files):
    for key in ("all", "targets", "f32"):
        res = run_cli("replay", files[key], "--runs", "17,42")
        assert res.exit_code == 0, res.output
        assert res.output.count("identical to the file") == 2
    res = run_cli("replay", files["summary"], "--runs", "17,42")
    assert res.exit_code == 0, res.output
    assert res.output.count("nothing to compare") == 2
    from sim315.analysis.replay import replay

    again = replay(files["summary"], [17])
    with h5py.File(files["all"]) as h5:
        k = again.names.index("smes")
        np.testing.assert_array_equal(again.values[0, :, k], h5["smes"][17])


def test_a_summary_only_run_resumes_to_the_same_file(scenario, files, tmp_path, monkeypatch):
    out = tmp_path / "r.h5"
    real = runner_mod.ResultWriter.write
    calls = {"n": 0}

    def flaky(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(runner_mod.ResultWriter, "write", flaky)
    res = run_cli("run", scenario, "-o", out, "-q", "--chunk", "50", "--save", "summary")
    assert res.exit_code == 130
    monkeypatch.setattr(runner_mod.ResultWriter, "write", real)
    res = run_cli("run", scenario, "-o", out, "-q", "--chunk", "40", "--resume")
    assert res.exit_code == 0, res.output
    ref, got = _summary(files["summary"]), _summary(out)
    for k, v in ref.items():
        np.testing.assert_array_equal(got[k], v, err_msg=k)
    with h5py.File(out) as h5, h5py.File(files["summary"]) as h0:
        np.testing.assert_array_equal(parameter_matrix(h5), parameter_matrix(h0))


def test_auto_keeps_every_run_of_a_small_ensemble_only(scenario, files):
    with h5py.File(files["all"]) as h5:
        per_run = h5["time"].size * len(h5.attrs["outputs"].split(",")) * 8
    plan = runner_mod.plan_run(scenario)
    assert runner_mod.resolve_save(plan, "auto") == "all"
    big = runner_mod.plan_run(scenario, runs=AUTO_ALL_BYTES // per_run + 1)
    assert runner_mod.resolve_save(big, "auto") == "targets"


def test_an_unknown_save_choice_is_one_line(scenario, tmp_path):
    res = run_cli("run", scenario, "-o", tmp_path / "x.h5", "--save", "some")
    assert res.exit_code == 2
    assert not (tmp_path / "x.h5").exists()
