"""The flagship model: units, sources, coverage of the plan's targets, loops, extreme
conditions, and the end-2022 history it starts from."""

import ast
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

import sim315
from sim315.imports.loading import compile_file
from sim315.reports.diagram import mermaid

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "sim315" / "models" / "plan315.yaml"
DOC = (ROOT / "docs" / "model.md").read_text()


@pytest.fixture(scope="module")
def ir():
    return compile_file(MODEL)  # raises on any units, name or loop error


@pytest.fixture(scope="module")
def model():
    return sim315.load_model(MODEL)


@pytest.fixture(scope="module")
def baseline_run(model):
    return model.simulate()


def test_every_number_cites_a_source(ir):
    spec = ir.spec
    for name, p in spec.parameters.items():
        assert p.source and p.source.strip(), f"parameter {name} has no source"
        text = p.source.lower()
        kinds = ("assumed", "data:", "plan", "unit conversion", "the model's", "definition")
        assert any(k in text for k in kinds), f"{name}: {p.source}"
        if "assumed" in text:
            assert p.bounds is not None, f"assumed {name} needs honest bounds"
    for name, tab in spec.lookups.items():
        assert tab.source, f"lookup {name} has no source"
    for name, st in spec.stocks.items():
        if not isinstance(st.initial, str):
            # a number: only zero for quantities counted from the plan's start
            counted = st.initial == 0 and "2023" in st.doc
            assert counted or st.source, f"stock {name}: a numeric initial value needs a source"


def _target_ids() -> set[str]:
    text = (ROOT / "docs" / "plan315-targets.md").read_text()
    return set(re.findall(r"^\| ([a-z_0-9]+) \|", text, flags=re.M)) - {"id"}


def test_every_target_id_is_an_output_with_a_target_or_explained(ir):
    covered = set(ir.targets)
    documented_no = {"hightech_invest_share", "infra_projects_5y"}
    for tid in _target_ids():
        if tid in documented_no:
            assert f"| {tid} |" in DOC
        else:
            assert tid in covered, f"{tid} is neither an output with a target nor explained"
    headline = {
        "rd_intensity",
        "firm_rd_ratio",
        "hightech_va_share",
        "hv_patents_per_10k",
        "rd_staff_per_10k",
        "national_lab_branches",
        "hardcore_results",
        "top_talents",
        "leading_talents",
        "young_talents",
        "infra_investment_cum",
        "tech_trade_cum",
        "innovation_funds",
        "tech_smes",
        "hightech_firms",
        "little_giants",
        "leaders",
        "fiscal_growth_pct",
        "leading_teams",
        "overseas_engineers",
        "foreign_talent_zones",
        "grad_students",
        "skilled_workers",
        "high_skilled_workers",
    }
    assert headline <= covered
    for tid, t in ir.targets.items():
        spec = t.spec
        assert t.element in ir.kinds, f"{tid}: {t.element} is not an element of the model"
        if spec.kind == "level":
            assert spec.year == 2027, tid
        else:
            assert tuple(spec.window) == (2023, 2027), tid  # the plan's period, every year
            assert ir.kinds[t.element] != "flow", tid
    # the kind each id is given in the plan-reading table of plan315-targets.md
    text = (ROOT / "docs" / "plan315-targets.md").read_text()
    kinds = {"level", "every_year", "cumulative", "growth"}
    read = {
        m[0]: m[1]
        for m in re.findall(r"^\| ([a-z_0-9]+) \|[^|]*\|[^|]*\| ([a-z_]+) \|", text, flags=re.M)
        if m[1] in kinds
    }
    for tid, kind in read.items():
        if tid in covered:
            assert ir.targets[tid].spec.kind == kind, f"{tid}: the plan reads {kind}"
    for tid in (
        "prov_rd_centres_per_year",
        "enterprise_institutes_per_year",
        "enterprise_tech_centres_per_year",
        "engineering_centres_per_year",
    ):
        assert ir.targets[tid].spec.kind == "every_year"
        assert ir.targets[tid].spec.count
    assert ir.targets["fiscal_growth_pct"].element == "fiscal_st_investment"


def _depends(ir, b: str, a: str) -> bool:
    spec = ir.spec
    if b in spec.stocks:
        st = spec.stocks[b]
        return a in st.inflows or a in st.outflows
    for section in (spec.flows, spec.auxiliaries):
        if b in section:
            tree = ast.parse(section[b].equation, mode="eval")
            return any(isinstance(n, ast.Name) and n.id == a for n in ast.walk(tree))
    return False


