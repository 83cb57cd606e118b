"""One frozen run spec, built once; every sampler behind one protocol (issue 14).

A sweep's spec is the scenario's with the design as its sampler, made without changing
the scenario's; the rows of any sampler are the same however they are chunked."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim315.analysis.sweep import DesignSampler, plan_sweep
from sim315.ensembles.plan import RunPlan, plan_run
from sim315.ensembles.sampling import ParameterSampler, PosteriorDraws, Sampler

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "models" / "ladder" / "model.yaml"
SWEEP = ROOT / "tests" / "sensitivity" / "ishigami-sweep.yaml"


@pytest.fixture
def ladder(tmp_path) -> Path:
    """An unseeded scenario with uncertain parameters."""
    path = tmp_path / "ladder.yaml"
    path.write_text(
        f"model: {MODEL}\nruns: 12\nsampler: lhs\nuncertain:\n"
        "  sme_promotion: {dist: uniform, low: 0.04, high: 0.09}\n"
        "  rd_sme: {dist: truncnormal, mean: 1.5, sd: 0.3, low: 0.8, high: 2.2}\n"
    )
    return path


def test_the_run_spec_is_frozen(ladder):
    plan = plan_run(ladder, runs=10, seed=3)
    assert isinstance(plan, RunPlan)
    for name, value in (("runs", 20), ("sampler", None), ("outputs", ())):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(plan, name, value)
    assert isinstance(plan.outputs, tuple) and isinstance(plan.notes, tuple)


def test_planning_again_from_the_same_inputs_gives_the_same_spec(ladder):
    plan = plan_run(ladder)  # unseeded: fresh entropy
    again = plan.replan(entropy=plan.sampler.entropy)
    assert again.fingerprint() == plan.fingerprint()
    np.testing.assert_array_equal(again.rows(0, 12), plan.rows(0, 12))
    other = plan_run(ladder)
    assert other.fingerprint() == plan.fingerprint()  # the seed setting, not its entropy
    assert not np.array_equal(other.rows(0, 12), plan.rows(0, 12))


def _chunked(sampler, cut: int) -> np.ndarray:
    return np.vstack([sampler.rows(0, cut), sampler.rows(cut, sampler.runs)])


@pytest.mark.parametrize("kind", ["random", "lhs", "sobol"])
def test_every_sampler_follows_the_protocol(kind):
    base = np.array([1.0, 2.0, 3.0])
    dist = type("U", (), {"ppf": staticmethod(lambda u: 10 + u)})()
    drawn = ParameterSampler(base, [0], [dist], kind, 16, seed=4)
    sample = np.array([[5.0], [6.0], [7.0]])
    posterior = PosteriorDraws(drawn, [2], sample)
    for sampler in (drawn, posterior):
        assert isinstance(sampler, Sampler)
        P = sampler.rows(0, 16)
        assert P.shape == (16, 3)
        np.testing.assert_array_equal(_chunked(sampler, 5), P)
        assert sampler.provenance() == {"sampler": kind, "seed_entropy": "4"} | (
            {"posterior_draws": "3 draws of 1 calibrated parameters"}
            if sampler is posterior
            else {}
        )
    np.testing.assert_array_equal(posterior.rows(0, 16)[:, :2], drawn.rows(0, 16)[:, :2])
    assert set(posterior.rows(0, 16)[:, 2]) <= {5.0, 6.0, 7.0}


def test_a_sweep_is_the_scenarios_spec_with_the_design_as_its_sampler():
    sp = plan_sweep(SWEEP)
    plan = sp.plan
    assert isinstance(plan.sampler, DesignSampler) and isinstance(plan.sampler, Sampler)
    assert plan.runs == plan.sampler.runs == sp.design.runs
    np.testing.assert_array_equal(_chunked(plan.sampler, 7), plan.rows(0, plan.runs))
    cols = plan.sampler.columns
    np.testing.assert_array_equal(plan.rows(0, plan.runs)[:, cols], sp.design.values)
    record = plan.sampler.provenance()
    assert record["sampler"] == f"sweep:{sp.sweep.method}"
    assert SWEEP.read_text() in record["sweep_design"]
    again = plan.replan(entropy=plan.sampler.entropy)
    assert again.fingerprint() == plan.fingerprint()
    other = plan_sweep(SWEEP, seed=sp.sweep.seed + 1).plan
    changed = {k for k, v in other.fingerprint_parts().items() if plan.fingerprint_parts()[k] != v}
    assert changed == {"sweep design"}


def test_the_kernel_variant_is_part_of_the_fingerprint(monkeypatch, tmp_path):
    """A resumed run must continue on the kernel it started with (lanes or scalar)."""
    from sim315.ensembles.runner import plan_run

    model = Path(__file__).resolve().parent / "models" / "ladder" / "model.yaml"
    example = tmp_path / "s.yaml"
    example.write_text(f"model: {model}\nruns: 10000\n")  # no levers: lanes allowed
    lanes = plan_run(example, runs=10_000, seed=1)
    assert lanes.fingerprint_parts()["kernel variant"] == "lanes"
    first = lanes.fingerprint()
    monkeypatch.setenv("SIM315_LANES", "0")
    scalar = plan_run(example, runs=10_000, seed=1)
    assert scalar.fingerprint_parts()["kernel variant"] == "scalar"
    assert scalar.fingerprint() != first


def test_the_resolved_scenario_is_made_once_and_never_stale(ladder, monkeypatch):
    """The resolved YAML (a result file's attributes and fingerprint read it three times)
    is made once per scenario; a copy with another scenario (subscripted names expanded)
    gives its own."""
    import yaml

    from sim315.ensembles.scenario import load_scenario

    loaded = load_scenario(ladder)
    calls = []
    real = yaml.safe_dump
    monkeypatch.setattr(yaml, "safe_dump", lambda *a, **k: calls.append(1) or real(*a, **k))
    text = loaded.resolved_yaml()
    assert loaded.resolved_yaml() is text and len(calls) == 1
    changed = loaded.scenario.model_copy(update={"runs": 77})
    copy = loaded.model_copy(update={"scenario": changed})
    assert yaml.safe_load(copy.resolved_yaml())["runs"] == 77
    assert yaml.safe_load(loaded.resolved_yaml())["runs"] == 12
