"""The SD conformance tier: every model of the corpus through the importer, against its
canonical output. ``python tests/conformance.py`` rewrites ``docs/conformance.md``;
``tests/test_import_conformance.py`` fails when that table is stale or a case fails.

Tolerance, per reference file: references printed with 12 or more significant digits are
double precision and are compared with rtol 1e-6. Vensim and Stella mostly print 6 (or 7)
significant digits: a printed value is off by up to half a unit in its last digit, so those
are compared with rtol 5e-6 (6 digits) or 5e-7 (7 digits) plus the same relative amount of
the column's largest value as atol (a value crossing zero keeps the rounding of the terms
that made it). One case needs more, :data:`WIDER` says which and why.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "sd-test-models"
TABLE = ROOT / "docs" / "conformance.md"
SUFFIXES = (".mdl", ".xmile", ".stmx")
CONTROL = {"final time", "initial time", "saveper", "time step", "time", "dt"}

#: Cases whose reference is itself approximate: rtol and why. Vensim solves ALLOCATE
#: AVAILABLE to a tolerance of its own: its printed allocations of 100 add up to 99.9994
#: and fill a request of 300 with 300.002; sim315 clears the market exactly (bisection to
#: the last bit), within 3.2e-4 of each column's largest value of Vensim's. PySD compares
#: this case at rtol 2e-2.
WIDER = {
    "tests/allocate_available/test_allocate_available.mdl": (
        5e-4,
        "Vensim's ALLOCATE AVAILABLE is approximate",
    ),
}


@dataclass(frozen=True)
class Outcome:
    case: str
    status: str  # pass | fail | unsupported | checked | incomplete | placeholder
    detail: str
    reference: str = ""
    tolerance: str = ""


def model_files() -> list[str]:
    """Every model file of the corpus, relative to it, sorted."""
    found = [p for p in CORPUS.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()]
    return sorted(str(p.relative_to(CORPUS)) for p in found)


#: Model files whose canonical output is not their folder's output file (the case's README
#: says so): model_to_generate_data.mdl made data.tab, which the folder's other model reads.
OWN_REFERENCE = {"model_to_generate_data.mdl": "data.tab"}


#: Data files a case's model needs (``sim315 import --data``), beside it: the folder's README
#: says data.tab is its data.vdf converted "to be able to simulate ... with PySD or any other
#: open-source tool".
DATA_FILES = {"tests/data_from_other_model/test_data_from_other_model.mdl": ["data.tab"]}


def reference_of(model: Path) -> Path | None:
    if model.name in OWN_REFERENCE:
        return model.parent / OWN_REFERENCE[model.name]
    for name in ("output.csv", "output.tab"):
        if (model.parent / name).is_file():
            return model.parent / name
    return None


def read_reference(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Time, the columns by original header, and the most significant digits printed."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    sep = "\t" if path.suffix == ".tab" else ","
    header = [h.strip().strip('"') for h in lines[0].split(sep)]
    rows, digits = [], 0
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.split(sep)]
        cells += [""] * (len(header) - len(cells))
        row = []
        for c in cells[: len(header)]:
            try:
                row.append(float(c) if c else math.nan)
            except ValueError:
                row.append(math.nan)
            mant = c.lower().split("e")[0].replace("-", "").replace(".", "").lstrip("0")
            digits = max(digits, len(mant.rstrip("0")) if "." in c else len(mant))
        rows.append(row)
    data = np.array(rows, dtype=np.float64)
    for j in range(data.shape[1]):  # Vensim writes constants once: carry them down
        col = data[:, j]
        held = np.flatnonzero(~np.isnan(col))
        # a blank between values is :NA: (a :RAW: data variable between its data times)
        for i in range(held[-1] + 1 if held.size else col.size, col.size):
            col[i] = col[i - 1]
    return data[:, 0], {h: data[:, j] for j, h in enumerate(header) if j}, digits


def run_case(case: str) -> Outcome:
    """Import, compile and run one corpus model; compare it with its canonical output."""
    import sim315
    from sim315.compilation.compiler import compile_spec
    from sim315.core.errors import Sim315Error
    from sim315.ensembles.model import CompiledModel
    from sim315.imports import translated
    from sim315.imports.names import key
    from sim315.schemas.modelfile import ModelFile

    path = CORPUS / case
    holes = placeholders(path)
    if holes:
        siblings = ", ".join(f"`{p.name}`" for p in sibling_models(path))
        return Outcome(
            case,
            "placeholder",
            f"{holes} equation(s) are `???`, XMILE's mark of an undefined variable: the file "
            f"is not a whole model; its case's canonical output is compared on {siblings}",
        )
    try:
        model = translated(path, [path.parent / f for f in DATA_FILES.get(case, [])])
        spec = ModelFile.model_validate(model)
        ir = compile_spec(spec, str(path))
    except Sim315Error as exc:
        problem = exc.problem
        if "PySD cannot parse" in problem:
            why = problem.removeprefix("PySD cannot parse it (").removesuffix(")")
            text = path.read_text(encoding="utf-8", errors="replace")
            subs = "subscripts (XMILE dimensions), and " if "<dimensions" in text else ""
            return Outcome(case, "unsupported", f"{subs}PySD's parser fails: {why}")
        if "not supported" in problem:
            where = f"{exc.where}: " if exc.where else ""
            return Outcome(case, "unsupported", f"{where}{problem}")
        if problem.startswith("the data file"):  # the corpus lacks a file the case reads
            return Outcome(case, "incomplete", f"{exc.where}: {problem}")
        return Outcome(case, "fail", f"{exc.where}: {problem}")
    ref_path = reference_of(path)
    if ref_path is None:
        return Outcome(case, "checked", "imports and compiles; the case has no canonical output")
    ref_time, columns, digits = read_reference(ref_path)
    result = CompiledModel(ir).simulate(method="euler")
    _ = sim315
    if result.n_failed:
        return Outcome(case, "fail", "the run stopped (NaN/inf)", ref_path.name)
    by_key = {key(n): n for n in result.names}
    for ident, original in spec.names.items():
        by_key[key(original)] = ident
    by_key.update(element_columns(result.names, spec.names, model))
    if digits >= 12:
        rtol, kind = 1e-6, "double precision"
    else:
        rtol, kind = 5.0 * 10.0 ** (-digits), f"{digits} digits printed"
    rtol, kind = WIDER.get(case, (rtol, kind))
    tolerance = f"rtol {rtol:.0e} ({kind})"
    grid = ir.grid
    idx = np.rint((ref_time - grid.start) / grid.save_every).astype(np.int64)
    if idx.min() < 0 or idx.max() >= result.time.size:
        return Outcome(case, "fail", "reference times outside the run", ref_path.name, tolerance)
    if not np.allclose(result.time[idx], ref_time, rtol=1e-5, atol=1e-9):
        return Outcome(case, "fail", "reference times are not saved times", ref_path.name)
    missing, bad = [], []
    compared = 0
    for col, want in columns.items():
        k = column_key(col)
        if k in CONTROL:
            continue
        ident = by_key.get(k)
        if ident is None:
            missing.append(col)
            continue
        got = result[ident][0, idx]
        atol = rtol * float(np.nanmax(np.abs(want))) if want.size else 0.0
        na = np.isnan(want)  # :NA: where Vensim printed a blank between values
        ok = np.isclose(got, want, rtol=rtol, atol=atol) | (na & (na.all() | is_na(got)))
        compared += 1
        if not ok.all():
            i = int(np.argmax(~ok))
            bad.append(f"{col} at t={ref_time[i]:g}: {got[i]:.7g} vs {want[i]:.7g}")
    # a folder's output may come from its other model file, with more variables: those not
    # in this file are listed, the shared ones compared
    extra = f"; not in this model file: {', '.join(missing)}" if missing else ""
    if bad or not compared:
        why = "; ".join(bad[:2]) or "no variable in common with the reference"
        return Outcome(case, "fail", why + extra, ref_path.name, tolerance)
    return Outcome(case, "pass", f"{compared} variables match{extra}", ref_path.name, tolerance)


def is_na(values: np.ndarray) -> np.ndarray:
    """Is each value Vensim's :NA: (as sim315 writes it, or NaN)?"""
    from sim315.imports.equations import VENSIM_NA

    return (values == VENSIM_NA) | np.isnan(values)


