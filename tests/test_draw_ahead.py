"""Chunks drawn ahead in many threads (``executors.DRAW_AHEAD``) give the numbers of the
default two: a chunk's rows depend on its runs only, also where runs start from their
calibrated history (posterior rows whose histories several threads ask for at once)."""

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import datasets

from sim315.core.errors import Sim315Error
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


def _recording(monkeypatch):
    """``executors._sample`` recording each draw: (chunk start, began, ended, rows)."""
    drawn, sample = [], executors._sample

    def recorded(plan, a):
        t = time.perf_counter()
        P = sample(plan, a)
        drawn.append((a, t, time.perf_counter(), P))
        return P

    monkeypatch.setattr(executors, "_sample", recorded)
    return drawn


def test_a_runs_first_chunks_are_drawn_before_it_computes(monkeypatch):
    drawn = _recording(monkeypatch)
    plan = plan_run(PLAN, runs=64, chunk=16)
    starts = list(range(0, 64, 16))
    ex = LocalExecutor(1)
    ex.begin(plan, starts)  # as execute does, before the file is made
    deadline = time.monotonic() + 60
    while len(drawn) < executors.DRAW_AHEAD and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [d[0] for d in drawn] == starts[: executors.DRAW_AHEAD]  # no compute yet
    early = {d[0]: d[3] for d in drawn}
    got = [(a, P) for a, P, _, _ in ex.compute(plan, starts)]
    # each chunk drawn once, the early ones taken (the later ones' two threads may end in
    # either order)
    assert sorted(d[0] for d in drawn) == starts
    for a, P in got[: executors.DRAW_AHEAD]:
        assert P is early[a]
    fresh = chunks(plan_run(PLAN, runs=64, chunk=16), threads=1)
    for (a, P), (_, P1, _, _) in zip(got, fresh, strict=True):
        np.testing.assert_array_equal(P, P1, err_msg=f"rows of chunk {a}")


def test_the_first_chunks_histories_are_drawn_in_chunk_order(monkeypatch):
    # the histories of new posterior rows are simulated under one lock: the second chunk's
    # draw must not take it before the first's, which the first kernel call waits for
    drawn = _recording(monkeypatch)
    plan = plan_run(PLAN, runs=400, chunk=200)
    for _ in range(3):
        plan.start.ends.forget()
        drawn.clear()
        list(LocalExecutor(1).compute(plan, [0, 200]))
        (a0, _, end0, _), (a1, begin1, _, _) = sorted(drawn, key=lambda d: d[1])
        assert (a0, a1) == (0, 200) and begin1 >= end0


def test_draws_begun_for_other_chunks_are_dropped(monkeypatch):
    plan = plan_run(PLAN, runs=64, chunk=16)
    ex = LocalExecutor(1)
    ex.begin(plan, [0, 16])
    closed = []
    close = executors.Draws.close
    monkeypatch.setattr(executors.Draws, "close", lambda self: (closed.append(self), close(self)))
    got = [(a, P.copy()) for a, P, _, _ in ex.compute(plan, [32, 48])]
    assert [a for a, _ in got] == [32, 48] and len(closed) == 2  # the early ones, then its own
    fresh = chunks(plan_run(PLAN, runs=64, chunk=16), threads=1)[2:]
    for (a, P), (_, P1, _, _) in zip(got, fresh, strict=True):
        np.testing.assert_array_equal(P, P1, err_msg=f"rows of chunk {a}")


def test_a_run_that_cannot_start_stops_its_early_draws(monkeypatch, tmp_path):
    closed = []
    close = executors.Draws.close
    monkeypatch.setattr(executors.Draws, "close", lambda self: (closed.append(self), close(self)))
    ex = LocalExecutor(1)
    with pytest.raises(Sim315Error):
        execute(
            plan_run(PLAN, runs=64, chunk=16), tmp_path / "no" / "o.h5", progress=False, executor=ex
        )
    assert len(closed) == 1 and ex._early is None
    assert all(t.done() for t in closed[0].ahead)  # nothing left running
