"""What a fit says, for people: per-series statistics (Sterman 2000, ch. 21: MAPE, R^2 and
Theil's inequality decomposition U^M, U^S, U^C), the fitted-parameter file, one figure per
series and a text summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .fitproblem import FitProblem, FitResult


def theil(sim: np.ndarray, act: np.ndarray) -> tuple[float, float, float]:
    """Theil's decomposition of the mean squared error: bias, variance, covariance shares."""
    mse = float(np.mean((sim - act) ** 2))
    if mse == 0:
        return 0.0, 0.0, 0.0
    ss, sa = float(np.std(sim)), float(np.std(act))
    r = float(np.corrcoef(sim, act)[0, 1]) if ss > 0 and sa > 0 else 0.0
    um = (float(np.mean(sim)) - float(np.mean(act))) ** 2 / mse
    us = (ss - sa) ** 2 / mse
    uc = 2 * (1 - r) * ss * sa / mse
    return um, us, uc


def series_statistics(problem: FitProblem, x: np.ndarray) -> dict:
    res = problem.trajectories(x)
    out = {}
    for s, ser in enumerate(problem.fit.series):
        pts = [o for k, o in problem.obs if k == s and o.kind == "="]
        bounds = [o for k, o in problem.obs if k == s and o.kind != "="]
        if not pts and not bounds:
            continue
        sim = np.array([np.interp(o.time, res.time, res.values[0, :, s]) for o in pts])
        act = np.array([o.value * ser.scale for o in pts])
        entry = {"output": ser.output, "observations": len(pts), "bounds": len(bounds)}
        if pts:
            entry["mape"] = float(np.mean(np.abs(sim - act) / np.abs(act)))
            if len(pts) >= 2 and np.var(act) > 0:
                entry["r2"] = float(1 - np.sum((sim - act) ** 2) / np.sum((act - act.mean()) ** 2))
                um, us, uc = theil(sim, act)
                entry.update({"theil_um": um, "theil_us": us, "theil_uc": uc})
        met = [
            (
                o.kind == ">"
                and np.interp(o.time, res.time, res.values[0, :, s]) >= o.value * ser.scale
            )
            or (
                o.kind == "<"
                and np.interp(o.time, res.time, res.values[0, :, s]) <= o.value * ser.scale
            )
            for o in bounds
        ]
        if bounds:
            entry["bounds_met"] = int(sum(met))
        out[ser.indicator] = entry
    return out


def sample_path(out: str | Path) -> Path:
    """Where the posterior sample of the fitted-parameter file ``out`` is written."""
    out = Path(out)
    return out.with_name(out.stem + "-posterior.csv")


def result_document(result: FitResult, out: str | Path | None = None) -> dict:
    """The fitted-parameter file's content (YAML-ready); paths relative to ``out``."""
    import os

    p = result.problem
    where = Path(out).resolve().parent if out is not None else Path.cwd()
    se = np.sqrt(np.maximum(np.diag(result.cov), 0.0))
    spread = max(r["cost"] for r in result.starts) - min(r["cost"] for r in result.starts)
    return {
        "fit": os.path.relpath(p.path.resolve(), where),
        "method": p.fit.method,
        "window": {"start": p.fit.window.start, "stop": p.fit.window.stop},
        "observations": p.n_obs,
        "cost": result.cost,
        "evaluations": p.evaluations,
        "seconds": round(result.seconds, 2),
        "parameters": {
            name: {
                "estimate": float(result.x[j]),
                "ci95": [float(result.ci[j, 0]), float(result.ci[j, 1])],
                "se": float(se[j]),
                "interval": result.ci_method[j],
                "bounds": [float(p.low[j]), float(p.high[j])],
                "transfer": p.fit.free[name].transfer,
            }
            for j, name in enumerate(p.free)
        },
        "covariance": {"names": list(p.free), "matrix": result.cov.tolist()},
        "series": result.stats,
        "starts": result.starts,
        "starts_agree": bool(spread <= 1e-6 * max(1.0, result.cost)),
        "warnings": result.warnings,
        **_posterior_section(result, out),
    }


