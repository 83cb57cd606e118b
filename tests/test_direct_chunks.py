"""A chunk of runs written straight to its HDF5 chunk (results/rows.py ``put`` with
``H5Dwrite_chunk``) reads back as the same values as the ordinary write, in the datasets the
writer makes: early-allocated and unfilled, filled, single precision; a compressed
dataset, a part-chunk (the last) and a write off the chunk grid take the ordinary path."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from sim315.ensembles.runner import execute, plan_run
from sim315.results import layout, rows, store


def _dataset(h5, name, *, comp=None, filled=False, dtype=np.float64):
    storage = layout._storage(comp or {}, filled=filled)
    return h5.create_dataset(name, shape=(23, 4), chunks=(5, 4), dtype=dtype, **storage)


@pytest.mark.parametrize(
    "kind",
    ["unfilled", "filled", "float32", "gzip", "lzf"],
)
def test_chunks_read_back_as_written(tmp_path, kind):
    x = np.random.default_rng(3).normal(size=(23, 4))
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        comp = {"compression": kind} if kind in ("gzip", "lzf") else None
        dtype = np.float32 if kind == "float32" else np.float64
        ds = _dataset(h5, "d", comp=comp, filled=kind == "filled", dtype=dtype)
        sink = rows.Sink(ds)
        assert sink.rows == (0 if comp else 5)
        for a in range(0, 23, 5):  # four whole chunks, then three rows
            rows.put(sink, a, x[a : a + 5])
    with h5py.File(tmp_path / "f.h5", "r") as h5:
        np.testing.assert_array_equal(h5["d"][:], x.astype(dtype))


def test_a_write_off_the_chunk_grid_is_an_ordinary_one(tmp_path):
    x = np.arange(40.0).reshape(10, 4)
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        ds = _dataset(h5, "d")
        sink = rows.Sink(ds)
        rows.put(sink, 3, x[:5])  # five rows, but from row 3
        rows.put(sink, 8, x[5:])
        np.testing.assert_array_equal(ds[3:13], x)


def test_a_dataset_narrower_chunks_than_its_rows_is_not_written_directly(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        ds = h5.create_dataset("d", shape=(20, 6), chunks=(5, 3), dtype=np.float64)
        assert rows.direct_rows(ds) == 0
        assert rows.direct_rows(h5.create_dataset("c", shape=(3,), dtype=np.int8)) == 0


def test_a_chunk_is_written_without_looking_its_datasets_up(tmp_path, monkeypatch):
    """The writer finds its datasets and their types once (``rows.Sink``): h5py makes a
    dataset's type anew from the file on each ``.dtype`` and looks a name up on each
    ``h5[name]``, and a chunk of the plan writes 37 datasets."""
    lookups, inside = [], [False]
    dtype, getitem, write = h5py.Dataset.dtype, h5py.Group.__getitem__, store.ResultWriter.write

    def counted(get):
        def wrapped(*args, **kwargs):
            if inside[0]:
                lookups[-1] += 1
            return get(*args, **kwargs)

        return wrapped

    def writing(self, *args, **kwargs):
        lookups.append(0)
        inside[0] = True
        try:
            return write(self, *args, **kwargs)
        finally:
            inside[0] = False

    monkeypatch.setattr(h5py.Dataset, "dtype", property(counted(dtype.fget)))
    monkeypatch.setattr(h5py.Group, "__getitem__", counted(getitem))
    monkeypatch.setattr(store.ResultWriter, "write", writing)
    monkeypatch.setattr(store, "FLUSH_SECONDS", 1e9)  # no flush in between (it writes more)
    plan = Path(__file__).resolve().parents[1] / "scenarios" / "plan.yaml"
    execute(plan_run(plan, runs=100, chunk=25), tmp_path / "o.h5", progress=False)
    assert len(lookups) == 4
    assert lookups[0] > 37  # the first chunk finds them (the test sees the lookups)
    assert lookups[1:] == [0, 0, 0]
