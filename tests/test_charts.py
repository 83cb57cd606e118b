"""Static charts and tables a policy-maker can read: titles from long_name (Chinese too),
friendly units, thousands separators, stocks of different scales on separate panels, a
header block, years as 2027, PNG and SVG."""

import warnings

import pytest
from click.testing import CliRunner

from sim315.cli import main
from sim315.reports import labels
from sim315.reports.charts import _scale_panels


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("billion_yuan/year", "billion yuan a year"),
        ("patent/tenk_person", "patents per 10,000 people"),
        ("percent", "%"),
        ("firm", "firms"),
        ("person", "people"),
        ("thing/yr", "thing per yr"),
    ],
)
def test_friendly_units(raw, shown):
    assert labels.units(raw) == shown


def test_numbers_and_years():
    assert labels.number(1_400_000.0) == "1,400,000"
    assert labels.number(45123.4) == "45,123"
    assert labels.number(0.01234) == "0.0123"
    assert labels.number(float("nan")) == "-"
    assert labels.year(2027.0) == "2027"
    assert labels.title("tech_smes", "Technology-based SMEs (certified ones included)") == (
        "Technology-based SMEs"
    )
    assert labels.title("tech_smes", "") == "tech smes"


def test_different_scales_go_on_separate_panels():
    scale = {"pool": 45_000.0, "smes": 9_000.0, "giants": 60.0, "leaders": 20.0, "zero": 0.0}
    units = dict.fromkeys(scale, "firm") | {"staff": "person"}
    scale["staff"] = 50.0
    panels = _scale_panels(list(scale), scale, units)
    assert ["pool", "smes"] in panels
    assert ["giants", "leaders"] in panels
    assert ["zero"] in panels
    assert ["staff"] in panels  # another unit, another panel


def test_chinese_titles_render_without_missing_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim315.reports.fonts import use_cjk_fonts

    assert use_cjk_fonts() == "Noto Sans CJK SC"
    fig, ax = plt.subplots()
    ax.set_title("科技型中小企业 (tech SMEs) 45,000")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" would fail here
        fig.savefig(tmp_path / "cjk.png")
    plt.close(fig)


def test_report_writes_png_svg_and_a_header_block(plan_h5, tmp_path):
    res = CliRunner().invoke(main, ["report", str(plan_h5), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    rep = tmp_path / "rep"
    for stem in ("fan_little_giants", "fan_prov_rd_centres_per_year", "stocks_ladder"):
        assert (rep / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (rep / f"{stem}.svg").read_bytes()[:2000]
    md = (rep / "targets.md").read_text(encoding="utf-8")
    head = md.split("\n\n")[0]
    assert "- **scenario**: plan" in head
    assert "- **seed**: 7" in head
    assert "- **runs**: 40" in head
    assert "- **model hash**: " in head
    csv = (rep / "targets.csv").read_text().splitlines()
    assert ",> 60 in 2027,2027," in csv[1]  # the year as 2027, not 2027.0
