"""Sensitivity sweeps: analytic indices through the whole pipeline, grids, Morris, the
flagship's ranking across seeds, and bad sweep files."""

import math
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from sim315.analysis.sensitivity import convergence_warnings
from sim315.analysis.sweep import plan_sweep, run_sweep
from sim315.cli import main

ROOT = Path(__file__).resolve().parents[1]
SA = ROOT / "tests" / "sensitivity"


def _sweep(tmp_path, name, **fields) -> Path:
    path = tmp_path / f"{name}.yaml"
    data = {"scenario": str(SA / f"{name}-scenario.yaml"), **fields}
    path.write_text(yaml.safe_dump(data))
    return path


def _inside(value, estimate, conf, slack=1.0):
    return abs(value - estimate) <= slack * conf + 1e-9


def test_ishigami_indices_within_their_intervals(tmp_path):
    sp = plan_sweep(SA / "ishigami-sweep.yaml")
    _, res = run_sweep(sp, tmp_path / "ish.h5", progress=False)
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    s1 = [v1 / v, v2 / v, 0.0]
    st = [(v1 + v13) / v, v2 / v, v13 / v]
    for j in range(3):
        assert _inside(s1[j], res["S1"][0, 0, j], res["S1_conf"][0, 0, j]), ("S1", j)
        assert _inside(st[j], res["ST"][0, 0, j], res["ST_conf"][0, 0, j]), ("ST", j)
    with h5py.File(tmp_path / "ish.h5") as h5:
        assert h5["indices/ST"].shape == (1, 1, 3)
        assert h5["indices"].attrs["method"] == "sobol"


def test_g_function_indices_within_their_intervals(tmp_path):
    a = [0.0, 1.0, 4.5, 9.0]
    path = _sweep(
        tmp_path,
        "gfunction",
        method="sobol",
        n=4096,
        seed=3,
        factors={f"x{i + 1}": {"low": 0.0, "high": 1.0} for i in range(4)},
        outputs=["g"],
        years=[1],
    )
    _, res = run_sweep(plan_sweep(path), tmp_path / "g.h5", progress=False)
    vi = [1 / (3 * (1 + ai) ** 2) for ai in a]
    v = np.prod([1 + x for x in vi]) - 1
    for j in range(4):
        s1 = vi[j] / v
        st = vi[j] * np.prod([1 + vi[k] for k in range(4) if k != j]) / v
        assert _inside(s1, res["S1"][0, 0, j], res["S1_conf"][0, 0, j]), ("S1", j)
        assert _inside(st, res["ST"][0, 0, j], res["ST_conf"][0, 0, j]), ("ST", j)


def test_morris_ranks_the_g_function_factors(tmp_path):
    path = _sweep(
        tmp_path,
        "gfunction",
        method="morris",
        n=100,
        seed=1,
        factors={f"x{i + 1}": {"low": 0.0, "high": 1.0} for i in range(4)},
        outputs=["g"],
        years=[1],
    )
    _, res = run_sweep(plan_sweep(path), tmp_path / "m.h5", progress=False)
    mu = res["mu_star"][0, 0]
    assert list(np.argsort(-mu)) == [0, 1, 2, 3]  # importance falls as a_i grows


def test_one_at_a_time_and_factorial_grids(tmp_path):
    factors = {"x1": {"values": [0.0, 1.0]}, "x2": {"low": 0.0, "high": 1.0}}
    oat = plan_sweep(
        _sweep(tmp_path, "gfunction", method="oat", n=3, factors=factors, outputs=["g"], years=[1])
    )
    assert oat.design.runs == 1 + 2 + 3
    np.testing.assert_array_equal(oat.design.values[0], [0.5, 0.5])  # the base row
    _, res = run_sweep(oat, tmp_path / "oat.h5", progress=False)
    assert res["values"].shape == (6, 1, 1)
    fac = plan_sweep(
        _sweep(
            tmp_path,
            "gfunction",
            method="factorial",
            n=3,
            factors=factors,
            outputs=["g"],
            years=[1],
        )
    )
    assert fac.design.runs == 2 * 3
    assert {tuple(r) for r in fac.design.values} == {
        (x1, x2) for x1 in (0.0, 1.0) for x2 in (0.0, 0.5, 1.0)
    }


