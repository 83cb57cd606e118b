"""Runs spread over threads (sim315/ensembles/threads.py): the serial kernel called by
threads that claim runs as they go gives the numbers of one call, whatever the threads; a
late thread leaves its runs to the others; nothing parallel is compiled."""

import threading
from pathlib import Path

import numba
import numpy as np
import pytest

import sim315
from sim315.ensembles.threads import run_threads

LADDER = Path(__file__).resolve().parents[1] / "tests" / "models" / "ladder" / "model.yaml"


def test_threads_give_the_serial_numbers_and_compile_nothing_parallel():
    m = sim315.load_model(LADDER)
    P = m.parameters(300) * np.random.default_rng(1).uniform(0.9, 1.1, (300, len(m.defaults)))
    one = m.simulate(P, seed=4, run_offset=11, threads=1)
    for threads in range(2, numba.config.NUMBA_NUM_THREADS + 1):
        many = m.simulate(P, seed=4, run_offset=11, threads=threads)
        np.testing.assert_array_equal(many.values, one.values)
        np.testing.assert_array_equal(many.status, one.status)
    for threads in (3, 8):  # more slices than Numba threads: the same numbers
        out, status = np.empty_like(one.values), np.empty_like(one.status)
        call = m.kernel_call(seed=4)
        args = call.args(np.ascontiguousarray(P), out, status, 11)
        run_threads(m.kernel_module("euler").ensemble_serial, args, 300, threads)
        np.testing.assert_array_equal(out, one.values)
    assert m.kernel_module("euler").ensemble.signatures == []  # prange never compiled


def test_a_late_thread_leaves_its_runs_to_the_others():
    """Claims, not fixed slices: when the calling thread's call returns, every run is done
    (with slices, only its half), though the other thread has not started; the numbers are
    one thread's."""
    m = sim315.load_model(LADDER)
    P = m.parameters(300) * np.random.default_rng(2).uniform(0.9, 1.1, (300, len(m.defaults)))
    one = m.simulate(P, seed=4, threads=1)
    out, status = np.full_like(one.values, np.nan), np.full_like(one.status, -1)
    serial = m.kernel_module("euler").ensemble_serial
    go, done_first = threading.Event(), []

    def late(*args):
        if threading.current_thread() is threading.main_thread():
            serial(*args)
            done_first.append(bool(np.isfinite(out).all() and (status >= 0).all()))
            go.set()
        else:  # starts once the caller's call has returned
            go.wait(30)
            serial(*args)

    run_threads(late, m.kernel_call(seed=4).args(np.ascontiguousarray(P), out, status, 0), 300, 2)
    assert done_first == [True]
    np.testing.assert_array_equal(out, one.values)
    np.testing.assert_array_equal(status, one.status)


def test_an_error_in_another_thread_reaches_the_caller():
    def serial(P, *rest):
        if threading.current_thread() is not threading.main_thread():
            raise ValueError("slice failed")

    P = np.arange(20.0).reshape(10, 2)
    args = (P, None, None, None, 0, 1, 1, 1, None, np.zeros((10, 1, 1)), np.zeros(10), 0, 0)
    with pytest.raises(ValueError, match="slice failed"):
        run_threads(serial, args, 10, 4)
