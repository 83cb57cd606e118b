"""Subscripts (issue 13): array models against closed forms and hand computations, element
overrides and draws in scenarios, errors, code size that does not grow with the element
count, and the CUDA path under Numba's simulator."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import cpu_and_cuda_simulator

import sim315
from sim315.cli import main
from sim315.compilation.codegen import generate_source
from sim315.compilation.compiler import compile_spec
from sim315.core.errors import ModelError
from sim315.schemas.modelfile import ModelFile

ROOT = Path(__file__).resolve().parents[1]

COUNTIES = ["haining", "pinghu", "tongxiang"]
RATES = {"haining": 0.1, "pinghu": 0.2, "tongxiang": 0.3}


def growth_model(**extra) -> dict:
    m = {
        "name": "arrays",
        "time": {"start": 0, "stop": 4, "dt": 0.25, "units": "year"},
        "dimensions": {
            "county": COUNTIES,
            "north": {"elements": ["pinghu", "tongxiang"], "subrange_of": "county"},
        },
        "parameters": {"rate": {"value": RATES, "dims": ["county"], "units": "1/year"}},
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
        "auxiliaries": {"total": {"equation": "sum(firms[county!])", "units": "firms"}},
    }
    for section, items in extra.items():
        m.setdefault(section, {}).update(items)
    return m


def write(tmp_path, model: dict, name="model.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(model, sort_keys=False))
    return path


def run(tmp_path, model: dict, outputs, **kw):
    m = sim315.load_model(write(tmp_path, model))
    return m, m.simulate(outputs=list(outputs), **kw)


def compile_dict(model: dict):
    return compile_spec(ModelFile.model_validate(model), "m.yaml")


def test_growth_per_element_is_euler_compounding(tmp_path):
    names = [f"firms[{c}]" for c in COUNTIES] + ["total"]
    _m, res = run(tmp_path, growth_model(), names)
    k = np.arange(17)
    expect = np.stack([100 * (1 + RATES[c] * 0.25) ** k for c in COUNTIES], axis=1)
    np.testing.assert_allclose(res.values[0, :, :3], expect, rtol=1e-13)
    np.testing.assert_allclose(res.values[0, :, 3], expect.sum(axis=1), rtol=1e-13)


def test_rk4_per_element_matches_the_exponential(tmp_path):
    _m, res = run(tmp_path, growth_model(), ["firms[pinghu]"], method="rk4")
    h = 0.2 * 0.25  # RK4 multiplies x' = r x by the Taylor polynomial of exp(h) each step
    factor = 1 + h + h**2 / 2 + h**3 / 6 + h**4 / 24
    np.testing.assert_allclose(res.values[0, :, 0], 100 * factor ** np.arange(17), rtol=1e-13)


def test_reductions_on_a_table_of_constants(tmp_path):
    m = growth_model(
        dimensions={"b": ["b1", "b2"]},
        parameters={
            "m": {
                "dims": ["county", "b"],
                "value": {
                    "haining, b1": 1,
                    "haining, b2": 2,
                    "pinghu, b1": 3,
                    "pinghu, b2": 4,
                    "tongxiang, b1": 5,
                    "tongxiang, b2": 6,
                },
            }
        },
        auxiliaries={
            "rows": {"dims": ["county"], "equation": "sum(m[county, b!])"},
            "cols": {"dims": ["b"], "equation": "prod(m[county!, b])"},
            "lo": {"equation": "vmin(m[county!, b!])"},
            "hi": {"equation": "max(m[north!, b2])"},
            "low": {"equation": "min(m[county!, b1])"},
            "both": {"equation": "sum(rows[county!]) + vmax(cols[b!])"},
            "t": {"dims": ["b", "county"], "equation": "m[county, b]"},
            "up": {
                "dims": ["county", "b"],
                "equation": "rate[county] * m[county, b]",
                "units": "1/year",
            },
        },
    )
    outs = [
        "rows[pinghu]",
        "cols[b1]",
        "cols[b2]",
        "lo",
        "hi",
        "low",
        "both",
        "t[b2,haining]",
        "up[tongxiang,b1]",
    ]
    _m, res = run(tmp_path, m, outs)
    got = dict(zip(outs, res.values[0, 0], strict=True))
    want = {
        "rows[pinghu]": 7,
        "cols[b1]": 15,
        "cols[b2]": 48,
        "lo": 1,
        "hi": 6,
        "low": 1,
        "both": 21 + 48,
        "t[b2,haining]": 2,
        "up[tongxiang,b1]": 1.5,
    }
    for name, value in want.items():
        assert got[name] == pytest.approx(value, rel=1e-15), name


def test_mapping_subrange_except_and_per_element_definitions(tmp_path):
    m = growth_model(
        dimensions={
            "region": {"elements": ["r1", "r2", "r3"], "maps_to": {"county": None}},
            "shuffled": {
                "elements": ["s1", "s2", "s3"],
                "maps_to": {"county": ["tongxiang", "haining", "pinghu"]},
            },
        },
        auxiliaries={
            "by_region": {"dims": ["region"], "equation": "rate[county]", "units": "1/year"},
            "by_shuffle": {
                "dims": ["shuffled"],
                "equation": "rate[county] * 10",
                "units": "1/year",
            },
            "ex": {
                "dims": ["county"],
                "equation": "rate[county]",
                "units": "1/year",
                "elements": {"haining": "-1", "north": "rate[north] * 2"},
            },
        },
    )
    outs = [
        "by_region[r2]",
        "by_shuffle[s1]",
        "by_shuffle[s3]",
        "ex[haining]",
        "ex[pinghu]",
        "ex[tongxiang]",
    ]
    _m, res = run(tmp_path, m, outs)
    np.testing.assert_allclose(res.values[0, 0], [0.2, 3.0, 2.0, -1, 0.4, 0.6], rtol=1e-15)


def test_smooth_per_element_matches_the_scalar_smooth(tmp_path):
    m = growth_model(
        auxiliaries={
            "sm": {"dims": ["county"], "equation": "smooth(firms[county], 2)", "units": "firms"},
        }
    )
    _m, res = run(tmp_path, m, ["sm[pinghu]"])
    scalar = {
        "name": "one",
        "time": {"start": 0, "stop": 4, "dt": 0.25, "units": "year"},
        "parameters": {"rate": {"value": 0.2, "units": "1/year"}},
        "stocks": {"firms": {"initial": 100, "units": "firms", "inflows": ["growth"]}},
        "flows": {"growth": {"units": "firms/year", "equation": "rate * firms"}},
        "auxiliaries": {"sm": {"equation": "smooth(firms, 2)", "units": "firms"}},
    }
    _s, ref = run(tmp_path, scalar, ["sm"])
    np.testing.assert_array_equal(res.values, ref.values)


def test_code_does_not_grow_with_the_element_count():
    def source(n):
        m = growth_model(dimensions={"county": [f"c{i}" for i in range(n)]})
        m["parameters"]["rate"]["value"] = 0.1
        del m["dimensions"]["north"]
        return generate_source(compile_dict(m))

    def code(text):  # without the tables of record slots, which are data
        return [ln for ln in text.splitlines() if not ln.startswith(("REC_", "_IX"))]

    small, large = code(source(3)), code(source(2000))
    assert len(small) == len(large)  # the same loops; only their sizes differ
    assert sum(map(len, large)) - sum(map(len, small)) < 200


def test_scenario_overrides_and_draws_per_element(tmp_path):
    write(tmp_path, growth_model())
    scenario = {
        "model": "model.yaml",
        "runs": 40,
        "seed": 5,
        "overrides": {"rate[haining]": 0.4, "firms.init": 50},
        "uncertain": {"rate[north]": {"dist": "uniform", "low": 0.1, "high": 0.3}},
        "outputs": [f"firms[{c}]" for c in COUNTIES],
    }
    path = write(tmp_path, scenario, "s.yaml")
    from sim315.ensembles.runner import plan_run

    plan = plan_run(path)
    names = plan.model.parameter_names
    P = plan.sampler.rows(0, 40)
    col = {n: i for i, n in enumerate(names)}
    assert (P[:, col["rate[haining]"]] == 0.4).all()
    assert (P[:, [col[f"firms.init[{c}]"] for c in COUNTIES]] == 50).all()
    a, b = P[:, col["rate[pinghu]"]], P[:, col["rate[tongxiang]"]]
    assert a.min() >= 0.1 and a.max() <= 0.3 and not np.array_equal(a, b)  # independent
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.5
    out1 = tmp_path / "one.h5"
    out2 = tmp_path / "two.h5"
    r = CliRunner().invoke(main, ["run", str(path), "-o", str(out1), "--threads", "1"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main, ["run", str(path), "-o", str(out2), "--threads", "2", "--chunk", "7"]
    )
    assert r.exit_code == 0, r.output
    import h5py

    with h5py.File(out1) as f, h5py.File(out2) as g:
        k = np.arange(17)
        np.testing.assert_allclose(f["firms[haining]"][0], 50 * 1.1**k, rtol=1e-13)
        for c in COUNTIES:
            np.testing.assert_array_equal(f[f"firms[{c}]"][:], g[f"firms[{c}]"][:])


def test_a_whole_array_override_sets_every_element(tmp_path):
    write(tmp_path, growth_model())
    path = write(tmp_path, {"model": "model.yaml", "runs": 2, "overrides": {"rate": 0.0}}, "s.yaml")
    from sim315.ensembles.runner import plan_run

    plan = plan_run(path)
    cols = [plan.model.parameter_index(f"rate[{c}]") for c in COUNTIES]
    assert (plan.sampler.rows(0, 2)[:, cols] == 0.0).all()


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (
            {
                "flows": {
                    "growth": {
                        "dims": ["county"],
                        "units": "firms/year",
                        "equation": "rate[county]",
                        "elements": {"haining": "1", "haining, ": "2"},
                    }
                }
            },
            "flows.growth.elements",
            "names 2 subscripts for 1 dimensions",
        ),
        (
            {"auxiliaries": {"x": {"dims": ["nowhere"], "equation": "1"}}},
            "auxiliaries.x.dims",
            "unknown dimension 'nowhere'",
        ),
        (
            {"auxiliaries": {"x": {"dims": ["county"], "elements": {"haining": "1"}}}},
            "auxiliaries.x",
            "elements [pinghu, tongxiang] have no equation",
        ),
        (
            {
                "auxiliaries": {
                    "x": {
                        "dims": ["county"],
                        "equation": "1",
                        "elements": {"north": "2", "pinghu": "3"},
                    }
                }
            },
            "auxiliaries.x.elements.pinghu",
            "element [pinghu] is defined twice",
        ),
        (
            {"auxiliaries": {"x": {"equation": "rate[county, county]", "units": "1/year"}}},
            "auxiliaries.x",
            "'rate' has 1 dimensions, not 2 subscripts",
        ),
        (
            {"auxiliaries": {"x": {"equation": "rate[somewhere]", "units": "1/year"}}},
            "auxiliaries.x",
            "'somewhere' is neither an element",
        ),
        (
            {"auxiliaries": {"x": {"equation": "rate[county]", "units": "1/year"}}},
            "auxiliaries.x",
            "dimension 'county' is not on the left-hand side",
        ),
        (
            {"dimensions": {"bad": {"elements": ["x"], "subrange_of": "county"}}},
            "dimensions.bad.elements",
            "'x' is not an element of 'county'",
        ),
        (
            {"dimensions": {"bad": {"elements": ["pinghu"], "subrange_of": "north"}}},
            "dimensions.bad.subrange_of",
            "a subrange of a subrange",
        ),
        (
            {"dimensions": {"bad": {"elements": ["a", "a"]}}},
            "dimensions.bad.elements",
            "an element is listed twice",
        ),
        (
            {"dimensions": {"bad": {"elements": ["a", "b"], "maps_to": {"county": ["haining"]}}}},
            "dimensions.bad.maps_to.county",
            "needs one element of 'county' per element of 'bad'",
        ),
        (
            {"auxiliaries": {"x": {"dims": ["county", "county"], "equation": "1"}}},
            "auxiliaries.x.dims",
            "a dimension is repeated",
        ),
        (
            {
                "auxiliaries": {
                    "x": {
                        "dims": ["county"],
                        "equation": "1",
                        "target": {"compare": ">", "value": 1, "year": 4},
                    }
                }
            },
            "auxiliaries.x.target",
            "a target on an array is not supported",
        ),
    ],
)
def test_array_errors_name_the_element_and_the_problem(change, where, message):
    m = growth_model(**change)
    with pytest.raises(ModelError) as info:
        compile_dict(m)
    assert info.value.where.startswith(where), info.value
    assert message in str(info.value)


def test_cuda_simulator_runs_an_array_model(tmp_path):
    path = write(
        tmp_path,
        growth_model(
            auxiliaries={
                "sm": {"dims": ["county"], "equation": "smooth(firms[county], 2)", "units": "firms"}
            }
        ),
    )
    names = ["total", "sm[pinghu]", "firms[tongxiang]"]
    a, b = cpu_and_cuda_simulator(path, names, 4, method="rk4")
    assert float(np.max(np.abs(a - b) / np.abs(a))) < 1e-14


def test_shared_draws_give_every_element_one_draw(tmp_path):
    write(tmp_path, growth_model())
    scenario = {
        "model": "model.yaml",
        "runs": 30,
        "seed": 2,
        "sampler": "lhs",
        "uncertain": {"rate": {"dist": "uniform", "low": 0.1, "high": 0.3}},
        "shared_draws": ["rate"],
    }
    from sim315.ensembles.runner import plan_run

    plan = plan_run(write(tmp_path, scenario, "s.yaml"))
    P = plan.sampler.rows(0, 30)
    cols = [plan.model.parameter_index(f"rate[{c}]") for c in COUNTIES]
    assert plan.sampler.n_uncertain == 1
    assert (P[:, cols] == P[:, cols[:1]]).all()
    assert np.unique(P[:, cols[0]]).size == 30
    scenario["shared_draws"] = ["rate[haining]"]
    with pytest.raises(Exception, match=r"shared_draws.rate\[haining\].*not an uncertain array"):
        plan_run(write(tmp_path, scenario, "s.yaml"))


def test_a_time_table_on_one_element(tmp_path):
    write(tmp_path, growth_model())
    scenario = {
        "model": "model.yaml",
        "runs": 1,
        "overrides": {"rate[haining]": {"table": {0: 0.2, 2: 0.0}}},
        "outputs": ["firms[haining]", "firms[pinghu]"],
    }
    from sim315.ensembles.runner import plan_run

    plan = plan_run(write(tmp_path, scenario, "s.yaml"))
    res = plan.model.simulate(plan.sampler.rows(0, 1), outputs=list(plan.outputs))
    k = np.arange(17)
    haining = np.where(k <= 8, 100 * 1.05**k, 100 * 1.05**8)
    np.testing.assert_allclose(res.values[0, :, 0], haining, rtol=1e-13)
    np.testing.assert_allclose(res.values[0, :, 1], 100 * 1.05**k, rtol=1e-13)


EXAMPLE = ROOT / "scenarios" / "examples" / "ladder-by-county.yaml"


def test_the_county_example_runs_and_varies_one_county(tmp_path):
    out = tmp_path / "county.h5"
    r = CliRunner().invoke(main, ["run", str(EXAMPLE), "--runs", "16", "-o", str(out)])
    assert r.exit_code == 0, r.output
    m = sim315.load_model(EXAMPLE.parent / "ladder-by-county.model.yaml")
    counties = m.ir.layout.ranges["county"].elements
    names = [f"hightech[{c}]" for c in counties] + ["city_hightech"]
    base = m.parameters(1)
    more = m.parameters(1, **{"support_boost[haining]": 0.5})
    a = m.simulate(base, outputs=names).values[0]
    b = m.simulate(more, outputs=names).values[0]
    np.testing.assert_allclose(a[:, -1], a[:, :-1].sum(axis=1), rtol=1e-12)
    grow = dict(zip(names, (b[-1] - a[-1]) / a[-1], strict=True))
    assert grow["hightech[haining]"] > 0.01  # its own programme
    assert 0 < grow["hightech[pinghu]"] < grow["hightech[haining]"] / 10  # coastal spillover
    assert grow["hightech[nanhu]"] == 0.0  # inland: untouched


def test_an_array_of_tables(tmp_path):
    m = growth_model(
        lookups={
            "tab": {
                "dims": ["county"],
                "x": [0, 1, 2],
                "y": {"haining": [0, 1, 2], "north": [0, 10, 20]},
                "x_units": "year",
            },
            "plain": {"x": [0, 2], "y": [0, 4]},
        },
        auxiliaries={
            "v": {"dims": ["county"], "equation": "lookup(tab[county], time)"},
            "w": {"dims": ["county"], "equation": "lookup(tab, 0.5 * time)"},
            "one": {"equation": "lookup(tab[tongxiang], 1.5) + lookup(plain, 1)"},
        },
    )
    _m, res = run(tmp_path, m, ["v[haining]", "v[pinghu]", "w[tongxiang]", "one"])
    t = np.minimum(np.arange(17) * 0.25, 2)
    np.testing.assert_allclose(res.values[0, :, 0], t, rtol=1e-15)
    np.testing.assert_allclose(res.values[0, :, 1], 10 * t, rtol=1e-15)
    np.testing.assert_allclose(res.values[0, :, 2], 10 * np.minimum(np.arange(17) * 0.125, 2))
    assert (res.values[0, :, 3] == 17).all()


def test_result_files_have_a_dimension_per_subscript(tmp_path):
    import xarray as xr

    write(tmp_path, growth_model())
    scenario = {
        "model": "model.yaml",
        "runs": 3,
        "seed": 1,
        "outputs": [f"firms[{c}]" for c in COUNTIES] + ["growth[pinghu]", "total"],
    }
    out = tmp_path / "r.h5"
    r = CliRunner().invoke(main, ["run", str(write(tmp_path, scenario, "s.yaml")), "-o", str(out)])
    assert r.exit_code == 0, r.output
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        firms = ds["firms"]
        assert firms.dims == ("run", "time", "county")
        assert list(firms["county"].values) == COUNTIES
        np.testing.assert_array_equal(firms.sel(county="pinghu"), ds["firms[pinghu]"])
        assert ds["growth"].dims == ("run", "time", "growth.county")  # only one element saved
        assert list(ds["growth"]["growth.county"].values) == ["pinghu"]
    with xr.open_dataset(out, engine="h5netcdf", group="summary") as s:
        assert s["firms"].dims == ("percentile", "time", "county")
        np.testing.assert_array_equal(s["firms"].sel(county="haining"), s["firms[haining]"])


def test_xmile_export_refuses_arrays_over_a_subrange_in_one_line(tmp_path):
    # arrays export (tests/test_xmile_export_arrays.py); XMILE 1.0 has no subranges
    north = {"north_rate": {"value": 0.1, "dims": ["north"], "units": "1/year"}}
    path = write(tmp_path, growth_model(parameters=north))
    r = CliRunner().invoke(main, ["model", "export", str(path), "--xmile"])
    assert r.exit_code == 2
    assert "north_rate: an array over the subrange 'north' has no XMILE 1.0" in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


def test_delay_fixed_and_delay_n_per_element_match_the_scalar_ones(tmp_path):
    def model(arrays: bool) -> dict:
        dims = {"dims": ["a"]} if arrays else {}
        sub = "[a]" if arrays else ""
        m = {
            "name": "d",
            "time": {"start": 0, "stop": 5, "dt": 0.5, "units": "year"},
            "parameters": {
                "tau": {"value": 2 if not arrays else {"a1": 1, "a2": 2}, **dims, "units": "year"}
            },
            "stocks": {},
            "auxiliaries": {
                "x": {**dims, "equation": "time * 3 + 1", "units": "year"},
                "y": {**dims, "equation": f"delay_fixed(x{sub}, tau{sub}, -1)", "units": "year"},
                "dn": {**dims, "equation": f"delayn(x{sub}, tau{sub}, 0, 2)", "units": "year"},
            },
        }
        if arrays:
            m["dimensions"] = {"a": ["a1", "a2"]}
        return m

    _a, arr = run(tmp_path, model(True), ["y[a2]", "dn[a2]", "y[a1]"], method="rk4")
    _s, ref = run(tmp_path, model(False), ["y", "dn"], method="rk4")
    np.testing.assert_array_equal(arr.values[..., :2], ref.values)
    t = np.arange(11) * 0.5
    np.testing.assert_array_equal(arr.values[0, :, 2], np.where(t < 1, -1, (t - 1) * 3 + 1))


def test_model_show_lists_dimensions_and_array_definitions(tmp_path):
    m = growth_model(
        auxiliaries={"ex": {"dims": ["county"], "equation": "1", "elements": {"haining": "2"}}}
    )
    r = CliRunner().invoke(main, ["model", "show", str(write(tmp_path, m))])
    assert r.exit_code == 0, r.output
    assert "county: haining, pinghu, tongxiang" in r.output
    assert "north (part of county): pinghu, tongxiang" in r.output
    assert "rate[county] [1/year] = {haining: 0.1, pinghu: 0.2, tongxiang: 0.3}" in r.output
    assert "ex[county] [1] = 1; [haining] 2" in r.output


def test_reports_draw_an_array_as_a_panel_per_element(tmp_path):
    m = growth_model()
    m["stocks"]["firms"]["group"] = "ladder"
    write(tmp_path, m)
    scenario = {"model": "model.yaml", "runs": 5, "seed": 1, "outputs": ["firms", "total"]}
    out = tmp_path / "r.h5"
    r = CliRunner().invoke(main, ["run", str(write(tmp_path, scenario, "s.yaml")), "-o", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["report", str(out), "--out", str(tmp_path / "rep")])
    assert r.exit_code == 0, r.output
    made = sorted(p.name for p in (tmp_path / "rep").iterdir())
    assert "elements_firms.png" in made and "elements_firms.svg" in made
    assert not any(n.startswith("stocks_") for n in made)  # its elements are drawn per panel