def test_convergence_check_flags_indices_that_moved():
    idx = {
        "S1": np.array([[0.5]]),
        "S1_half": np.array([[0.2]]),
        "S1_conf": np.array([[0.05]]),
        "ST": np.array([[0.6]]),
        "ST_half": np.array([[0.59]]),
        "ST_conf": np.array([[0.05]]),
    }
    warnings = convergence_warnings(idx, ["x"], ["y in 2027"])
    assert len(warnings) == 1
    assert warnings[0].startswith("S1 of x for y in 2027 moved 0.300")


def test_convergence_check_ignores_moves_within_the_absolute_tolerance():
    idx = {
        "S1": np.array([[0.011]]),
        "S1_half": np.array([[-0.004]]),  # moved 0.015 < CONVERGENCE_ATOL with a tiny interval
        "S1_conf": np.array([[0.001]]),
        "ST": np.array([[0.2]]),
        "ST_half": np.array([[0.2]]),
        "ST_conf": np.array([[0.001]]),
    }
    assert convergence_warnings(idx, ["x"], ["y in 1"]) == []


def _salib_on_the_same_runs(sp, path):
    """SALib's analyze.sobol on the outputs stored in the sweep's result file."""
    from SALib.analyze import sobol as salib_sobol

    from sim315.analysis.sweep import _at_years

    problem = {
        "num_vars": len(sp.design.names),
        "names": sp.design.names,
        "bounds": [[0.0, 1.0]] * len(sp.design.names),
    }
    with h5py.File(path) as h5:
        Y, _ = _at_years(h5, sp.outputs, sp.years)
    return salib_sobol.analyze(problem, Y[:, 0], calc_second_order=False, num_resamples=10, seed=1)


def test_sobol_indices_equal_salibs_on_the_same_runs(tmp_path):
    sp = plan_sweep(SA / "ishigami-sweep.yaml")
    _, res = run_sweep(sp, tmp_path / "ish.h5", progress=False)
    ref = _salib_on_the_same_runs(sp, tmp_path / "ish.h5")
    np.testing.assert_allclose(res["S1"][0, 0], ref["S1"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res["ST"][0, 0], ref["ST"], rtol=1e-9, atol=1e-12)


def test_near_zero_first_order_indices_stay_near_zero(tmp_path):
    """G-function with a = (0, 99, 99, 99): x2..x4 have S1 = 1.0e-4, far below what Jansen's
    first-order estimator resolves at this N (it gave -0.067 for factors without effect)."""
    scen = tmp_path / "g-dummies.yaml"
    scen.write_text(
        yaml.safe_dump(
            {
                "model": str(SA / "gfunction.yaml"),
                "overrides": {"a2": 99.0, "a3": 99.0, "a4": 99.0},
            }
        )
    )
    path = tmp_path / "sweep.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "scenario": str(scen),
                "method": "sobol",
                "n": 1024,
                "seed": 5,
                "factors": {f"x{i + 1}": {"low": 0.0, "high": 1.0} for i in range(4)},
                "outputs": ["g"],
                "years": [1],
            }
        )
    )
    sp = plan_sweep(path)
    _, res = run_sweep(sp, tmp_path / "g.h5", progress=False)
    a = [0.0, 99.0, 99.0, 99.0]
    vi = [1 / (3 * (1 + ai) ** 2) for ai in a]
    v = np.prod([1 + x for x in vi]) - 1
    for j in range(1, 4):
        assert abs(res["S1"][0, 0, j] - vi[j] / v) < 0.005, j
    assert abs(res["S1"][0, 0, 0] - vi[0] / v) < res["S1_conf"][0, 0, 0] + 0.005
    ref = _salib_on_the_same_runs(sp, tmp_path / "g.h5")
    np.testing.assert_allclose(res["S1"][0, 0], ref["S1"], rtol=1e-9, atol=1e-12)


def test_sweep_warnings_go_to_stderr_summarised(tmp_path):
    from sim315.analysis.sweep import warning_summary

    lines = warning_summary({"warnings": [f"w{i}" for i in range(145)]})
    assert lines[:3] == ["warning: w0", "warning: w1", "warning: w2"]
    assert len(lines) == 4
    assert lines[3].startswith("warning: 142 more like these")


