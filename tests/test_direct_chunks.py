"""A chunk of runs written straight to its HDF5 chunk (results/rows.py ``put`` with
``H5Dwrite_chunk``) reads back as the same values as the ordinary write, in the datasets the
writer makes: early-allocated and unfilled, filled, single precision; a compressed
dataset, a part-chunk (the last) and a write off the chunk grid take the ordinary path."""

import h5py
import numpy as np
import pytest

from sim315.results import layout, rows


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
        whole = {ds.id: rows.direct_rows(ds)}
        assert whole[ds.id] == (0 if comp else 5)
        for a in range(0, 23, 5):  # four whole chunks, then three rows
            rows.put(ds, a, x[a : a + 5], whole)
    with h5py.File(tmp_path / "f.h5", "r") as h5:
        np.testing.assert_array_equal(h5["d"][:], x.astype(dtype))


def test_a_write_off_the_chunk_grid_is_an_ordinary_one(tmp_path):
    x = np.arange(40.0).reshape(10, 4)
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        ds = _dataset(h5, "d")
        whole = {ds.id: rows.direct_rows(ds)}
        rows.put(ds, 3, x[:5], whole)  # five rows, but from row 3
        rows.put(ds, 8, x[5:], whole)
        np.testing.assert_array_equal(ds[3:13], x)


def test_a_dataset_narrower_chunks_than_its_rows_is_not_written_directly(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w") as h5:
        ds = h5.create_dataset("d", shape=(20, 6), chunks=(5, 3), dtype=np.float64)
        assert rows.direct_rows(ds) == 0
        assert rows.direct_rows(h5.create_dataset("c", shape=(3,), dtype=np.int8)) == 0
