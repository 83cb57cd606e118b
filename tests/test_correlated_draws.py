"""Correlated draws between an array's elements (``correlations:``, issue 13's optional
item): a Gaussian copula that keeps every element's distribution, gives the asked rank
correlations, the same numbers for any chunking, leaves scenarios without it unchanged,
and refuses bad matrices in one line."""

from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy import stats

from sim315.cli import main
from sim315.ensembles.plan import plan_run
from sim315.results.layout import parameter_matrix
from sim315.schemas.distributions import LogNormal, Pert

COUNTIES = ["haining", "pinghu", "tongxiang"]
N = 20_000

MODEL = {
    "name": "corr",
    "time": {"start": 0, "stop": 1, "dt": 1, "units": "year"},
    "dimensions": {
        "county": COUNTIES,
        "north": {"elements": ["pinghu", "tongxiang"], "subrange_of": "county"},
    },
    "parameters": {
        "rate": {"value": 0.2, "dims": ["county"], "units": "1/year"},
        "other": {"value": 0.5, "dims": ["county"], "units": "1"},
        "k": {"value": 1.0, "units": "1"},
    },
    "stocks": {
        "firms": {"initial": 100, "dims": ["county"], "units": "firms", "inflows": ["growth"]}
    },
    "flows": {
        "growth": {
            "dims": ["county"],
            "units": "firms/year",
            "equation": "rate[county] * firms[county]",
        }
    },
    "auxiliaries": {"drawn": {"dims": ["county"], "units": "1/year", "equation": "rate[county]"}},
}

PERT = {"dist": "pert", "low": 0.04, "mode": 0.06, "high": 0.09}
LOGNORMAL = {"dist": "lognormal", "median": 0.1, "sigma": 0.5}


def write(tmp_path: Path, scenario: dict) -> Path:
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(MODEL, sort_keys=False))
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"model": "model.yaml", **scenario}, sort_keys=False))
    return path


def scenario(correlations=None, **extra) -> dict:
    # rate[tongxiang] differs from the other two: each element keeps its own distribution
    sc = {
        "runs": N,
        "seed": 13,
        "uncertain": {"rate": PERT, "rate[tongxiang]": LOGNORMAL},
        **extra,
    }
    if correlations is not None:
        sc["correlations"] = correlations
    return sc


def drawn(tmp_path, sc) -> np.ndarray:
    plan = plan_run(write(tmp_path, sc))
    cols = [plan.model.parameter_index(f"rate[{c}]") for c in COUNTIES]
    return plan.sampler.rows(0, plan.runs)[:, cols]


def spearman(rho: float) -> float:
    return 6 / np.pi * np.arcsin(rho / 2)


@pytest.mark.parametrize("rho", [0.6, -0.4])
def test_one_coefficient_gives_the_rank_correlation_and_keeps_the_marginals(tmp_path, rho):
    x = drawn(tmp_path, scenario({"rate": rho}))
    ranks = stats.spearmanr(x).statistic
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert abs(ranks[i, j] - spearman(rho)) < 0.02, (i, j, ranks[i, j])
    marginals = [Pert(**PERT), Pert(**PERT), LogNormal(**LOGNORMAL)]
    for column, dist in zip(x.T, marginals, strict=True):
        assert stats.kstest(column, dist.frozen().cdf).pvalue > 0.01
    # the coefficient is the normal scores' Pearson correlation
    scores = [stats.norm.ppf(d.frozen().cdf(c)) for c, d in zip(x.T, marginals, strict=True)]
    assert abs(np.corrcoef(scores)[0, 2] - rho) < 0.02


def test_a_matrix_gives_its_pairwise_coefficients(tmp_path):
    C = [[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]]
    x = drawn(tmp_path, scenario({"rate": C}))
    ranks = stats.spearmanr(x).statistic
    for i in range(3):
        for j in range(i + 1, 3):
            assert abs(ranks[i, j] - spearman(C[i][j])) < 0.02, (i, j, ranks[i, j])


def test_a_subrange_correlates_its_elements_only(tmp_path):
    x = drawn(tmp_path, scenario({"rate[north]": 0.8}))
    ranks = stats.spearmanr(x).statistic
    assert abs(ranks[1, 2] - spearman(0.8)) < 0.02
    assert abs(ranks[0, 1]) < 0.03 and abs(ranks[0, 2]) < 0.03


