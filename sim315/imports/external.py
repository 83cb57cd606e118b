"""Elements that Vensim reads from files (GET XLS / GET DIRECT CONSTANTS, DATA and LOOKUPS),
read at import time (:mod:`.spreadsheets`) and written into the model file as what they are:

- constants -> parameters, ``source`` naming the file, sheet and cell;
- data -> an auxiliary reading a table of time (``<name>_table``, its ``source`` the file),
  with Vensim's data semantics: interpolated (the default, ``:INTERPOLATE:``), held from each
  time until the next (``:HOLD BACKWARD:``), the next value ahead (``:LOOK FORWARD:``), or
  ``:RAW:`` (the values at their times only, :NA: in between); before the first time and
  after the last the end values hold (except raw);
- lookups -> lookup tables.

A data variable without an equation (``x :INTERPOLATE:``) reads its series from the data
files given at import (:mod:`.datafiles`) and becomes the same table of time.

:func:`file_component` gives the element's component with its abstract syntax replaced by
the numbers read, so the rest of the mapping treats it as a number, a table of time or a
table.
"""

from __future__ import annotations

import dataclasses

from .controls import time_units
from .datafiles import scalar_series, without_equation
from .equations import VENSIM_NA, UnsupportedError, error
from .groups import sim_units
from .names import key
from .reader import abstract_expressions
from .spreadsheets import SourceError, Workbooks

ae = abstract_expressions()

#: Vensim's data keyword (PySD's spelling) -> the table type that reads it.
_DATA_TYPES = {
    None: "interpolate",
    "interpolate": "interpolate",
    "hold_backward": "hold_backward",
    "look_forward": "look_forward",
}

_FROM_FILE = (ae.GetConstantsStructure, ae.GetDataStructure, ae.GetLookupsStructure)


def is_from_file(component) -> bool:
    """Does ``component`` read a file (GET ..., or the data files given at import)?"""
    return isinstance(component.ast, _FROM_FILE) or without_equation(component)


def file_component(m, el, component):
    """``component`` with the numbers it reads in place of the file reference; records the
    file, sheet and cell in ``m.sources`` (element name -> text). ``m`` is the
    :class:`sim315.imports.mapping.ModelMapping`; errors name the element."""
    ast = component.ast
    books: Workbooks = m.books
    try:
        if isinstance(ast, ae.GetConstantsStructure):
            value, where = books.constant(ast.file, ast.tab, ast.cell)
            new = dataclasses.replace(component, ast=value, type="Constant")
        elif isinstance(ast, ae.GetLookupsStructure):
            xs, ys, where = books.series(ast.file, ast.tab, ast.x_row_or_col, ast.cell, "x")
            new = dataclasses.replace(component, ast=_table(xs, ys, "interpolate"), type="Lookup")
        else:
            if without_equation(component):  # its series from the data files given
                xs, ys, where = scalar_series(m, el)
            else:
                xs, ys, where = books.series(ast.file, ast.tab, ast.time_row_or_col, ast.cell)
            table = data_table(m, xs, ys, getattr(component, "keyword", None))
            time = ae.ReferenceStructure("time")
            new = dataclasses.replace(
                component, ast=ae.InlineLookupsStructure(time, table), type="Auxiliary"
            )
    except SourceError as exc:
        raise m.fail(el.name, exc.problem, exc.fix) from None
    except UnsupportedError as exc:
        raise error(m.source, el.name, exc) from None
    m.sources[el.name] = where
    return new


def _table(xs: list[float], ys: list[float], kind: str):
    lo, hi = (min(xs), max(xs)), (min(ys), max(ys))
    return ae.LookupsStructure(tuple(xs), tuple(ys), lo, hi, kind)


def data_table(m, xs: list[float], ys: list[float], keyword: str | None):
    """The table of time that gives a data variable's values the way ``keyword`` says."""
    if keyword in _DATA_TYPES:
        return _table(xs, ys, _DATA_TYPES[keyword])
    if keyword != "raw":
        raise UnsupportedError(f"the data keyword :{keyword.upper()}:")
    # :RAW: the value at each data time (from half a step before it to half a step after,
    # so that rounding in the step's time does not matter), :NA: anywhere else
    h = m.time["dt"] / 2.0
    px, py = [xs[0] - 2.0 * h], [VENSIM_NA]
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        px.append(x - h)
        py.append(y)
        if i + 1 == len(xs) or x + h < xs[i + 1] - h:
            px.append(x + h)
            py.append(VENSIM_NA)
    return _table(px, py, "hold_backward")


def data_tables(m, lookups: dict) -> None:
    """The tables of data variables (GET ... DATA) name their file and take the units of
    time and of the variable."""
    for name, where in m.sources.items():
        table = lookups.get(m.names.get(f"{name} table"))
        if table is None or m.kind(m.elements[key(name)]) != "auxiliary":
            continue
        table["source"] = where
        if m.with_units:
            table["x_units"] = sim_units(time_units(m))
            table["y_units"] = m.units(m.elements[key(name)].units)
