"""Bad input to run, validate, report and compare: one line naming the file, the field and
the fix; exit code 2; no traceback; never a file under the final output name."""

import errno
from pathlib import Path

import h5py
import pytest
import yaml
from click.testing import CliRunner

from sim315.cli import main

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"

GOOD = {
    "model": str(LADDER),
    "runs": 5,
    "seed": 1,
    "uncertain": {"sme_promotion": {"dist": "uniform", "low": 0.04, "high": 0.08}},
}


def _with(**changes) -> str:
    data = {**GOOD, **changes}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not None}, sort_keys=False)


BOUNDED_MODEL = """\
name: bounded
time: {start: 0, stop: 2, dt: 1}
parameters:
  k: {value: 0.5, units: 1/year, bounds: [0, 1]}
stocks:
  x: {initial: 1, units: t, inflows: [g]}
flows:
  g: {equation: k * x, units: t/year}
"""

# (case, scenario text, extra CLI args, expected pattern)
CASES = [
    ("yaml_syntax", "model: [unclosed\nruns: 3\n", [], r"s\.yaml:\d+: YAML syntax error at column"),
    ("not_mapping", "- just\n- a list\n", [], r"must be a YAML mapping"),
    (
        "unknown_key",
        _with(run=3),
        [],
        r"s\.yaml:\d+: run: unknown field 'run'; did you mean 'runs'",
    ),
    ("wrong_type", _with(runs="ten"), [], r"runs: Input should be a valid integer"),
    ("runs_zero", _with(runs=0), [], r"runs: Input should be greater than or equal to 1"),
    ("seed_negative", _with(seed=-3), [], r"seed: Input should be greater than or equal to 0"),
    (
        "unknown_override",
        _with(overrides={"entry_rat": 0.1}),
        [],
        r"overrides\.entry_rat: unknown parameter 'entry_rat'; did you mean 'entry_rate'",
    ),
    (
        "unknown_uncertain",
        _with(uncertain={"sme_promotio": {"dist": "uniform", "low": 0, "high": 1}}),
        [],
        r"uncertain\.sme_promotio: unknown parameter .*did you mean 'sme_promotion'",
    ),
    (
        "unknown_output",
        _with(outputs=["smes", "leaderz"]),
        [],
        r"outputs: unknown output 'leaderz'; did you mean 'leaders'",
    ),
    (
        "unknown_dist",
        _with(uncertain={"rd_sme": {"dist": "gausian", "mean": 1, "sd": 1}}),
        [],
        r"uncertain\.rd_sme: unknown kind 'gausian'",
    ),
    (
        "missing_dist",
        _with(uncertain={"rd_sme": {"mean": 1, "sd": 1}}),
        [],
        r"uncertain\.rd_sme: missing 'dist'",
    ),
    (
        "uniform_reversed",
        _with(uncertain={"rd_sme": {"dist": "uniform", "low": 2, "high": 1}}),
        [],
        r"uncertain\.rd_sme: low \(2\.0\) must be below high \(1\.0\)",
    ),
    (
        "normal_sd_zero",
        _with(uncertain={"rd_sme": {"dist": "normal", "mean": 1, "sd": 0}}),
        [],
        r"uncertain\.rd_sme\.sd: Input should be greater than 0",
    ),
    (
        "triangular_mode_outside",
        _with(uncertain={"rd_sme": {"dist": "triangular", "low": 1, "mode": 5, "high": 2}}),
        [],
        r"uncertain\.rd_sme: need low <= mode <= high",
    ),
    (
        "truncnormal_empty",
        _with(
            uncertain={
                "rd_sme": {"dist": "truncnormal", "mean": 0, "sd": 0.01, "low": 5, "high": 6}
            }
        ),
        [],
        r"holds no probability",
    ),
    (
        "choice_weights",
        _with(uncertain={"rd_sme": {"dist": "choice", "values": [1, 2], "weights": [1]}}),
        [],
        r"1 weights for 2 values",
    ),
    (
        "unknown_field_in_dist",
        _with(uncertain={"rd_sme": {"dist": "uniform", "low": 1, "high": 2, "hihg": 3}}),
        [],
        r"uncertain\.rd_sme\.hihg: unknown field 'hihg'; did you mean 'high'",
    ),
    (
        "sampler",
        _with(sampler="sobolx"),
        [],
        r"sampler: Input should be 'random', 'lhs' or 'sobol'",
    ),
    ("method", _with(method="rk45"), [], r"method: Input should be 'euler', 'rk2' or 'rk4'"),
    ("dt", _with(dt=0.3), [], r"time\.dt: dt=0\.3 does not divide the horizon"),
    (
        "time_table_key",
        _with(overrides={"support_boost": {"table": {"soon": 1.0}}}),
        [],
        r"overrides\.support_boost.*table times must be numbers",
    ),
    (
        "uncertain_and_override",
        _with(overrides={"sme_promotion": 0.05}),
        [],
        r"uncertain\.sme_promotion: is also overridden with a constant",
    ),
    (
        "model_missing",
        _with(model="nowhere.yaml"),
        [],
        r"s\.yaml:\d+: model: no model file 'nowhere\.yaml'",
    ),
    ("extends_missing", _with(extends="base.yaml"), [], r"extends: no scenario file 'base\.yaml'"),
    ("cli_runs_zero", _with(), ["--runs", "0"], r"--runs: runs must be at least 1"),
    ("cli_threads", _with(), ["--threads", "999"], r"threads must be 1\.\."),
    (
        "out_folder_missing",
        _with(),
        ["-o", "{tmp}/no/such/dir/out.h5"],
        r"out\.h5: output: its folder does not exist",
    ),
    ("out_is_folder", _with(), ["-o", "{tmp}"], r"output: is a folder"),
    ("resume_nothing", _with(), ["--resume"], r"--resume: no partial file"),
]


