"""The HTML explorer: self-contained, and rendered by a real headless browser (Debian's
chromium and chromedriver, installed by .ci/run; skipped, saying why, where there is none)."""

import re
import shutil
import time

import pytest
from click.testing import CliRunner

from sim315.cli import main


@pytest.fixture(scope="module")
def page(plan_h5, baseline_h5, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "explorer.html"
    res = CliRunner().invoke(main, ["report", str(plan_h5), str(baseline_h5), "--html", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_page_is_self_contained(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text)  # Plotly inlined, nothing fetched
    assert not re.search(r"<link[^>]+href=\"?https?:", text)
    assert "P(target met) by target and target kind" in text
    assert 'class="light green"' in text or 'class="light red"' in text
    assert "plan − baseline" in text  # paired differences: same seed and run count
    assert "model_hash" in text  # provenance panel


def test_sweep_file_must_hold_indices(plan_h5, tmp_path):
    res = CliRunner().invoke(
        main, ["report", str(plan_h5), "--html", str(tmp_path / "x.html"), "--sweep", str(plan_h5)]
    )
    assert res.exit_code == 2
    assert "--sweep: holds no indices" in res.output


def _browser():
    chrome = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    driver = shutil.which("chromedriver")
    if chrome is None or driver is None:
        pytest.skip(
            "no headless browser here: .ci/run installs Debian's chromium and chromium-driver "
            "with apt when it runs as root"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1400"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_page_renders_in_a_real_browser(page):
    browser = _browser()
    try:
        browser.get(page.as_uri())
        want = int(browser.find_element("tag name", "body").get_attribute("data-charts"))
        assert want > 30  # a fan chart per target, and the differences
        for _ in range(100):  # Plotly draws synchronously on load; allow for a slow machine
            drawn = browser.execute_script(
                "return [...document.querySelectorAll('.js-plotly-plot')]"
                ".filter(d => d.querySelector('.main-svg .cartesianlayer .subplot')).length"
            )
            if drawn == want:
                break
            time.sleep(0.1)
        assert drawn == want
        traces = browser.execute_script(
            "return document.querySelectorAll('.js-plotly-plot .scatterlayer .trace').length"
        )
        assert traces > 5 * want // 2
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
    finally:
        browser.quit()
