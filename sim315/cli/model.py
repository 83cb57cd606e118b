"""``sim315 model ...`` (check, show, diagram, simulate, export) and ``sim315 import``:
model files in and out."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from ..core.elementnames import split_element
from ..core.errors import Sim315Error
from .app import Group, main, name_list


@main.group(cls=Group)
def model() -> None:
    """Check, describe and simulate model files."""


_MODEL_FILE = click.argument("file", type=click.Path(dir_okay=True, path_type=Path))


@model.command("check")
@_MODEL_FILE
def model_check(file: Path) -> None:
    """Check a model file: schema, names, units, loops, time grid. Exit 0 when valid."""
    from ..imports.loading import compile_file
    from ..reports.describe import summary_line

    ir = compile_file(file)
    click.echo(f"ok: {file}: {summary_line(ir)}")


@model.command("show")
@_MODEL_FILE
def model_show(file: Path) -> None:
    """Show a model's equations, units, docs and evaluation order."""
    from ..imports.loading import compile_file
    from ..reports.describe import describe

    click.echo(describe(compile_file(file)))


@model.command("diagram")
@_MODEL_FILE
def model_diagram(file: Path) -> None:
    """Print the model's stock-and-flow diagram as Mermaid text."""
    from ..imports.loading import compile_file
    from ..reports.diagram import mermaid

    click.echo(mermaid(compile_file(file)), nl=False)


@model.command("simulate")
@_MODEL_FILE
@click.option("--method", default="euler", show_default=True, help="euler, rk2 or rk4.")
@click.option("--dt", type=float, help="Override the model's time step.")
@click.option("--save-every", type=float, help="Override the save period.")
@click.option(
    "--outputs", help="Comma-separated variables to print and save (default: the stocks)."
)
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the saved trajectories of run 0 to this CSV file.",
)
def model_simulate(file, method, dt, save_every, outputs, csv_path) -> None:
    """Simulate a model once with its default parameters and print the trajectories."""
    from ..ensembles.model import CompiledModel
    from ..imports.loading import compile_file

    ir = compile_file(file)
    names = name_list(outputs) if outputs else ir.stock_names
    names = [_identifier(ir.spec, n) for n in names]  # imported models' own names too
    mdl = CompiledModel(ir)
    res = mdl.simulate(method=method, dt=dt, save_every=save_every, outputs=names)
    if res.status[0] != 0:
        click.echo(f"warning: run stopped: {mdl.status_message(res.status[0])}", err=True)
    shown = [_original(ir.spec, n) for n in res.names]  # an imported model's own names
    click.echo(_table(res.time, res.values[0], shown, ir.grid.units))
    if csv_path is not None:
        _write_csv(csv_path, res.time, res.values[0], res.names)
        click.echo(f"wrote {csv_path}")


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Model file to write."
)
@click.option(
    "--data",
    "data_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A .tab or .csv file with the values of the data variables that have no equation "
    "(Vensim reads them from a run's .vdf); repeat for several. Copied into the model file.",
)
def import_cmd(file, out, data_files) -> None:
    """Translate a Vensim (.mdl) or XMILE (.xmile, .stmx) model into a sim315 model file.

    Default output: <model name>.yaml beside it. Needs the import extra (PySD):
    pip install 'sim315[import]'.
    """
    from ..imports import import_model, model_text

    model = import_model(file, list(data_files))
    out = out or file.with_suffix(".yaml")
    try:
        out.write_text(model_text(model, file), encoding="utf-8")
    except OSError as exc:
        raise Sim315Error(str(out), "--out", f"cannot write ({exc.strerror})") from None
    counts = ", ".join(
        f"{len(model[s])} {s}" for s in ("stocks", "flows", "auxiliaries", "parameters", "lookups")
    )
    click.echo(f"wrote {out}: {counts}")


@model.command("export")
@_MODEL_FILE
@click.option("--xmile", "xmile", is_flag=True, required=True, help="Write XMILE 1.0.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
def model_export(file, xmile, out) -> None:
    """Write a model as XMILE, for Stella and other XMILE tools (default: <name>.xmile)."""
    from ..imports.loading import compile_file
    from ..imports.xmile_writer import xmile_text

    ir = compile_file(file)
    out = out or Path(file).with_suffix(".xmile")
    try:
        out.write_text(xmile_text(ir), encoding="utf-8")
    except OSError as exc:
        raise Sim315Error(str(out), "--out", f"cannot write ({exc.strerror})") from None
    click.echo(f"wrote {out}")


def _identifier(spec, name: str) -> str:
    """An output's identifier from its identifier or its original (imported) name, array
    elements too (``Sales[North Side]`` -> ``sales[north_side]``)."""
    from ..imports.names import key

    parts = split_element(name)
    if parts:
        element = {key(o): i for d in spec.dimensions.values() for i, o in d.names.items()}
        subs = [element.get(key(e), e) for e in parts[1]]
        return f"{_identifier(spec, parts[0].strip())}[{','.join(subs)}]"
    names = spec.names
    if name in names or not names:
        return name
    by_original = {key(o): i for i, o in names.items()}
    return by_original.get(key(name), name)


def _original(spec, name: str) -> str:
    """An output's original (imported) name, array elements too."""
    parts = split_element(name)
    if not parts:
        return spec.names.get(name, name)
    element = {i: o for d in spec.dimensions.values() for i, o in d.names.items()}
    subs = [element.get(e, e) for e in parts[1]]
    return f"{spec.names.get(parts[0], parts[0])}[{','.join(subs)}]"


def _table(time, values, names, time_units, max_rows: int = 12) -> str:
    n = len(time)
    step = max(1, -(-(n - 1) // (max_rows - 1))) if n > 1 else 1
    rows = list(range(0, n, step))
    if rows[-1] != n - 1:
        rows.append(n - 1)
    head = [f"time ({time_units})", *names]
    body = [[f"{time[i]:g}", *(f"{v:.6g}" for v in values[i])] for i in rows]
    widths = [max(len(r[c]) for r in [head, *body]) for c in range(len(head))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(x.rjust(w) for x, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def _write_csv(path: Path, time, values, names) -> None:
    """Write atomically: a temporary file in the same folder, renamed when complete."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise Sim315Error(str(path), "--csv", "its folder does not exist", "create it first")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise Sim315Error(
            str(path), "--csv", f"cannot write there ({exc.strerror})", "choose a writable path"
        ) from None
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(",".join(["time", *names]) + "\n")
            for i, t in enumerate(time):
                fh.write(",".join([repr(float(t)), *(repr(float(v)) for v in values[i])]) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise Sim315Error(
            str(path),
            "--csv",
            f"cannot write ({exc.strerror})",
            "free space or choose another path",
        ) from None
