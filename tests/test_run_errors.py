"""Bad input to run, validate, report and compare: one line naming the file, the field and
the fix; exit code 2; no traceback; never a file under the final output name."""

import errno
import fcntl
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from sim315.cli import main
from sim315.results import rows
from sim315.results.layout import parameter_matrix
from sim315.results.reader import texts

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
    assert not Path(str(out) + ".partial").exists()  # options are checked before creating


def test_missing_parent_of_a_calibrated_scenario(tmp_path):
    # the calibrated path is rewritten into a copy of the file's mapping; its line numbers
    # must survive for the next message
    from sim315.analysis.calibration import write_result  # noqa: F401  (the file's format)

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
    real = rows.put  # every chunk's write to a dataset goes through it

    def full(sink, a, x):
        if sink.name == "/run_status":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(sink, a, x)

    monkeypatch.setattr(rows, "put", full)
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


# =========================================================================================
# Hostile inputs and faults (issue 11). Each ends in one line and exit 2, or completes
# correctly; none leaves anything under the final name or writes outside the output folder.
# =========================================================================================
SLOW = {  # a ladder ensemble that takes a few seconds on one thread
    **GOOD,
    "runs": 3000,
    "chunk": 50,
    "dt": 0.0025,
    "save_every": 10,
    "outputs": ["smes"],
}


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _run_refused(tmp_path, text, extra=(), pattern="", out_name="out.h5"):
    """Run a scenario expecting a one-line error; nothing is left in the output folder."""
    sc = tmp_path / "s.yaml"
    if text is not None:
        sc.write_text(text)
    outdir = tmp_path / "outdir"
    outdir.mkdir(exist_ok=True)
    before = _tree(tmp_path)
    out = outdir / out_name
    args = ["run", sc, "-o", out, "-q", *extra]
    _assert_one_line_error(_invoke(args), pattern)
    assert not out.exists()
    assert not Path(str(out) + ".partial").exists()
    assert _tree(tmp_path) == before, _tree(tmp_path) ^ before


def _run_ok(tmp_path, text, extra=()):
    sc = tmp_path / "s.yaml"
    sc.write_text(text)
    out = tmp_path / "ok.h5"
    res = _invoke(["run", sc, "-o", out, "-q", *extra])
    assert res.exit_code == 0, res.output
    assert out.is_file()
    assert not Path(str(out) + ".partial").exists()
    assert not list(tmp_path.glob(".*"))  # no lock or temporary file left
    return out


def _datasets(path: Path) -> dict:
    with h5py.File(path) as h5:
        names = [*json.loads(h5.attrs["outputs"]), "run_status"]
        return {**{n: h5[n][:] for n in names}, "parameter_values": parameter_matrix(h5)}


