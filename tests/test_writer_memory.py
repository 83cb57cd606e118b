"""The result writer keeps no chunk it has written in memory: every chunk is written whole,
once, and HDF5's chunk cache had kept the small ones (the plan's 34 ``target_runs``
datasets, 100 KB chunks), 490 bytes a run, 0.5 GB of a 10^6-run command's peak RSS."""

import sys

import numpy as np
import pytest

from sim315.results.layout import OutputInfo, Parameters
from sim315.results.store import ResultWriter

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_writing_does_not_grow_the_memory(tmp_path):
    rows, chunks, names = 1000, 60, [f"x{i}" for i in range(34)]
    w = ResultWriter.create(
        tmp_path / "m.h5",
        runs=rows * chunks,
        times=np.linspace(0.0, 9.0, 10),
        time_units="year",
        outputs=[OutputInfo(n, "t", "", "stock") for n in names],
        parameters=Parameters(["k"], [0], np.array([np.nan])),
        attrs={},
        rows_per_chunk=rows,
    )
    try:
        P = np.ones((rows, 1))
        values = np.random.default_rng(0).random((rows, 10, len(names)))
        status = np.zeros(rows, np.int8)
        w.write(0, P, values, status)
        before = _rss_mb()
        for k in range(1, chunks):
            w.write(k * rows, P, values, status)
        grown = _rss_mb() - before
    finally:
        w.close()
    # 59 chunks of 34 datasets x 80 KB: 160 MB if they were kept
    assert grown < 16, f"{grown:.0f} MB"
