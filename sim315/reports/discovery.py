"""``sim315 discover``: under which uncertain inputs is a target missed (or met)?

Scenario discovery with PRIM (Friedman and Fisher 1999, doi:10.1023/A:1008894516817; used
for policy analysis by Bryant and Lempert 2010, doi:10.1016/j.techfore.2009.08.002), through
Project Platypus' ``PRIM`` package, not a hand-written one. The inputs are the columns of
the run's parameter matrix that vary between runs (the uncertain parameters and the
calibrated draws; the ``<stock>.start`` states, which follow from them, are left out); the
cases of interest are the finished runs that miss (or meet) the target.

PRIM peels the box of inputs a little at a time, trading coverage (the share of the cases
of interest inside the box) for density (the share of the box's runs that are cases of
interest). The box chosen has the highest coverage among those with at least
``min_density`` (of several, the densest); each restriction carries its quasi-p value (a
one-sided binomial test of whether the restriction matters).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import Sim315Error, suggest
from ..core.textfile import make_folder


@dataclass(frozen=True)
class Discovery:
    """The chosen box and the peeling trajectory."""

    target: str
    cases: str
    """``missed`` or ``met``."""
    limits: list[tuple[str, float, float, float]]
    """(input, lower, upper, quasi-p) of each restricted input, the most significant first."""
    coverage: float
    density: float
    mass: float
    chosen: int
    """The chosen box's index on the trajectory."""
    trajectory: list[dict]
    """coverage, density, mass and restricted dimensions of each box peeled."""
    n_runs: int
    n_cases: int
    bounds: dict[str, tuple[float, float]]
    """Each input's range over the runs."""

    def text(self) -> str:
        lines = [
            f"target {self.target}: {self.n_cases:,} of {self.n_runs:,} finished runs "
            f"{self.cases} it ({self.n_cases / self.n_runs:.0%})",
            f"box {self.chosen} of {len(self.trajectory) - 1} on the peeling trajectory: "
            f"coverage {self.coverage:.0%}, density {self.density:.0%}, "
            f"mass {self.mass:.0%} of the runs",
            "",
            f"{'input':32} {'lower':>12} {'upper':>12} {'range in the runs':>27} {'quasi-p':>9}",
        ]
        for name, lo, hi, qp in self.limits:
            b0, b1 = self.bounds[name]
            lines.append(f"{name:32} {lo:12.5g} {hi:12.5g} {f'[{b0:.5g}, {b1:.5g}]':>27} {qp:9.2g}")
        if not self.limits:
            lines.append("(no restriction: the cases are spread over all inputs)")
        return "\n".join(lines)


def inputs(path: str | Path):
    """The varying inputs (DataFrame, one column each) and the finished-run mask."""
    import pandas as pd

    from ..results.layout import parameter_matrix
    from ..results.reader import open_complete

    with open_complete(path) as h5:
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5["parameter"][:]]
        P = parameter_matrix(h5)
        ok = h5["run_status"][:] == 0
    keep = [
        j
        for j, n in enumerate(names)
        if not n.endswith(".start") and np.nanmax(P[ok, j]) > np.nanmin(P[ok, j])
    ]
    return pd.DataFrame(P[:, keep], columns=[names[j] for j in keep]), ok


def cases(path: str | Path, target: str) -> np.ndarray:
    """(runs,) bool: the run meets ``target``."""
    from ..language.targets import measure
    from ..results.reader import open_complete, target_runs, texts
    from ..schemas.target import Target

    with open_complete(path) as h5:
        s = h5["summary"]
        ids = texts(s["target"]) if "target" in s else []
        if target not in ids:
            raise Sim315Error(str(path), "--target", f"no target '{target}'", suggest(target, ids))
        i = ids.index(target)
        tgt = Target.from_json(texts(s["target_definition"])[i])
        el = texts(s["target_element"])[i]
        x, t = target_runs(h5, el, tgt.years_needed())
        return measure(tgt, x, t).met