# -- non-finite numbers and sizes -------------------------------------------------------------
NUMBERS = [
    ("override_nan", _with(overrides={"entry_rate": float("nan")}), r"overrides\.entry_rate"),
    ("override_inf", _with(overrides={"entry_rate": float("inf")}), r"overrides\.entry_rate"),
    (
        "dist_nan",
        _with(uncertain={"rd_sme": {"dist": "uniform", "low": float("nan"), "high": 2}}),
        r"uncertain\.rd_sme.*low",
    ),
    (
        "dist_inf_sd",
        _with(uncertain={"rd_sme": {"dist": "normal", "mean": 1, "sd": float("inf")}}),
        r"uncertain\.rd_sme.*sd",
    ),
    (
        "table_value_inf",
        _with(overrides={"support_boost": {"table": {1: 0.1, 5: float("inf")}}}),
        r"overrides\.support_boost",
    ),
    (
        "table_time_nan",
        _with(overrides={"support_boost": {"table": {float("nan"): 0.1}}}),
        r"overrides\.support_boost",
    ),
    (
        "choice_weight_nan",
        _with(
            uncertain={"rd_sme": {"dist": "choice", "values": [1, 2], "weights": [1, float("nan")]}}
        ),
        r"uncertain\.rd_sme",
    ),
    ("dt_nan", _with(dt=float("nan")), r"dt"),
    ("dt_tiny", _with(dt=1e-300), r"time\.dt: dt=1e-300 .* more than the 2,147,483,648"),
    ("dt_401_digits", _with(dt=int("9" * 401)), r"dt"),
    ("runs_401_digits", _with(runs=int("9" * 401)), r"runs: Input should be less than"),
    ("seed_2_64", _with(seed=2**64), r"seed: Input should be less than or equal to"),
    ("save_every_inf", _with(save_every=float("inf")), r"save_every"),
    (
        "override_above_bounds",
        _with(overrides={"entry_rate": 0.5}, model=None),
        None,  # filled below with a bounded model
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "pattern"),
    [c for c in NUMBERS if c[2] is not None],
    ids=[c[0] for c in NUMBERS if c[2] is not None],
)
def test_non_finite_and_impossible_numbers(tmp_path, case, text, pattern):
    _run_refused(tmp_path, text, pattern=pattern)


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--runs", "1e12"], r"(memory|result file would need about) .*(TiB|PiB)"),
        (["--runs", "2e13"], r"--runs: runs must be at most"),
        (["--seed", str(2**64)], r"--seed: seed must be at most 2\*\*63 - 1"),
        (["--runs", "ten"], r"'ten' is not a whole number"),
        (["--threads", "0"], r"--threads: threads must be 1\.\."),
        (["--threads", "99999"], r"--threads: threads must be 1\.\."),
        (["--chunk", "0"], r"--chunk: chunk must be at least 1"),
        (["--compress", "zip"], r"Invalid value for '--compress'"),
        (["--executor", "dask"], r"--scheduler: the dask executor needs a scheduler address"),
        (
            ["--executor", "dask", "--scheduler", "not an address::"],
            r"--scheduler: .*(not a scheduler address|no host or port|cannot reach)",
        ),
    ],
    ids=[
        "runs_1e12",
        "runs_2e13",
        "seed_2_64",
        "runs_word",
        "threads_0",
        "threads_huge",
        "chunk_0",
        "compress",
        "dask_no_scheduler",
        "dask_bad_address",
    ],
)
def test_options_are_checked_before_anything_is_created(tmp_path, monkeypatch, extra, pattern):
    monkeypatch.delenv("SIM315_SCHEDULER", raising=False)
    _run_refused(tmp_path, _with(), extra, pattern)


def test_a_horizon_with_too_many_steps(tmp_path):
    (tmp_path / "m.yaml").write_text(
        BOUNDED_MODEL.replace("stop: 2, dt: 1", "stop: 1.0e+12, dt: 1")
    )
    _run_refused(
        tmp_path,
        yaml.safe_dump({"model": str(tmp_path / "m.yaml")}),
        pattern=r"m\.yaml:\d+: time\.dt: dt=1 over 0\.\.1e\+12 makes 1e\+12 steps",
    )


