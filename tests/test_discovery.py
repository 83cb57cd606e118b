"""``sim315 discover``: PRIM recovers a box that is known by construction."""

import pytest
import yaml
from click.testing import CliRunner

from sim315.cli import main
from sim315.core.errors import Sim315Error
from sim315.reports.discovery import discover


@pytest.fixture(scope="module")
def boxed(tmp_path_factory):
    """A stock that grows only where a > 0.6 and b < 0.3 (c and d do nothing): the target
    s(2027) < 1 is missed exactly in that box."""
    folder = tmp_path_factory.mktemp("box")
    gate = "if_then_else(a > 0.6, 1, 0) * if_then_else(b < 0.3, 1, 0) * rate"
    model = {
        "name": "box",
        "time": {"start": 2022, "stop": 2027, "dt": 0.25, "save_every": 0.25},
        "parameters": {
            **{n: {"value": 0.5, "units": "1", "bounds": [0, 1]} for n in "abcd"},
            "rate": {"value": 1.0, "units": "thing/year"},
            "noise": {"value": 0.0, "units": "thing/year", "bounds": [0, 1]},
        },
        "stocks": {
            "s": {
                "initial": 0,
                "units": "thing",
                "inflows": ["f"],
                "target": {"id": "low_s", "compare": "<", "value": 1, "year": 2027},
            }
        },
        "flows": {"f": {"equation": f"{gate} + noise * (c + d)", "units": "thing/year"}},
    }
    (folder / "box.yaml").write_text(yaml.safe_dump(model))
    scenario = {
        "model": "box.yaml",
        "runs": 2000,
        "seed": 11,
        "sampler": "lhs",
        "uncertain": {n: {"dist": "uniform", "low": 0, "high": 1} for n in "abcd"},
    }
    (folder / "sc.yaml").write_text(yaml.safe_dump(scenario))
    out = folder / "box.h5"
    res = CliRunner().invoke(main, ["run", str(folder / "sc.yaml"), "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    return out


def test_prim_recovers_the_known_box(boxed):
    found, _ = discover(boxed, "low_s")
    limits = {name: (lo, hi, qp) for name, lo, hi, qp in found.limits}
    assert set(limits) == {"a", "b"}
    assert limits["a"][0] == pytest.approx(0.6, abs=0.03)
    assert limits["a"][1] == pytest.approx(1.0, abs=0.01)
    assert limits["b"][0] == pytest.approx(0.0, abs=0.01)
    assert limits["b"][1] == pytest.approx(0.3, abs=0.03)
    assert all(qp < 1e-6 for _, _, qp in limits.values())  # both restrictions matter
    assert found.coverage > 0.9
    assert found.density > 0.9
    assert found.n_cases == pytest.approx(0.4 * 0.3 * 2000, rel=0.1)


def test_cli_prints_the_box_and_draws_the_trajectory(boxed, tmp_path):
    res = CliRunner().invoke(
        main, ["discover", str(boxed), "--target", "low_s", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    assert "coverage" in res.output and "density" in res.output and "quasi-p" in res.output
    png = tmp_path / "prim_low_s_missed.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "prim_low_s_missed.svg").is_file()


def test_met_is_the_complement(boxed):
    found, _ = discover(boxed, "low_s", missed=False)
    assert found.n_cases + discover(boxed, "low_s")[0].n_cases == found.n_runs


def test_unknown_target_is_one_line(boxed):
    with pytest.raises(Sim315Error, match="no target 'low'; did you mean 'low_s'"):
        discover(boxed, "low")
