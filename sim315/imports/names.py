"""Safe identifiers for names from the wild.

Vensim and XMILE names may hold spaces, punctuation and non-ASCII letters, be Python keywords
or start with a digit; sim315 names are ASCII identifiers. :class:`NameTable` gives every
original name one safe identifier, unique in the model, and remembers the original so that
it is written into the model file (``names:``) for display and ``--outputs``.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

from ..language.expressions import FUNCTIONS, SPECIAL_NAMES

_RUN = re.compile(r"[^0-9a-z]+")

#: Vensim's control variables (by :func:`key`) -> the field of the time grid each sets.
CONTROL = {"initial time": "start", "final time": "stop", "time step": "dt", "saveper": "save"}


def key(name: str) -> str:
    """How Vensim and XMILE compare names: case, spaces and underscores do not matter."""
    text = unicodedata.normalize("NFC", name).strip().strip('"').lower()
    return " ".join(text.replace("_", " ").replace("\\n", " ").split())


def safe_identifier(name: str) -> str:
    """A sim315 identifier read from ``name`` (not yet made unique).

    Accents are dropped (``é`` -> ``e``), other non-ASCII letters become their code point
    (``人`` -> ``u4eba``), runs of anything else become ``_``; a leading digit gets ``v_``
    before it and a reserved word ``_`` after it.
    """
    parts = []
    for ch in unicodedata.normalize("NFKD", key(name)):
        if unicodedata.combining(ch):
            continue
        parts.append(ch if ch.isascii() else f" u{ord(ch):x} ")
    text = _RUN.sub("_", "".join(parts).lower()).strip("_") or "v"
    if text[0].isdigit():
        text = "v_" + text
    if keyword.iskeyword(text) or text in SPECIAL_NAMES or text in FUNCTIONS:
        text += "_"
    return text


class NameTable:
    """Original names -> unique safe identifiers, in the order they were added."""

    def __init__(self, reserved: set[str] | None = None):
        self.by_key: dict[str, str] = {}
        self.original: dict[str, str] = {}
        self.taken = set(reserved or ())

    def add(self, name: str) -> str:
        """The identifier of ``name``, made for it the first time it is seen."""
        k = key(name)
        if k in self.by_key:
            return self.by_key[k]
        base = safe_identifier(name)
        ident, n = base, 1
        while ident in self.taken:
            n += 1
            ident = f"{base}_{n}"
        self.taken.add(ident)
        self.by_key[k] = ident
        self.original[ident] = " ".join(name.strip().strip('"').split())
        return ident

    def get(self, name: str) -> str | None:
        return self.by_key.get(key(name))

    def renamed(self) -> dict[str, str]:
        """Identifier -> original name, for the names that changed."""
        return {i: o for i, o in self.original.items() if i != o}