def test_override_outside_the_declared_bounds(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    text = yaml.safe_dump({"model": str(tmp_path / "m.yaml"), "overrides": {"k": 1.5}})
    _run_refused(
        tmp_path,
        text,
        pattern=r"overrides\.k: 1\.5 is outside the parameter's bounds \[0(\.0)?, 1(\.0)?\] "
        r".*allow_out_of_bounds: \[k\]",
    )


def test_time_table_outside_the_declared_bounds(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    text = yaml.safe_dump(
        {"model": str(tmp_path / "m.yaml"), "overrides": {"k": {"table": {0: 0.5, 1: -2}}}}
    )
    _run_refused(tmp_path, text, pattern=r"overrides\.k: -2 is outside the parameter's bounds")


def test_allowed_out_of_bounds_override_completes(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    text = yaml.safe_dump(
        {
            "model": str(tmp_path / "m.yaml"),
            "overrides": {"k": 1.5},
            "allow_out_of_bounds": ["k"],
        }
    )
    out = _run_ok(tmp_path, text)
    with h5py.File(out) as h5:
        assert h5["x"][0, -1] == pytest.approx(1 * 2.5**2)


def test_allow_out_of_bounds_names_an_override(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    text = yaml.safe_dump({"model": str(tmp_path / "m.yaml"), "allow_out_of_bounds": ["kk"]})
    _run_refused(tmp_path, text, pattern=r"allow_out_of_bounds: 'kk' is not overridden")


# -- names and equations ----------------------------------------------------------------------
def _model_with(tmp_path, **changes) -> str:
    spec = yaml.safe_load(BOUNDED_MODEL)
    for section, value in changes.items():
        spec[section] = value
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    return yaml.safe_dump({"model": str(tmp_path / "m.yaml")})


EQUATIONS = [
    ("max_2000_args", "max(" + ", ".join(["k"] * 2000) + ") * x", r"max\(\) is given 2,000 "),
    (
        "wide_sum",
        " + ".join(["max(" + ", ".join(["k"] * 60) + ")"] * 70) + " * x",
        r"the equation has [\d,]+ terms, more than 4,000",
    ),
    (
        "deep",
        "(" * 300 + "k * x" + ")" * 300,
        r"(nested more than 80 levels|too many nested parentheses)",
    ),
    ("uniform_reversed", "random_uniform(5, 1) * x / 5", r"random_uniform\(\) needs low < high"),
    ("normal_negative_sd", "random_normal(0, -1) * x", r"random_normal\(\) needs a standard"),
    ("pink_tau_zero", "pink_noise(1, 0) * x", r"pink_noise\(\) needs sd >= 0 and tau > 0"),
    ("literal_1e999", "1e999 * x", r"the number '1e999' is not a finite float"),
    ("literal_401_digits", "9" * 401 + " * x", r"the number '9{20,}.*' is not a finite float"),
]


@pytest.mark.parametrize(("case", "equation", "pattern"), EQUATIONS, ids=[e[0] for e in EQUATIONS])
def test_hostile_equations(tmp_path, case, equation, pattern):
    text = _model_with(tmp_path, flows={"g": {"equation": equation, "units": "t/year"}})
    _run_refused(tmp_path, text, pattern=r"m\.yaml:\d+: flows\.g\.equation: .*" + pattern)


@pytest.mark.parametrize(
    ("case", "name", "pattern"),
    [
        ("trailing_newline", "kk\n", r"'kk\\n' is not a valid name"),
        ("nfkc_duplicate", "\uff4b", r"'\\uff4b' is the same name as 'k' once Unicode"),
        ("ligature", "\ufb01rm", r"(is the same name|is not a valid name)"),
        ("empty", "", r"is not a valid name"),
    ],
    ids=["trailing_newline", "nfkc_duplicate", "ligature", "empty"],
)
def test_hostile_names(tmp_path, case, name, pattern):
    spec_params = {"k": {"value": 0.5, "units": "1/year"}, name: {"value": 1, "units": "1"}}
    text = _model_with(tmp_path, parameters=spec_params)
    _run_refused(tmp_path, text, pattern=pattern)


# -- inputs that are not files ----------------------------------------------------------------
def test_scenario_that_is_a_fifo_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "s.yaml")
    _run_refused(tmp_path, None, pattern=r"s\.yaml: is not a regular file")


def test_scenario_that_is_dev_zero(tmp_path):
    _assert_one_line_error(_invoke(["validate", "/dev/zero"]), r"/dev/zero: is not a regular file")


def test_scenario_that_is_too_large(tmp_path):
    sc = tmp_path / "s.yaml"
    with sc.open("wb") as fh:
        fh.truncate(64 << 20)  # sparse: no disk used
    _run_refused(tmp_path, None, pattern=r"s\.yaml: is 67,108,864 bytes, more than the")


def test_scenario_that_is_not_utf8(tmp_path):
    (tmp_path / "s.yaml").write_bytes(b"model: x\nruns: \xff\xfe\n")
    _run_refused(tmp_path, None, pattern=r"s\.yaml:2: is not UTF-8 text \(byte 16")


def test_scenario_nested_too_deeply(tmp_path):
    _run_refused(tmp_path, "a: " + "[" * 20000, pattern=r"s\.yaml(:\d+)?: (YAML|the YAML)")


def test_scenario_that_is_a_folder(tmp_path):
    (tmp_path / "s.yaml").mkdir()
    _run_refused(tmp_path, None, pattern=r"s\.yaml: is a folder, not a file")


# -- outputs ----------------------------------------------------------------------------------
def test_symlink_planted_at_the_partial_name_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    (outdir / "out.h5.partial").symlink_to(victim)
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    _assert_one_line_error(
        _invoke(["run", sc, "-o", outdir / "out.h5", "-q"]),
        r"out\.h5\.partial: output: is a symbolic link, not a file sim315 made",
    )
    assert victim.read_text() == "precious"
    assert not (outdir / "out.h5").exists()


def test_symlink_planted_at_the_lock_name_is_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    (outdir / ".out.h5.lock").symlink_to(victim)
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    _assert_one_line_error(
        _invoke(["run", sc, "-o", outdir / "out.h5", "-q"]), r"\.out\.h5\.lock: output: is a symb"
    )
    assert victim.read_text() == "precious"


def test_symlink_at_the_final_name_is_replaced_never_written_through(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    out = tmp_path / "out.h5"
    out.symlink_to(victim)
    assert _invoke(["run", sc, "-o", out, "-q"]).exit_code == 0
    assert victim.read_text() == "precious"
    assert not out.is_symlink()
    assert h5py.is_hdf5(out)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_output_that_is_a_device(tmp_path, device):
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    _assert_one_line_error(_invoke(["run", sc, "-o", device, "-q"]), r"output: is a device")
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_output_that_is_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "out.h5")
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    _assert_one_line_error(
        _invoke(["run", sc, "-o", tmp_path / "out.h5", "-q"]), r"out\.h5: output: is a pipe"
    )


def test_a_second_writer_is_refused_and_harms_nothing(tmp_path):
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    out = outdir / "out.h5"
    partial = Path(str(out) + ".partial")
    partial.write_bytes(b"the first writer's partial")
    fd = os.open(outdir / ".out.h5.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # the first writer holds the lock
    try:
        sc = tmp_path / "s.yaml"
        sc.write_text(_with())
        for extra in ([], ["--resume"]):
            _assert_one_line_error(
                _invoke(["run", sc, "-o", out, "-q", *extra]),
                r"out\.h5: output: another sim315 command is writing this file now",
            )
        assert partial.read_bytes() == b"the first writer's partial"
        assert not out.exists()
    finally:
        os.close(fd)


def test_two_runs_at_once_on_one_output(tmp_path):
    """Two real processes: the second says why in one line and harms nothing; the first's
    partial file stays whole (it is interrupted here only to save time, and resumed)."""
    text = yaml.safe_dump({**SLOW, "runs": 200_000, "chunk": 200})
    sc = tmp_path / "s.yaml"
    sc.write_text(text)
    out = tmp_path / "o.h5"
    partial = Path(str(out) + ".partial")
    first = _cli("run", sc, "-o", out, "-q", "--threads", "1")
    deadline = time.time() + 120
    while not partial.exists() and time.time() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.02)
    second = _cli("run", sc, "-o", out, "-q", "--threads", "1")
    _, err = second.communicate(timeout=300)
    assert second.returncode == 2, err
    assert err.strip().splitlines() == [err.strip()]
    assert "another sim315 command is writing this file now" in err
    assert first.poll() is None, "the first run ended before the second was refused"
    first.send_signal(signal.SIGINT)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 130, err
    with h5py.File(partial) as h5:  # whole, and what it says it holds
        done = int(h5.attrs["runs_done"])
        assert (h5["run_status"][:done] == 0).all()
        assert (h5["run_status"][done:] == -1).all()


# -- forged, torn and foreign partial files ---------------------------------------------------
def _interrupted(tmp_path, text, at_chunk=2, name="o.h5"):
    """Run until ``at_chunk`` chunks are written, then interrupt (the partial stays)."""
    import sim315.ensembles.runner as runner_mod

    sc = tmp_path / "s.yaml"
    sc.write_text(text)
    out = tmp_path / name
    real = runner_mod.ResultWriter.write
    count = {"n": 0}

    def write(self, *args):
        if count["n"] == at_chunk:
            raise KeyboardInterrupt
        count["n"] += 1
        return real(self, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner_mod.ResultWriter, "write", write)
        res = _invoke(["run", sc, "-o", out, "-q"])
    assert res.exit_code == 130, res.output
    assert res.output.strip().startswith("interrupted: the runs finished so far are kept in")
    return sc, out


def _reference(tmp_path, text) -> dict:
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    (ref_dir / "s.yaml").write_text(text)
    assert _invoke(["run", ref_dir / "s.yaml", "-o", ref_dir / "r.h5", "-q"]).exit_code == 0
    return _datasets(ref_dir / "r.h5")


def _assert_same(a: dict, b: dict):
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_forged_runs_done_cannot_finish_unrun_runs(tmp_path):
    text = _with(runs=40, chunk=5)
    sc, out = _interrupted(tmp_path, text)
    partial = Path(str(out) + ".partial")
    with h5py.File(partial, "r+") as h5:
        h5.attrs["runs_done"] = 40  # claims every run; the status says 10
    res = _invoke(["run", sc, "-o", out, "-q", "--resume"])
    assert res.exit_code == 0, res.output
    got = _datasets(out)
    assert got["run_status"].min() == 0
    _assert_same(_reference(tmp_path, text), got)


def test_torn_chunk_status_without_runs_done_is_redone(tmp_path):
    text = _with(runs=40, chunk=5)
    sc, out = _interrupted(tmp_path, text)
    partial = Path(str(out) + ".partial")
    with h5py.File(partial, "r+") as h5:
        h5["run_status"][10:15] = 0  # status rows of a chunk whose runs_done never landed
        h5["smes"][10:15] = 12345.0  # ... with garbage data
    assert _invoke(["run", sc, "-o", out, "-q", "--resume"]).exit_code == 0
    _assert_same(_reference(tmp_path, text), _datasets(out))


def test_finish_refuses_a_file_with_unrun_runs(tmp_path):
    from sim315.results.layout import OutputInfo, Parameters
    from sim315.results.store import ResultWriter

    out = tmp_path / "w.h5"
    w = ResultWriter.create(
        out,
        runs=4,
        times=np.array([0.0, 1.0]),
        time_units="year",
        outputs=[OutputInfo("x", "t", "", "stock")],
        parameters=Parameters(["k"], [0], np.array([np.nan])),
        attrs={},
        rows_per_chunk=2,
    )
    w.write(0, np.ones((2, 1)), np.ones((2, 2, 1)), np.zeros(2, dtype=np.int8))
    w.runs_done = 4  # a writer that lost count
    with pytest.raises(Exception, match=r"2 runs were not run; continue with --resume"):
        w.finish()
    assert not out.exists()
    assert Path(str(out) + ".partial").exists()


def test_partial_that_is_not_hdf5(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    out = tmp_path / "o.h5"
    Path(str(out) + ".partial").write_text("junk")
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q", "--resume"]), r"cannot open the partial file"
    )
    assert not out.exists()


def test_partial_that_is_a_symlink_is_not_resumed(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(_with())
    out = tmp_path / "o.h5"
    (tmp_path / "elsewhere.h5").write_text("x")
    Path(str(out) + ".partial").symlink_to(tmp_path / "elsewhere.h5")
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q", "--resume"]),
        r"o\.h5\.partial: (--resume|output): is a symbolic link",
    )


def test_resume_names_an_edited_model_parameter(tmp_path):
    (tmp_path / "m.yaml").write_text(LADDER.read_text())
    text = _with(model="m.yaml", runs=20, chunk=5)
    sc, out = _interrupted(tmp_path, text)
    model = tmp_path / "m.yaml"
    model.write_text(
        model.read_text().replace("entry_rate: {value: 0.08", "entry_rate: {value: 0.09")
    )
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q", "--resume"]),
        r"the inputs changed since the partial file was made: model file;",
    )


def test_resume_names_an_edited_parent_scenario(tmp_path):
    (tmp_path / "base.yaml").write_text(_with(runs=20, chunk=5))
    sc, out = _interrupted(tmp_path, yaml.safe_dump({"extends": "base.yaml", "model": str(LADDER)}))
    (tmp_path / "base.yaml").write_text(_with(runs=20, chunk=5, overrides={"rd_sme": 1.6}))
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q", "--resume"]),
        r"changed since the partial file was made: extended file base\.yaml, scenario \(resolved\)",
    )


def test_resume_names_a_changed_quantile_method(tmp_path, monkeypatch):
    """PERT values come from sim315's own quantile: a partial file made with another
    version of it is not continued with this one (the values would differ in the last bits)."""
    from sim315.schemas.distributions import Pert

    pert = {"sme_promotion": {"dist": "pert", "low": 0.04, "mode": 0.06, "high": 0.09}}
    monkeypatch.setattr(Pert, "quantile_method", "pert: an earlier version")
    sc, out = _interrupted(tmp_path, _with(runs=20, chunk=5, uncertain=pert))
    monkeypatch.undo()
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q", "--resume"]),
        r"made: quantile method;",
    )
    again = tmp_path / "again.h5"  # the method is recorded with the file
    assert _invoke(["run", sc, "-o", again, "-q"]).exit_code == 0
    with h5py.File(again) as h5:
        assert h5.attrs["quantile_method"] == Pert.quantile_method
    (tmp_path / "u").mkdir()  # no PERT: the fingerprint has no such part (files resume as before)
    uniform = _interrupted(tmp_path / "u", _with(runs=20, chunk=5), name="u.h5")
    assert _invoke(["run", uniform[0], "-o", uniform[1], "-q", "--resume"]).exit_code == 0
    with h5py.File(uniform[1]) as h5:
        assert "quantile method" not in json.loads(h5.attrs["fingerprint_parts"])
        assert "quantile_method" not in h5.attrs


