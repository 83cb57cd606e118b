"""The flagship model: units, sources, coverage of the plan's targets, loops, extreme
conditions, and the end-2022 history it starts from."""

import ast
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

import sim315
from sim315.compiler import compile_file
from sim315.diagram import mermaid

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
    for tid in covered:
        assert ir.targets[tid].year == 2027


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
    from sim315.diagram import loops_from_markdown, loops_mermaid

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
    ],
    ids=["zero_fiscal", "no_talent_inflow", "no_smes", "no_growth", "fiscal_at_its_bound"],
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
    # with no SMEs and no pool, only lapsed certificates return to the SME register
    assert no_smes["tech_smes"][0, -1] < 0.2 * base["tech_smes"][0, -1]
    assert no_smes["hightech_firms"][0, -1] < base["hightech_firms"][0, 0]


def test_plan_beats_baseline_on_fiscal_outcomes(model):
    plan = model.simulate(model.parameters(fiscal_growth=0.18))
    base = model.simulate(model.parameters(fiscal_growth=0.10))
    for name in ("hightech_firms", "rd_intensity", "innovation_funds"):
        assert plan[name][0, -1] > base[name][0, -1], name