# Drawn by the code before correlations existed (seed 7, random sampler): rate[*], other[*], k
BEFORE = [
    [0.14666356258457333, 0.11137039005026407, 0.1139390948917822, 0.6097338105201768,
     0.8542588309635377, 0.1397154101352251, 1.1567637600554654],
    [0.13737868623387672, 0.25040577628758365, 0.14387535569302032, 0.8592604637244612,
     0.49335450784854, 0.7852970514996673, 1.1285650647043624],
    [0.12375209128093446, 0.1370918700438546, 0.21234925635290447, 0.673769153211462,
     0.9461783831913215, 0.45423488089301384, 0.7234942946266116],
    [0.2094054189905939, 0.2765775482193823, 0.2836337200648439, 0.46478538819950915,
     0.20094793607750056, 0.0320236697587129, 1.4616456448516617],
    [0.23750061465414074, 0.1368267756471171, 0.1791243228270724, 0.6788750050220871,
     0.48349591297856137, 0.45227804556145584, 0.9649698468264902],
]  # fmt: skip


def test_without_correlations_the_numbers_are_those_from_before(tmp_path):
    sc = {
        "runs": 5,
        "seed": 7,
        "uncertain": {
            "rate": {"dist": "uniform", "low": 0.1, "high": 0.3},
            "other": {"dist": "uniform", "low": 0.0, "high": 1.0},
            "k": {"dist": "uniform", "low": 0.5, "high": 1.5},
        },
    }
    plan = plan_run(write(tmp_path, sc))
    names = [f"{v}[{c}]" for v in ("rate", "other") for c in COUNTIES] + ["k"]
    cols = [plan.model.parameter_index(n) for n in names]
    np.testing.assert_array_equal(plan.sampler.rows(0, 5)[:, cols], np.array(BEFORE))
    # correlating one array leaves the other columns' draws as they were
    plan = plan_run(write(tmp_path, {**sc, "correlations": {"rate": 0.7}}))
    P = plan.sampler.rows(0, 5)
    np.testing.assert_array_equal(P[:, cols[3:]], np.array(BEFORE)[:, 3:])
    assert not np.array_equal(P[:, cols[1:3]], np.array(BEFORE)[:, 1:3])


