"""Reading the spreadsheets and delimited text files that Vensim's GET XLS / GET DIRECT
functions name, at import time.

A :class:`Workbooks` reads each file once, relative to the model file, and keeps the digest of
every file it read (the translation cache re-imports when one changes). Cells are named as
Vensim names them in every file type: column letters from A, row numbers from 1. Every
failure is a :class:`SourceError`, one sentence that the importer prefixes with the model file
and the element.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import warnings
from pathlib import Path

#: Spreadsheet suffixes (lower case); any other file is delimited text.
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")

_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]+)$")


class SourceError(Exception):
    """A file, sheet or cell that cannot be read; ``fix`` says what to do."""

    def __init__(self, problem: str, fix: str):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix


def column_index(letters: str) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - ord("A") + 1
    return n - 1


def cell_index(cell: str) -> tuple[int, int]:
    """``B2`` -> (row 1, column 1), zero-based."""
    m = _CELL.match(cell.strip())
    if m is None:
        raise SourceError(
            f"'{cell}' is neither a cell like B2 nor a named range of the workbook",
            "give the cell by its column letters and row number, or the name of a range",
        )
    return int(m.group(2)) - 1, column_index(m.group(1))


def number(value) -> float | None:
    """A cell's value as a number; None for a blank or text cell."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