def test_resume_names_a_changed_run_count(tmp_path):
    sc, out = _interrupted(tmp_path, _with(runs=20, chunk=5))
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q", "--resume", "--runs", "30"]),
        r"made: runs;",
    )


# -- faults -----------------------------------------------------------------------------------
def test_io_error_mid_run_is_one_line_and_resumable(tmp_path, monkeypatch):
    text = _with(runs=30, chunk=5)
    sc = tmp_path / "s.yaml"
    sc.write_text(text)
    out = tmp_path / "o.h5"
    real = rows.put
    calls = {"n": 0}

    def failing(sink, a, x):
        if sink.name == "/smes":
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(errno.EIO, "Input/output error")
        return real(sink, a, x)

    monkeypatch.setattr(rows, "put", failing)
    _assert_one_line_error(
        _invoke(["run", sc, "-o", out, "-q"]),
        r"o\.h5: output: cannot write \(.*Input/output error\); check the disk, then continue",
    )
    monkeypatch.undo()
    assert not out.exists()
    assert _invoke(["run", sc, "-o", out, "-q", "--resume"]).exit_code == 0
    _assert_same(_reference(tmp_path, text), _datasets(out))


def _cli(*args, **kw):
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "sim315.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kw,
    )


def _tmpfs(folder: Path, size: str) -> Path:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    return folder