def discover(
    path: str | Path,
    target: str,
    *,
    missed: bool = True,
    min_density: float = 0.8,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> tuple[Discovery, object]:
    """Find the box of inputs where ``target`` is missed (``missed=False``: met).

    Returns the :class:`Discovery` and PRIM's box (for more of PRIM's views)."""
    import prim

    x, ok = inputs(path)
    met = cases(path, target)
    y = ~met if missed else met
    x, y = x[ok].reset_index(drop=True), y[ok]
    what = "miss" if missed else "meet"
    if x.shape[1] == 0:
        raise Sim315Error(str(path), "--target", "no input varies between the runs",
                          "run a scenario with uncertain parameters")  # fmt: skip
    if not y.any() or y.all():
        n = "no" if not y.any() else "every"
        other = "--met" if missed else "--missed"
        raise Sim315Error(
            str(path), "--target", f"{n} finished run {what}s {target}: nothing to discover",
            f"try {other}, or a scenario where the runs differ",
        )  # fmt: skip
    engine = prim.Prim(x, y, peel_alpha=peel_alpha, mass_min=mass_min)
    box = engine.find_box()
    traj = box.peeling_trajectory.reset_index(drop=True)
    dense = traj.index[traj["density"] >= min_density]
    chosen = int(len(traj) - 1)  # the densest, unless a box is dense enough
    if len(dense):  # of the dense boxes with the highest coverage, the densest
        best = traj.loc[dense]
        best = best[best["coverage"] == best["coverage"].max()]
        chosen = int(best["density"].idxmax())
    box.select(chosen)
    lim = box.limits
    limits = [
        (str(n), float(lim.loc[n, "min"]), float(lim.loc[n, "max"]), float(lim.loc[n, "qp values"]))
        for n in lim.index
    ]
    bounds = {c: (float(x[c].min()), float(x[c].max())) for c in x.columns}
    row = traj.loc[chosen]
    found = Discovery(
        target,
        "missed" if missed else "met",
        limits,
        float(row["coverage"]),
        float(row["density"]),
        float(row["mass"]),
        chosen,
        json.loads(traj.to_json(orient="records")),
        int(y.size),
        int(np.count_nonzero(y)),
        bounds,
    )
    return found, box


def trajectory_figure(found: Discovery, outdir: str | Path) -> list[Path]:
    """The peeling trajectory (coverage against density, coloured by the number of
    restricted inputs, the chosen box marked) as PNG and SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .charts import _save

    outdir = make_folder(outdir)
    cov = [t["coverage"] for t in found.trajectory]
    den = [t["density"] for t in found.trajectory]
    dims = [t["res dim"] for t in found.trajectory]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.plot(cov, den, color="#999", lw=1, zorder=1)
    pts = ax.scatter(cov, den, c=dims, cmap="viridis", s=28, zorder=2)
    fig.colorbar(pts, ax=ax, label="inputs restricted")
    ax.scatter([found.coverage], [found.density], s=180, facecolors="none", edgecolors="#c0392b",
               lw=2, zorder=3, label=f"chosen box {found.chosen}")  # fmt: skip
    verb = "miss" if found.cases == "missed" else "meet"
    ax.set_xlabel(f"coverage: share of the runs that {verb} the target inside the box")
    ax.set_ylabel(f"density: share of the box's runs that {verb} it")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(f"Where is {found.target} {found.cases}? PRIM's peeling trajectory",
                 fontsize=12, x=0.01, ha="left")  # fmt: skip
    ax.set_title(
        f"{found.n_cases:,} of {found.n_runs:,} runs {found.cases} it; chosen: coverage "
        f"{found.coverage:.0%}, density {found.density:.0%}, {len(found.limits)} inputs",
        fontsize=8.5, loc="left", color="#444",
    )  # fmt: skip
    fig.tight_layout()
    return _save(fig, outdir, f"prim_{found.target}_{found.cases}")
