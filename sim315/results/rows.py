"""A chunk of runs' rows written into one dataset of a result file (:mod:`.store` writes a
chunk to 40 datasets): through h5py's low-level calls, and straight to the HDF5 chunk where
the rows are exactly one chunk of a dataset that stores its chunks as they are."""

from __future__ import annotations

import h5py
import numpy as np

from ..kernels.columns import take_columns, take_outputs


def direct_rows(ds: h5py.Dataset) -> int:
    """The rows of each of ``ds``'s chunks, where a chunk's bytes are stored as they are
    (chunked, every chunk the dataset's whole width, no filter), else 0."""
    if ds.chunks is None or ds.chunks[1:] != ds.shape[1:]:
        return 0
    return 0 if ds.id.get_create_plist().get_nfilters() else ds.chunks[0]


class Sink:
    """A dataset that a writer puts a chunk's rows into, with what each write needs read
    once: h5py makes a dataset's type anew from the file on every ``.dtype`` (about 10 µs)
    and its ``.id`` is a property, where a chunk of the plan writes 37 datasets."""

    __slots__ = ("dtype", "id", "name", "rows")

    def __init__(self, ds: h5py.Dataset):
        self.name = ds.name
        self.id = ds.id
        self.dtype = ds.dtype
        self.rows = direct_rows(ds)
        """The rows of each of the dataset's chunks where they are stored as they are
        (:func:`direct_rows`), else 0."""


def put(sink: Sink, a: int, x: np.ndarray) -> None:
    """``ds[a:a + len(x)] = x`` (``sink``: ``ds``'s :class:`Sink`) through h5py's low-level
    write: the high-level ``__setitem__`` spends about 80 µs parsing each selection. The
    values are converted to the dataset's type by numpy first, as ``__setitem__`` does.
    Where ``x`` is exactly one of the dataset's chunks, stored as it is, the bytes go
    straight to the chunk (``H5Dwrite_chunk``: about 32 µs a write rather than 60-85)."""
    x = np.ascontiguousarray(x, dtype=sink.dtype)
    rows = sink.rows
    if rows and x.shape[0] == rows and a % rows == 0:
        sink.id.write_direct_chunk((a,) + (0,) * (x.ndim - 1), x)
        return
    space = sink.id.get_space()
    space.select_hyperslab((a,) + (0,) * (x.ndim - 1), x.shape)
    sink.id.write(h5py.h5s.create_simple(x.shape), space, x)


def _reused(keep: dict, key, n: int, width: int) -> np.ndarray:
    """``n`` rows of ``keep[key]``, a ``width``-wide buffer made or grown here and reused: a
    writer puts each chunk's rows before it takes the next."""
    if keep.get(key) is None or keep[key].shape[0] < n:
        keep[key] = np.empty((n, width))
    return keep[key][:n]


def taken(P: np.ndarray, cols: np.ndarray, keep: dict) -> np.ndarray:
    """``P[:, cols]`` (``P``: C-ordered float64 rows), gathered into ``keep["buffer"]``."""
    out = _reused(keep, "buffer", P.shape[0], cols.size)
    take_columns(P, cols, out)
    return out


def output_rows(values: np.ndarray, m: int, cols: np.ndarray, keep: dict) -> np.ndarray:
    """``values[:, cols, m]`` (a chunk's ``(runs, times, outputs)``), gathered in one pass
    into ``keep[m]`` (numpy's fancy index made a new array, and the write a contiguous copy
    of it, for each of a chunk's 34 kept outputs)."""
    out = _reused(keep, m, values.shape[0], cols.size)
    take_outputs(values, cols, m, out)
    return out
