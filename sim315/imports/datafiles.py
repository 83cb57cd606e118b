"""Data variables without an equation (``x :INTERPOLATE:``, ``x :RAW:``, ``x :=`` with
nothing after it), whose values Vensim takes from the data file of a run (a ``.vdf``) and
PySD from the ``.tab``/``.csv`` files given with ``data_files``. The user gives such files at
import (``sim315 import model.mdl --data data.tab``, ``import_model(path, data_files=...)``);
the series are read then and written into the model file like those of GET XLS DATA
(:mod:`.external`, :mod:`.filearrays`): a table of time per variable (per element of an
array), read with the variable's data keyword.

A data file is delimited text (commas for ``.csv``, tabs otherwise), as Vensim exports a run
or a dataset: variable names across the first row and the times down the first column, or
names down the first column and the times across the first row. A subscripted variable has
one series per element, named as Vensim names them (``x[A,D]``; case, spaces and underscores
do not matter). Each series is read from the first file given that has it; a blank (or
text) value is a missing point, left out (as for GET ... DATA). Variables that the model
defines with an equation keep it, whatever the files hold.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from pathlib import Path

from ..core.errors import ModelError
from .names import key
from .reader import abstract_expressions
from .spreadsheets import SourceError, _pairs, number

ae = abstract_expressions()

#: The flag and argument that give data files, named in errors.
FLAG = "--data"
_FIX_NONE = (
    f"give the file that holds its values: sim315 import MODEL.mdl {FLAG} FILE.tab (or "
    "import_model(path, data_files=[...]) in Python); export a Vensim .vdf as .tab or .csv first"
)


class DataFiles:
    """The data files given at import, each read once (errors name the file)."""

    def __init__(self, paths: Iterable[str | Path]):
        self.digests: dict[str, str] = {}
        self.files: list[tuple[Path, bool, dict[str, tuple[str, list[tuple]]]]] = []
        for p in paths:
            self.files.append(self._read(Path(p)))

    def __bool__(self) -> bool:
        return bool(self.files)

    def names(self) -> str:
        return ", ".join(p.name for p, _, _ in self.files)

    def _read(self, path: Path) -> tuple[Path, bool, dict]:
        if path.suffix.lower() == ".vdf":
            raise ModelError(
                str(path),
                FLAG,
                "a .vdf is Vensim's binary data format, which sim315 cannot read",
                "export it as a .tab or .csv file (Vensim's Export Dataset) and give that",
            )
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelError(
                str(path), FLAG, f"cannot read the data file ({exc.strerror})", "check the path"
            ) from None
        self.digests[str(path.resolve())] = hashlib.sha256(data).hexdigest()
        sep = "," if path.suffix.lower() == ".csv" else "\t"
        text = data.decode("utf-8-sig", errors="replace")
        rows = [
            r for r in csv.reader(io.StringIO(text), delimiter=sep) if any(c.strip() for c in r)
        ]
        head = rows[0][1:] if rows else []
        first = [r[0] for r in rows[1:] if r]
        if any(c.strip() and number(c) is None for c in head):  # names across the first row
            across = False
            series = [
                (h, [(_at(r, 0), _at(r, j + 1)) for r in rows[1:]]) for j, h in enumerate(head)
            ]
        elif any(c.strip() and number(c) is None for c in first):  # names down the first column
            across = True
            series = [(r[0], [(h, _at(r, j + 1)) for j, h in enumerate(head)]) for r in rows[1:]]
        else:
            raise ModelError(
                str(path),
                FLAG,
                "not a data file: no variable names in its first row or first column",
                "give a .tab or .csv file with the times in the first column (or row) and a "
                "name per series",
            )
        columns: dict[str, tuple[str, list[tuple]]] = {}
        for name, cells in series:  # a name given twice: its first series
            columns.setdefault(series_key(name), (name.strip(), cells))
        return path, across, columns

    def series(self, label: str, k: str) -> tuple[list[float], list[float], str]:
        """The times and values of the series keyed ``k`` (:func:`series_key`) from the first
        file that has it, and where they came from; ``label`` names it in errors."""
        for path, across, columns in self.files:
            if k in columns:
                name, cells = columns[k]
                where = f"{path.name}, {'row' if across else 'column'} '{name}'"
                return _pairs(cells, where, "times")
        raise SourceError(
            f"the data files given ({self.names()}) have no series '{label}'",
            f"add its column to a data file, or give the file that has it with {FLAG}",
        )


def _at(row: list, j: int):
    return row[j] if j < len(row) else None


def series_key(name: str) -> str:
    """A series' name as compared: Vensim's name key, ``x[a, b]`` as ``x[a,b]``."""
    return re.sub(r"\s*([\[\],])\s*", r"\1", key(name))


def without_equation(component) -> bool:
    """Is ``component`` a data variable's definition without an equation?"""
    return component.type == "Data" and isinstance(component.ast, ae.DataStructure)


def check_given(m) -> None:
    """Refuse, before anything is read, a data variable without an equation when no data
    file was given (``m`` is the :class:`sim315.imports.mapping.ModelMapping`)."""
    if m.data:
        return
    for el in m.section.elements:
        if any(without_equation(c) for c in el.components):
            raise m.fail(
                el.name,
                "a data variable without an equation takes its values from a data file, and "
                "none was given",
                _FIX_NONE,
            )


def scalar_series(m, el) -> tuple[list[float], list[float], str]:
    """The times and values of scalar data variable ``el`` from the data files."""
    if not m.data:
        raise SourceError("a data variable without an equation needs a data file", _FIX_NONE)
    return m.data.series(el.name, series_key(el.name))


def array_series(m, el, c) -> tuple[dict, str]:
    """The (times, values) of each element that definition ``c`` of array data variable
    ``el`` defines, by element tuple, and where they came from (the files and series)."""
    if not m.data:
        raise SourceError("a data variable without an equation needs a data file", _FIX_NONE)
    subs, out, wheres = m.subs, {}, {}
    for t in subs.covered(c):
        label = f"{el.name}[{','.join(subs.original[subs.ident[e]] for e in t)}]"
        xs, ys, where = m.data.series(label, series_key(f"{el.name}[{','.join(t)}]"))
        out[t] = (xs, ys)
        file, _, rest = where.partition(", ")
        wheres.setdefault(file, rest.split(" ", 1)[0] + "s")
    names = "; ".join(f"{f}, {w} '{el.name}[...]'" for f, w in wheres.items())
    return out, names
