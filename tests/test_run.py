"""The run pipeline end to end: scenario -> sampled ensemble -> HDF5 -> summary -> report."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import datasets

from sim315.cli import main
from sim315.core.toolchain import toolchain
from sim315.ensembles import plan as plan_mod
from sim315.ensembles import runner as runner_mod
from sim315.results.layout import PERCENTILES, parameter_matrix
from sim315.results.reader import texts
from sim315.schemas.jsonschema import schema_text

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"
EXAMPLE = ROOT / "scenarios" / "examples" / "ladder.yaml"


def scenario(tmp_path: Path, name: str = "s.yaml", **fields) -> Path:
    data = {
        "model": str(LADDER),
        "runs": 300,
        "seed": 11,
        "overrides": {"support_boost": {"table": {0: 0.0, 5: 0.25, 10: 0.5}}},
        "uncertain": {
            "sme_promotion": {"dist": "pert", "low": 0.04, "mode": 0.06, "high": 0.09},
            "rd_sme": {"dist": "truncnormal", "mean": 1.5, "sd": 0.3, "low": 0.8, "high": 2.2},
        },
    }
    data.update(fields)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def run_cli(*args) -> object:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One complete run: 300 runs, default chunking."""
    tmp = tmp_path_factory.mktemp("ref")
    sc = scenario(tmp)
    out = tmp / "ref.h5"
    res = run_cli("run", sc, "-o", out, "-q")
    assert res.exit_code == 0, res.output
    return sc, out


def test_run_writes_a_complete_file_and_a_table(reference):
    _sc, out = reference
    assert out.is_file()
    assert not Path(str(out) + ".partial").exists()
    with h5py.File(out) as h5:
        assert h5.attrs["complete"]
        assert h5["smes"].shape == (300, 41)
        assert parameter_matrix(h5).shape == (300, 20)
        varied = texts(h5["varied_parameter"])  # per run: only the drawn parameters
        assert h5["varied_values"].shape == (300, len(varied)) and 0 < len(varied) < 20
        shared = h5["shared_values"][:]
        assert np.isnan(shared[h5["varied_parameter"].attrs["columns"]]).all()
        assert (h5["run_status"][:] == 0).all()
        assert h5.attrs["seed"] == 11
        assert "support_boost" in h5.attrs["scenario"]
        assert h5.attrs["model_hash"]
        for key in ("sim315_version", "numba_version", "numpy_version"):
            assert h5.attrs[key]


def test_output_is_identical_for_any_threads_and_chunks(reference, tmp_path):
    sc, out = reference
    expected = datasets(out)
    for extra in (["--threads", "1", "--chunk", "7"], ["--threads", "2", "--chunk", "128"]):
        other = tmp_path / f"o{extra[1]}.h5"
        res = run_cli("run", sc, "-o", other, "-q", *extra)
        assert res.exit_code == 0, res.output
        got = datasets(other)
        for name, arr in expected.items():
            np.testing.assert_array_equal(got[name], arr, err_msg=name)


def test_sampled_parameters_follow_the_scenario(reference):
    _, out = reference
    with h5py.File(out) as h5:
        names = [n.decode() if isinstance(n, bytes) else n for n in h5["parameter"][:]]
        P = parameter_matrix(h5)
    prom = P[:, names.index("sme_promotion")]
    rd = P[:, names.index("rd_sme")]
    assert prom.min() >= 0.04 and prom.max() <= 0.09
    assert rd.min() >= 0.8 and rd.max() <= 2.2
    assert np.unique(prom).size == 300
    assert np.all(P[:, names.index("entry_rate")] == 0.08)  # not uncertain: the default


def test_time_table_changes_the_lever_on_its_dates(tmp_path):
    from sim315.ensembles.runner import plan_run

    plan = plan_run(scenario(tmp_path, outputs=["entry", "pool"]))
    res = plan.model.simulate(plan.sampler.rows(0, 1), outputs=["entry", "pool"])
    g = plan.grid
    ratio = res["entry"][0] / (res["pool"][0] * 0.08)  # 1 + support_boost(t)
    t = g.times()
    np.testing.assert_allclose(ratio[t < 5], 1.0)
    np.testing.assert_allclose(ratio[(t >= 5) & (t < 10)], 1.25)
    np.testing.assert_allclose(ratio[t >= 10], 1.5)


def test_summary_percentiles_and_p_met_match_the_data(reference):
    _, out = reference
    with h5py.File(out) as h5:
        data = h5["leaders"][:]
        q = h5["summary/leaders"][:]
        np.testing.assert_allclose(q, np.percentile(data, PERCENTILES, axis=0))
        targets = [t.decode() if isinstance(t, bytes) else t for t in h5["summary/target"][:]]
        p = dict(zip(targets, h5["summary/p_met"][:], strict=True))
        assert p["leaders"] == pytest.approx(np.mean(data[:, -1] > 350))
        assert p["hightech"] == pytest.approx(np.mean(h5["hightech"][:, -1] >= 9000))


def test_xarray_opens_the_file_with_named_dimensions(reference):
    xr = pytest.importorskip("xarray")
    _, out = reference
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds["smes"].dims == ("run", "time")
        assert ds["varied_values"].dims == ("run", "varied_parameter")
        assert ds["shared_values"].dims == ("parameter",)
        assert float(ds["time"][-1]) == 20.0
        assert "sme_promotion" in list(ds["parameter"].values)
    with xr.open_dataset(out, engine="h5netcdf", group="summary") as s:
        assert s["smes"].dims == ("percentile", "time")
        assert list(s["percentile"].values) == list(PERCENTILES)


