"""An uncompressed result file is allocated whole when it is created, so that a full disk
shows up before any run (sim315/results/layout.py ``_storage``): its chunks are allocated
and their disk blocks reserved (``posix_fallocate``), not filled with NaN, which took as
long as writing the file (2 s for the plan's 1.2 GB at 10^6 runs)."""

import os

import h5py
import numpy as np
import pytest

from sim315.results import layout, store
from sim315.results.layout import STATUS_NOT_RUN, OutputInfo, Parameters
from sim315.results.store import ResultWriter

RUNS = 20_000


def _create(path, compression="none"):
    return ResultWriter.create(
        path,
        runs=RUNS,
        times=np.linspace(0.0, 10.0, 41),
        time_units="year",
        outputs=[OutputInfo(n, "t", "", "stock") for n in ("x", "y")],
        parameters=Parameters(["k", "m"], [0], np.array([np.nan, 1.0])),
        attrs={},
        rows_per_chunk=1000,
        compression=compression,
    )


def _partial(path):
    return path.with_name(path.name + ".partial")


@pytest.mark.skipif(not layout.CAN_RESERVE, reason="no posix_fallocate on this system")
def test_the_blocks_are_reserved_and_nothing_is_filled(tmp_path):
    w = _create(tmp_path / "r.h5")
    try:
        P = np.column_stack([np.full(1000, 3.0), np.ones(1000)])  # m shared
        w.write(0, P, np.full((1000, 41, 2), 7.0), np.zeros(1000, np.int8))
        size = w.h5.id.get_filesize()
        assert size > RUNS * 41 * 2 * 8  # every chunk allocated
        assert os.stat(_partial(tmp_path / "r.h5")).st_blocks * 512 >= size  # and reserved
        h5 = w.h5  # the writer's own handle (a second one in this process is refused)
        assert (h5["x"][:1000] == 7.0).all() and (h5["varied_values"][:1000] == 3.0).all()
        # runs not written yet: no values (never read: their status says not run)
        assert (h5["x"][1000:] == 0.0).all()
        assert (h5["run_status"][1000:] == STATUS_NOT_RUN).all()
        assert (h5["run_status"][:1000] == 0).all()
    finally:
        w.close()


def test_without_reservation_the_fill_value_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(layout, "CAN_RESERVE", False)
    monkeypatch.setattr(store, "CAN_RESERVE", False)
    w = _create(tmp_path / "f.h5")
    w.close()
    with h5py.File(_partial(tmp_path / "f.h5"), "r", locking=False) as h5:
        assert np.isnan(h5["x"][:]).all()
        assert (h5["run_status"][:] == STATUS_NOT_RUN).all()


def test_a_compressed_file_grows_as_it_is_written(tmp_path):
    w = _create(tmp_path / "c.h5", compression="gzip")
    try:
        assert os.stat(_partial(tmp_path / "c.h5")).st_size < RUNS * 41 * 2 * 8 / 10
    finally:
        w.close()
