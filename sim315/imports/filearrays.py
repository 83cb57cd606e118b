"""Arrays that Vensim reads from files (subscripted GET XLS / GET DIRECT CONSTANTS, DATA and
LOOKUPS, and GET DIRECT SUBSCRIPT ranges), read at import time (:mod:`.spreadsheets`).

Vensim's order, as its reference pages give it and PySD reads it:

- CONSTANTS fill the definition's subscripts from the cell on, the last subscript across the
  columns and the one before it down the rows (a one-subscript array is one row); a ``*`` at
  the end of the cell transposes (a one-subscript array is then one column). Subscripts
  naming one element do not count; at most two may have more than one.
- DATA and LOOKUPS read one series per element of the definition's one subscript with more
  than one element: a row each when the times (x) are in a row, a column each when they are
  in a column, from the cell on; or a named range of times and one of values.
- a data variable without an equation reads one series per element it defines from the
  data files given at import (:mod:`.datafiles`), then is read as DATA are.
- GET DIRECT SUBSCRIPT lists the cells from the first to the last, across then down, blanks
  left out, each after the prefix.

Constants become numbers (the array parameter or the numbers of an array auxiliary); a lookup
read from a file an array of tables; a data array an auxiliary reading an array of tables of
time, ``<name>_table``, with Vensim's data keyword per element (:func:`.external.data_table`).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from .controls import time_units
from .datafiles import array_series, without_equation
from .equations import TABLE_READER, UnsupportedError
from .external import data_table
from .groups import sim_units
from .reader import abstract_expressions
from .spreadsheets import SourceError, number
from .subscripts import is_number, values_of

ae = abstract_expressions()


def refusal(comps) -> UnsupportedError | None:
    """Why an array element's definitions cannot be imported, or None."""
    types = {c.type for c in comps}
    read = (ae.GetDataStructure, ae.DataStructure)
    if any(c.type == "Data" and not isinstance(c.ast, read) for c in comps):
        return UnsupportedError(
            "a data variable with an equation (name := expression)",
            "define it with = (an auxiliary), or read its values with GET XLS DATA",
        )
    if "Lookup" in types and types != {"Lookup"}:
        return UnsupportedError(
            "a lookup with subscripts mixed with equations", "give every element a table"
        )
    return None


def file_range(m, name: str, spec: dict) -> list[str]:
    """The elements of a range read with GET DIRECT SUBSCRIPT (``spec``: PySD's arguments)."""
    try:
        return m.books.elements(
            spec["file"],
            spec["tab"],
            spec["firstcell"],
            spec.get("lastcell") or "",
            spec.get("prefix") or "",
        )
    except SourceError as exc:
        raise m.fail(name, exc.problem, exc.fix) from None


def read_constants(m, el) -> tuple[object, list[str]]:
    """``el`` with its GET ... CONSTANTS definitions replaced by the numbers read, and where
    they were read."""
    comps, wheres = [], []
    for c in el.components:
        if isinstance(c.ast, ae.GetConstantsStructure):
            values, where = _constants(m, el, c)
            c = dataclasses.replace(c, ast=values, type="Constant")
            wheres.append(where)
        comps.append(c)
    if not wheres:
        return el, []
    return dataclasses.replace(el, components=comps), wheres


def _shape(m, c, most: int, what: str) -> tuple[list[int], list[int]]:
    """The lengths of a definition's subscripts, and those longer than one (at most
    ``most``)."""
    shape = [len(m.subs.expand(s)) for s in c.subscripts[0]]
    big = [n for n in shape if n > 1]
    if len(big) > most:
        raise UnsupportedError(
            f"{what} over more than {most} subscript{'s' if most > 1 else ''} of more than one "
            "element",
            "write one definition per element of the other subscripts (as Vensim requires)",
        )
    return shape, big


def _constants(m, el, c) -> tuple[np.ndarray, str]:
    shape, big = _shape(m, c, 2, "GET ... CONSTANTS")
    rows, cols = [1] * (2 - len(big)) + big
    ast = c.ast
    turn = ast.cell.strip().endswith("*") and rows * cols > 1
    try:
        read = (cols, rows) if turn else (rows, cols)
        block, where = m.books.block(ast.file, ast.tab, ast.cell, *read)
    except SourceError as exc:
        raise m.fail(el.name, exc.problem, exc.fix) from None
    if turn:
        block = [list(r) for r in zip(*block, strict=True)]
    values = [number(v) for row in block for v in row]
    if None in values:
        raise m.fail(el.name, f"{where}: a cell holds no number", "check the cells")
    return np.array(values, dtype=float).reshape(shape), where


