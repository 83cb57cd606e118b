"""Conformance against the SD community's test-models corpus (SDXorg/test-models subset).

Each case in ``tests/sdcorpus/<case>.yaml`` is a hand translation of the corpus's Vensim
model (see the header comment of each file and ``tests/sdcorpus/README.md``). The test runs
it with Euler and compares every variable that exists in both the model and the canonical
output at the saved times. The canonical outputs are not copied into this repository: they
are read from ``../shared/sd-test-models/`` next to the repository root, and the tests skip
when that folder is absent.

Tolerance: ``rtol=1e-4`` plus ``atol=1e-6``. Vensim writes its output with about six
significant digits (a relative rounding error up to 5e-6), and some cases were produced by
single-precision Vensim builds (float32: ~6e-8 per operation, accumulated over up to 3200
Euler steps); rtol 1e-4 covers both with a margin, as in PySD, SDEverywhere and Simlin.
The small atol only covers values that pass through zero, where a relative tolerance means
nothing. One case needs more, set per variable with its reason (``Case.atol``): a float32
running sum that crosses zero keeps the rounding error of the terms it summed, not of its
(zero) value. The saved times themselves are written with six significant digits too, so
they are matched with a relative tolerance of 1e-5.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import sim315

HERE = Path(__file__).resolve().parent
MODELS = HERE / "sdcorpus"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "sd-test-models"

RTOL = 1e-4
ATOL = 1e-6

#: Vensim's control variables, written to some outputs; not model variables.
CONTROL = {"final_time", "initial_time", "saveper", "time_step"}


@dataclass(frozen=True)
class Case:
    """One corpus case: where it lives and which reference outputs to compare with."""

    name: str
    folder: str
    references: tuple[str, ...] = ("output.csv",)
    omitted: frozenset[str] = frozenset()
    """Output columns (snake_case) the translation cannot express, with the reason in README."""
    atol: tuple[tuple[str, float], ...] = ()
    """Per-variable absolute tolerances replacing ATOL, each justified where it is set."""


CASES = [
    Case("teacup", "samples/teacup"),
    Case("SIR", "samples/SIR"),
    Case("delays", "tests/delays", ("output.tab",)),
    Case("delay_fixed", "tests/delay_fixed", ("output.tab",)),
    Case("smooth", "tests/smooth", ("output.tab",)),
    Case("smooth_and_stock", "tests/smooth_and_stock", ("output.tab",)),
    Case("lookups", "tests/lookups", ("output.tab",)),
    Case("input_functions", "tests/input_functions"),
    # output.csv of these three is Stella 10.0.6's; the Vensim 6.3 output is compared too
    Case("builtin_max", "tests/builtin_max", ("output.csv", "output_vensim63dss.csv")),
    Case("builtin_min", "tests/builtin_min", ("output.csv", "output_vensim63dss.csv")),
    Case("if_stmt", "tests/if_stmt", ("output.csv", "output_vensim63dp.csv")),
    # StockA = -5 + 0.1/month crosses zero at t=50, where single-precision Vensim's running
    # sum of 0.1s reads -2.52e-06 (float32 rounding of 50 terms of 0.1 on a level of 5:
    # 50 * 6e-8 * 5 = 1.5e-5 at most); double precision gives ~1e-15. Not a model mismatch.
    Case("exp", "tests/exp", atol=(("stocka", 2e-5),)),
    Case("ln", "tests/ln", ("output.tab",)),
    Case("sqrt", "tests/sqrt"),
    Case("abs", "tests/abs"),
    Case("chained_initialization", "tests/chained_initialization", ("output.tab",)),
    Case("euler_step_vs_saveper", "tests/euler_step_vs_saveper", ("output.tab",)),
]


def snake(name: str) -> str:
    """A Vensim variable name as this repository's model files spell it."""
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def read_output(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A Vensim/Stella output file: the time column and the other columns by snake_case name.

    Handles CSV and tab-separated files, CR, LF or CRLF line endings and blank lines.
    Vensim writes a constant only in the first row and leaves it blank after; blanks are
    filled with the value above (constants stay constant).
    """
    text = path.read_bytes().decode("utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    sep = "\t" if path.suffix == ".tab" else ","
    header = [h.strip() for h in lines[0].split(sep)]
    rows = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.split(sep)]
        cells += [""] * (len(header) - len(cells))
        rows.append([float(c) if c else math.nan for c in cells[: len(header)]])
    data = np.array(rows, dtype=np.float64)
    for j in range(data.shape[1]):
        col = data[:, j]
        for i in range(1, col.size):
            if math.isnan(col[i]):
                col[i] = col[i - 1]
    assert snake(header[0]) == "time", f"{path}: first column is {header[0]!r}, not Time"
    columns = {snake(h): data[:, j] for j, h in enumerate(header) if j}
    return data[:, 0], columns


def _params():
    for case in CASES:
        for ref in case.references:
            yield pytest.param(case, ref, id=f"{case.name}-{ref}")


@pytest.mark.parametrize(("case", "reference"), list(_params()))
def test_sd_corpus(case: Case, reference: str):
    if not CORPUS.is_dir():
        pytest.skip(f"SD test-models corpus not found at {CORPUS}")
    ref_path = CORPUS / case.folder / reference
    assert ref_path.is_file(), f"missing canonical output {ref_path}"
    ref_time, ref_cols = read_output(ref_path)

    model = sim315.load_model(MODELS / f"{case.name}.yaml")
    result = model.simulate(method="euler")
    assert result.n_failed == 0

    # the saved times of the reference must all be saved times of the simulation (they are
    # written with six significant digits: 10.03125 reads 10.0312)
    grid = model.grid
    idx = np.rint((ref_time - grid.start) / grid.save_every).astype(np.int64)
    assert idx.min() >= 0 and idx.max() < result.time.size, "reference outside the run"
    np.testing.assert_allclose(result.time[idx], ref_time, rtol=1e-5, atol=1e-9)

    expected = set(ref_cols) - CONTROL - case.omitted
    compared = expected & set(result.names)
    assert compared == expected, f"not in the model: {sorted(expected - compared)}"
    assert compared, "nothing to compare"

    atols = dict(case.atol)
    assert set(atols) <= compared, "a per-variable tolerance names no compared variable"
    mismatches = []
    for name in sorted(compared):
        got = result[name][0, idx]
        want = ref_cols[name]
        bad = ~np.isclose(got, want, rtol=RTOL, atol=atols.get(name, ATOL))
        if bad.any():
            i = int(np.argmax(bad))
            mismatches.append(
                f"{name}: {int(bad.sum())} of {bad.size} points differ, first at "
                f"time {ref_time[i]:g}: sim315 {got[i]:.7g}, reference {want[i]:.7g}"
            )
    assert not mismatches, f"{case.name} vs {reference}:\n" + "\n".join(mismatches)
