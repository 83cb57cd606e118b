"""``sim315 replay FILE --runs 17,42`` computes runs again from the file alone, bit for bit
(issue 15): random draws, time-tabled levers, Runge-Kutta and history starts included."""

from pathlib import Path

import h5py
import numpy as np
import yaml
from click.testing import CliRunner
from conftest import write_model

from sim315.analysis.replay import replay
from sim315.cli import main
from sim315.core.toolchain import toolchain

ROOT = Path(__file__).resolve().parents[1]


def _noisy(tmp_path) -> Path:
    spec = {
        "name": "noisy",
        "time": {"start": 0, "stop": 10, "dt": 0.25, "save_every": 1, "units": "year"},
        "parameters": {
            "rate": {"value": 0.1, "units": "1/year"},
            "noise": {"value": 0.05, "units": "1/year"},
        },
        "stocks": {"x": {"initial": 100.0, "units": "unit", "inflows": ["growth"]}},
        "flows": {
            "growth": {"equation": "x * (rate + noise * random_normal(0, 1))", "units": "unit/year"}
        },
    }
    model = write_model(tmp_path, spec)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "model": str(model),
                "runs": 40,
                "method": "rk4",
                "overrides": {"noise": {"table": {0: 0.05, 4: 0.2}}},
                "uncertain": {"rate": {"dist": "uniform", "low": 0.05, "high": 0.15}},
            }
        )
    )
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(main, ["run", str(scenario), "-q", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_replayed_runs_equal_the_stored_ones_bit_for_bit(tmp_path):
    result = _noisy(tmp_path)  # unseeded: the file's entropy is the seed
    done = replay(result, [17, 3, 17])
    assert done.identical
    with h5py.File(result) as h5:
        np.testing.assert_array_equal(done.values[1, :, 0], h5["x"][3, :])
        assert not np.array_equal(h5["x"][3, :], h5["x"][17, :])


def test_the_cli_writes_the_runs_and_says_they_are_identical(tmp_path):
    result = _noisy(tmp_path)
    out = tmp_path / "again.h5"
    res = CliRunner().invoke(main, ["replay", str(result), "--runs", "5,30", "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.count("identical to the file") == 2
    with h5py.File(out) as h5, h5py.File(result) as orig:
        assert list(h5["run"][:]) == [5, 30]
        np.testing.assert_array_equal(h5["x"][:], orig["x"][[5, 30], :])


def test_a_run_that_differs_from_the_file_is_reported(tmp_path):
    result = _noisy(tmp_path)
    with h5py.File(result, "a") as h5:
        h5["x"][8, 4] += 1e-9
    res = CliRunner().invoke(main, ["replay", str(result), "--runs", "8,9"])
    assert res.exit_code == 1
    assert "run 8: status 0, DIFFERS from the file" in res.output
    assert "run 9: status 0, identical to the file" in res.output
    assert "another toolchain" not in res.output  # written here, by this toolchain


def test_the_file_records_its_toolchain_and_a_differing_replay_names_it(tmp_path):
    result = _noisy(tmp_path)
    here = toolchain()
    with h5py.File(result, "a") as h5:
        for key in ("cpu", "numba_version", "numpy_version", "python_version", "platform"):
            assert h5.attrs[key] == here[key]
        h5.attrs["cpu"] = "skylake-avx512"
        h5.attrs["numpy_version"] = "1.26.4"
    assert replay(result, [8]).identical  # the same numbers: nothing to explain
    with h5py.File(result, "a") as h5:
        h5["x"][8, 4] += 1e-9
    res = CliRunner().invoke(main, ["replay", str(result), "--runs", "8"])
    assert res.exit_code == 1
    note = res.output.splitlines()[-1]
    assert note.startswith("note: the file was written with another toolchain (")
    assert f"cpu: skylake-avx512 -> {here['cpu']}" in note
    assert f"numpy_version: 1.26.4 -> {here['numpy_version']}" in note
    assert "numba_version" not in note


def test_runs_that_start_from_their_history(tmp_path):
    out = tmp_path / "plan.h5"
    args = ["run", str(ROOT / "scenarios" / "plan.yaml"), "-q", "--runs", "12", "-o", str(out)]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert replay(out, [11, 4]).identical


def test_bad_run_numbers_get_one_line(tmp_path):
    result = _noisy(tmp_path)
    for runs, words in (("40", "no run 40 in a file of 40 runs"), ("x", "not a list")):
        res = CliRunner().invoke(main, ["replay", str(result), "--runs", runs])
        assert res.exit_code == 2
        assert words in res.output and "Traceback" not in res.output


def test_the_file_records_the_hash_of_its_methods_kernels(tmp_path):
    """``model_hash`` is the hash of the run's own method's kernels (generated to be loaded
    anyway): the run writes no other method's source, and replay checks that hash, or the
    hash of every method that earlier files recorded; any other kernel is refused."""
    from sim315.ensembles.runner import plan_run

    result = _noisy(tmp_path)  # an rk4 run
    with h5py.File(result) as h5:
        attrs = dict(h5.attrs)
    plan = plan_run(str(attrs["scenario_file"]))
    plan.fingerprint()
    plan.model.draws_random  # noqa: B018 (read from the run's own source)
    assert set(plan.model._sources) == {"rk4"}  # no other method generated for the file
    assert attrs["model_hash"] == plan.model.hash_of("rk4") != plan.model.hash_of("euler")
    assert replay(result, [3]).identical
    with h5py.File(result, "a") as h5:
        h5.attrs["model_hash"] = plan.model.hash  # as files before hash_of recorded it
    assert replay(result, [3]).identical
    with h5py.File(result, "a") as h5:
        h5.attrs["model_hash"] = "0" * 20
    res = CliRunner().invoke(main, ["replay", str(result), "--runs", "3"])
    assert res.exit_code != 0
    assert "generates another kernel than the one that wrote the file (000" in res.output
    assert "Traceback" not in res.output
