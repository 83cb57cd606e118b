"""Chunks drawn ahead in many threads (``executors.DRAW_AHEAD``) give the numbers of the
default two: a chunk's rows depend on its runs only, also where runs start from their
calibrated history (posterior rows whose histories several threads ask for at once)."""

import threading
from pathlib import Path

import numpy as np
from conftest import datasets

from sim315.ensembles import executors
from sim315.ensembles.executors import LocalExecutor
from sim315.ensembles.runner import execute, plan_run

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "scenarios" / "plan.yaml"


def chunks(plan, threads=None):
    """Every chunk's parameter rows and outputs, in run order (a fresh plan: no history
    memoised, so the drawing threads simulate the posterior rows' histories themselves)."""
    starts = list(range(0, plan.runs, plan.chunk))
    return [
        (a, P.copy(), v.copy(), s.copy())
        for a, P, v, s in LocalExecutor(threads).compute(plan, starts)
    ]


def test_many_drawing_threads_give_one_threads_rows_and_outputs(monkeypatch):
    one = chunks(plan_run(PLAN, runs=240, chunk=8), threads=1)  # draws 2 chunks ahead
    monkeypatch.setattr(executors, "DRAW_AHEAD", 12)
    drawn_by = set()
    sample = executors._sample

    def recorded(plan, a):
        drawn_by.add(threading.current_thread().name)
        return sample(plan, a)

    monkeypatch.setattr(executors, "_sample", recorded)
    plan = plan_run(PLAN, runs=240, chunk=8)
    many = chunks(plan, threads=1)
    assert len(drawn_by) > 2  # more threads than the default two
    assert plan.start is not None and plan.start.ends.simulated > 0  # histories were drawn
    assert [c[0] for c in many] == [c[0] for c in one] == list(range(0, 240, 8))
    for (a, P1, v1, s1), (_, P2, v2, s2) in zip(one, many, strict=True):
        np.testing.assert_array_equal(P2, P1, err_msg=f"rows of chunk {a}")
        np.testing.assert_array_equal(v2, v1, err_msg=f"outputs of chunk {a}")
        np.testing.assert_array_equal(s2, s1, err_msg=f"status of chunk {a}")


def test_the_run_file_is_the_same_with_many_drawing_threads(monkeypatch, tmp_path):
    execute(plan_run(PLAN, runs=160, chunk=16), tmp_path / "a.h5", progress=False)
    monkeypatch.setattr(executors, "DRAW_AHEAD", 9)
    execute(plan_run(PLAN, runs=160, chunk=16), tmp_path / "b.h5", progress=False)
    a, b = datasets(tmp_path / "a.h5"), datasets(tmp_path / "b.h5")
    assert a.keys() == b.keys()
    for name, arr in a.items():
        np.testing.assert_array_equal(b[name], arr, err_msg=name)