def test_documented_loops_are_chains_of_the_model(ir):
    block = DOC.split("<!-- loops:begin -->")[1].split("<!-- loops:end -->")[0]
    loops = [ln.split(": ", 1)[1] for ln in block.strip().splitlines() if ln.startswith("- ")]
    assert len(loops) >= 6
    kinds = re.findall(r"^- ([RB])\d", block, flags=re.M)
    assert "R" in kinds and "B" in kinds
    for loop in loops:
        chain = [s.strip() for s in loop.split("->")]
        assert chain[0] == chain[-1], loop
        for a, b in itertools.pairwise(chain):
            assert _depends(ir, b, a), f"{b} does not depend on {a} (loop: {loop})"


def test_loop_diagram_in_docs_is_generated_from_the_loop_list():
    from sim315.reports.diagram import loops_from_markdown, loops_mermaid

    block = DOC.split("<!-- loopdiagram:begin -->")[1].split("<!-- loopdiagram:end -->")[0]
    assert loops_mermaid(loops_from_markdown(DOC)) in block


def test_diagram_in_docs_is_generated_from_the_model(ir):
    block = DOC.split("<!-- diagram:begin -->")[1].split("<!-- diagram:end -->")[0]
    assert mermaid(ir) in block, "regenerate: sim315 model diagram sim315/models/plan315.yaml"


def test_reproduces_the_end_2022_history(baseline_run):
    r = baseline_run
    assert r.time[0] == 2022.0
    first = {n: r[n][0, 0] for n in r.names}
    assert first["hightech_firms"] == pytest.approx(3698)  # data: 2023-08 snapshot
    assert first["gdp"] == pytest.approx(673.945)  # data: gdp 2022 (preliminary)
    assert first["population"] == pytest.approx(5551000)  # data: 555.10 万
    assert 3.3 < first["rd_intensity"] < 3.6  # data: '>3.4' (2023-08 snapshot)
    assert 1.6 <= first["firm_rd_ratio"] <= 2.0  # data: 1.6 % in 2020, 2.0 % target 2025
    assert first["hightech_va_share"] == pytest.approx(66.3)


def _stocks_ok(model, res):
    stocks = [n for n in model.ir.stocks]
    vals = np.stack([res[n] for n in stocks], axis=-1)
    assert np.all(res.status == 0)
    assert np.all(np.isfinite(vals))
    assert vals.min() >= -1e-9, [stocks[i] for i in np.where(vals.min(axis=(0, 1)) < 0)[0]]
    return vals


@pytest.mark.parametrize(
    "extreme",
    [
        {"fiscal_st_initial": 0.0},
        {"talent_programme_scale": 0.0},
        {"smes_initial": 0.0, "potential_firms_initial": 0.0, "new_potential_firms": 0.0},
        {"fiscal_growth": 0.0, "gdp_growth": 0.0},
        {"fiscal_growth": 0.4},
        {"budget_revenue_to_gdp": 0.0},
        {"gdp_growth": 0.0},
        {"certification_rate": 1.5, "direct_certification_rate": 0.1},
    ],
    ids=[
        "zero_fiscal",
        "no_talent_inflow",
        "no_smes",
        "no_growth",
        "fiscal_at_its_bound",
        "zero_budget",
        "zero_gdp_growth",
        "ten_times_certification",
    ],
)
def test_extreme_conditions_behave(model, baseline_run, extreme):
    res = model.simulate(model.parameters(**extreme))
    vals = _stocks_ok(model, res)
    normal = _stocks_ok(model, baseline_run)
    # no explosion: no stock beyond 20 times its largest value in the base run (+1)
    assert np.all(vals.max(axis=(0, 1)) <= 20 * normal.max(axis=(0, 1)) + 1)


def test_extremes_move_the_right_way(model, baseline_run):
    no_fiscal = model.simulate(model.parameters(fiscal_st_initial=0.0))
    no_talent = model.simulate(model.parameters(talent_programme_scale=0.0))
    no_smes = model.simulate(
        model.parameters(smes_initial=0.0, potential_firms_initial=0.0, new_potential_firms=0.0)
    )
    base = baseline_run
    assert no_fiscal["hightech_firms"][0, -1] < base["hightech_firms"][0, -1]
    assert no_talent["leading_talents"][0, -1] < base["leading_talents"][0, 0]
    # with no SMEs and no pool, only lapsed certificates return to the SME register (and the
    # register counts the certified small firms still on it)
    assert no_smes["tech_smes"][0, -1] < 0.2 * base["tech_smes"][0, -1]
    assert no_smes["hightech_firms"][0, -1] < base["hightech_firms"][0, 0]