HEADLINE = [
    "rd_intensity",
    "firm_rd_ratio",
    "hightech_va_share",
    "hv_patents_per_10k",
    "rd_staff_per_10k",
    "hightech_firms",
]


def test_flagship_top_three_levers_are_stable_across_seeds(tmp_path):
    tops = []
    for seed in (1, 2):
        sp = plan_sweep(ROOT / "scenarios" / "sweeps" / "levers.yaml", n=512, seed=seed)
        _, res = run_sweep(sp, tmp_path / f"l{seed}.h5", progress=False)
        last = len(sp.years) - 1
        tops.append(
            {o: set(np.argsort(-res["ST"][sp.outputs.index(o), last])[:3]) for o in HEADLINE}
        )
    for o in HEADLINE:
        assert tops[0][o] == tops[1][o], o


def test_sweep_cli_prints_the_ranking_and_draws_figures(tmp_path):
    out = tmp_path / "ish.h5"
    result = CliRunner().invoke(
        main,
        [
            "sweep",
            str(SA / "ishigami-sweep.yaml"),
            "-o",
            str(out),
            "-q",
            "--n",
            "512",
            "--figures",
            str(tmp_path / "f"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"y\s+1\s+x1", result.output)
    assert (tmp_path / "f" / "indices_y.png").stat().st_size > 5_000
    assert (tmp_path / "f" / "heatmap_y.png").exists()


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"factors": {"x9": {"low": 0, "high": 1}}}, r"factors\.x9: unknown parameter 'x9'"),
        (
            {"factors": {"x1": {"low": 1, "high": 0}}},
            r"factors\.x1: low \(1\.0\) must be below high",
        ),
        (
            {"factors": {"x1": {"values": [1, 2]}}},
            r"factors\.x1: explicit values suit grids, not sobol",
        ),
        ({"outputs": ["gg"]}, r"outputs: unknown output 'gg'; did you mean 'g'"),
        ({"years": [5]}, r"years: 5 is outside the simulated time 0\.\.1"),
        ({"method": "fast"}, r"method: Input should be 'sobol', 'morris', 'oat' or 'factorial'"),
        ({"n": 2}, r"n: sobol needs n of at least 4, not 2"),
        ({"n": 1}, r"n: Input should be greater than or equal to 2"),
        ({"scenario": "none.yaml"}, r"scenario: no scenario file 'none\.yaml'"),
        ({"factor": {}}, r"unknown field 'factor'; did you mean 'factors'"),
    ],
)
def test_bad_sweep_files(tmp_path, change, pattern):
    base = {"method": "sobol", "n": 8, "factors": {"x1": {"low": 0, "high": 1}}, "outputs": ["g"]}
    path = _sweep(tmp_path, "gfunction", **{**base, **change})
    result = CliRunner().invoke(main, ["sweep", str(path), "-o", str(tmp_path / "o.h5")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}")
    assert "Traceback" not in result.output
    assert re.search(pattern, lines[0]), lines[0]
    assert not (tmp_path / "o.h5").exists()


def test_a_pert_factor_puts_the_quantile_method_in_the_design_record(tmp_path):
    """A PERT factor's values come from sim315's own quantile: its version is part of what
    decides the design (the resume fingerprint's sweep design); other factors add nothing."""
    from sim315.schemas.distributions import Pert

    pert = {"x1": {"dist": "pert", "low": 0.0, "mode": 0.3, "high": 1.0}}
    pert |= {f"x{i}": {"low": 0.0, "high": 1.0} for i in (2, 3, 4)}
    sp = plan_sweep(_sweep(tmp_path, "gfunction", method="morris", n=4, factors=pert))
    assert sp.plan.sampler.provenance()["sweep_design"].endswith("|" + Pert.quantile_method)
    plain = {f"x{i}": {"low": 0.0, "high": 1.0} for i in (1, 2, 3, 4)}
    sp = plan_sweep(_sweep(tmp_path, "gfunction", method="morris", n=4, factors=plain))
    assert "quantile" not in sp.plan.sampler.provenance()["sweep_design"]