def _series(m, el, c, x_name: str) -> tuple[dict, str]:
    """The (x, y) points of each element a GET ... DATA/LOOKUPS definition defines."""
    _shape(m, c, 1, "GET ... DATA or LOOKUPS")
    items = list(itertools.product(*(m.subs.expand(s) for s in c.subscripts[0])))
    ast = c.ast
    axis = ast.x_row_or_col if x_name == "x" else ast.time_row_or_col
    try:
        series, where = m.books.series_block(ast.file, ast.tab, axis, ast.cell, len(items), x_name)
    except SourceError as exc:
        raise m.fail(el.name, exc.problem, exc.fix) from None
    covered = set(m.subs.covered(c))
    return {t: s for t, s in zip(items, series, strict=True) if t in covered}, where


def add_read_array(m, el, ident: str, sections: dict, wheres: list[str]) -> bool:
    """Put an array of lookups or data read from files into ``sections``; False when
    ``el`` is neither."""
    asts = [c.ast for c in el.components]
    if any(isinstance(a, ae.GetLookupsStructure) for a in asts):
        _lookups(m, el, ident, sections, wheres)
        return True
    if any(isinstance(a, ae.GetDataStructure) for a in asts) or any(
        without_equation(c) for c in el.components
    ):
        _data(m, el, ident, sections, wheres)
        return True
    return False


def _head(m, el) -> dict:
    out = {"dims": [m.subs.ident[d] for d in m.subs.dims_of(el)]}
    if m.doc(el):
        out["doc"] = m.doc(el)
    return out


def _source(wheres: list[str]) -> dict:
    return {"source": "; ".join(dict.fromkeys(wheres))} if wheres else {}


def _lookups(m, el, ident: str, sections: dict, wheres: list[str]) -> None:
    subs, x, y = m.subs, {}, {}
    for c in el.components:
        if isinstance(c.ast, ae.GetLookupsStructure):
            tables, where = _series(m, el, c, "x")
            wheres.append(where)
            for t, (xs, ys) in tables.items():
                x[subs.labels(t)], y[subs.labels(t)] = xs, ys
            continue
        table = m.table(c.ast)
        keys = [subs.labels(t) for t in subs.covered(c)] if c.subscripts[1] else []
        for k in keys or [subs.label(c.subscripts[0])]:
            x[k], y[k] = table["x"], table["y"]
    sections["lookups"][ident] = {**_head(m, el), "x": x, "y": y, **_source(wheres)}


def _data(m, el, ident: str, sections: dict, wheres: list[str]) -> None:
    """An array auxiliary reading ``<name>_table[element]`` at ``time`` where the data are,
    its numbers or equations elsewhere."""
    subs, table = m.subs, m._table_ident(el.name)
    x, y, elements, readers, read = {}, {}, {}, set(), 0
    for c in el.components:
        cover = [subs.labels(t) for t in subs.covered(c)]
        if isinstance(c.ast, ae.GetDataStructure) or without_equation(c):
            if without_equation(c):  # its series from the data files given at import
                try:
                    tables, where = array_series(m, el, c)
                except SourceError as exc:
                    raise m.fail(el.name, exc.problem, exc.fix) from None
            else:
                tables, where = _series(m, el, c, "times")
            wheres.append(where)
            for t, (xs, ys) in tables.items():
                kind = data_table(m, xs, ys, getattr(c, "keyword", None))
                k, reader = subs.labels(t), TABLE_READER[kind.type]
                x[k], y[k] = [float(v) for v in kind.x], [float(v) for v in kind.y]
                elements[k] = f"{reader}({table}[{k}], time)"
                readers.add(reader)
                read += 1
        elif is_number(c.ast):
            numbers = values_of(subs, c)
            for t in subs.covered(c):
                k = subs.labels(t)
                elements[k], x[k], y[k] = repr(numbers[t]), [0.0], [numbers[t]]
        else:
            text = m.equation(el, c.ast)
            for k in cover:
                elements[k], x[k], y[k] = text, [0.0], [0.0]  # the table is not read there
    head = _head(m, el)
    units = {"x_units": "1", "y_units": "1"}
    if m.with_units:
        units = {"x_units": sim_units(time_units(m)), "y_units": m.units(el.units)}
    doc = f"the data of {el.name}, per element"
    sections["lookups"][table] = {"dims": list(head["dims"]), "x": x, "y": y, **units, "doc": doc}
    sections["lookups"][table].update(_source(wheres))
    body: dict = {"elements": elements}
    if len(readers) == 1 and read == len(elements):
        body = {"equation": f"{readers.pop()}({table}[{', '.join(head['dims'])}], time)"}
    sections["auxiliaries"][ident] = {**head, **body, "units": m.units(el.units)}