def column_key(name: str) -> str:
    """A column's name compared as Vensim compares names; ``x[a, b]`` as ``x[a,b]``."""
    from sim315.imports.names import key

    return re.sub(r"\s*([\[\],])\s*", r"\1", key(name))


def element_columns(outputs, names: dict, model: dict) -> dict[str, str]:
    """The column key of each array element output (``x[a,b]``): its original name with its
    elements' original names (an imported dimension's ``doc`` keeps them)."""
    from sim315.imports.subscripts import original_elements

    elements = original_elements(model)
    out = {}
    for n in outputs:
        if "[" not in n:
            continue
        var, inner = n[:-1].split("[", 1)
        parts = [elements.get(e, e) for e in inner.split(",")]
        out[column_key(f"{names.get(var, var)}[{','.join(parts)}]")] = n
    return out


#: An XMILE equation that is literally ``???``: Stella writes it for a variable it has no
#: equation for (the corpus's XMILE exports of some Vensim cases hold them).
_PLACEHOLDER = re.compile(r"<eqn>\s*\?\?\?\s*</eqn>")


def placeholders(path: Path) -> int:
    """How many of the XMILE file's equations are ``???`` (0 for a Vensim file)."""
    if path.suffix.lower() == ".mdl":
        return 0
    return len(_PLACEHOLDER.findall(path.read_text(encoding="utf-8", errors="replace")))


