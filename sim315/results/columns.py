"""A chunk's values held by column: the block-of-runs kernel writes each (saved time,
output) column of a chunk's runs contiguously, and hands the chunk on as a transposed view
(runs, times, outputs) of that buffer (:func:`sim315.ensembles.kernelcall.values`). The
streaming summary counts such columns where they lie
(:func:`sim315.kernels.histograms.hist_add_columns`) instead of gathering them from rows."""

from __future__ import annotations

import numpy as np


def chunk_columns(values: np.ndarray) -> np.ndarray | None:
    """``Z`` (columns, room), C-ordered, whose row ``j * outputs + m`` begins with
    ``values[:, j, m]`` (its first ``len(values)`` elements), when ``values`` (runs, times,
    outputs) is such a view of a buffer (times, outputs, room) that owns its memory; else
    None (rows of runs, or any other layout: the caller reads ``values`` as rows)."""
    base = values.base
    if not isinstance(base, np.ndarray) or base.base is not None or base.ndim != 3:
        return None
    runs, times, outputs = values.shape
    if not base.flags.c_contiguous or base.dtype != values.dtype:
        return None
    if base.shape[:2] != (times, outputs) or base.shape[2] < runs:
        return None
    by_column = values.transpose(1, 2, 0)
    if by_column.strides != base.strides and times * outputs * runs > 1:
        return None
    if values.__array_interface__["data"][0] != base.__array_interface__["data"][0]:
        return None
    return base.reshape(times * outputs, base.shape[2])