def test_a_result_larger_than_the_free_space_is_refused_up_front(tmp_path):
    mnt = _tmpfs(tmp_path / "small", "1m")
    try:
        sc = tmp_path / "s.yaml"
        sc.write_text(yaml.safe_dump({**GOOD, "runs": 4000}))
        _assert_one_line_error(
            _invoke(["run", sc, "-o", mnt / "o.h5", "-q"]),
            r"o\.h5: output: the result file would need about [\d.]+ MiB \(4,000 runs\); its "
            r"folder has 1\.0 MiB free",
        )
        assert list(mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


@pytest.mark.parametrize("compress", ["gzip", "none"])
def test_disk_full_mid_run_is_one_line_and_resumable(tmp_path, compress):
    """A real ENOSPC: a filler takes the free space once the run has started. A compressed
    file grows per chunk and stops with one line and a resumable partial; an uncompressed
    one was allocated whole at creation and completes (or, if even its summary does not fit,
    stops the same way)."""
    mnt = _tmpfs(tmp_path / "small", "32m")
    try:
        text = yaml.safe_dump({**SLOW, "runs": 4000, "chunk": 100, "save_every": 0.125})
        sc = tmp_path / "s.yaml"
        sc.write_text(text)
        out = mnt / "o.h5"
        p = _cli("run", sc, "-o", out, "-q", "--threads", "1", "--compress", compress)
        deadline = time.time() + 120
        while not Path(str(out) + ".partial").exists() and time.time() < deadline:
            assert p.poll() is None, p.communicate()
            time.sleep(0.01)
        filler = mnt / "filler"
        with filler.open("wb") as fh:  # take all but a little of what is left
            st = os.statvfs(mnt)
            try:
                fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 65536))
            except OSError as exc:  # the run's file grew meanwhile: the disk is full anyway
                assert exc.errno == errno.ENOSPC, exc
        _, stderr = p.communicate(timeout=300)
        if compress == "gzip" or p.returncode:
            assert p.returncode == 2, (p.returncode, stderr[-3000:])
            assert stderr.strip().splitlines() == [stderr.strip()], stderr[-3000:]
            assert re.match(
                r"error: .*o\.h5: output: no space left on the device; free space", stderr
            )
            assert not out.exists()
            names = {q.name for q in mnt.iterdir()}
            assert names == {"o.h5.partial", "filler"}  # no lock, reserve or temporary file
            filler.unlink()
            p = _cli("run", sc, "-o", out, "-q", "--resume")
            _, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr
        assert stderr == ""
        _assert_same(_reference(tmp_path, text), _datasets(out))
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def test_a_burst_of_ctrl_c_prints_only_the_resume_hint(tmp_path):
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump(SLOW))
    out = tmp_path / "o.h5"
    p = _cli("run", sc, "-o", out, "-q", "--threads", "1")
    partial = Path(str(out) + ".partial")
    deadline = time.time() + 120
    while not partial.exists() and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    for _ in range(40):  # a burst, some of it after the first has been handled
        if p.poll() is not None:
            break
        p.send_signal(signal.SIGINT)
        time.sleep(0.005)
    _, stderr = p.communicate(timeout=120)
    assert p.returncode == 130, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("interrupted: the runs finished so far are kept in")
    assert lines[0].endswith("--resume")
    assert partial.exists()
    assert not out.exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_9_at_a_random_point_then_resume_is_bit_identical(tmp_path, seed):
    text = yaml.safe_dump({**SLOW, "runs": 1200})
    sc = tmp_path / "s.yaml"
    sc.write_text(text)
    out = tmp_path / "o.h5"
    partial = Path(str(out) + ".partial")
    p = _cli("run", sc, "-o", out, "-q", "--threads", "1")
    deadline = time.time() + 120
    while not partial.exists() and time.time() < deadline and p.poll() is None:
        time.sleep(0.01)
    time.sleep(np.random.default_rng(seed).uniform(0.0, 1.0))
    p.kill()
    p.communicate()
    if not out.exists():  # killed before the end: the partial continues
        assert partial.exists()
        r = _cli("run", sc, "-o", out, "-q", "--resume")
        _, err = r.communicate(timeout=300)
        assert r.returncode == 0, err
    _assert_same(_reference(tmp_path, text), _datasets(out))
    assert not partial.exists()


