"""A model's lookup tables as the kernel reads them: every table's points in two flat
arrays, ``lx`` and ``ly``, with ``lo[k]`` the first point of table ``k`` (in the IR's
``lookup_names`` order), the time-tabled levers' tables after them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..compilation.ir import ModelIR
from ..compilation.levers import append_levers
from ..core.errors import Sim315Error, suggest


def pack(ir: ModelIR, tables: Mapping | None = None) -> tuple[np.ndarray, ...]:
    """``(lx, ly, lo)`` of the model's tables, ``tables`` (name -> (x, y)) replacing some;
    each replacement is checked: equal-length 1-D points with x strictly increasing."""
    tables = tables or {}
    spec = ir.table_points
    for name in tables:
        if name not in spec:
            raise Sim315Error(ir.source, "lookups", f"unknown table '{name}'", suggest(name, spec))
    lx, ly, lo = [], [], [0]
    for name in ir.lookup_names:
        if name in tables:
            x = np.asarray(tables[name][0], dtype=np.float64)
            y = np.asarray(tables[name][1], dtype=np.float64)
            if x.shape != y.shape or x.ndim != 1 or x.size < 1 or np.any(np.diff(x) <= 0):
                raise Sim315Error(
                    ir.source,
                    f"lookups.{name}",
                    "points must be equal-length 1-D arrays with x strictly increasing",
                )
        else:
            x, y = spec[name]
        lx += list(x)
        ly += list(y)
        lo.append(len(lx))
    return (
        np.array(lx, dtype=np.float64),
        np.array(ly, dtype=np.float64),
        np.array(lo, dtype=np.int64),
    )


def with_tables(ir: ModelIR, tables: Mapping | None, levers: Mapping) -> tuple[np.ndarray, ...]:
    """:func:`pack` with the levers' tables appended (what a kernel call reads)."""
    return append_levers(ir, *pack(ir, tables), levers)