def sibling_models(path: Path) -> list[Path]:
    """The other model files of ``path``'s case folder that are whole models."""
    return [
        p
        for p in sorted(path.parent.iterdir())
        if p != path and p.suffix.lower() in SUFFIXES and not placeholders(p)
    ]


def folders_without_models() -> list[str]:
    out = []
    for folder in sorted(p for p in (CORPUS / "tests").iterdir() if p.is_dir()):
        if not any(f.suffix.lower() in SUFFIXES for f in folder.iterdir()):
            out.append(str(folder.relative_to(CORPUS)))
    return out


def render(outcomes: list[Outcome]) -> str:
    counts = {s: sum(o.status == s for o in outcomes) for s in ("pass", "fail", "unsupported")}
    counts["checked"] = sum(o.status == "checked" for o in outcomes)
    counts["incomplete"] = sum(o.status == "incomplete" for o in outcomes)
    counts["placeholder"] = sum(o.status == "placeholder" for o in outcomes)
    unsupported = [o.detail for o in outcomes if o.status == "unsupported"]
    pysd = sum("PySD" in d for d in unsupported)
    data = sum(("data" in d or "from a file" in d) and "PySD" not in d for d in unsupported)
    subs = sum("subscripts" in d and "PySD" in d for d in unsupported)
    double = sum("double precision" in o.tolerance for o in outcomes)
    lines = [
        "# Conformance: the SD test-models corpus through the importer",
        "",
        "Generated by `python tests/conformance.py` (do not edit); "
        "`tests/test_import_conformance.py` fails when it is stale.",
        "Every model file of `../shared/sd-test-models` (SUBSET.md) is imported with "
        "`sim315 import`, compiled, run with Euler and compared with the case's canonical "
        "output (`output.csv` / `output.tab`). Tolerances are set per reference from the "
        "digits it prints (see `tests/conformance.py`).",
        "",
        f"**{counts['pass']} pass, {counts['fail']} fail, {counts['unsupported']} unsupported, "
        f"{counts['checked']} imported without a reference to compare, "
        f"{counts['incomplete']} reading a data file that the corpus lacks, "
        f"{counts['placeholder']} XMILE files with `???` for equations.**",
        "",
        "*checked*: imports, compiles and runs, but the case has no canonical output (the "
        "data cases among them are tested against their data files in "
        "`tests/test_import_data.py`); *incomplete*: "
        "the model reads a data file that the corpus does not have (`tests/test_import_data.py` "
        "runs it with the file supplied); *placeholder*: an XMILE file whose equations are "
        "partly `???` (Stella's mark of an undefined variable), so not a whole model; its "
        "case folder's other model file, which the canonical output was made from, is "
        "compared instead (`tests/test_import_conformance.py` checks that it passes).",
        "",
        f"Unsupported: {pysd} that PySD's parser rejects ({subs} of them XMILE files with "
        "dimensions), "
        f"{data} reading data, constants or ranges from files into arrays or as data "
        f"variables, {len(unsupported) - data - pysd} other constructs (each named in the "
        "table).",
        "",
        "Tolerance: a reference printed with 12 or more significant digits is double "
        f"precision and is compared with rtol 1e-6 ({double} of the compared files); the "
        "Vensim and Stella references print 5 to 7 significant digits, so rtol is half a "
        "unit in the last digit (5e-5 to 5e-7), and rtol times the column's largest value is "
        "the absolute tolerance (a value that crosses zero keeps the rounding of the terms "
        "that made it). Single-precision references (their READMEs and values say so): "
        "`tests/delay_fixed` (Vensim DSS 7.3.4, single precision, 4 digits printed) and "
        "`tests/exp` (a float32 running sum that reads -2.52e-6 where it crosses zero); "
        "both match within the printed digits. One case is compared with a wider "
        "tolerance, as its row says: Vensim solves ALLOCATE AVAILABLE to a tolerance of its "
        "own (its allocations of 100 add up to 99.9994, a request of 300 gets 300.002), "
        "sim315 clears the market exactly (`WIDER` in `tests/conformance.py`).",
        "",
        "| model file | status | reference | tolerance | detail |",
        "|---|---|---|---|---|",
    ]
    for o in outcomes:
        detail = o.detail.replace("|", "\\|")
        lines.append(f"| `{o.case}` | {o.status} | {o.reference} | {o.tolerance} | {detail} |")
    empty = folders_without_models()
    if empty:
        lines += ["", "Case folders with no model file (nothing to import): "]
        lines.append(", ".join(f"`{f}`" for f in empty) + ".")
    return "\n".join(lines) + "\n"


def main() -> None:
    outcomes = [run_case(c) for c in model_files()]
    TABLE.write_text(render(outcomes), encoding="utf-8")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    sys.exit(main())
