"""``sim315 sweep``: a sensitivity design run through the same chunked, deterministic
executor as ``sim315 run``, with indices per output and year written beside the results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import suggest
from ..ensembles.runner import CHUNK_BYTES, execute, plan_base_scenario
from ..schemas.sweepfile import Range, SweepError, SweepFile, load_sweep
from .sensitivity import Design, convergence_warnings, make_design, morris_indices, sobol_indices


class DesignSampler:
    """Rows of a sweep design as a parameter matrix, chunk by chunk (the runner's sampler)."""

    def __init__(self, base: np.ndarray, columns: list[int], design: Design, entropy: int):
        self.base = base
        self.columns = columns
        self.design = design
        self.entropy = entropy
        self.sampler = f"sweep:{design.method}"
        self.dists = []

    n_uncertain = property(lambda self: len(self.columns))

    def with_seed(self, seed) -> DesignSampler:
        """The same design under another seed of the equations' random draws (resume)."""
        return DesignSampler(self.base, self.columns, self.design, int(seed))

    def chunk(self, a: int, b: int) -> np.ndarray:
        P = np.tile(self.base, (b - a, 1))
        P[:, self.columns] = self.design.values[a:b]
        return P


@dataclass
class SweepPlan:
    sweep: SweepFile
    path: Path
    plan: object
    design: Design
    years: np.ndarray
    outputs: list[str]


def plan_sweep(path: str | Path, n: int | None = None, seed: int | None = None) -> SweepPlan:
    """Read and check a sweep file and its scenario; build the design."""
    path = Path(path)
    sweep = load_sweep(path)
    source = str(path)
    if n is not None:
        if n < 2:
            raise SweepError(source, "--n", f"n must be at least 2, not {n}")
        sweep = sweep.model_copy(update={"n": n})
    if sweep.method in ("sobol", "morris") and sweep.n < 4:
        raise SweepError(
            source, "n", f"{sweep.method} needs n of at least 4, not {sweep.n}", "raise n"
        )
    if seed is not None:
        sweep = sweep.model_copy(update={"seed": seed})
    plan = plan_base_scenario(path, sweep.scenario, SweepError, "sweep file")
    model = plan.model
    names = list(model.parameter_names)
    init_only = set()
    if plan.start is not None:
        from ..ensembles.spinup import init_only_parameters

        init_only = init_only_parameters(model)
    for k, spec in sweep.factors.items():
        if k not in names:
            raise SweepError(source, f"factors.{k}", f"unknown parameter '{k}'", suggest(k, names))
        if k in init_only:
            raise SweepError(
                source,
                f"factors.{k}",
                "sets only an initial value, which the scenario takes from the history run "
                "(start_from_history)",
                "sweep a parameter that acts over time",
            )
        if (
            isinstance(spec, Range)
            and spec.values is not None
            and sweep.method in ("sobol", "morris")
        ):
            raise SweepError(
                source,
                f"factors.{k}",
                f"explicit values suit grids, not {sweep.method}",
                "give low and high, or use method: oat or factorial",
            )
    outputs = sweep.outputs or list(dict.fromkeys(t.element for t in model.ir.targets.values()))
    if not outputs:
        raise SweepError(
            source, "outputs", "the model has no targets; name the outputs", "add outputs:"
        )
    for o in outputs:
        if o not in model.output_names:
            raise SweepError(
                source, "outputs", f"unknown output '{o}'", suggest(o, model.output_names)
            )
    g = plan.grid
    if sweep.years is None:
        last = max((t.year for t in model.ir.targets.values()), default=g.stop)
        years = np.arange(np.ceil(g.start + 1e-9), np.floor(last) + 1)
    else:
        years = np.array(sweep.years, dtype=float)
        bad = [y for y in years if not g.start <= y <= g.stop]
        if bad:
            raise SweepError(
                source,
                "years",
                f"{bad[0]:g} is outside the simulated time {g.start:g}..{g.stop:g}",
                "choose years inside it",
            )
    base = plan.sampler.base
    base_values = {k: float(base[names.index(k)]) for k in sweep.factors}
    design = make_design(
        sweep.method, dict(sweep.factors), sweep.n, sweep.seed, sweep.levels, base_values
    )
    sampler = DesignSampler(base, [names.index(k) for k in sweep.factors], design, sweep.seed)
    plan.sampler = sampler
    plan.runs = design.runs
    per_run = max(1, g.n_saved * len(outputs) * 8)
    plan.chunk = min(plan.runs, max(64, CHUNK_BYTES // per_run))
    plan.outputs = outputs
    plan.extra = path.read_text(encoding="utf-8") + f"|n={sweep.n}|seed={sweep.seed}"
    plan.notes = []
    return SweepPlan(sweep, path, plan, design, years, outputs)


def _at_years(h5: h5py.File, outputs: list[str], years: np.ndarray) -> tuple[np.ndarray, list[str]]:
    times = h5["time"][:]
    cols = [int(np.argmin(np.abs(times - y))) for y in years]
    Y = np.column_stack([h5[o][:, c] for o in outputs for c in cols])
    labels = [f"{o} in {y:g}" for o in outputs for y in years]
    return Y, labels


def analyse(sp: SweepPlan, h5: h5py.File) -> dict:
    """Indices (or the grid table) from the runs in ``h5``; written to its ``indices`` group."""
    Y, labels = _at_years(h5, sp.outputs, sp.years)
    d, k = len(sp.design.names), len(sp.outputs)
    result: dict = {"method": sp.sweep.method, "labels": labels, "warnings": []}
    ok = np.all(np.isfinite(Y), axis=1)
    if not ok.all():
        result["warnings"].append(
            f"{int((~ok).sum())} runs stopped (NaN/inf); their outputs are ignored by grids and "
            "make Sobol'/Morris estimates undefined where they occur"
        )
    if sp.sweep.method == "sobol":
        idx = sobol_indices(Y, d, sp.sweep.n, sp.sweep.bootstrap, sp.sweep.seed)
        result["warnings"] += convergence_warnings(idx, sp.design.names, labels)
        keys = ("S1", "ST", "S1_conf", "ST_conf")
    elif sp.sweep.method == "morris":
        idx = morris_indices(sp.design, Y, sp.sweep.levels, sp.sweep.seed)
        keys = ("mu_star", "sigma", "mu_star_conf")
    else:
        idx = {"values": Y.reshape(-1, k, len(sp.years))}
        keys = ("values",)
    if "indices" in h5:
        del h5["indices"]
    g = h5.create_group("indices")
    g.attrs["method"] = sp.sweep.method
    g.attrs["n"] = sp.sweep.n
    g.attrs["warnings"] = json.dumps(result["warnings"])
    fac = g.create_dataset("factor", data=np.array(sp.design.names, dtype=h5py.string_dtype()))
    fac.make_scale("factor")
    out = g.create_dataset("output", data=np.array(sp.outputs, dtype=h5py.string_dtype()))
    out.make_scale("output")
    yr = g.create_dataset("year", data=sp.years)
    yr.make_scale("year")
    for key in keys:
        if key == "values":
            arr = idx[key]
            ds = g.create_dataset("grid_values", data=arr)  # (run, output, year)
            ds.dims[1].attach_scale(out)
            ds.dims[2].attach_scale(yr)
            gf = g.create_dataset("grid_factors", data=sp.design.values)
            gf.dims[1].attach_scale(fac)
        else:
            arr = idx[key].reshape(d, k, len(sp.years)).transpose(1, 2, 0)  # (output, year, factor)
            ds = g.create_dataset(key, data=arr)
            ds.dims[0].attach_scale(out)
            ds.dims[1].attach_scale(yr)
            ds.dims[2].attach_scale(fac)
        result[key] = arr
    return result


def run_sweep(sp: SweepPlan, out: str | Path, threads=None, progress=True) -> tuple[object, dict]:
    holder: dict = {}

    def before_finish(h5):
        holder.update(analyse(sp, h5))

    outcome = execute(sp.plan, out, threads=threads, progress=progress, before_finish=before_finish)
    return outcome, holder


def ranked_table(sp: SweepPlan, res: dict, top: int = 5) -> str:
    """Factors ranked per output at the last year of interest."""
    method = res["method"]
    lines = []
    last = len(sp.years) - 1
    if method in ("sobol", "morris"):
        key, conf = ("ST", "ST_conf") if method == "sobol" else ("mu_star", "mu_star_conf")
        head = f"{'output':30s} {'rank':>4s}  {'factor':28s} {key:>14s}"
        head += f" {'S1':>14s}" if method == "sobol" else f" {'sigma':>10s}"
        lines.append(head + f"   (in {sp.years[last]:g})")
        for o, name in enumerate(sp.outputs):
            order = np.argsort(-np.nan_to_num(res[key][o, last], nan=-np.inf))
            for r, j in enumerate(order[:top]):
                main = f"{res[key][o, last, j]:.3f}±{res[conf][o, last, j]:.3f}"
                extra = (
                    f"{res['S1'][o, last, j]:.3f}±{res['S1_conf'][o, last, j]:.3f}"
                    if method == "sobol"
                    else f"{res['sigma'][o, last, j]:.3g}"
                )
                lines.append(
                    f"{name if r == 0 else '':30s} {r + 1:4d}  {sp.design.names[j]:28s} "
                    f"{main:>14s} {extra:>14s}"
                )
    else:
        vals = res["values"][:, :, last]
        lines.append("  ".join([f"{n:>14s}" for n in sp.design.names + sp.outputs]))
        for i in range(vals.shape[0]):
            cells = [f"{v:14.4g}" for v in sp.design.values[i]] + [f"{v:14.4g}" for v in vals[i]]
            lines.append("  ".join(cells))
    return "\n".join(lines)


def warning_summary(res: dict, limit: int = 3) -> list[str]:
    """The sweep's warnings for stderr: the first few, then how many more (all of them are
    in the result file's ``indices`` attribute ``warnings``)."""
    w = res["warnings"]
    lines = [f"warning: {x}" for x in w[:limit]]
    if len(w) > limit:
        lines.append(
            f"warning: {len(w) - limit} more like these (all {len(w)} are in the result "
            "file, group indices, attribute warnings)"
        )
    return lines


def figures(sp: SweepPlan, res: dict, folder: str | Path) -> list[Path]:
    """Per output: S1/ST bars with intervals (last year), and ST over time as a heat map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if res["method"] not in ("sobol", "morris"):
        return written
    names = sp.design.names
    last = len(sp.years) - 1
    for o, output in enumerate(sp.outputs):
        fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.8))
        if res["method"] == "sobol":
            order = np.argsort(np.nan_to_num(res["ST"][o, last]))
            y = np.arange(len(names))
            ax.barh(
                y + 0.2,
                res["ST"][o, last, order],
                0.4,
                xerr=res["ST_conf"][o, last, order],
                label="total (ST)",
                color="C0",
            )
            ax.barh(
                y - 0.2,
                res["S1"][o, last, order],
                0.4,
                xerr=res["S1_conf"][o, last, order],
                label="first order (S1)",
                color="C1",
            )
            ax.set_xlabel("Sobol' index (95 % interval)")
        else:
            order = np.argsort(np.nan_to_num(res["mu_star"][o, last]))
            y = np.arange(len(names))
            ax.barh(
                y,
                res["mu_star"][o, last, order],
                xerr=res["mu_star_conf"][o, last, order],
                color="C0",
                label="mu*",
            )
            ax.set_xlabel("Morris mu* (95 % interval)")
        ax.set_yticks(y, [names[j] for j in order])
        ax.set_title(f"{output} in {sp.years[last]:g}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        fig.tight_layout()
        p = folder / f"indices_{output}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)
        key = "ST" if res["method"] == "sobol" else "mu_star"
        fig, ax = plt.subplots(figsize=(0.6 * len(sp.years) + 3, 0.35 * len(names) + 1.8))
        im = ax.imshow(res[key][o].T, aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(sp.years)), [f"{y:g}" for y in sp.years])
        ax.set_yticks(range(len(names)), names)
        ax.set_title(f"{key} of {output} over time")
        fig.colorbar(im, ax=ax)
        fig.tight_layout()
        p = folder / f"heatmap_{output}.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)
    return written
