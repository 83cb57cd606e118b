"""Targets: level, every_year, cumulative and growth, '~' with overshoot, counts, ids.

Each case is a tiny model whose answer is known by hand, with flows for which Euler is exact
(constant over each year, or a geometric growth with dt = 1).
"""

import json

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import sim315
from sim315.cli import main
from sim315.core.errors import Sim315Error
from sim315.imports.loading import compile_file
from sim315.language import targets as tg
from sim315.results.layout import parameter_matrix


def model_file(tmp_path, target: dict | None, equation="c", c=3.0, initial=10.0, **time):
    """A stock ``s`` (initial 10) filled by the flow ``f = equation`` from 2022 to 2027."""
    clock = {"start": 2022, "stop": 2027, "dt": 0.25, "save_every": 0.25, **time}
    stock = {"initial": initial, "units": "thing", "inflows": ["f"]}
    if target is not None:
        stock["target"] = target
    data = {
        "name": "tiny",
        "time": clock,
        "parameters": {"c": {"value": c, "units": "thing/year"}},
        "stocks": {"s": stock},
        "flows": {"f": {"equation": equation, "units": "thing/year"}},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


def measured(path, cs=(3.0,), method="euler"):
    """(target, measure) of the model's one target, one run per value of ``c``."""
    model = sim315.load_model(path)
    P = model.parameters(runs=len(cs))
    P[:, model.parameter_index("c")] = cs
    res = model.simulate(P, method=method, outputs=["s"])
    (t,) = model.ir.targets.values()
    return t, tg.measure(t.spec, res["s"], res.time)


def test_level_is_the_value_at_the_year(tmp_path):
    path = model_file(tmp_path, {"compare": ">", "value": 24, "year": 2027})
    t, m = measured(path, cs=(3.0, 2.0))
    np.testing.assert_allclose(m.value, [25.0, 20.0])  # 10 + 5 years * c
    assert m.met.tolist() == [True, False]
    assert t.spec.describe() == "> 24 in 2027"


def test_every_year_constant_inflow_adds_exactly_three_each_year(tmp_path):
    target = {"kind": "every_year", "compare": ">=", "value": 3, "window": [2023, 2027]}
    t, m = measured(model_file(tmp_path, target), cs=(3.0, 2.9))
    np.testing.assert_array_equal(m.years, [2023, 2024, 2025, 2026, 2027])
    np.testing.assert_allclose(m.additions[0], 3.0, rtol=1e-12)
    np.testing.assert_allclose(m.additions[1], 2.9, rtol=1e-12)
    assert m.met.tolist() == [True, False]
    assert t.spec.describe() == "≥ 3 every year 2023–2027"


def test_every_year_one_year_misses_and_is_the_worst(tmp_path):
    # f = c - 1 during 2025 (the year ending in 2026), else c: one weak year in five
    target = {"kind": "every_year", "compare": ">=", "value": 3, "window": [2023, 2027]}
    path = model_file(tmp_path, target, equation="c - pulse(2025, 1) * one")
    text = yaml.safe_load(path.read_text())
    text["parameters"]["one"] = {"value": 1, "units": "thing/year"}
    path.write_text(yaml.safe_dump(text))
    t, m = measured(path, cs=(3.0, 4.0, 3.5))
    np.testing.assert_allclose(m.additions[0], [3, 3, 3, 2, 3], rtol=1e-12)
    np.testing.assert_allclose(m.value, [2.0, 3.0, 2.5], rtol=1e-12)  # each run's worst year
    assert m.met.tolist() == [False, True, False]
    assert tg.worst_year(t.spec, m) == 2026
    # a level target at 2027 on the same stock would have passed: the sum is fine
    assert m.additions.sum(axis=1)[0] == pytest.approx(14.0)


def test_cumulative_is_the_addition_over_the_window(tmp_path):
    target = {"kind": "cumulative", "compare": ">=", "value": 15, "window": [2023, 2027]}
    t, m = measured(model_file(tmp_path, target, initial=100.0), cs=(3.0, 2.99))
    np.testing.assert_allclose(m.value, [15.0, 14.95], rtol=1e-12)  # not 115: from 2023
    assert m.met.tolist() == [True, False]
    assert t.spec.describe() == "≥ 15 cumulative 2023–2027"
    # a shorter window reads the stock at its start: 2025-2026 is two years of c
    target["window"] = [2025, 2026]
    _, m = measured(model_file(tmp_path, target, initial=100.0), cs=(3.0,))
    np.testing.assert_allclose(m.value, [6.0], rtol=1e-12)


def test_growth_is_the_realised_average_growth(tmp_path):
    # s' = c * s / (10 things): with dt = 1 Euler multiplies by 1 + c/10 each year exactly
    target = {"kind": "growth", "compare": ">=", "value": 0.099, "window": [2023, 2027]}
    path = model_file(tmp_path, target, equation="c * s / ten", dt=1, save_every=1)
    text = yaml.safe_load(path.read_text())
    text["parameters"]["ten"] = {"value": 10, "units": "thing"}
    path.write_text(yaml.safe_dump(text))
    t, m = measured(path, cs=(1.0, 0.5, 2.0))
    np.testing.assert_allclose(m.value, [0.10, 0.05, 0.20], rtol=1e-12)
    assert m.met.tolist() == [True, False, True]
    assert t.spec.describe() == "≥ 9.9 %/yr realised growth 2023–2027"


def test_growth_of_a_non_positive_start_is_never_met(tmp_path):
    target = {"kind": "growth", "compare": ">", "value": 0.0, "window": [2023, 2027]}
    _, m = measured(model_file(tmp_path, target, initial=-3.0, c=3.0))  # starts below 0
    assert np.isnan(m.value[0]) and not m.met[0]


@pytest.mark.parametrize(
    ("overshoot", "expected"), [("met", [False, True, True]), ("miss", [False, True, False])]
)
def test_about_with_overshoot_met_or_miss(tmp_path, overshoot, expected):
    target = {"compare": "~", "value": 20, "tolerance": 0.1, "overshoot": overshoot, "year": 2027}
    t, m = measured(model_file(tmp_path, target), cs=(1.5, 2.0, 3.0))  # 17.5, 20, 25
    assert m.met.tolist() == expected
    more = ", more counts as met" if overshoot == "met" else ""
    assert t.spec.describe() == f"≈ 20 (±10 %{more}) in 2027"


def test_between_includes_both_ends(tmp_path):
    target = {"kind": "cumulative", "compare": "between", "value": [10, 15], "window": [2023, 2027]}
    _, m = measured(model_file(tmp_path, target), cs=(1.9, 2.0, 3.0, 3.1))  # 9.5 10 15 15.5
    assert m.met.tolist() == [False, True, True, False]
    t, m = measured(model_file(tmp_path, {**target, "overshoot": "met"}), cs=(1.9, 2.0, 3.1))
    assert m.met.tolist() == [False, True, True]
    assert t.spec.describe() == "10–15 (more counts as met) cumulative 2023–2027"


def test_count_rounding_makes_p_met_independent_of_the_method(tmp_path):
    # f = 0.4 + e * (time - 2024.5): exactly 2 by 2027; rk4 integrates the ramp exactly,
    # Euler (left endpoints) loses 0.625 e: the two straddle 2 by about 2e-6
    base = {"compare": ">=", "value": 2, "year": 2027}
    for count in (False, True):
        path = model_file(
            tmp_path,
            {**base, "count": count},
            equation="c + e * (time - 2024.5)",
            c=0.4,
            initial=0.0,
        )
        text = yaml.safe_load(path.read_text())
        text["parameters"]["e"] = {"value": 3.2e-6, "units": "thing/year/year"}
        path.write_text(yaml.safe_dump(text))
        got = {}
        for method in ("euler", "rk4"):
            _, m = measured(path, cs=(0.4,), method=method)
            got[method] = m
        if not count:
            raw_e, raw_r = got["euler"].value[0], got["rk4"].value[0]
            assert raw_e < 2 <= raw_r and abs(raw_e - 2) < 1e-5  # the trap (beyond EQUAL_RTOL)
            assert got["euler"].met[0] != got["rk4"].met[0]
        else:
            assert got["euler"].value[0] == got["rk4"].value[0] == 2.0
            assert got["euler"].met[0] and got["rk4"].met[0]


def test_count_rounds_each_years_addition(tmp_path):
    target = {
        "kind": "every_year",
        "compare": ">=",
        "value": 3,
        "window": [2023, 2027],
        "count": True,
    }
    _, m = measured(model_file(tmp_path, target), cs=(2.5, 2.49))  # rounds to 3 and to 2
    assert m.additions[0].tolist() == [3.0] * 5
    assert m.met.tolist() == [True, False]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"compare": ">", "value": 1, "year": 2027, "window": [2023, 2027]},
            "a level target takes year:, not window:",
        ),
        (
            {"kind": "cumulative", "compare": ">", "value": 1, "year": 2027},
            "a cumulative target takes window: [first, last], not year:",
        ),
        (
            {"kind": "every_year", "compare": ">", "value": 1},
            "needs window: [first, last]",
        ),
        (
            {"compare": "~", "value": 8, "tolerance": 0.25, "year": 2027},
            "'~' needs overshoot: met",
        ),
        (
            {"compare": ">", "value": 8, "overshoot": "met", "year": 2027},
            "overshoot applies only to compare: '~' and 'between'",
        ),
        (
            {"kind": "growth", "compare": ">", "value": 0.1, "window": [2023.5, 2027]},
            "must be whole years",
        ),
        (
            {"kind": "growth", "compare": ">", "value": 0.1, "window": [2023, 2027], "count": True},
            "a growth rate is not one",
        ),
        ({"compare": ">", "value": 1, "year": 2026.1}, "needs time 2026.1, which is not a saved"),
        (
            {"kind": "every_year", "compare": ">", "value": 1, "window": [2022, 2027]},
            "outside the simulated time 2022..2027",
        ),
    ],
)
def test_invalid_targets_give_one_line_errors(tmp_path, target, message):
    with pytest.raises(Sim315Error) as err:
        compile_file(model_file(tmp_path, target))
    text = str(err.value)
    assert message in text
    assert "\n" not in text
    assert "stocks.s.target" in text