class Workbooks:
    """The files one model reads, each read once. ``base``: the model file's folder."""

    def __init__(self, base: Path):
        self.base = base
        self.sheets: dict[tuple[Path, str], list[list]] = {}
        self.ranges: dict[tuple[Path, str], dict[str, tuple[str, str]]] = {}
        self.digests: dict[str, str] = {}

    def locate(self, name: str) -> Path:
        """The file ``name`` (as the model writes it) beside the model file.

        A spreadsheet that is not there under its own suffix is looked for under the other
        spreadsheet suffixes (a workbook saved again as ``.xlsx`` keeps the model's
        ``.xls`` name working); only one may match.
        """
        text = name.strip().replace("\\", "/")
        if text.startswith("?"):
            raise SourceError(
                f"the file tag '{text}' is resolved in Vensim's settings, not in the model",
                "write the file name in the function",
            )
        path = (self.base / text).resolve()
        if path.is_file():
            return path
        if path.suffix.lower() in SPREADSHEETS:
            found = [
                path.with_suffix(s)
                for s in SPREADSHEETS
                if s != path.suffix.lower() and path.with_suffix(s).is_file()
            ]
            if len(found) == 1:
                return found[0]
        raise SourceError(
            f"the data file '{text}' is not in the model file's folder",
            "put the file beside the model file or correct its name in the equation",
        )

    def grid(self, name: str, tab: str) -> tuple[Path, list[list]]:
        """The file's sheet ``tab`` (a spreadsheet) or its rows (delimited text)."""
        path = self.locate(name)
        return path, self._sheet(path, tab)

    def _sheet(self, path: Path, tab: str) -> list[list]:
        key = (path, tab)
        if key not in self.sheets:
            data = path.read_bytes()
            self.digests[str(path)] = hashlib.sha256(data).hexdigest()
            if path.suffix.lower() in SPREADSHEETS:
                self.sheets[key], self.ranges[key] = _read_sheet(path, data, tab)
            else:
                self.sheets[key] = _read_text(path, data, tab)
        return self.sheets[key]

    def named(self, path: Path, tab: str, ref: str) -> list | None:
        """The cell values of the workbook's named range ``ref`` (the sheet's own names
        first), row by row; None when ``ref`` names no range."""
        rows = self.named_rows(path, tab, ref)
        return None if rows is None else [v for row in rows for v in row]

    def named_rows(self, path: Path, tab: str, ref: str) -> list[list] | None:
        """:meth:`named`, as a list of rows."""
        found = self.ranges.get((path, tab), {}).get(ref.strip().rstrip("*").lower())
        if found is None:
            return None
        sheet, area = found
        grid = self._sheet(path, sheet)
        first, _, last = area.replace("$", "").partition(":")
        (r0, c0), (r1, c1) = cell_index(first), cell_index(last or first)
        return [[_at(grid, r, c) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]

    def block(self, name: str, tab: str, cell: str, rows: int, cols: int) -> tuple[list, str]:
        """``rows`` x ``cols`` cells (a list of rows) from the top-left ``cell`` on, or the
        named range ``cell`` of that shape, and where they came from."""
        path, grid = self.grid(name, tab)
        ref = cell.strip().rstrip("*").strip()
        found = self.named_rows(path, tab, ref)
        if found is not None:
            where = _where(path, tab, f"range {ref}")
            shape = (len(found), len(found[0]) if found else 0)
            if shape != (rows, cols) and not (1 in shape and 1 in (rows, cols)):
                raise SourceError(
                    f"{where} has {shape[0]} x {shape[1]} cells, the subscripts {rows} x {cols}",
                    "make the range the shape of the subscripts (or add * to transpose)",
                )
            flat = [v for row in found for v in row]
            if len(flat) != rows * cols:
                raise SourceError(
                    f"{where} has {len(flat)} cells, the subscripts {rows * cols}",
                    "make the range as long as the subscripts",
                )
            return [flat[i * cols : (i + 1) * cols] for i in range(rows)], where
        r0, c0 = cell_index(ref)
        where = _where(path, tab, f"cells from {ref.upper()}")
        return [[_at(grid, r0 + i, c0 + j) for j in range(cols)] for i in range(rows)], where

    def series_block(
        self, name: str, tab: str, axis: str, cell: str, count: int, x_name: str = "times"
    ) -> tuple[list[tuple[list, list]], str]:
        """``count`` series sharing one x (:meth:`series` for an array): x in the row (a
        number) or column (a letter) ``axis``, the series from ``cell`` on, one per row
        (x across) or per column (x down); or two named ranges, x and a table of values.
        Gives each series' (x, y) points and where they came from."""
        path, grid = self.grid(name, tab)
        axis = axis.strip().upper()
        named_x, named_y = self.named(path, tab, axis), self.named_rows(path, tab, cell)
        if named_x is not None and named_y is not None:
            across = len(self.named_rows(path, tab, axis)) == 1 and len(named_x) > 1
            table = [list(c) for c in zip(*named_y, strict=True)] if across else named_y
            cols = [[row[j] if j < len(row) else None for row in table] for j in range(count)]
            where = _where(path, tab, f"ranges {axis} and {cell.strip()}")
            pairs = [_pairs(list(zip(named_x, c, strict=False)), where, x_name) for c in cols]
            return [p[:2] for p in pairs], where
        r0, c0 = cell_index(cell)
        if axis.isdigit():
            xs = [_at(grid, int(axis) - 1, c) for c in range(c0, _width(grid))]
            cols = [[_at(grid, r0 + i, c) for c in range(c0, _width(grid))] for i in range(count)]
            line = f"row {axis}"
        elif axis.isalpha():
            xs = [_at(grid, r, column_index(axis)) for r in range(r0, len(grid))]
            cols = [[_at(grid, r, c0 + i) for r in range(r0, len(grid))] for i in range(count)]
            line = f"column {axis}"
        else:
            raise SourceError(
                f"'{axis}' is neither a row number, a column letter nor a named range of the "
                "workbook",
                "give the row (1, 2, ...) or column (A, B, ...) that holds the times",
            )
        where = _where(path, tab, f"{x_name} in {line}, values from cell {cell.strip().upper()}")
        return [_pairs(list(zip(xs, c, strict=True)), where, x_name)[:2] for c in cols], where

    def elements(self, name: str, tab: str, first: str, last: str, prefix: str) -> list[str]:
        """GET DIRECT SUBSCRIPT: the cells from ``first`` to ``last`` (a cell, a row number,
        a column, or blank: to the end), across and then down, blanks left out, each with
        ``prefix`` before it."""
        path, grid = self.grid(name, tab)
        found = self.named_rows(path, tab, first)
        if found is None:
            r0, c0 = cell_index(first)
            r1, c1 = len(grid) - 1, _width(grid) - 1
            last = last.strip().replace("$", "").upper()
            if last.isdigit():
                r1 = int(last) - 1
            elif last.isalpha():
                c1 = column_index(last)
            elif last:
                r1, c1 = cell_index(last)
            found = [[_at(grid, r, c) for c in range(c0, c1 + 1)] for r in range(r0, r1 + 1)]
        out = []
        for v in (v for row in found for v in row):
            n = number(v)
            if n is not None and n == int(n) and not isinstance(v, str):
                v = int(n)
            if v is not None and str(v).strip():
                out.append(f"{prefix}{str(v).strip()}")
        if not out:
            raise SourceError(f"{_where(path, tab, f'cells from {first}')} are empty", "check them")
        return out

    def constant(self, name: str, tab: str, cell: str) -> tuple[float, str]:
        """The number in ``cell`` (or the first of a named range), and where it came from
        (for the model file's ``source``)."""
        path, grid = self.grid(name, tab)
        values = self.named(path, tab, cell)
        if values is not None:
            value = number(values[0]) if values else None
            where = _where(path, tab, f"range {cell.strip()}")
        else:
            r, c = cell_index(cell)
            value = number(_at(grid, r, c))
            where = _where(path, tab, f"cell {cell.strip().upper()}")
        if value is None:
            raise SourceError(f"{where} holds no number", "check the cell in the equation")
        return value, where

    def series(
        self, name: str, tab: str, time_row_or_col: str, cell: str, x_name: str = "times"
    ) -> tuple[list[float], list[float], str]:
        """A time series (or a table's x and y): x values in the row (a number) or column (a
        letter) ``time_row_or_col``, y values from ``cell`` on, across or down; read until the
        end of the row or column. A blank or text x or y is a missing value: the point is
        left out (as Vensim does)."""
        path, grid = self.grid(name, tab)
        axis = time_row_or_col.strip().upper()
        named_x, named_y = self.named(path, tab, axis), self.named(path, tab, cell)
        if named_x is not None and named_y is not None:  # two named ranges, side by side
            cells = list(zip(named_x, named_y, strict=False))
            return _pairs(cells, _where(path, tab, f"ranges {axis} and {cell.strip()}"), x_name)
        r0, c0 = cell_index(cell)
        if axis.isdigit():  # x across, in row `axis`
            xr = int(axis) - 1
            cells = [(_at(grid, xr, c), _at(grid, r0, c)) for c in range(c0, _width(grid))]
        elif axis.isalpha():  # x down, in column `axis`
            xc = column_index(axis)
            cells = [(_at(grid, r, xc), _at(grid, r, c0)) for r in range(r0, len(grid))]
        else:
            raise SourceError(
                f"'{time_row_or_col.strip()}' is neither a row number, a column letter nor a "
                "named range of the workbook",
                "give the row (1, 2, ...) or column (A, B, ...) that holds the times",
            )
        line = f"row {axis}" if axis.isdigit() else f"column {axis}"
        where = _where(path, tab, f"{x_name} in {line}, values from cell {cell.strip().upper()}")
        return _pairs(cells, where, x_name)


def _pairs(cells: list[tuple], where: str, x_name: str) -> tuple[list, list, str]:
    """(x, y) cells -> the x and y of the points; a blank (or text) x or y is a missing
    value, its point left out."""
    xs, ys = [], []
    for x, y in cells:
        x, y = number(x), number(y)
        if x is not None and y is not None:
            xs.append(x)
            ys.append(y)
    if not xs:
        raise SourceError(f"no numbers at {where}", "check the row or column and the cell")
    if any(b <= a for a, b in itertools.pairwise(xs)):
        raise SourceError(f"the {x_name} at {where} do not increase", "sort them")
    return xs, ys, where


def _where(path: Path, tab: str, what: str) -> str:
    if path.suffix.lower() in SPREADSHEETS:
        return f"{path.name}, sheet '{tab}', {what}"
    return f"{path.name}, {what}"


def _at(grid: list[list], r: int, c: int):
    if 0 <= r < len(grid) and 0 <= c < len(grid[r]):
        return grid[r][c]
    return None


def _width(grid: list[list]) -> int:
    return max((len(row) for row in grid), default=0)


def _read_sheet(path: Path, data: bytes, tab: str) -> tuple[list[list], dict]:
    """The cell values of sheet ``tab`` and the workbook's named ranges as the sheet sees
    them (name -> (sheet, cells); openpyxl for .xlsx/.xlsm, pandas without names for the
    rest)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise SourceError(
                f"{path.name} is not a readable workbook ({exc})", "resave it"
            ) from None
        try:
            if tab not in book.sheetnames:
                raise _no_sheet(path, tab, book.sheetnames)
            sheet = book[tab]
            names = {}
            for scope in (book.defined_names, getattr(sheet, "defined_names", {})):
                for name, defined in scope.items():  # the sheet's own names last: they win
                    for where in defined.destinations:
                        names[name.lower()] = where
                        break
            return [list(row) for row in sheet.iter_rows(values_only=True)], names
        finally:
            book.close()
    import pandas as pd

    try:
        with warnings.catch_warnings():  # pandas 3 deprecates its xlrd engine, for .xls
            warnings.simplefilter("ignore")
            sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, header=None)
    except ImportError as exc:
        raise SourceError(
            f"reading {path.name} needs {exc.name or 'an Excel reader'}",
            "install it, or save the workbook as .xlsx",
        ) from None
    if tab not in sheets:
        raise _no_sheet(path, tab, list(sheets))
    frame = sheets[tab].astype(object)
    return frame.where(frame.notna(), None).values.tolist(), {}


def _no_sheet(path: Path, tab: str, names: list[str]) -> SourceError:
    have = ", ".join(f"'{n}'" for n in names)
    return SourceError(f"{path.name} has no sheet '{tab}' (it has {have})", "name one of them")


def _read_text(path: Path, data: bytes, tab: str) -> list[list]:
    """Delimited text: the delimiter is ``tab`` when it is one punctuation character, else a
    comma for ``.csv`` and a tab for other files (Vensim's rule)."""
    sep = tab if len(tab) == 1 and not tab.isalnum() else None
    if tab in ("\\t", "\t"):
        sep = "\t"
    if sep is None:
        sep = "," if path.suffix.lower() == ".csv" else "\t"
    text = data.decode("utf-8-sig", errors="replace")
    return [list(row) for row in csv.reader(io.StringIO(text), delimiter=sep)]