# -- calibrate and sweep inputs ---------------------------------------------------------------
def _fit_folder(tmp_path) -> Path:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_calibration import _synthetic

    return _synthetic(tmp_path / "fit", r=0.5, k=5000, seed=1)


@pytest.mark.parametrize(
    ("case", "mutate", "pattern"),
    [
        (
            "short_row",
            lambda d: d.write_text(d.read_text() + "firms,count,2025\n"),
            r"data\.csv:\d+: row \d+: has 3 fields where the header has 7",
        ),
        (
            "not_utf8",
            lambda d: d.write_bytes(d.read_bytes() + b"firms,count,2025,\xff,city,x,y\n"),
            r"data\.csv:\d+: is not UTF-8 text",
        ),
        (
            "fifo",
            lambda d: (d.unlink(), os.mkfifo(d)),
            r"data\.csv: is not a regular file",
        ),
        (
            "no_header",
            lambda d: d.write_text("a,b\n1,2\n"),
            r"data\.csv:1: header: needs columns",
        ),
    ],
    ids=["short_row", "not_utf8", "fifo", "no_header"],
)
def test_calibrate_on_malformed_history(tmp_path, case, mutate, pattern):
    fit = _fit_folder(tmp_path)
    mutate(fit.parent / "data.csv")
    before = _tree(tmp_path)
    _assert_one_line_error(_invoke(["calibrate", fit]), pattern)
    assert _tree(tmp_path) == before


