"""Labels a policy-maker can read: titles from ``long_name``, friendly units, numbers with
thousands separators. Shared by the static charts, the tables and the HTML explorer."""

from __future__ import annotations

import math

_PLURAL = {
    "firm": "firms",
    "person": "people",
    "patent": "patents",
    "platform": "platforms",
    "lab": "labs",
    "project": "projects",
    "result": "results",
    "team": "teams",
    "zone": "zones",
    "consortium": "consortia",
    "tenk_person": "10,000 people",
    "billion_yuan": "billion yuan",
    "million_yuan": "million yuan",
    "percent": "%",
    "year": "years",
    "dimensionless": "",
    "1": "",
}


def units(raw: str) -> str:
    """``billion_yuan/year`` -> ``billion yuan a year``; ``patent/tenk_person`` -> ``patents
    per 10,000 people``; ``percent`` -> ``%``."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    top, _, bottom = raw.partition("/")
    text = _PLURAL.get(top, top.replace("_", " "))
    if not bottom:
        return text
    if bottom == "year":
        return f"{text} a year"
    return f"{text} per {_PLURAL.get(bottom, bottom.replace('_', ' '))}"


def title(name: str, long_name: str | None) -> str:
    """The element's description without its parenthesised remarks, or its name."""
    text = (long_name or "").strip()
    if not text or text == name:
        return name.replace("_", " ")
    head = text.split(" (")[0].strip()
    return head or text


def number(v: float | None, digits: int = 3) -> str:
    """``1400000.0`` -> ``1,400,000``; ``0.0123`` -> ``0.0123``; None/NaN -> ``-``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:,.1f}".rstrip("0").rstrip(".")
    return f"{v:.{digits}g}"


def percent(p: float | None) -> str:
    """A share as a whole percentage: ``0.853`` -> ``85%``."""
    if p is None or not math.isfinite(p):
        return "-"
    return f"{100 * p:.0f}%"


def year(y: float) -> str:
    """``2027.0`` -> ``2027``."""
    return f"{y:.0f}" if float(y).is_integer() else f"{y:g}"