def _posterior_section(result: FitResult, out) -> dict:
    if result.posterior is None:
        return {}
    from .posterior import document

    name = sample_path(out).name if out is not None else "posterior.csv"
    return {"posterior": document(result.posterior, result.check, name)}


def write_result(result: FitResult, out: str | Path) -> Path:
    """Write the fitted-parameter file (atomically)."""
    import yaml

    from ..core.textfile import check_writable, write_atomic

    out = check_writable(out)
    if result.posterior is not None:
        from .posterior import write_sample

        write_sample(result.posterior, sample_path(out))
    text = yaml.safe_dump(result_document(result, out), sort_keys=False, allow_unicode=True)
    head = "# Written by sim315 calibrate: estimates, 95 % intervals, covariance, fit.\n"
    return write_atomic(out, head + text)


def plot_series(result: FitResult, folder: str | Path, draws: int = 200) -> list[Path]:
    """One PNG per series: history points and bounds, the fitted trajectory and its band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = result.problem
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(p.fit.seed)
    if result.posterior is not None:  # the posterior sample, when there is one
        sample = result.posterior.sample
        X = sample[rng.integers(0, sample.shape[0], size=draws)]
        band_label = "90 % band (posterior draws)"
    else:
        X = rng.multivariate_normal(result.x, result.cov, size=draws, method="eigh")
        X = np.clip(X, p.low, p.high)
        band_label = "90 % band (parameter uncertainty)"
    band = p.trajectories(np.vstack([result.x, X]))
    written = []
    for s, ser in enumerate(p.fit.series):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        t = band.time
        vals = band.values[:, :, s]
        lo, hi = np.percentile(vals[1:], [5, 95], axis=0)
        ax.fill_between(t, lo, hi, alpha=0.3, color="C0", label=band_label)
        ax.plot(t, vals[0], color="C0", lw=2, label="fitted")
        for k, o in p.obs:
            if k != s:
                continue
            marker = {"=": "o", ">": "^", "<": "v"}[o.kind]
            ax.plot(o.time, o.value * ser.scale, marker, color="C3", ms=7)
        ax.plot([], [], "o", color="C3", label="history (^ lower bound)")
        ax.set_title(f"{ser.output} vs {ser.indicator}")
        ax.set_xlabel("time")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = folder / f"fit_{ser.output}_{s}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def _fmt_interval(lo: float, hi: float) -> str:
    return f"[{lo:.4g}, {hi:.4g}]"


def summary_text(result: FitResult) -> str:
    """A table of estimates and intervals, then the series statistics and warnings."""
    p = result.problem
    lines = [f"{'parameter':28s} {'estimate':>11s}  95 % interval (method)"]
    for j, name in enumerate(p.free):
        interval = _fmt_interval(*result.ci[j])
        lines.append(f"{name:28s} {result.x[j]:11.4g}  {interval} ({result.ci_method[j]})")
    lines.append("")
    lines.append(f"{'series':44s} {'n':>3s} {'MAPE':>7s} {'R2':>6s}  U^M/U^S/U^C")
    for ind, st in result.stats.items():
        mape = f"{100 * st['mape']:.1f}%" if "mape" in st else "-"
        r2 = f"{st['r2']:.2f}" if "r2" in st else "-"
        theil_ = (
            f"{st['theil_um']:.2f}/{st['theil_us']:.2f}/{st['theil_uc']:.2f}"
            if "theil_um" in st
            else "-"
        )
        n = st["observations"] + st["bounds"]
        lines.append(f"{ind[:44]:44s} {n:3d} {mape:>7s} {r2:>6s}  {theil_}")
    for w in result.warnings:
        lines.append(f"warning: {w}")
    if result.posterior is not None:
        from .posterior import summary_lines

        lines += summary_lines(result.posterior, result.check)
    agree = result_document(result)["starts_agree"]
    costs = ", ".join(f"{r['cost']:.4g}" for r in result.starts)
    lines.append(
        f"starts: {len(result.starts)} (costs {costs}); agree: {agree}; "
        f"{p.evaluations} runs in {result.seconds:.1f} s"
    )
    return "\n".join(lines)