def test_window_year_not_saved_by_the_model(tmp_path):
    target = {"kind": "every_year", "compare": ">", "value": 1, "window": [2023, 2027]}
    path = model_file(tmp_path, target, dt=0.5, save_every=1.5, stop=2028)
    with pytest.raises(Sim315Error, match="needs time 2023, which is not a saved time"):
        compile_file(path)


def _two_targets(tmp_path, id_a, id_b):
    path = model_file(tmp_path, {"compare": ">", "value": 1, "year": 2027, "id": id_a})
    data = yaml.safe_load(path.read_text())
    data["stocks"]["t"] = {
        "initial": 0,
        "units": "thing",
        "inflows": ["g"],
        "target": {"compare": ">", "value": 1, "year": 2027, **({"id": id_b} if id_b else {})},
    }
    data["flows"]["g"] = {"equation": "c", "units": "thing/year"}
    path.write_text(yaml.safe_dump(data))
    return path


def test_ids_key_the_targets_and_must_be_unique(tmp_path):
    ir = compile_file(_two_targets(tmp_path, "a_per_year", None))
    assert set(ir.targets) == {"a_per_year", "t"}
    assert ir.targets["a_per_year"].element == "s"
    assert ir.targets["t"].element == "t"
    with pytest.raises(Sim315Error) as err:
        compile_file(_two_targets(tmp_path, "same", "same"))
    assert "target id 'same' of t is also the id of s's target" in str(err.value)
    with pytest.raises(Sim315Error, match="is also the id of s's target"):
        compile_file(_two_targets(tmp_path, "t", None))  # the default id is the name


