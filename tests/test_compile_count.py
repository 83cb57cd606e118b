"""How often one ``sim315 run`` lowers its model (issue 14: once per model text).

A scenario that only sets constants and distributions lowers the model once. One with a
time-tabled lever still lowers it twice (the names are checked on a plain lowering, then the
tables are written into the kernel): the counter below pins that, so the change that makes
levers kernel data (one lowering whatever the scenario) shows here as 2 -> 1.
"""

from pathlib import Path

import yaml
from click.testing import CliRunner

from sim315.cli import main
from sim315.ensembles import runner as runner_mod

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"


def _count(monkeypatch, tmp_path, overrides) -> int:
    calls = []
    real = runner_mod.compile_spec

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_mod, "compile_spec", counting)
    scenario = tmp_path / "s.yaml"
    data = {"model": str(LADDER), "runs": 4, "seed": 3, "overrides": overrides}
    scenario.write_text(yaml.safe_dump(data))
    out = tmp_path / "r.h5"
    res = CliRunner().invoke(main, ["run", str(scenario), "-q", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return len(calls)


def test_a_scenario_of_constants_lowers_the_model_once(monkeypatch, tmp_path):
    assert _count(monkeypatch, tmp_path, {"support_boost": 0.25}) == 1


def test_a_time_tabled_lever_still_lowers_it_twice(monkeypatch, tmp_path):
    table = {"support_boost": {"table": {0: 0.0, 5: 0.25, 10: 0.5}}}
    assert _count(monkeypatch, tmp_path, table) == 2
