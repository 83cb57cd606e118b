"""Distributions of uncertain parameters, as scenario files write them.

Each spec is a strict pydantic model tagged by ``dist``; ``frozen()`` gives the frozen
``scipy.stats`` object, whose ``ppf`` maps the sampler's unit-interval draws to values.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Strict


def _stats():
    """``scipy.stats``, imported on first use: it takes about half a second to import, and
    a scenario is read by commands (``validate``, ``run`` start-up) that need none of it."""
    from scipy import stats

    return stats


def _placed(q: np.ndarray, x: np.ndarray, scale: float, loc: float) -> np.ndarray:
    """``x * scale + loc`` where ``0 <= q <= 1``, else NaN: how scipy's ``rv_continuous.ppf``
    places a standard quantile ``x`` of ``q`` (at ``q`` 0 and 1 the support's ends, which
    the uniform's and the triangle's formulas give too)."""
    with np.errstate(invalid="ignore"):
        out = np.where((q >= 0) & (q <= 1), x * scale + loc, np.nan)
    return out[()] if out.ndim == 0 else out


def _columnwise(place):
    """A ``ppf(u)`` from ``place(q, out)`` (a one-pass quantile function of
    :mod:`sim315.kernels`): scalars (a 0-d result, as scipy's), lists, arrays of any shape."""

    def ppf(u):
        q = np.asarray(u, dtype=np.float64)
        flat = q.reshape(-1)
        out = np.empty(flat.shape)
        place(flat, out)
        out = out.reshape(q.shape)
        return out[()] if out.ndim == 0 else out

    return ppf


class _Dist(Strict):
    def frozen(self):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values for unit-interval draws ``u``."""
        return self.frozen().ppf(u)

    def fast_ppf(self):
        """:meth:`ppf` as a function to call many times (the frozen object made once)."""
        return self.frozen().ppf

    def fast_place(self):
        """``place(q, out)``: the values of draws ``q`` written into ``out`` (1-d, either may
        be strided: a sampler's column of its parameter matrix), the same numbers as
        :meth:`ppf`; None where the distribution has no such function."""
        return None

    def support(self) -> tuple[float, float]:
        return tuple(float(v) for v in self.frozen().support())


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: float
    """Lower end."""
    high: float
    """Upper end, above ``low``."""

    @model_validator(mode="after")
    def _check(self):
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self

    def frozen(self):
        stats = _stats()

        return stats.uniform(loc=self.low, scale=self.high - self.low)

    def support(self) -> tuple[float, float]:
        return self.low, self.high  # scipy's: (loc, loc + scale), the same to rounding

    def fast_ppf(self):
        """scipy's ``uniform.ppf`` without its per-call machinery, bit for bit:
        ``u * scale + loc``."""
        return _columnwise(self.fast_place())

    def fast_place(self):
        from ..kernels.quantiles import uniform_values

        loc, scale = self.low, self.high - self.low
        return lambda q, out: uniform_values(q, scale, loc, out)


class Normal(_Dist):
    """Normal with mean and standard deviation."""

    dist: Literal["normal"]
    mean: float
    """Mean."""
    sd: float = Field(gt=0)
    """Standard deviation, positive."""

    def frozen(self):
        stats = _stats()

        return stats.norm(loc=self.mean, scale=self.sd)


class TruncNormal(_Dist):
    """Normal(mean, sd) truncated to [low, high]."""

    dist: Literal["truncnormal"]
    mean: float
    """Mean of the untruncated normal."""
    sd: float = Field(gt=0)
    """Standard deviation of the untruncated normal."""
    low: float
    """Lower truncation point."""
    high: float
    """Upper truncation point, above ``low``."""

    @model_validator(mode="after")
    def _check(self):
        from scipy.special import ndtr  # norm.cdf's own, without scipy.stats

        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        a, b = self._standard()
        if ndtr(b) - ndtr(a) < 1e-12:
            raise ValueError("[low, high] holds no probability under the normal; move the mean")
        return self

    def _standard(self) -> tuple[float, float]:
        """The truncation points in standard deviations from the mean: scipy's ``a, b``."""
        return (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd

    def frozen(self):
        stats = _stats()

        a, b = self._standard()
        return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)

    def support(self) -> tuple[float, float]:
        return self.low, self.high

    def fast_ppf(self):
        """scipy's ``truncnorm.ppf`` bit for bit without importing scipy.stats (most of a
        warm main job's start-up) or its per-call machinery: the same formulas of
        scipy.special (``log_ndtr``, ``logsumexp``, ``ndtri_exp``), the distribution's
        constants computed once. In the left tail, ``Phi(x) = Phi(a) + q Z``; else from the
        right, ``Phi(-x) = Phi(-b) + (1 - q) Z``, ``Z`` the mass between (in logs)."""
        from scipy import special as sc

        a, b = self._standard()
        loc, scale = self.mean, self.sd
        left = a < 0
        mass = _log_gauss_mass(a, b)
        edge = sc.log_ndtr(a) if left else sc.log_ndtr(-b)

        def ppf(u):
            q = np.asarray(u, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):  # q outside (0, 1): placed
                t = (np.log(q) if left else np.log1p(-q)) + mass
                x = sc.ndtri_exp(_log_add_exp(edge, t))
            x = np.where(q == 0, a, np.where(q == 1, b, x if left else -x))  # the ends
            return _placed(q, x, scale, loc)

        return ppf


def _log_add_exp(c: float, t: np.ndarray) -> np.ndarray:
    """``scipy.special.logsumexp([c, t], axis=0)`` bit for bit, without its per-call
    machinery (four times the time of these steps): the greater term is taken out of the
    sum, the other's ``exp`` of the difference goes through ``log1p``. (Equal terms, which
    scipy both counts as the maximum, give its ``log(2) + t`` too: ``log1p(1)`` is the
    double nearest ``log(2)``.) An infinite ``t`` gives what scipy's fallback gives, a NaN
    NaN."""
    hi, lo = np.maximum(t, c), np.minimum(t, c)
    with np.errstate(invalid="ignore"):
        return np.log1p(np.exp(lo - hi)) + hi


def _log_gauss_mass(a: float, b: float) -> float:
    """The log of the standard normal's mass on [a, b], as scipy's truncnorm computes it
    (in the left tail, by symmetry on the right, else ``log1p`` of what lies outside)."""
    from scipy import special as sc

    def log_diff(log_p, log_q):  # log(p - q), as -q = q e^(i pi)
        return np.real(sc.logsumexp([log_p, log_q + np.pi * 1j], axis=0))[0]

    A, B = np.array([a]), np.array([b])
    if b <= 0:
        return float(log_diff(sc.log_ndtr(B), sc.log_ndtr(A)))
    if a > 0:
        return float(log_diff(sc.log_ndtr(-A), sc.log_ndtr(-B)))
    return float(sc.log1p(-sc.ndtr(A) - sc.ndtr(-B))[0])


class LogNormal(_Dist):
    """Log-normal: log(x) ~ Normal(log(median), sigma)."""

    dist: Literal["lognormal"]
    median: float = Field(gt=0)
    """Median, positive."""
    sigma: float = Field(gt=0)
    """Standard deviation of log(x)."""

    def frozen(self):
        stats = _stats()

        return stats.lognorm(s=self.sigma, scale=self.median)


class Triangular(_Dist):
    """Triangular on [low, high] with its peak at mode."""

    dist: Literal["triangular"]
    low: float
    """Lower end."""
    mode: float
    """Most likely value, within [low, high]."""
    high: float
    """Upper end, above ``low``."""

    @model_validator(mode="after")
    def _check(self):
        if not (self.low < self.high and self.low <= self.mode <= self.high):
            raise ValueError(
                f"need low <= mode <= high with low < high, got {self.low}, {self.mode}, "
                f"{self.high}"
            )
        return self

    def frozen(self):
        stats = _stats()

        width = self.high - self.low
        return stats.triang(c=(self.mode - self.low) / width, loc=self.low, scale=width)

    def support(self) -> tuple[float, float]:
        return self.low, self.high  # scipy's: (loc, loc + scale), the same to rounding

    def fast_ppf(self):
        """scipy's ``triang.ppf`` without its per-call machinery, bit for bit: its
        ``_ppf`` formula, placed by ``scale`` and ``loc``."""
        return _columnwise(self.fast_place())

    def fast_place(self):
        from ..kernels.quantiles import triangular_values

        width = self.high - self.low
        c, loc = (self.mode - self.low) / width, self.low
        return lambda q, out: triangular_values(q, c, width, loc, out)


class Pert(Triangular):
    """Beta-PERT on [low, high] with mode: Beta(1 + 4(m-a)/(b-a), 1 + 4(b-m)/(b-a))."""

    dist: Literal["pert"]

    #: How draws become values (a result file's ``quantile_method``, in the resume
    #: fingerprint): change it whenever :mod:`sim315.kernels.betapoly` computes other bits.
    #: Method 1 (kernels/betainv.py, until 2026-11-28) solved each value by Newton steps.
    quantile_method: ClassVar[str] = (
        "pert: sim315 beta quantile 2 (kernels/betapoly.py, nodes from scipy betaincinv)"
    )

    def frozen(self):
        stats = _stats()

        width = self.high - self.low
        alpha, beta = self.shape()
        return stats.beta(alpha, beta, loc=self.low, scale=width)

    def shape(self) -> tuple[float, float]:
        """The beta distribution's ``(a, b)``, each in [1, 5]."""
        width = self.high - self.low
        return 1 + 4 * (self.mode - self.low) / width, 1 + 4 * (self.high - self.mode) / width

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Values for unit-interval draws ``u``: ``low + width * x``, ``x`` the beta
        quantile from :mod:`sim315.kernels.betapoly` (within 1.5e-15 of scipy's
        ``beta.ppf``, about forty times faster; the module states the error)."""
        return self.fast_ppf()(u)

    def fast_ppf(self):
        """:meth:`ppf` with the beta quantile's polynomials made once."""
        return _columnwise(self.fast_place())

    def fast_place(self):
        """The beta quantiles placed, ``low + width * x``, in one call (the polynomials
        made once)."""
        from ..kernels.betapoly import beta_poly_quantiles
        from .betaseries import beta_series

        a, b = self.shape()
        coefs, tops = beta_series(a, b)
        low, width = self.low, self.high - self.low
        return lambda q, out: beta_poly_quantiles(q, a, b, coefs, tops, out, low, width, True)


class Choice(_Dist):
    """Discrete choice among values, with optional weights."""

    dist: Literal["choice"]
    values: list[float] = Field(min_length=1)
    """The possible values."""
    weights: list[float] | None = None
    """Relative weights (default equal), non-negative, as many as values."""

    @model_validator(mode="after")
    def _check(self):
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"{len(self.weights)} weights for {len(self.values)} values; give one each"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative and not all zero")
        return self

    def _cum(self) -> np.ndarray:
        w = np.ones(len(self.values)) if self.weights is None else np.array(self.weights)
        c = np.cumsum(w) / w.sum()
        c[-1] = 1.0
        return c

    def ppf(self, u):
        idx = np.searchsorted(self._cum(), np.asarray(u), side="right")
        return np.asarray(self.values)[np.minimum(idx, len(self.values) - 1)]

    def fast_ppf(self):
        return self.ppf

    def frozen(self):
        stats = _stats()

        w = np.ones(len(self.values)) if self.weights is None else np.array(self.weights)
        return stats.rv_discrete(values=(np.arange(len(self.values)), w / w.sum()))

    def support(self):
        return (min(self.values), max(self.values))


def quantile_methods(specs) -> str:
    """The quantile functions of sim315's own among ``specs`` (distributions or anything
    else), as a result file records them; "" when every value comes from scipy's."""
    return "; ".join(sorted({m for d in specs if (m := getattr(d, "quantile_method", None))}))


Distribution = Annotated[
    Uniform | Normal | TruncNormal | LogNormal | Triangular | Pert | Choice,
    Field(discriminator="dist"),
]