@pytest.mark.parametrize(
    ("case", "target", "pattern"),
    [
        ("out_is_folder", "{d}", r"--out: is a folder"),
        ("out_folder_missing", "{d}/no/such/r.yaml", r"--out: its folder does not exist"),
        ("out_is_device", "/dev/null", r"--out: is not a regular file"),
    ],
    ids=["out_is_folder", "out_folder_missing", "out_is_device"],
)
def test_calibrate_unwritable_output_is_refused_before_the_fit(tmp_path, case, target, pattern):
    fit = _fit_folder(tmp_path)
    before = _tree(tmp_path)
    _assert_one_line_error(_invoke(["calibrate", fit, "-o", target.format(d=tmp_path)]), pattern)
    assert _tree(tmp_path) == before  # no temporary file


def test_fit_file_with_nan(tmp_path):
    fit = _fit_folder(tmp_path)
    data = yaml.safe_load(fit.read_text())
    data["free"]["r"]["high"] = float("nan")
    fit.write_text(yaml.safe_dump(data))
    _assert_one_line_error(_invoke(["calibrate", fit]), r"free\.r\.high")


def test_calibrated_estimate_nan_is_refused(tmp_path):
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    (tmp_path / "fit.yaml").write_text("model: m.yaml\n")
    (tmp_path / "res.yaml").write_text(
        yaml.safe_dump({"fit": "fit.yaml", "parameters": {"k": {"estimate": float("nan")}}})
    )
    text = yaml.safe_dump({"model": "m.yaml", "calibrated": "res.yaml"})
    (tmp_path / "s.yaml").write_text(text)
    _assert_one_line_error(
        _invoke(["validate", tmp_path / "s.yaml"]),
        r"res\.yaml: parameters\.k\.estimate: is nan, not a finite number",
    )


SA = ROOT / "tests" / "sensitivity"