def test_every_year_target_on_a_flow_is_refused(tmp_path):
    path = model_file(tmp_path, None)
    data = yaml.safe_load(path.read_text())
    data["flows"]["f"]["target"] = {
        "kind": "every_year",
        "compare": ">=",
        "value": 3,
        "window": [2023, 2027],
    }
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(Sim315Error, match="put the target on a stock that accumulates the flow"):
        compile_file(path)


def _scenario(tmp_path, model, **fields):
    data = {
        "model": str(model),
        "runs": 40,
        "seed": 3,
        "uncertain": {"c": {"dist": "uniform", "low": 2.0, "high": 4.0}},
        **fields,
    }
    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_scenario_save_grid_that_misses_a_target_year_is_an_error(tmp_path):
    target = {"kind": "every_year", "compare": ">=", "value": 3, "window": [2023, 2027]}
    sc = _scenario(tmp_path, model_file(tmp_path, target), save_every=2.5)
    res = CliRunner().invoke(main, ["run", str(sc), "-o", str(tmp_path / "x.h5"), "-q"])
    assert res.exit_code == 2
    assert "target s (≥ 3 every year 2023–2027) needs time 2023" in res.output
    assert "choose save_every" in res.output


def test_run_writes_the_measured_values_and_prints_the_kinds(tmp_path):
    target = {
        "kind": "every_year",
        "compare": ">=",
        "value": 3,
        "window": [2023, 2027],
        "id": "s_per_year",
        "count": True,
    }
    path = model_file(tmp_path, target)
    data = yaml.safe_load(path.read_text())
    data["parameters"]["one"] = {"value": 1, "units": "thing/year"}
    data["flows"]["f"]["equation"] = "c - pulse(2025, 1) * one"  # 2026 is one less
    data["stocks"]["g"] = {
        "initial": 100,
        "units": "thing",
        "inflows": ["h"],
        "target": {"kind": "growth", "compare": ">=", "value": 0.02, "window": [2023, 2027]},
    }
    data["flows"]["h"] = {"equation": "g * rate", "units": "thing/year"}
    data["parameters"]["rate"] = {"value": 0.03, "units": "1/year"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    sc = _scenario(tmp_path, path, outputs=["f"])  # targets' outputs are saved anyway
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(main, ["run", str(sc), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "≥ 3 every year 2023–2027" in res.output
    assert "≥ 2 %/yr realised growth 2023–2027" in res.output
    assert "worst year" in res.output
    with h5py.File(out) as h5:
        assert {"f", "s", "g"} <= set(json.loads(h5.attrs["outputs"]))
        s = h5["summary"]
        ids = [x.decode() for x in s["target"][:]]
        assert sorted(ids) == ["g", "s_per_year"]  # the file's order (yaml sorts keys)
        a, b = ids.index("s_per_year"), ids.index("g")
        assert [x.decode() for x in s["target_element"][:]][a] == "s"
        assert [x.decode() for x in s["target_kind"][:]][a] == "every_year"
        assert [x.decode() for x in s["target_kind"][:]][b] == "growth"
        assert s["target_first"][a] == 2023 and s["target_last"][a] == 2027
        assert s["target_worst_year"][a] == 2026 and np.isnan(s["target_worst_year"][b])
        assert json.loads(s["target_definition"][a])["id"] == "s_per_year"
        c = parameter_matrix(h5)[:, list(h5["parameter"][:].astype(str)).index("c")]
        worst = np.floor(c - 1 + 0.5)  # the 2026 addition, rounded: a count
        q = np.percentile(worst, [5, 25, 50, 75, 95])
        np.testing.assert_allclose(s["target_value"][a], q)
        assert s["p_met"][a] == pytest.approx(np.mean(worst >= 3))
        assert s["n_met"][a] == np.count_nonzero(worst >= 3)
        growth = s["target_value"][b, 2]
        assert growth == pytest.approx(np.expm1(np.log1p(0.03 * 0.25) * 4), rel=1e-9)
        assert s["p_met"][b] == 1.0
    res = CliRunner().invoke(main, ["report", str(out), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "rep" / "targets.md").read_text()
    assert "| s_per_year | thing/yr | ≥ 3 every year 2023–2027 |" in md
    assert (tmp_path / "rep" / "fan_s_per_year.png").stat().st_size > 10_000
    res = CliRunner().invoke(main, ["compare", str(out), str(out)])
    assert res.exit_code == 0, res.output
    assert "s_per_year" in res.output


def test_a_target_met_exactly_is_not_decided_by_rounding():
    """Realised growth of a lever compounded per step: 0.17999999999999994 against >= 0.18."""
    from sim315.schemas.target import Target

    t = Target(kind="growth", compare=">=", value=0.18, window=[2023, 2027])
    assert t.met(0.17999999999999994) and t.met(0.18)
    assert not t.met(0.1799)  # a real shortfall still misses
    strict = Target(kind="level", compare=">", value=2.0, year=2027)
    assert not strict.met(2.0000000000000004)  # equal, within rounding: not above
    assert strict.met(2.001)


def test_a_target_is_one_value_type_written_and_read_in_one_place():
    """The model file's schema converts a target once into the plain frozen value type that
    every later stage uses; result files save it and read it back through that type alone."""
    import dataclasses

    from sim315.schemas.modelfile import Target as TargetSpec
    from sim315.schemas.target import Target

    spec = TargetSpec.model_validate(
        {"kind": "every_year", "compare": "~", "value": 3, "window": [2023, 2027],
         "overshoot": "met", "id": "a"}
    )  # fmt: skip
    t = spec.as_target()
    assert type(t) is Target and t is spec.as_target()  # converted once, when validated
    assert t.window == (2023.0, 2027.0) and t.value == 3.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.value = 4.0
    assert Target.from_json(t.to_json()) == t
    assert json.loads(t.to_json("b"))["id"] == "b"
    legacy = {"kind": "level", "compare": "~", "value": 2.0, "year": 2027}  # before overshoot
    assert Target.from_json(json.dumps(legacy)).overshoot == "miss"
    with pytest.raises(ValueError, match="is reversed"):
        Target(kind="cumulative", compare=">=", value=1, window=(2027, 2023))
