"""A run compiles (or loads) its kernels before its progress clock starts, saying so when
that takes a while (a model text's first run): the chunks then compile nothing, and the
progress line's rate is the run's own."""

import dataclasses
import io
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

from sim315.compilation.lanes import LANES_FROM
from sim315.core.progress import note_if_slow
from sim315.ensembles.executors import LocalExecutor, plan_call
from sim315.ensembles.runner import execute, plan_run

ROOT = Path(__file__).resolve().parents[1]
LADDER = ROOT / "tests" / "models" / "ladder" / "model.yaml"
PLAN = ROOT / "scenarios" / "plan.yaml"


def _entry(model, call):
    return getattr(model.kernel_module(call.method), call.entry_points[1])


def _ladder(tmp_path: Path, runs: int) -> Path:
    """A scenario of the ladder with an auxiliary of its own: a model text (so a kernel)
    that nothing else in the test session has compiled."""
    model = yaml.safe_load(LADDER.read_text())
    model["auxiliaries"][f"probe_{uuid.uuid4().hex[:12]}"] = {
        "equation": "smes * 2",
        "units": "firm",
    }
    (tmp_path / "model.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    path = tmp_path / "s.yaml"
    data = {
        "model": str(tmp_path / "model.yaml"),
        "runs": runs,
        "seed": 3,
        "uncertain": {"sme_promotion": {"dist": "pert", "low": 0.04, "mode": 0.06, "high": 0.09}},
    }
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("runs", [300, LANES_FROM])  # the scalar and the block-of-runs kernel
def test_a_prepared_run_compiles_nothing_more(tmp_path, runs):
    plan = plan_run(_ladder(tmp_path, runs))
    call = plan_call(plan)
    assert call.lanes == (runs >= LANES_FROM)
    entry = _entry(plan.model, call)
    assert not entry.overloads  # a new model text: not compiled yet
    LocalExecutor().prepare(plan)
    prepared = set(entry.overloads)
    assert prepared
    execute(plan, tmp_path / "o.h5", progress=False)
    assert set(entry.overloads) == prepared  # the chunks' types are the prepared ones


def test_the_history_runs_kernel_is_prepared_too(tmp_path):
    plan = plan_run(PLAN, runs=200)
    assert plan.start is not None
    LocalExecutor().prepare(plan)
    history = _entry(plan.start.model, plan.start._call(None))
    prepared = set(history.overloads)
    assert prepared
    execute(plan, tmp_path / "o.h5", progress=False)
    assert set(history.overloads) == prepared


def test_a_slow_block_is_announced_and_timed():
    out = io.StringIO()
    with note_if_slow("compiling x", after=0.05, stream=out):
        time.sleep(0.3)
    lines = out.getvalue().splitlines()
    assert lines[0] == "compiling x ..."
    assert lines[1].startswith("... done in ")


@pytest.mark.parametrize("enabled", [True, False])
def test_a_quick_or_quiet_block_shows_nothing(enabled):
    out = io.StringIO()
    with note_if_slow("compiling x", after=0.5 if enabled else 0.0, stream=out, enabled=enabled):
        time.sleep(0.05)
    time.sleep(0.1)  # a timer left running would write now
    assert out.getvalue() == ""


class _Recording:
    """A sampler that records which rows are asked for, and by which thread."""

    def __init__(self, inner, fail=False):
        self.inner, self.fail, self.calls = inner, fail, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def rows(self, a, b):
        self.calls.append((a, b, threading.current_thread().name))
        if self.fail:
            raise ValueError("a sampler that fails")
        return self.inner.rows(a, b)


def test_the_sampler_starts_in_a_thread_while_the_kernels_compile(tmp_path):
    plan = plan_run(_ladder(tmp_path, 300))
    sampler = _Recording(plan.sampler)
    LocalExecutor().prepare(dataclasses.replace(plan, sampler=sampler))
    [(a, b, thread)] = sampler.calls
    assert (a, b) == (0, 1) and thread.startswith("sim315-sampler")
    failing = _Recording(plan.sampler, fail=True)
    with pytest.raises(ValueError, match="a sampler that fails"):  # its error is the run's
        LocalExecutor().prepare(dataclasses.replace(plan, sampler=failing))
