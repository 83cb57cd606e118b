"""How often one ``sim315 run`` lowers its model and how many kernels it uses (issue 14: once
per model text, whatever the scenario).

A scenario changes only numbers: constants, distributions, time-tabled levers (kernel data)
and a start state from history (the same kernel with start columns). A model text has two
kernel modules: one whose parameters are constants of the time loop, and one that reads
time-tabled levers at each evaluation; a scenario loads the one it runs, and every scenario
of the model shares them, whatever its numbers and tables. The counters below pin one
lowering for each kind of scenario, the flagship plan's included (time tables in its
calibrated history, start_from_history), and the kernels each uses.
"""

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sim315.cli import main
from sim315.compilation import compiler
from sim315.ensembles.model import CompiledModel

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"


def _counters(monkeypatch) -> tuple[list, set]:
    """Count the lowerings (``_Compiler.build``) and the distinct kernel modules used."""
    lowerings, kernels = [], set()
    build = compiler._Compiler.build
    kernel_module = CompiledModel.kernel_module

    def counting_build(self):
        lowerings.append(self.source)
        return build(self)

    def counting_kernel_module(self, *args, **kwargs):
        mod = kernel_module(self, *args, **kwargs)
        kernels.add(mod.__name__)  # named by the hash of its source
        return mod

    monkeypatch.setattr(compiler._Compiler, "build", counting_build)
    monkeypatch.setattr(CompiledModel, "kernel_module", counting_kernel_module)
    return lowerings, kernels


def _run(tmp_path, scenario: Path, *args) -> None:
    out = tmp_path / f"{scenario.stem}-{len(list(tmp_path.glob('*.h5')))}.h5"
    res = CliRunner().invoke(main, ["run", str(scenario), "-q", "-o", str(out), *args])
    assert res.exit_code == 0, res.output


def _ladder(tmp_path, overrides) -> Path:
    scenario = tmp_path / "s.yaml"
    data = {"model": str(LADDER), "runs": 4, "seed": 3, "overrides": overrides}
    scenario.write_text(yaml.safe_dump(data))
    return scenario


@pytest.mark.parametrize(
    "overrides",
    [
        {"support_boost": 0.25},
        {"support_boost": {"table": {0: 0.0, 5: 0.25, 10: 0.5}}},
        {"support_boost": {"table": {0: 0.0, 10: 0.5}, "interpolate": "linear"}},
    ],
    ids=["constants", "hold table", "linear table"],
)
def test_a_scenario_lowers_its_model_once_and_loads_one_kernel(monkeypatch, tmp_path, overrides):
    # constants use the plain module, a table the lever one
    lowerings, kernels = _counters(monkeypatch)
    _run(tmp_path, _ladder(tmp_path, overrides))
    assert len(lowerings) == 1
    assert len(kernels) == 1


def test_every_scenario_of_a_model_shares_its_kernels(monkeypatch, tmp_path):
    _lowerings, kernels = _counters(monkeypatch)
    _run(tmp_path, _ladder(tmp_path, {"support_boost": 0.25}))
    _run(tmp_path, _ladder(tmp_path, {"support_boost": 0.5, "entry_rate": 0.07}))
    assert len(kernels) == 1
    _run(tmp_path, _ladder(tmp_path, {"support_boost": {"table": {0: 0.0, 5: 0.25}}}))
    _run(tmp_path, _ladder(tmp_path, {"ht_exit": {"table": {0: 0.01, 8: 0.03}}}))
    _run(
        tmp_path,
        _ladder(tmp_path, {"sme_exit": {"table": {0: 0.0, 9: 1}, "interpolate": "linear"}}),
    )
    assert len(kernels) == 2  # the plain module and the lever one, each loaded once


def test_a_plan_that_starts_from_history_lowers_once(monkeypatch, tmp_path):
    # time tables in the history scenario, start_from_history, posterior draws: one model
    # text, one lowering; the history runs read levers, the plan's own runs have none
    lowerings, kernels = _counters(monkeypatch)
    _run(tmp_path, ROOT / "scenarios" / "plan.yaml", "--runs", "4")
    assert len(lowerings) == 1
    assert len(kernels) == 2
