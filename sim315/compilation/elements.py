"""Checks of a model's elements before their equations are read: names (unique, valid,
not reserved, the same once Unicode is normalised) and parameter values (finite, within
their bounds, per element for arrays). A mixin of the compiler's ``_Compiler``."""

from __future__ import annotations

import itertools
import keyword
import math
import re
import unicodedata

from ..core.errors import suggest
from ..language.expressions import FUNCTIONS, SPECIAL_NAMES

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # used with fullmatch: no trailing newline
_SECTIONS = ("parameters", "stocks", "flows", "auxiliaries", "lookups")


class ElementChecks:
    """``check_names`` and ``check_values`` (the compiler provides ``spec``, ``fail``,
    ``layout`` and ``arrays``)."""

    def check_names(self) -> None:
        seen: dict[str, str] = {}
        folded: dict[str, str] = {}  # NFKC form -> name: Python reads identifiers as NFKC
        for section in _SECTIONS:
            for name in getattr(self.spec, section):
                loc = (section, name)
                if isinstance(name, str):
                    other = folded.setdefault(unicodedata.normalize("NFKC", name), name)
                    if other != name:
                        raise self.fail(
                            loc,
                            f"'{ascii(name)[1:-1]}' is the same name as '{other}' once Unicode "
                            "is normalised",
                            "give each a unique name in plain letters",
                        )
                if not isinstance(name, str) or not _NAME.fullmatch(name):
                    raise self.fail(
                        loc,
                        f"'{ascii(name)[1:-1] if isinstance(name, str) else name}' is not a "
                        "valid name",
                        "use letters, digits and '_', starting with a letter",
                    )
                if keyword.iskeyword(name) or name in SPECIAL_NAMES or name in FUNCTIONS:
                    raise self.fail(loc, f"'{name}' is a reserved word", "rename it")
                if name in seen:
                    raise self.fail(
                        loc, f"'{name}' is also defined in {seen[name]}", "give each a unique name"
                    )
                seen[name] = section
        self.section_of = seen
        for name in self.spec.names:  # original names of an imported model
            if name not in seen:
                raise self.fail(("names", name), f"'{name}' names no element", suggest(name, seen))

    def check_values(self) -> None:
        self.values: dict[str, list[float]] = {}
        for name, par in self.spec.parameters.items():
            loc = ("parameters", name)
            if self.arrays is not None and name in self.layout.dims:
                values = [float(v) for v in self.arrays.values(name, par.value)]
            elif isinstance(par.value, dict):
                raise self.fail(
                    (*loc, "value"),
                    "values per element need 'dims'",
                    "give one number, or declare the parameter's dims",
                )
            else:
                values = [par.value]
            self.values[name] = values
            bad = next((v for v in values if not math.isfinite(v)), None)
            if bad is not None:
                raise self.fail((*loc, "value"), f"value must be finite, not {bad}")
            if par.bounds is not None:
                lo, hi = par.bounds
                if lo is not None and hi is not None and lo > hi:
                    raise self.fail(
                        (*loc, "bounds"),
                        f"bounds [{lo}, {hi}] are reversed",
                        f"write [{hi}, {lo}]",
                    )
                out = [
                    v for v in values if (lo is not None and v < lo) or (hi is not None and v > hi)
                ]
                if out:
                    raise self.fail(
                        (*loc, "value"),
                        f"value {out[0]} lies outside its bounds {list(par.bounds)}",
                        "fix the value or the bounds",
                    )
        self.points: dict[str, list[tuple[list[float], list[float]]]] = {}
        for name, tab in self.spec.lookups.items():
            loc = ("lookups", name)
            if self.arrays is not None and name in self.layout.dims:
                xs = self.arrays.values(name, tab.x, (*loc, "x"))
                ys = self.arrays.values(name, tab.y, (*loc, "y"))
            elif isinstance(tab.x, dict) or isinstance(tab.y, dict):
                raise self.fail(loc, "points per element need 'dims'", "give one x and one y list")
            else:
                xs, ys = [tab.x], [tab.y]
            for x, y in zip(xs, ys, strict=True):
                self._check_points(loc, x, y)
            self.points[name] = list(zip(xs, ys, strict=True))

    def _check_points(self, loc: tuple, x: list[float], y: list[float]) -> None:
        if len(x) != len(y):
            raise self.fail(
                loc, f"x has {len(x)} points but y has {len(y)}", "give as many of each"
            )
        if not all(math.isfinite(v) for v in x + y):
            raise self.fail(loc, "points must be finite numbers")
        if any(b <= a for a, b in itertools.pairwise(x)):
            raise self.fail((*loc, "x"), "x must be strictly increasing", "sort the points")
