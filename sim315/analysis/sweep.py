"""``sim315 sweep``: a sensitivity design run through the same chunked, deterministic
executor as ``sim315 run``, with indices per output and year written beside the results."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np

from ..core.errors import suggest
from ..ensembles.plan import CHUNK_BYTES, RunPlan, plan_base_scenario
from ..ensembles.runner import RunOutcome, execute
from ..schemas.distributions import quantile_methods
from ..schemas.sweepfile import Range, SweepError, SweepFile, load_sweep
from .sensitivity import Design, convergence_warnings, make_design, morris_indices, sobol_indices


class DesignSampler:
    """A sweep's design as a sampler (:class:`sim315.ensembles.sampling.Sampler`): run *i*
    takes design row *i* over the scenario's base row. ``entropy`` keys the equations'
    random streams (the sweep's seed)."""

    def __init__(
        self, base: np.ndarray, columns: list[int], design: Design, entropy: int, record: str
    ):
        self.base = base
        self.columns = columns
        self.design = design
        self.entropy = int(entropy)
        self.runs = design.runs
        self.record = record
        """The sweep file's text, n and seed: what decides the design."""

    kind = property(lambda self: f"sweep:{self.design.method}")
    n_uncertain = property(lambda self: len(self.columns))

    def varied_columns(self) -> list[int]:
        return sorted({int(c) for c in self.columns})

    def rows(self, a: int, b: int) -> np.ndarray:
        P = np.tile(self.base, (b - a, 1))
        P[:, self.columns] = self.design.values[a:b]
        return P

    def provenance(self) -> dict[str, str]:
        return {
            "sampler": self.kind,
            "seed_entropy": str(self.entropy),
            "sweep_design": self.record,
        }


@dataclass(frozen=True)
class SweepPlan:
    sweep: SweepFile
    path: Path
    plan: RunPlan
    design: Design
    years: np.ndarray
    outputs: list[str]


def plan_sweep(
    path: str | Path, n: int | None = None, seed: int | None = None, entropy: int | None = None
) -> SweepPlan:
    """Read and check a sweep file and its scenario; build the design. The run spec is the
    scenario's with the design as its sampler (``entropy``, for a resumed run, is the
    sweep's seed: it decides the design and the equations' random streams)."""
    path = Path(path)
    sweep = _read(path, n, seed if entropy is None else entropy)
    source = str(path)
    base_plan = plan_base_scenario(path, sweep.scenario, SweepError, "sweep file")
    model = base_plan.model
    names = list(model.parameter_names)
    _check_factors(source, sweep, base_plan, names)
    outputs = _outputs(source, sweep, model)
    years = _years(source, sweep, model, base_plan.grid)
    base = base_plan.sampler.base
    base_values = {k: float(base[names.index(k)]) for k in sweep.factors}
    design = make_design(
        sweep.method, dict(sweep.factors), sweep.n, sweep.seed, sweep.levels, base_values
    )
    record = path.read_text(encoding="utf-8") + f"|n={sweep.n}|seed={sweep.seed}"
    own = quantile_methods(sweep.factors.values())
    if own:  # a quantile function of sim315's own maps the design (PERT factors)
        record += "|" + own
    columns = [names.index(k) for k in sweep.factors]
    sampler = DesignSampler(base, columns, design, sweep.seed, record)
    per_run = max(1, base_plan.grid.n_saved * len(outputs) * 8)
    plan = replace(
        base_plan,
        sampler=sampler,
        runs=design.runs,
        chunk=min(design.runs, max(64, CHUNK_BYTES // per_run)),
        outputs=tuple(outputs),
        notes=(),
        replan=lambda entropy: plan_sweep(path, n, seed, entropy).plan,
    )
    return SweepPlan(sweep, path, plan, design, years, outputs)


def _read(path: Path, n: int | None, seed: int | None) -> SweepFile:
    """The sweep file with ``--n`` and ``--seed`` applied, checked."""
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
    return sweep


def _check_factors(source: str, sweep: SweepFile, plan: RunPlan, names: list[str]) -> None:
    init_only = set()
    if plan.start is not None:
        from ..ensembles.spinup import init_only_parameters

        init_only = init_only_parameters(plan.model)
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


def _outputs(source: str, sweep: SweepFile, model) -> list[str]:
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
    return outputs


def _years(source: str, sweep: SweepFile, model, g) -> np.ndarray:
    if sweep.years is None:
        last = max((t.year for t in model.ir.targets.values()), default=g.stop)
        return np.arange(np.ceil(g.start + 1e-9), np.floor(last) + 1)
    years = np.array(sweep.years, dtype=float)
    bad = [y for y in years if not g.start <= y <= g.stop]
    if bad:
        raise SweepError(
            source,
            "years",
            f"{bad[0]:g} is outside the simulated time {g.start:g}..{g.stop:g}",
            "choose years inside it",
        )
    return years


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


def run_sweep(
    sp: SweepPlan, out: str | Path, threads=None, progress=True
) -> tuple[RunOutcome, dict]:
    holder: dict = {}

    def before_finish(h5):
        holder.update(analyse(sp, h5))

    outcome = execute(
        sp.plan,
        out,
        threads=threads,
        progress=progress,
        before_finish=before_finish,
        save="all",  # the indices are computed from every run's outputs
    )
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

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if res["method"] not in ("sobol", "morris"):
        return written
    for o, output in enumerate(sp.outputs):
        written.append(_bars(sp, res, o, folder / f"indices_{output}.png"))
        written.append(_heatmap(sp, res, o, folder / f"heatmap_{output}.png"))
    return written


def _bars(sp: SweepPlan, res: dict, o: int, path: Path) -> Path:
    """Output ``o``'s indices in the last year, with their intervals."""
    import matplotlib.pyplot as plt

    names = sp.design.names
    last = len(sp.years) - 1
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.8))
    y = np.arange(len(names))
    if res["method"] == "sobol":
        order = np.argsort(np.nan_to_num(res["ST"][o, last]))
        for key, shift, label, color in (
            ("ST", 0.2, "total (ST)", "C0"),
            ("S1", -0.2, "first order (S1)", "C1"),
        ):
            ax.barh(
                y + shift,
                res[key][o, last, order],
                0.4,
                xerr=res[f"{key}_conf"][o, last, order],
                label=label,
                color=color,
            )
        ax.set_xlabel("Sobol' index (95 % interval)")
    else:
        order = np.argsort(np.nan_to_num(res["mu_star"][o, last]))
        ax.barh(
            y,
            res["mu_star"][o, last, order],
            xerr=res["mu_star_conf"][o, last, order],
            color="C0",
            label="mu*",
        )
        ax.set_xlabel("Morris mu* (95 % interval)")
    ax.set_yticks(y, [names[j] for j in order])
    ax.set_title(f"{sp.outputs[o]} in {sp.years[last]:g}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(sp: SweepPlan, res: dict, o: int, path: Path) -> Path:
    """Output ``o``'s total (or mu*) index of each factor, year by year."""
    import matplotlib.pyplot as plt

    names = sp.design.names
    key = "ST" if res["method"] == "sobol" else "mu_star"
    fig, ax = plt.subplots(figsize=(0.6 * len(sp.years) + 3, 0.35 * len(names) + 1.8))
    im = ax.imshow(res[key][o].T, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(sp.years)), [f"{y:g}" for y in sp.years])
    ax.set_yticks(range(len(names)), names)
    ax.set_title(f"{key} of {sp.outputs[o]} over time")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