def test_plan_beats_baseline_on_fiscal_outcomes(model):
    plan = model.simulate(model.parameters(fiscal_growth=0.18))
    base = model.simulate(model.parameters(fiscal_growth=0.10))
    for name in ("hightech_firms", "rd_intensity", "innovation_funds"):
        assert plan[name][0, -1] > base[name][0, -1], name


# -- extreme conditions with meaning (Sterman 2000, ch. 21): not only finite, but right ----------


def _year(res, year):
    return int(np.argmin(np.abs(res.time - year)))


def test_zero_gdp_growth_keeps_rd_intensity_bounded(model):
    """Firms' R&D is intensity x revenue: with no GDP growth it cannot compound on its own."""
    res = model.simulate(model.parameters(gdp_growth=0.0))
    rd = res["rd_intensity"][0]
    assert rd.max() < 6.0  # a plausible ceiling: Shenzhen- or Beijing-level intensity
    # it settles: the last two years add less than a tenth of a point a year
    assert rd[-1] - rd[_year(res, 2028)] < 0.2
    # firms' intensities approach their goals from below and never pass them
    pairs = (("ht_rd_intensity", "ht_rd_goal_now"), ("other_rd_intensity", "other_rd_goal_now"))
    for stock, goal in pairs:
        assert np.all(res[stock][0] <= res[goal][0].max() + 1e-9), stock
    # realised fiscal S&T spending stops at the budget's cap while the plan goes on growing
    assert np.all(res["fiscal_st_investment"][0] <= res["st_budget_cap"][0] + 1e-9)
    assert res["planned_fiscal_st"][0, -1] > res["fiscal_st_investment"][0, -1]
    # with no growth anywhere, society's R&D levels off (it does not grow a few % a year)
    flat = model.simulate(model.parameters(gdp_growth=0.0, fiscal_growth=0.0))
    srd = flat["society_rd"][0]
    assert srd[-1] / srd[_year(flat, 2029)] - 1 < 0.02


def test_zero_fiscal_budget_means_no_fiscal_support(model, baseline_run):
    res = model.simulate(model.parameters(budget_revenue_to_gdp=0.0))
    assert np.all(res["fiscal_st_investment"][0] == 0)
    assert np.all(res["gov_rd"][0] == 0)
    assert np.all(res["support_index"][0] == 0)
    # support sits at the table's no-support value: nothing is paid for, nothing is amplified
    no_support = model.ir.spec.lookups["support_effect_table"].y[0]
    assert np.allclose(res["support_effect"][0], no_support)
    assert np.all(res["innovation_funds"][0][1:] < baseline_run["innovation_funds"][0][1:])
    assert res["rd_intensity"][0, -1] < baseline_run["rd_intensity"][0, -1]
    assert res["hightech_firms"][0, -1] < baseline_run["hightech_firms"][0, -1]


def test_zero_talent_inflow_means_talent_stocks_only_decline(model, baseline_run):
    res = model.simulate(model.parameters(talent_programme_scale=0.0, grad_intake=0.0))
    for name in (
        "top_talents",
        "leading_talents",
        "young_talents",
        "leading_teams",
        "grad_students",
        "skilled_workers",
        "high_skilled_workers",
    ):
        assert np.all(np.diff(res[name][0]) <= 1e-9), name
        assert res[name][0, -1] < res[name][0, 0], name
    # R&D staff are hired out of the talent stocks: a shrinking pool supplies fewer of them
    assert np.all(np.diff(res["rd_recruit_capacity"][0]) <= 1e-9)
    assert res["rd_personnel"][0, -1] < baseline_run["rd_personnel"][0, -1]


def test_ten_times_certification_cannot_pass_the_candidate_pool(model, baseline_run):
    res = model.simulate(model.parameters(certification_rate=1.5, direct_certification_rate=0.1))
    ht = res["hightech_firms"][0]
    assert np.all(ht <= res["hightech_ceiling"][0] * (1 + 1e-6))
    max_share = model.ir.spec.parameters["max_province_share"].value
    assert res["province_share"][0].max() <= 100 * max_share * (1 + 1e-6)
    for name in ("registered_smes", "tech_smes", "potential_firms"):
        assert res[name][0].min() >= 0, name
    # more certification fills the ceiling sooner, but the ceiling, not the rate, sets the end
    assert ht[_year(res, 2025)] > baseline_run["hightech_firms"][0, _year(res, 2025)]
    assert ht[-1] < 1.2 * baseline_run["hightech_firms"][0, -1]
