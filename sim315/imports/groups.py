"""Where an imported model's stocks belong (``group``), and Vensim/XMILE units as sim315 units.

Vensim views (read from the sketch by PySD, named as PySD names them: lower case) and XMILE
groups (``<group name="..."><entity name="..."/></group>`` in a model's ``<variables>``,
read here from the file, since PySD's XMILE translator skips them) give the stocks drawn
in them or listed in them their ``group``; a stock in several keeps the first.
"""

from __future__ import annotations

import re
from pathlib import Path


def add_groups(m, stocks: dict) -> None:
    """Set ``group`` on the stocks that a view or group of the model holds. ``m`` is the
    :class:`sim315.imports.mapping.ModelMapping`."""
    views = dict(getattr(m.section, "views_dict", None) or {})
    for name, members in xmile_groups(Path(m.source)).items():
        views.setdefault(name, members)
    for view, members in views.items():
        for member in members or ():
            ident = m.names.get(str(member))
            if ident in stocks and "group" not in stocks[ident] and member:
                stocks[ident]["group"] = " ".join(str(view).split())


def xmile_groups(path: Path) -> dict[str, list[str]]:
    """An XMILE file's groups: name -> the names of its entities (empty for other files, and
    for a file that is no readable XML: the translator reports that)."""
    if path.suffix.lower() not in (".xmile", ".stmx", ".xml"):
        return {}
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return {}
    out: dict[str, list[str]] = {}
    for variables in root.iter():
        if _local(variables.tag) != "variables":
            continue
        for group in variables:
            if _local(group.tag) == "group" and group.get("name"):
                members = out.setdefault(" ".join(group.get("name").split()), [])
                members += [e.get("name") for e in group if _local(e.tag) == "entity"]
    return out


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_UNIT_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*[A-Za-z0-9_]|[A-Za-z_]")


def sim_units(text: str | None) -> str:
    """A Vensim/XMILE unit string as a sim315 unit expression: words with spaces joined by
    ``_``, ``Dmnl``/empty as ``1``, ``^`` as a power. The importer checks the result and falls
    back to dimensionless when it does not parse or balance."""
    if text is None or not text.strip():
        return "1"
    t = text.strip()
    if t.lower() in ("dmnl", "dimensionless", "unitless", "1"):
        return "1"
    t = _UNIT_WORD.sub(lambda m: "_".join(m.group(0).split()), t)
    return t.replace("$", "dollar")
