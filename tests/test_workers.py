"""Work split over a process's pools of threads (``sim315/core/workers.py``): ``for_each``
hands every item to exactly one call, whichever threads take them, and re-raises an error
once all have ended."""

import threading
import time

import pytest

from sim315.core.workers import for_each


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_each_item_is_done_once_whatever_the_threads(threads):
    done, lock = [], threading.Lock()

    def do(item):
        time.sleep(0.001)  # room for the other threads to take some
        with lock:
            done.append((item, threading.current_thread().name))

    for_each("test-for-each", range(40), do, threads)
    assert sorted(i for i, _ in done) == list(range(40))
    if threads == 1:
        assert {name for _, name in done} == {threading.current_thread().name}


def test_a_late_thread_takes_fewer_items():
    # the calling thread takes items as they come; a pool thread that starts late does not
    # hold back the ones it would have had in a fixed split
    names, lock = [], threading.Lock()
    caller = threading.current_thread().name

    def do(item):
        with lock:
            names.append(threading.current_thread().name)
        if threading.current_thread().name != caller:
            time.sleep(0.05)

    for_each("test-for-each", range(20), do, 2)
    assert len(names) == 20 and names.count(caller) >= 15


def test_an_error_is_raised_after_every_thread_ended():
    ended = []

    def do(item):
        if item == 3:
            raise ValueError("item 3")
        ended.append(item)

    with pytest.raises(ValueError, match="item 3"):
        for_each("test-for-each", range(10), do, 2)
    assert sorted(ended) == [i for i in range(10) if i != 3]
