"""Sparse, irregular history: one observation per row of a sourced CSV.

``calibration/data/jiaxing_history.csv`` has ``indicator,unit,year,value,scope,source_url,
quote``. Years and values are written as the sources wrote them, so they are read by rules:

- ``2020``, ``2020 (end of year)``, ``2021 (final verified)``: time 2020.0 (the model counts
  end-of-year stocks at the year's number);
- ``2023-08 snapshot ...``: a count published mid-year means the stock at the previous
  year-end (data README), time 2022.0;
- ``2017-2021 (five-year total)``, ``2020 vs 2015``, batch labels: not a point in time,
  skipped;
- values ``2416`` are observations, ``>3.4`` and ``>=5000`` lower bounds, ``<x`` upper
  bounds; the leading number is read (``">1200 ('over 1,200')"`` is ``> 1200``).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import Sim315Error
from ..core.textfile import CSV_LIMIT, read_text

_YEAR = re.compile(r"^\s*(\d{4})(?:-(\d{2}))?\b(.*)$")
_VALUE = re.compile(r"^\s*(>=|<=|>|<|≥|≤)?\s*([-+]?\d[\d,]*(?:\.\d+)?)")


@dataclass(frozen=True)
class Observation:
    """One figure read in a source."""

    indicator: str
    time: float
    value: float
    kind: str  # "=", ">" (a lower bound) or "<" (an upper bound)
    scope: str
    year_text: str
    source_url: str


def parse_time(text: str) -> float | None:
    """The model time of a year label, or None when it is not a point in time."""
    m = _YEAR.match(text)
    if not m:
        return None
    year, month, rest = int(m.group(1)), m.group(2), m.group(3)
    if re.match(r"^\s*-\s*\d{4}", rest) or " vs " in text:
        return None  # a span or a ratio of two years
    if month is not None and "snapshot" in rest:
        return float(year - 1)
    return float(year)


def parse_value(text: str) -> tuple[str, float] | None:
    """``("=", 2416.0)``, ``(">", 3.4)``... or None."""
    m = _VALUE.match(text)
    if not m:
        return None
    op = m.group(1) or "="
    op = {">=": ">", "≥": ">", "<=": "<", "≤": "<"}.get(op, op)
    return op, float(m.group(2).replace(",", ""))


def read_history(path: str | Path) -> list[Observation]:
    """Every row that is a point in time with a readable value."""
    path = Path(path)
    text = read_text(path, "data file", CSV_LIMIT)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    need = {"indicator", "year", "value", "scope"}
    if not need <= set(reader.fieldnames or ()):
        raise Sim315Error(
            str(path),
            "header",
            f"needs columns {sorted(need)}",
            "use the calibration/data format",
            line=1,
        )
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise Sim315Error(
            str(path), "data", f"unreadable CSV ({exc})", "fix the row", line=reader.line_num
        ) from None
    width = len(reader.fieldnames)
    out = []
    for k, row in enumerate(rows):
        if None in row.values() or None in row:
            got = width + len(row.get(None) or ()) - sum(v is None for v in row.values())
            raise Sim315Error(
                str(path),
                f"row {k + 1}",
                f"has {got} fields where the header has {width}",
                "quote values that hold commas, and fill every column",
                line=k + 2 if "\n" not in "".join(v or "" for v in row.values()) else None,
            )
        t = parse_time(row["year"])
        v = parse_value(row["value"])
        if t is None or v is None:
            continue
        out.append(
            Observation(
                row["indicator"],
                t,
                v[1],
                v[0],
                row["scope"],
                row["year"],
                row.get("source_url", ""),
            )
        )
    return out
