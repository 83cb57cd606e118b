"""The ``sim315`` command line: a thin layer over the public API.

:mod:`.app` is the command group and its one-line errors; each other module adds the commands
of one area: :mod:`.model` (model files), :mod:`.run` (scenarios), :mod:`.analysis`
(calibration, backtests, sweeps) and :mod:`.results` (reports, exports, comparisons).
"""

from . import analysis, model, results, run  # noqa: F401  (imported for their commands)
from .app import EXIT_BAD_INPUT, EXIT_INTERNAL, main

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "main"]
