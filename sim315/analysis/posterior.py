"""Posterior draws of a fit, the checks that say whether to trust them, and the backtest.

**Observation model.** A point figure ``x`` of series ``s`` observes the model output ``y``
with a relative error: ``x = y (1 + e)``, ``e ~ N(0, sigma_s^2)``, so its log-likelihood is
``-0.5 ((y - x) / (sigma_s |x|))^2`` (less a constant). ``sigma_s`` is the series'
``rel_error`` in the fit file: an assumption, stated there per series (statistical rounding,
snapshot dates, definitional revisions), not estimated from two to four points. A figure
written ``> x`` ("over 1,200") is *censored*: it says only that the true value exceeds ``x``,
so it contributes ``log Phi((y - x) / (sigma_s |x|))``; ``< x`` the mirror. The prior is
uniform on each free parameter's bounds.

**Sampler.** emcee's affine-invariant ensemble sampler (Goodman & Weare 2010) with a
vectorised log-probability: each half-step proposes for half of the walkers, and those
proposals are evaluated in one batched kernel call, so a step costs two kernel calls
whatever the walker count. It was chosen over sequential Monte Carlo and importance
weighting because the posteriors here are narrow in some directions and flat in others
(non-identifiable pairs, parameters at their bounds), which the stretch move handles without
tuning, and because its walkers give the chains that R-hat and the effective sample size need.
Walkers start in a small ball around the least-squares optimum.

**Diagnostics.** Split R-hat and bulk effective sample size (ArviZ, walkers as chains) and
emcee's integrated autocorrelation time, per parameter. A parameter is *identifiable* when
its 90 % posterior interval is narrower than half its prior range; R-hat is required below
1.05 for those only (a flat direction cannot converge to anything narrower than its prior).

**Posterior predictive check.** For posterior draws, simulate, add observation noise from
the observation model, and ask what share of the historical figures lies inside the 90 %
predictive band (a censored figure counts as inside when the band reaches past its bound).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import log_ndtr

#: Posterior interval (share of the prior range) below which a parameter counts as identified.
IDENTIFIED_WIDTH = 0.5
#: R-hat limit for identifiable parameters.
RHAT_LIMIT = 1.05
#: Width of the predictive band of the posterior predictive check and the backtest.
BAND = 0.90


def at_time(t: np.ndarray, values: np.ndarray, when: float) -> np.ndarray:
    """``values[:, i]`` linearly interpolated at time ``when``, all runs at once."""
    i = int(np.clip(np.searchsorted(t, when, side="right") - 1, 0, t.size - 2))
    w = min(max((when - t[i]) / (t[i + 1] - t[i]), 0.0), 1.0)
    return values[:, i] * (1.0 - w) + values[:, i + 1] * w


@dataclass(frozen=True)
class Posterior:
    """A posterior sample and its diagnostics."""

    names: list[str]
    chains: np.ndarray
    """Kept draws, shape (walkers, draws, parameters) (after burn-in and thinning)."""
    low: np.ndarray
    high: np.ndarray
    acceptance: float
    rhat: dict[str, float]
    ess: dict[str, float]
    autocorr: dict[str, float]
    walkers: int
    steps: int
    burn: int
    thin: int
    seconds: float

    @property
    def sample(self) -> np.ndarray:
        """All kept draws, shape (walkers * draws, parameters), walker by walker."""
        return self.chains.reshape(-1, self.chains.shape[-1])

    def identifiable(self) -> dict[str, bool]:
        lo, hi = np.percentile(self.sample, [5, 95], axis=0)
        width = (hi - lo) / (self.high - self.low)
        return {n: bool(w < IDENTIFIED_WIDTH) for n, w in zip(self.names, width, strict=True)}

    def converged(self) -> bool:
        """R-hat below the limit for every identifiable parameter."""
        ident = self.identifiable()
        return all(self.rhat[n] < RHAT_LIMIT for n in self.names if ident[n])


def _sigma(problem, obs=None) -> np.ndarray:
    """Relative observation error of each observation (its series' ``rel_error``)."""
    obs = problem.obs if obs is None else obs
    return np.array([problem.fit.series[s].rel_error for s, _ in obs])


def model_at_observations(problem, X: np.ndarray, obs=None) -> np.ndarray:
    """Model values Y[k, m] at each observation (default the fit's; data units x scale) for
    rows of X."""
    obs = problem.obs if obs is None else obs
    res = problem.simulate(np.atleast_2d(X))
    Y = np.empty((res.values.shape[0], len(obs)))
    for i, (s, o) in enumerate(obs):
        Y[:, i] = at_time(res.time, res.values[:, :, s], o.time)
    return Y


def log_likelihood(problem, X: np.ndarray) -> np.ndarray:
    """Log-likelihood of each row of X (one kernel call); see the module docstring."""
    X = np.atleast_2d(X)
    Y = model_at_observations(problem, X)
    sig = _sigma(problem)
    ll = np.zeros(X.shape[0])
    for i, (s, o) in enumerate(problem.obs):
        x = o.value * problem.fit.series[s].scale
        z = (Y[:, i] - x) / (sig[i] * max(abs(x), 1e-12))
        if o.kind == "=":
            ll += -0.5 * z * z
        elif o.kind == ">":
            ll += log_ndtr(z)
        else:
            ll += log_ndtr(-z)
    ll[~np.isfinite(ll)] = -np.inf
    return ll


def log_posterior(problem, X: np.ndarray) -> np.ndarray:
    """Uniform prior on the bounds times the likelihood; -inf outside the bounds."""
    X = np.atleast_2d(X)
    inside = np.all((problem.low <= X) & (problem.high >= X), axis=1)
    out = np.full(X.shape[0], -np.inf)
    if inside.any():
        out[inside] = log_likelihood(problem, X[inside])
    return out


def sample_posterior(problem, x0: np.ndarray, settings, seed: int) -> Posterior:
    """Run emcee from a ball around ``x0``; see the module docstring."""
    import time

    import emcee

    t0 = time.perf_counter()
    d = x0.size
    walkers = max(settings.walkers, 2 * d + 2)
    walkers += walkers % 2
    rng = np.random.default_rng(seed)
    span = problem.high - problem.low
    start = x0 + 1e-3 * span * rng.standard_normal((walkers, d))
    start = np.clip(start, problem.low + 1e-6 * span, problem.high - 1e-6 * span)
    sampler = emcee.EnsembleSampler(walkers, d, lambda X: log_posterior(problem, X), vectorize=True)
    sampler.random_state = np.random.RandomState(seed % (2**32)).get_state()
    sampler.run_mcmc(start, settings.steps, progress=False)
    chains = sampler.get_chain(discard=settings.burn, thin=settings.thin)  # (draws, walkers, d)
    chains = np.ascontiguousarray(np.swapaxes(chains, 0, 1))
    tau = sampler.get_autocorr_time(discard=settings.burn, quiet=True, tol=0)
    rhat, ess = _diagnostics(chains, problem.free)
    return Posterior(
        list(problem.free),
        chains,
        problem.low.copy(),
        problem.high.copy(),
        float(np.mean(sampler.acceptance_fraction)),
        rhat,
        ess,
        {n: float(t) for n, t in zip(problem.free, tau, strict=True)},
        walkers,
        settings.steps,
        settings.burn,
        settings.thin,
        time.perf_counter() - t0,
    )


def _diagnostics(chains: np.ndarray, names: list[str]) -> tuple[dict, dict]:
    """Split R-hat and bulk ESS per parameter (ArviZ; walkers as chains)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ArviZ announces its refactor on import
        import arviz as az

        data = az.convert_to_dataset({n: chains[:, :, j] for j, n in enumerate(names)})
        rhat = az.rhat(data)
        ess = az.ess(data, method="bulk")
    return (
        {n: float(rhat[n].values) for n in names},
        {n: float(ess[n].values) for n in names},
    )


def predictive(problem, sample: np.ndarray, draws: int, seed: int, at=None):
    """Predictive draws Y[k, m] (with observation noise) at observations ``at`` (default the
    fit's) for ``draws`` rows of the posterior sample."""
    rng = np.random.default_rng(seed)
    rows = sample[rng.integers(0, sample.shape[0], size=min(draws, sample.shape[0]))]
    obs = problem.obs if at is None else at
    Y = model_at_observations(problem, rows, obs)
    return Y * (1.0 + _sigma(problem, obs) * rng.standard_normal(Y.shape)), obs


def band_check(problem, Y: np.ndarray, obs) -> list[dict]:
    """Per observation: the figure, the predictive median and 90 % band, whether it is
    inside, and the median's relative error."""
    q = (1 - BAND) / 2
    lo, med, hi = np.percentile(Y, [100 * q, 50, 100 * (1 - q)], axis=0)
    rows = []
    for i, (s, o) in enumerate(obs):
        ser = problem.fit.series[s]
        x = o.value * ser.scale
        if o.kind == "=":
            inside = bool(lo[i] <= x <= hi[i])
        elif o.kind == ">":
            inside = bool(hi[i] >= x)
        else:
            inside = bool(lo[i] <= x)
        rows.append(
            {
                "indicator": ser.indicator,
                "output": ser.output,
                "year": o.year_text,
                "time": float(o.time),
                "kind": o.kind,
                "value": float(x),
                "median": float(med[i]),
                "band": [float(lo[i]), float(hi[i])],
                "inside": inside,
                "rel_error": float((med[i] - x) / abs(x)) if o.kind == "=" else None,
            }
        )
    return rows


def predictive_check(problem, post: Posterior, draws: int = 1000, seed: int = 0) -> dict:
    """Share of the fit's historical figures inside the 90 % posterior predictive band."""
    Y, obs = predictive(problem, post.sample, draws, seed)
    rows = band_check(problem, Y, obs)
    inside = sum(r["inside"] for r in rows)
    return {
        "band": BAND,
        "inside": inside,
        "total": len(rows),
        "share": inside / len(rows),
        "observations": rows,
    }


def write_sample(post: Posterior, path: str | Path) -> Path:
    """The kept draws as CSV (one column per parameter, walker by walker), atomically."""
    import io

    from ..core.textfile import write_atomic

    buf = io.StringIO()
    buf.write(",".join(post.names) + "\n")
    np.savetxt(buf, post.sample, delimiter=",", fmt="%.12g")
    return write_atomic(path, buf.getvalue())


def document(post: Posterior, check: dict, sample_file: str) -> dict:
    """The ``posterior`` section of the fitted-parameter file."""
    ident = post.identifiable()
    lo, med, hi = np.percentile(post.sample, [5, 50, 95], axis=0)
    return {
        "sample": sample_file,
        "draws": int(post.sample.shape[0]),
        "sampler": "emcee ensemble (stretch move), vectorised log-probability",
        "walkers": post.walkers,
        "steps": post.steps,
        "burn": post.burn,
        "thin": post.thin,
        "acceptance": round(post.acceptance, 3),
        "seconds": round(post.seconds, 1),
        "observation_model": (
            "relative normal error per series (rel_error in the fit file); '>' and '<' "
            "figures censored; uniform prior on the bounds"
        ),
        "parameters": {
            n: {
                "median": float(med[j]),
                "ci90": [float(lo[j]), float(hi[j])],
                "rhat": round(post.rhat[n], 4),
                "ess_bulk": round(post.ess[n], 1),
                "autocorr_steps": round(post.autocorr[n], 1),
                "identifiable": ident[n],
            }
            for j, n in enumerate(post.names)
        },
        "converged": post.converged(),
        "predictive_check": {
            "band": check["band"],
            "inside": check["inside"],
            "total": check["total"],
            "share": round(check["share"], 4),
            "figures": [
                {
                    "indicator": r["indicator"],
                    "year": r["year"],
                    "figure": f"{'' if r['kind'] == '=' else r['kind'] + ' '}{r['value']:.6g}",
                    "median": float(f"{r['median']:.6g}"),
                    "band": [float(f"{r['band'][0]:.6g}"), float(f"{r['band'][1]:.6g}")],
                    "inside": r["inside"],
                }
                for r in check["observations"]
            ],
        },
    }


def summary_lines(post: Posterior, check: dict) -> list[str]:
    """Diagnostics as text for the terminal."""
    ident = post.identifiable()
    lo, med, hi = np.percentile(post.sample, [5, 50, 95], axis=0)
    lines = [
        f"posterior: {post.sample.shape[0]} draws ({post.walkers} walkers x {post.steps} steps, "
        f"burn {post.burn}, thin {post.thin}), acceptance {post.acceptance:.2f}, "
        f"{post.seconds:.1f} s",
        f"{'parameter':28s} {'median':>10s}  90 % interval           R-hat   ESS  identifiable",
    ]
    for j, n in enumerate(post.names):
        lines.append(
            f"{n:28s} {med[j]:10.4g}  [{lo[j]:.4g}, {hi[j]:.4g}]".ljust(64)
            + f"{post.rhat[n]:6.3f} {post.ess[n]:5.0f}  {'yes' if ident[n] else 'no'}"
        )
    lines.append(
        f"posterior predictive check: {check['inside']}/{check['total']} figures "
        f"({100 * check['share']:.0f} %) inside the {100 * check['band']:.0f} % band"
    )
    if not post.converged():
        lines.append(f"warning: R-hat >= {RHAT_LIMIT} for an identifiable parameter: run longer")
    return lines