def _invoke(args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _assert_one_line_error(result, pattern):
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    import re

    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize(("case", "text", "extra", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_scenario(tmp_path, case, text, extra, pattern):
    sc = tmp_path / "s.yaml"
    sc.write_text(text)
    out = tmp_path / "out.h5"
    extra = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    args = ["run", sc, *(extra if "-o" in extra else ["-o", out, *extra]), "-q"]
    _assert_one_line_error(_invoke(args), pattern)
    assert not out.exists()
    if case not in ("cli_threads",):
        assert not Path(str(out) + ".partial").exists()


def test_missing_parent_of_a_calibrated_scenario(tmp_path):
    # the calibrated path is rewritten into a copy of the file's mapping; its line numbers
    # must survive for the next message
    from sim315.calibration import write_result  # noqa: F401  (the file's format)

    (tmp_path / "fit.yaml").write_text("parameters: {}\ncovariance: {names: [], matrix: []}\n")
    (tmp_path / "s.yaml").write_text(_with(extends="gone.yaml", calibrated="fit.yaml"))
    _assert_one_line_error(
        _invoke(["validate", tmp_path / "s.yaml"]), r"s\.yaml:\d+: extends: no scenario file"
    )


def test_extends_loop(tmp_path):
    (tmp_path / "a.yaml").write_text(_with(extends="b.yaml"))
    (tmp_path / "b.yaml").write_text(_with(extends="a.yaml"))
    _assert_one_line_error(
        _invoke(["validate", tmp_path / "a.yaml"]), r"in a loop: a\.yaml -> b\.yaml -> a\.yaml"
    )


def test_missing_scenario_file(tmp_path):
    _assert_one_line_error(
        _invoke(["run", tmp_path / "none.yaml"]), r"none\.yaml: no such scenario file"
    )


def test_distribution_beyond_the_model_bounds(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump(
            {"model": "m.yaml", "uncertain": {"k": {"dist": "normal", "mean": 0.5, "sd": 0.1}}}
        )
    )
    _assert_one_line_error(
        _invoke(["validate", tmp_path / "s.yaml"]),
        r"uncertain\.k: the distribution reaches \[-inf, inf\], beyond the parameter's bounds",
    )


def test_broken_model_names_the_model_file(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL.replace("k * x", "kk * x"))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"model": "m.yaml"}))
    _assert_one_line_error(
        _invoke(["run", tmp_path / "s.yaml", "-o", tmp_path / "o.h5"]),
        r"m\.yaml:\d+: flows\.g\.equation: unknown name 'kk'",
    )


def test_full_disk_keeps_no_final_file(tmp_path, monkeypatch):
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    out = tmp_path / "o.h5"
    real = h5py.Dataset.__setitem__

    def full(self, key, value):
        if self.name == "/run_status":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, key, value)

    monkeypatch.setattr(h5py.Dataset, "__setitem__", full)
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q"]),
        r"o\.h5: output: no space left on the device; free space, then continue with --resume",
    )
    assert not out.exists()


@pytest.mark.parametrize("command", ["report", "compare"])
def test_report_and_compare_on_bad_files(tmp_path, command):
    junk = tmp_path / "junk.h5"
    junk.write_text("not hdf5")
    args = [command, junk] + ([junk] if command == "compare" else [])
    _assert_one_line_error(_invoke(args), r"junk\.h5: is not an HDF5 result file")
    args = [command, tmp_path / "missing.h5"] + ([junk] if command == "compare" else [])
    _assert_one_line_error(_invoke(args), r"missing\.h5: no such result file")


def test_debug_shows_the_traceback(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(_with(runs=0))
    result = CliRunner().invoke(main, ["--debug", "validate", str(sc)])
    assert result.exit_code != 0
    assert result.exception is not None
