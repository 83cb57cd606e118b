"""The one error type users see, and the helpers that make its message useful."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class Sim315Error(ValueError):
    """Bad input: a broken file, an unknown name, an impossible setting.

    A ``ValueError``, so that API users catch it as the bad value it is. The CLI prints
    ``str(error)`` as one line and exits with code 2, without a traceback.

    Parameters
    ----------
    source : str
        The file (or other input) at fault, as the user named it.
    where : str
        The element and field at fault, e.g. ``flows.heat_loss.equation``; may be empty.
    problem : str
        What is wrong.
    fix : str, optional
        What to do about it.
    line : int, optional
        1-based line in ``source``, when known.
    """

    def __init__(
        self,
        source: str,
        where: str,
        problem: str,
        fix: str | None = None,
        line: int | None = None,
    ):
        self.source = str(source)
        self.where = where
        self.problem = problem
        self.fix = fix
        self.line = line
        super().__init__(self.message())

    def message(self) -> str:
        """The one-line message: ``file:line: where: problem; fix``."""
        head = self.source if self.line is None else f"{self.source}:{self.line}"
        parts = [head]
        if self.where:
            parts.append(self.where)
        text = ": ".join(parts) + ": " + self.problem
        if self.fix:
            text += f"; {self.fix}"
        return " ".join(text.split())  # one line, whatever the pieces held


class ModelError(Sim315Error):
    """A model file that cannot be compiled."""


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ``did you mean`` hint for an unknown ``name``, or a list of the valid ones."""
    cands = sorted(set(candidates))
    close = difflib.get_close_matches(name, cands, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not cands:
        return "nothing of that kind is defined"
    shown = ", ".join(cands[:8]) + (", ..." if len(cands) > 8 else "")
    return f"valid names: {shown}"
