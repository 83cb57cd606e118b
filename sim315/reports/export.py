"""``sim315 export``: a result file as CSV or Excel, long (tidy) or wide.

What is written comes from :func:`sim315.results.reader.to_dataframe`: the runs (one value per
variable, run and time) or, with ``percentiles``, the summary (5, 25, 50, 75 and 95 % per
variable and time). An Excel workbook also holds the target table and an ``about`` sheet
(scenario, seed, runs, model hash, versions).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..core.errors import Sim315Error

#: Rows an Excel sheet holds (the header row included).
EXCEL_ROWS = 1_048_576
ABOUT = ("scenario_file", "model_name", "model_hash", "seed", "runs", "n_failed", "sampler",
         "method", "created_utc", "sim315_version")  # fmt: skip


def table(path: str | Path, variables=None, *, percentiles: bool = False, wide: bool = False):
    """The DataFrame that :func:`export` writes."""
    from ..results.reader import open_results, to_dataframe

    ds = open_results(path)
    what = "percentiles" if percentiles else "runs"
    return ds, to_dataframe(ds, variables, what=what, wide=wide)


def export(
    path: str | Path,
    out: str | Path,
    *,
    fmt: str,
    variables=None,
    percentiles: bool = False,
    wide: bool = False,
) -> Path:
    """Write ``path``'s runs or percentiles to ``out`` as ``fmt`` (``csv`` or ``xlsx``)."""
    import pandas as pd

    from ..results.reader import to_dataframe

    out = Path(out)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise Sim315Error(str(out), "--out", "its folder does not exist", "create it first")
    ds, frame = table(path, variables, percentiles=percentiles, wide=wide)
    if fmt == "xlsx" and len(frame) + 1 > EXCEL_ROWS:
        raise Sim315Error(
            str(path),
            "--xlsx",
            f"{len(frame):,} rows do not fit an Excel sheet ({EXCEL_ROWS:,})",
            "use --wide, --vars, --percentiles or --csv",
        )
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.", suffix=f".tmp.{fmt}")
    os.close(fd)
    try:
        if fmt == "csv":
            frame.to_csv(tmp, index=False)
        else:
            about = pd.DataFrame(
                [(k, str(ds.attrs.get(k, ""))) for k in ABOUT], columns=["field", "value"]
            )
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                frame.to_excel(xl, sheet_name="percentiles" if percentiles else "runs", index=False)
                to_dataframe(ds, what="targets").to_excel(xl, sheet_name="targets", index=False)
                about.to_excel(xl, sheet_name="about", index=False)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise Sim315Error(str(out), "--out", f"cannot write ({exc.strerror})") from None
    return out
