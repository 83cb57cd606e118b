"""Time-tabled levers as kernel data.

A scenario may give any model parameter a time table (``{2023: 0.18, 2025: 0.20}``, mode
``hold`` or ``linear``). The kernel does not change: every kernel reads, after its model's
lookup tables, a list of lever records in its table arrays, and at each evaluation (the
step's start and each Runge-Kutta stage) sets each listed parameter to its table's value
there (:func:`sim315.kernels.builtins.lever`). Without levers the list is empty and the
parameters stay the constants of the parameter row.

Layout, appended to a model's ``lx, ly, lo`` (its lookups' points and offsets)::

    lx, ly   ..., the lookups' points, then each lever's (time, value) points
    lo       [the lookups' offsets (n_lookups + 1)], then per lever 4 integers:
             parameter column, mode (0 hold, 1 linear), first point, end of points

A lever's parameter column is the parameter's place in the parameter row; its value there
is never read (the result file stores it as NaN and the table under ``/levers/<name>``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..core.elementnames import array_of
from ..core.errors import Sim315Error, suggest
from ..kernels.builtins import LEVER_HOLD, LEVER_LINEAR
from .ir import ModelIR

#: Lever modes by their scenario name.
MODES = {"hold": LEVER_HOLD, "linear": LEVER_LINEAR}

#: Integers per lever record in ``lo``.
RECORD = 4


def check_levers(ir: ModelIR, levers: Mapping | None) -> dict:
    """``levers`` (``name -> (mode, (times, values))``) checked against the model: each name a
    model parameter, a known mode, as many finite values as strictly increasing finite
    times (at least one). Returns them with the points as float arrays."""
    out = {}
    params = list(ir.spec.parameters)
    for name, (mode, (xs, ys)) in (levers or {}).items():
        where = f"levers.{name}"
        if array_of(name) not in ir.spec.parameters or name not in ir.kernel_params:
            raise Sim315Error(
                ir.source, where, f"'{name}' is not a parameter of the model", suggest(name, params)
            )
        if mode not in MODES:
            raise Sim315Error(ir.source, where, f"unknown mode '{mode}'", suggest(mode, MODES))
        x = np.asarray(xs, dtype=np.float64)
        y = np.asarray(ys, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or x.size < 1:
            raise Sim315Error(ir.source, where, "needs as many values as times, at least one")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise Sim315Error(ir.source, where, "times and values must be finite numbers")
        if np.any(np.diff(x) <= 0):
            raise Sim315Error(ir.source, where, "times must be strictly increasing")
        out[name] = (mode, (x, y))
    return out


def append_levers(ir: ModelIR, lx, ly, lo, levers: Mapping) -> tuple:
    """The table arrays ``lx, ly, lo`` of ``ir``'s lookups with ``levers`` (checked by
    :func:`check_levers`) appended, in the layout of the module docstring."""
    if not levers:
        return lx, ly, lo
    column = {n: i for i, n in enumerate(ir.kernel_params)}
    xs, ys, records = [lx], [ly], [lo]
    first = lx.shape[0]
    for name, (mode, (x, y)) in levers.items():
        xs.append(x)
        ys.append(y)
        records.append(np.array([column[name], MODES[mode], first, first + x.size]))
        first += x.size
    return (
        np.concatenate(xs).astype(np.float64),
        np.concatenate(ys).astype(np.float64),
        np.concatenate(records).astype(np.int64),
    )


def set_levers(w, ir: ModelIR, pos: str, time: str, prefix: str) -> None:
    """Code that sets each time-tabled parameter (the lever records after the lookups' offsets
    in ``lo``, :mod:`sim315.compilation.levers`) to its table's value at ``pos``/``time``
    (:func:`sim315.kernels.builtins.lever`, written out here: a call that takes the table
    arrays costs their reference counts at every evaluation), in its slot of the record,
    which holds every parameter, then reads them all into locals ``<prefix>_<i>`` (fresh
    names at each place: a name assigned once is a plain value)."""
    first = first_parameter(ir)
    if first is None:
        return
    w(
        f"for lv_b in range({len(ir.lookup_names) + 1}, lo.shape[0] - 3, 4):",
        "    lv_lo = lo[lv_b + 2]",
        "    lv_hi = lo[lv_b + 3] - 1",
        "    if lo[lv_b + 1] == 1:  # linear, as _lookup: interpolated at the time",
        f"        if {time} != {time}:",
        "            lv_v = np.nan",
        f"        elif {time} <= lx[lv_lo]:",
        "            lv_v = ly[lv_lo]",
        f"        elif {time} >= lx[lv_hi]:",
        "            lv_v = ly[lv_hi]",
        "        else:",
        "            while lv_hi - lv_lo > 1:",
        "                lv_m = (lv_lo + lv_hi) // 2",
        f"                if lx[lv_m] <= {time}:",
        "                    lv_lo = lv_m",
        "                else:",
        "                    lv_hi = lv_m",
        f"            lv_w = ({time} - lx[lv_lo]) / (lx[lv_hi] - lx[lv_lo])",
        "            lv_v = ly[lv_lo] + lv_w * (ly[lv_hi] - ly[lv_lo])",
        "    else:  # hold: the last value whose time's step is at or before the position",
        "        lv_hi += 1",
        "        while lv_hi - lv_lo > 1:",
        "            lv_m = (lv_lo + lv_hi) // 2",
        f"            if _event_step(lx[lv_m], t0, dt) <= {pos}:",
        "                lv_lo = lv_m",
        "            else:",
        "                lv_hi = lv_m",
        "        lv_v = ly[lv_lo]",
        f"    rec[{first} + lo[lv_b]] = lv_v",
    )
    for i, _name in enumerate(ir.spec.parameters):
        w(f"{prefix}_{i} = rec[{first + i}]")


def first_parameter(ir: ModelIR) -> int | None:
    """Where the model's parameters start in the record (they are recorded in their order,
    as the first columns of the parameter row); None without parameters."""
    params = [ir.kernel_record.index(n) for n in ir.spec.parameters]
    if not params:
        return None
    assert params == list(range(params[0], params[0] + len(params)))
    assert list(ir.spec.parameters) == ir.base_params[: len(params)]
    return params[0]
