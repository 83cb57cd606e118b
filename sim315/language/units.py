"""A small dimension algebra for checking model units.

A unit string is a product of named base units with integer powers, e.g. ``firms/year``,
``yuan * person^-1``, ``1/year``, ``(kg*m)/s^2``; ``1`` and ``dimensionless`` mean no
units. Any other word is a base unit of its own: ``firm`` and ``firms`` are different units,
so name them consistently. Only dimensions are tracked, not scale factors: a model converts
between ``yuan`` and ``billion_yuan`` with an explicit parameter that carries both.
"""

from __future__ import annotations

import re
from fractions import Fraction

_TOKEN = re.compile(
    r"\s*(?:(?P<op>\*\*|[*/^()])|(?P<num>[-+]?\d+(?:\.\d+)?)|(?P<word>[^\s*/^()]+))"
)
_NO_UNITS = {"1", "dimensionless", "dmnl", "unitless"}


class UnitError(ValueError):
    """A unit string that cannot be parsed."""


class Dim:
    """A dimension: base unit -> rational power. Immutable and hashable."""

    __slots__ = ("_key", "powers")

    def __init__(self, powers: dict[str, Fraction] | None = None):
        clean = {k: Fraction(v) for k, v in (powers or {}).items() if v != 0}
        self.powers = clean
        self._key = tuple(sorted(clean.items()))

    @classmethod
    def base(cls, name: str) -> Dim:
        return cls({name: Fraction(1)})

    def __mul__(self, other: Dim) -> Dim:
        out = dict(self.powers)
        for k, v in other.powers.items():
            out[k] = out.get(k, 0) + v
        return Dim(out)

    def __truediv__(self, other: Dim) -> Dim:
        return self * other**-1

    def __pow__(self, n) -> Dim:
        n = Fraction(n)
        return Dim({k: v * n for k, v in self.powers.items()})

    def __eq__(self, other) -> bool:
        return isinstance(other, Dim) and self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    @property
    def dimensionless(self) -> bool:
        return not self.powers

    def __str__(self) -> str:
        if not self.powers:
            return "1"

        def term(name, p):
            if p == 1:
                return name
            return f"{name}^{p}" if p.denominator == 1 else f"{name}^({p})"

        num = [term(k, v) for k, v in self._key if v > 0]
        den = [term(k, -v) for k, v in self._key if v < 0]
        top = "*".join(num) if num else "1"
        if not den:
            return top
        bottom = den[0] if len(den) == 1 else "(" + "*".join(den) + ")"
        return f"{top}/{bottom}"

    def __repr__(self) -> str:
        return f"Dim({self})"


DIMENSIONLESS = Dim()


def parse_units(text: str) -> Dim:
    """Parse a unit string into a :class:`Dim`; raises :class:`UnitError`."""
    if not isinstance(text, str) or not text.strip():
        raise UnitError("empty unit string")
    tokens = []
    pos = 0
    s = text.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            raise UnitError(f"cannot read '{s[pos:]}'")
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
    parser = _Parser(tokens, text)
    dim = parser.product()
    if parser.i != len(tokens):
        raise UnitError(f"unexpected '{tokens[parser.i][1]}'")
    return dim


class _Parser:
    """product := power (('*'|'/') power)* ; power := atom (('^'|'**') number)?"""

    def __init__(self, tokens, text):
        self.tokens = tokens
        self.text = text
        self.i = 0

    def _peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def product(self) -> Dim:
        dim = self.power()
        while self._peek()[1] in ("*", "/"):
            op = self.tokens[self.i][1]
            self.i += 1
            rhs = self.power()
            dim = dim * rhs if op == "*" else dim / rhs
        return dim

    def power(self) -> Dim:
        dim = self.atom()
        if self._peek()[1] in ("^", "**"):
            self.i += 1
            kind, val = self._peek()
            negate = False
            if val == "(":  # allow x^(-1)
                self.i += 1
                kind, val = self._peek()
                closing = True
            else:
                closing = False
            if kind != "num":
                raise UnitError(f"a power needs a number in '{self.text}'")
            self.i += 1
            if closing:
                if self._peek()[1] != ")":
                    raise UnitError(f"missing ')' in '{self.text}'")
                self.i += 1
            power = Fraction(val)
            dim = dim ** (-power if negate else power)
        return dim

    def atom(self) -> Dim:
        kind, val = self._peek()
        if kind is None:
            raise UnitError(f"'{self.text}' ends too early")
        self.i += 1
        if val == "(":
            dim = self.product()
            if self._peek()[1] != ")":
                raise UnitError(f"missing ')' in '{self.text}'")
            self.i += 1
            return dim
        if kind == "num":
            if val == "1":
                return DIMENSIONLESS
            raise UnitError(
                f"numbers other than 1 are not units ('{val}'); carry scale factors in a parameter"
            )
        if kind == "word":
            if val.lower() in _NO_UNITS:
                return DIMENSIONLESS
            return Dim.base(val)
        raise UnitError(f"unexpected '{val}' in '{self.text}'")
