"""Ctrl-C held off while the main thread compiles (sim315/core/interrupts.py): taken when
the block ends, by the handler that was in place, never inside the block."""

import signal
import threading

import pytest

from sim315.core.interrupts import interrupts_held


@pytest.fixture(autouse=True)
def _pythons_own_handler():
    """Python's own SIGINT handler for each test, whatever an earlier test in this process
    left (a CLI test's Ctrl-C leaves SIGINT ignored), put back after it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_ctrl_c_inside_the_block_is_taken_when_it_ends():
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts_held():
        signal.raise_signal(signal.SIGINT)
        done.append("after the signal")  # the block went on
    assert done == ["after the signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_the_handler_in_place_takes_it_once():
    seen = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        with interrupts_held():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            assert seen == []
        assert seen == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_an_ignored_ctrl_c_stays_ignored():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with interrupts_held():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_no_ctrl_c_no_change_and_other_threads_run_the_block_as_it_is():
    with interrupts_held():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ran = []

    def other():
        with interrupts_held():
            ran.append(signal.getsignal(signal.SIGINT) is signal.default_int_handler)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert ran == [True]