@pytest.mark.parametrize(
    ("case", "fields", "extra", "pattern"),
    [
        ("years_empty", {"years": []}, [], r"years: List should have at least 1 item"),
        ("n_nan", {"n": float("nan")}, [], r"\bn: Input should be a valid integer"),
        ("out_is_folder", {}, ["-o", "{d}"], r"output: is a folder"),
        ("out_folder_missing", {}, ["-o", "{d}/none/x.h5"], r"output: its folder does not exist"),
        (
            "low_inf",
            {"factors": {"x1": {"low": float("-inf"), "high": 1}}},
            [],
            r"factors\.x1.*low",
        ),
    ],
    ids=["years_empty", "n_nan", "out_is_folder", "out_folder_missing", "low_inf"],
)
def test_bad_sweep_inputs(tmp_path, case, fields, extra, pattern):
    data = yaml.safe_load((SA / "ishigami-sweep.yaml").read_text())
    data["scenario"] = str(SA / "ishigami-scenario.yaml")
    data["n"] = 8
    data.update(fields)
    path = tmp_path / "sw.yaml"
    path.write_text(yaml.safe_dump(data))
    extra = [e.format(d=tmp_path) for e in extra] or ["-o", tmp_path / "sw.h5"]
    before = _tree(tmp_path)
    _assert_one_line_error(_invoke(["sweep", path, *extra, "-q"]), pattern)
    assert _tree(tmp_path) == before


# -- provenance -------------------------------------------------------------------------------
def test_time_tabled_levers_are_stored_as_their_tables(tmp_path):
    table = {"table": {0: 0.1, 5: 0.4}, "interpolate": "linear"}
    out = _run_ok(tmp_path, _with(overrides={"support_boost": table}))
    with h5py.File(out) as h5:
        np.testing.assert_array_equal(h5["levers/support_boost"][:], [[0, 0.1], [5, 0.4]])
        assert h5["levers/support_boost"].attrs["interpolate"] == "linear"
        names = [n.decode() for n in h5["parameter"][:]]
        assert np.isnan(parameter_matrix(h5)[:, names.index("support_boost")]).all()
        assert np.isnan(h5["shared_values"][names.index("support_boost")])
        assert "support_boost" not in texts(h5["varied_parameter"])


def test_compare_refuses_other_models_and_targets_unless_forced(tmp_path):
    a = _run_ok(tmp_path, _with())
    a.rename(tmp_path / "a.h5")
    (tmp_path / "m.yaml").write_text(BOUNDED_MODEL)
    b = _run_ok(tmp_path, yaml.safe_dump({"model": str(tmp_path / "m.yaml"), "runs": 3}))
    _assert_one_line_error(
        _invoke(["compare", tmp_path / "a.h5", b]),
        r"ok\.h5: model: was made from another model file than .*a\.h5.*pass --force",
    )
    assert _invoke(["compare", tmp_path / "a.h5", b, "--force"]).exit_code == 0


def test_compare_refuses_other_target_definitions(tmp_path):
    model = tmp_path / "m.yaml"
    model.write_text(
        BOUNDED_MODEL.replace(
            "  x: {initial: 1,", "  x: {target: {compare: '>', value: 2, year: 2}, initial: 1,"
        )
    )
    a = _run_ok(tmp_path, yaml.safe_dump({"model": str(model), "runs": 3}))
    a.rename(tmp_path / "a.h5")
    model.write_text(model.read_text().replace("value: 2, year", "value: 3, year"))
    b = _run_ok(tmp_path, yaml.safe_dump({"model": str(model), "runs": 3}))
    _assert_one_line_error(
        _invoke(["compare", tmp_path / "a.h5", b]), r"(model|target x): .*pass --force"
    )


def test_compare_pairs_runs_that_share_seed_and_sampler(tmp_path):
    from sim315.reports.compare import paired_differences

    a = _run_ok(tmp_path, _with(runs=20, overrides={"entry_rate": 0.1}))
    a.rename(tmp_path / "a.h5")
    b = _run_ok(tmp_path, _with(runs=20))
    res = _invoke(["compare", tmp_path / "a.h5", b])
    assert res.exit_code == 0, res.output
    assert "paired: both files share seed, sampler and run count" in res.output
    assert paired_differences(tmp_path / "a.h5", b) is not None
    c = _run_ok(tmp_path, _with(runs=20, seed=2))
    assert "paired" not in _invoke(["compare", tmp_path / "a.h5", c]).output
