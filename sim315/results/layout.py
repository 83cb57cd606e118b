"""The result file's layout: what each dataset and attribute holds (see store.py's docstring),
the percentiles, run statuses, compression choices and the layout version."""

from __future__ import annotations

from dataclasses import dataclass

PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
# The result file's layout version: raised when a dataset or attribute changes meaning.
# 1: first versioned layout (issue 14); files without the attribute are layout 0.
FORMAT_VERSION = 1
RESERVED = ("time", "run", "parameter", "parameter_values", "run_status", "summary")
STATUS_NOT_RUN = -1
#: Compression of the per-run datasets. ``none`` writes at memory speed (~1.5 GB/s here);
#: ``lzf`` is ~3x smaller at ~230 MB/s; ``gzip`` (level 1, shuffled) is ~3x smaller at
#: ~100 MB/s and readable by every netCDF/HDF5 tool (lzf needs h5py).
COMPRESSION = {
    "none": {},
    "lzf": {"compression": "lzf", "shuffle": True},
    "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
}
#: Rows read at a time when summarising (bounds the extra memory of the summary).
SUMMARY_BLOCK = 65536


@dataclass(frozen=True)
class OutputInfo:
    """What the file records about a saved variable."""

    name: str
    units: str
    doc: str
    kind: str
    target: dict | None = None