def test_interrupted_run_leaves_no_final_file_and_resume_completes_it(
    reference, tmp_path, monkeypatch
):
    sc, ref_out = reference
    out = tmp_path / "r.h5"
    real_write = runner_mod.ResultWriter.write
    calls = {"n": 0}

    def flaky(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_write(self, *args)

    monkeypatch.setattr(runner_mod.ResultWriter, "write", flaky)
    res = run_cli("run", sc, "-o", out, "-q", "--chunk", "50")
    assert res.exit_code == 130
    assert "--resume" in res.output
    assert not out.exists()
    assert Path(str(out) + ".partial").exists()
    monkeypatch.setattr(runner_mod.ResultWriter, "write", real_write)
    res = run_cli("run", sc, "-o", out, "-q", "--chunk", "30", "--resume")
    assert res.exit_code == 0, res.output
    assert "resumed at run 100" in res.output
    got, expected = datasets(out), datasets(ref_out)
    for name, arr in expected.items():
        np.testing.assert_array_equal(got[name], arr, err_msg=name)


def test_resume_refuses_a_partial_file_of_another_scenario(reference, tmp_path, monkeypatch):
    sc, _ = reference
    out = tmp_path / "x.h5"
    monkeypatch.setattr(runner_mod.ResultWriter, "write", _interrupt)
    assert run_cli("run", sc, "-o", out, "-q").exit_code == 130
    monkeypatch.undo()
    other = scenario(tmp_path, "other.yaml", seed=12)
    res = run_cli("run", other, "-o", out, "-q", "--resume")
    assert res.exit_code == 2
    assert "the inputs changed since the partial file was made: " in res.output
    assert "scenario file, seed;" in res.output  # named, nothing else


def test_resume_refuses_a_partial_file_of_another_machine(reference, tmp_path, monkeypatch):
    """Another CPU or library build may round a last bit otherwise: a resume there would
    mix two toolchains' numbers in one file."""
    sc, _ = reference
    out = tmp_path / "x.h5"
    monkeypatch.setattr(runner_mod.ResultWriter, "write", _interrupt)
    assert run_cli("run", sc, "-o", out, "-q").exit_code == 130
    monkeypatch.undo()
    elsewhere = dict(toolchain(), cpu="skylake-avx512")
    monkeypatch.setattr(plan_mod, "toolchain", lambda: elsewhere)
    res = run_cli("run", sc, "-o", out, "-q", "--resume")
    assert res.exit_code == 2
    assert "the inputs changed since the partial file was made: toolchain;" in res.output


def _interrupt(self, *args):
    raise KeyboardInterrupt


def test_extends_inherits_and_changes(tmp_path):
    from sim315.ensembles.runner import plan_run

    base = scenario(tmp_path, "base.yaml")
    child = tmp_path / "child.yaml"
    child.write_text(
        yaml.safe_dump(
            {
                "extends": "base.yaml",
                "runs": 10,
                "overrides": {"support_boost": 0.1},
                "uncertain": {"rd_sme": None},
            }
        )
    )
    plan = plan_run(child)
    assert plan.runs == 10
    assert plan.sampler.n_uncertain == 1
    assert plan.sampler.base[plan.model.parameter_index("support_boost")] == 0.1
    assert str(base) in plan.loaded.texts


def test_report_writes_tables_and_figures(reference, tmp_path):
    _, out = reference
    res = run_cli("report", out, "--out", tmp_path / "rep")
    assert res.exit_code == 0, res.output
    files = {p.name for p in (tmp_path / "rep").iterdir()}
    assert {"targets.csv", "targets.md", "fan_leaders.png", "fan_hightech.png"} <= files
    assert "stocks_ladder.png" in files
    png = (tmp_path / "rep" / "fan_leaders.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 10_000
    csv = (tmp_path / "rep" / "targets.csv").read_text().splitlines()
    assert csv[0] == "output,units,target,year,median,p5,p95,p_met"
    assert len(csv) == 3


def test_compare_shows_both_and_the_difference(reference, tmp_path):
    _sc, out = reference
    other = tmp_path / "b.h5"
    no_support = scenario(tmp_path, "ns.yaml", overrides={"support_boost": 0.0})
    assert run_cli("run", no_support, "-o", other, "-q").exit_code == 0
    res = run_cli("compare", out, other)
    assert res.exit_code == 0, res.output
    assert "leaders" in res.output
    assert "pts" in res.output


def test_validate_and_schema():
    res = run_cli("validate", EXAMPLE)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("ok: ")
    res = run_cli("schema")
    assert res.exit_code == 0
    assert json.loads(res.output)["title"] == "sim315 scenario"


def test_committed_schema_matches_the_models():
    committed = (ROOT / "scenarios" / "scenario.schema.json").read_text()
    assert committed == schema_text(), "regenerate: sim315 schema > scenarios/scenario.schema.json"


def test_run_prints_the_target_table(reference, tmp_path):
    sc, _ = reference
    res = run_cli("run", sc, "-o", tmp_path / "t.h5", "-q", "--runs", "20")
    assert res.exit_code == 0, res.output
    assert "P(met)" in res.output
    assert "leaders" in res.output
    assert "wrote" in res.output