@pytest.mark.parametrize("sampler", ["random", "lhs", "sobol"])
def test_any_chunk_size_gives_the_same_numbers(tmp_path, sampler):
    C = [[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]]
    path = write(
        tmp_path, scenario({"rate": C}, runs=64, sampler=sampler, outputs=["drawn", "firms"])
    )
    one, two = tmp_path / "one.h5", tmp_path / "two.h5"
    r = CliRunner().invoke(main, ["run", str(path), "-o", str(one), "--threads", "1", "-q"])
    assert r.exit_code == 0, r.output
    assert ("lose the design's per-column stratification" in r.output) == (sampler != "random")
    args = ["run", str(path), "-o", str(two), "--threads", "2", "--chunk", "7", "-q"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    with h5py.File(one) as f, h5py.File(two) as g:
        np.testing.assert_array_equal(parameter_matrix(f), parameter_matrix(g))
        for c in COUNTIES:
            np.testing.assert_array_equal(f[f"drawn[{c}]"][:], g[f"drawn[{c}]"][:])
    plan = plan_run(path)
    whole = plan.sampler.rows(0, 64)
    parts = np.vstack([plan.sampler.rows(a, min(a + 7, 64)) for a in range(0, 64, 7)])
    np.testing.assert_array_equal(whole, parts)


@pytest.mark.parametrize(
    ("change", "where", "problem", "fix"),
    [
        ({"correlations": {"nope": 0.5}}, "nope", "'nope' is not an uncertain array", "uncertain"),
        ({"correlations": {"k": 0.5}}, "k", "'k' is not an uncertain array", "uncertain"),
        ({"correlations": {"other": 0.5}}, "other", "not an uncertain array", "uncertain"),
        (
            {"correlations": {"rate": 0.5}, "shared_draws": ["rate"]},
            "rate",
            "also in shared_draws",
            "remove it from shared_draws or from correlations",
        ),
        (
            {"correlations": {"rate": 0.5, "rate[north]": 0.2}},
            "rate[north]",
            "correlated twice",
            "one entry",
        ),
        (
            {"correlations": {"rate": [[1, 0.5], [0.5, 1]]}},
            "rate",
            "the matrix is 2 x 2, but the array has 3 elements",
            "give 3 rows of 3 in the order rate[haining], rate[pinghu], rate[tongxiang]",
        ),
        (
            {"correlations": {"rate": [[1, 0.5, 0], [0.5, 1], [0, 0, 1]]}},
            "rate",
            "but the array has 3 elements",
            "give 3 rows of 3",
        ),
        (
            {"correlations": {"rate": [[1, 0.5, 0], [0.4, 1, 0], [0, 0, 1]]}},
            "rate",
            "not symmetric: [0][1] = 0.5 but [1][0] = 0.4",
            "make the two equal",
        ),
        (
            {"correlations": {"rate": [[1, 0.5, 0], [0.5, 0.9, 0], [0, 0, 1]]}},
            "rate",
            "diagonal entry [1][1] (rate[pinghu]) = 0.9 is not 1",
            "correlation with itself is 1",
        ),
        (
            {"correlations": {"rate": [[1, 1.5, 0], [1.5, 1, 0], [0, 0, 1]]}},
            "rate",
            "entry [0][1] = 1.5 is outside [-1, 1]",
            "fix the entry",
        ),
        (
            {"correlations": {"rate": [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]}},
            "rate",
            "not positive definite (its Cholesky factorisation fails)",
            "nearest positive-definite correlation matrix) or smaller coefficients",
        ),
        (
            {"correlations": {"rate": -0.6}},
            "rate",
            "coefficient -0.6 is at or below -1/(n-1) = -0.5 for 3 elements",
            "give a coefficient above -0.5",
        ),
        ({"correlations": {"rate": 1.5}}, "rate", "outside [-1, 1)", "give one in (-1, 1)"),
        ({"correlations": {"rate": 1}}, "rate", "the same draw", "use shared_draws"),
    ],
)
@pytest.mark.parametrize("command", ["validate", "run"])
def test_bad_correlations_are_refused_in_one_line(tmp_path, change, where, problem, fix, command):
    sc = scenario(runs=4, uncertain={"rate": PERT, "k": PERT})
    path = write(tmp_path, {**sc, **change})
    out = ["-o", str(tmp_path / "x.h5")] if command == "run" else []
    r = CliRunner().invoke(main, [command, str(path), *out])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    (line,) = [ln for ln in r.output.splitlines() if ln.strip()]
    assert str(path) in line and f"correlations.{where}" in line, line
    assert problem in line and fix in line, line
    assert not (tmp_path / "x.h5").exists()


def test_validate_notes_the_lost_stratification(tmp_path):
    path = write(tmp_path, scenario({"rate": 0.5}, runs=64, sampler="lhs"))
    r = CliRunner().invoke(main, ["validate", str(path)])
    assert r.exit_code == 0, r.output
    assert "note: correlations (rate) with the lhs sampler" in r.output
    r = CliRunner().invoke(
        main, ["validate", str(write(tmp_path, scenario(runs=64, sampler="lhs")))]
    )
    assert "correlations" not in r.output


def test_extends_inherits_and_removes_correlations(tmp_path):
    parent = write(tmp_path, scenario({"rate": 0.6}, runs=200))
    child = tmp_path / "child.yaml"
    child.write_text(yaml.safe_dump({"extends": parent.name, "seed": 13}))
    inherited = plan_run(child).sampler.rows(0, 200)
    np.testing.assert_array_equal(inherited, plan_run(parent).sampler.rows(0, 200))
    child.write_text(yaml.safe_dump({"extends": parent.name, "correlations": {"rate": None}}))
    plan = plan_run(child)
    assert plan.loaded.scenario.correlations == {}
    (tmp_path / "ind").mkdir()
    independent = plan_run(write(tmp_path / "ind", scenario(runs=200))).sampler.rows(0, 200)
    np.testing.assert_array_equal(plan.sampler.rows(0, 200), independent)
