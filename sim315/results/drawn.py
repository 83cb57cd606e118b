"""The parameters a run's posterior row decides, kept once per row (layout 4, :mod:`.layout`).

A run that draws its calibrated parameters takes a row of the posterior sample, and with it
those parameters' values and, when it starts from history, the start state of that row's
history run: at 10^6 plan runs, 53 of the 79 varied columns, repeated for every run that
drew the same one of 12,800 rows. The writer keeps them here by row (``/drawn_values``)
and stores only each run's row (``/run_draw``); :func:`.layout.parameter_matrix` puts the
runs' rows back together.
"""

from __future__ import annotations

import h5py
import numpy as np

from ..core.errors import Sim315Error
from ..kernels.columns import keep_by_row
from . import rows as row_io


class DrawnTable:
    """The values of ``/drawn_values``, in memory while a run writes (those of a resumed
    partial file read back first; a ``new`` file's are its fill value, NaN, not read: 5 MB
    at 10^6 plan runs, 36 ms on the first chunk's path), and saved to the file with each
    flush of it."""

    def __init__(self, h5: h5py.File, path, new: bool = False):
        self.h5 = h5
        self.path = path
        self.columns = np.asarray(h5["drawn_parameter"].attrs["columns"], dtype=np.int64)
        ds = h5["drawn_values"]
        self.values = np.full(ds.shape, np.nan) if new else ds[:]
        self.seen = ~np.isnan(self.values).all(axis=1)  # a drawn row is never all NaN
        self.dirty = False
        self.run_draw = row_io.Sink(h5["run_draw"])  # each run's row, a chunk at a time

    def add(self, a: int, P: np.ndarray, draws: np.ndarray) -> None:
        """Runs ``a ..``'s rows ``P`` drew the posterior rows ``draws``: each run's row
        number stored, each new row's values kept; a row seen before must come with the same
        values (else the plan broke the rule this layout rests on: an error, not a silent
        loss)."""
        if draws is None:
            raise ValueError("this file keeps parameters by posterior row: pass each run's row")
        draws = np.asarray(draws, dtype=np.int64)
        differs, new = keep_by_row(
            np.ascontiguousarray(P), self.columns, draws, self.values, self.seen
        )
        self.dirty |= new
        if differs >= 0:
            raise Sim315Error(  # not an I/O error: the file is not to blame
                str(self.path),
                "parameters",
                "two runs that drew the same posterior row have different calibrated values "
                "or start states (a bug in sim315's sampler)",
                "please report it",
            )
        row_io.put(self.run_draw, a, draws.astype(np.int32))

    def save(self) -> None:
        """Write the rows kept so far (before the file's flush: a partial file's runs then
        find their rows there)."""
        if self.dirty:
            self.h5["drawn_values"][...] = self.values
            self.dirty = False
