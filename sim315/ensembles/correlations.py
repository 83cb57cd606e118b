"""Correlated draws between an array's elements: a scenario's ``correlations:`` checked
against its model, each entry turned into its elements and a Cholesky factor.

The draws themselves are a Gaussian copula applied row by row to the sampler's unit points
(:func:`sim315.ensembles.sampling.gaussian_copula`): normal scores ``z = Φ⁻¹(u)`` of the
array's columns, ``z' = L z``, ``u' = Φ(z')``, then each element's own ``ppf``. Every element
keeps its marginal exactly; the coefficients are those of the normal scores (Spearman's rank
correlation of the drawn values is ``(6/π)·asin(ρ/2)``).
"""

from __future__ import annotations

import numpy as np

from ..schemas.scenario import ScenarioError
from .elements import _elements


def correlation_groups(source: str, sc, ir, shared: dict) -> list[tuple[list[str], np.ndarray]]:
    """For each name of ``sc.correlations``: its elements (in the dimension's order) and the
    lower Cholesky factor of their correlation matrix. ``shared``: :func:`shared_groups`."""
    out = []
    seen: dict[str, str] = {}
    in_shared = {e for k, v in shared.items() for e in ([] if k == "skip" else v)}
    for name, value in sc.correlations.items():
        elements = _uncertain_array(source, sc, ir, name)
        for e in elements:
            if e in in_shared:
                raise ScenarioError(
                    source,
                    f"correlations.{name}",
                    f"'{name}' is also in shared_draws (one draw for every element)",
                    "remove it from shared_draws or from correlations",
                )
            if e in seen:
                raise ScenarioError(
                    source,
                    f"correlations.{name}",
                    f"'{e}' is correlated twice (also by '{seen[e]}')",
                    "give each element's correlations in one entry",
                )
            seen[e] = name
        matrix = _matrix(source, f"correlations.{name}", value, elements)
        out.append((elements, _cholesky(source, f"correlations.{name}", matrix)))
    return out


def copula_note(sc) -> str | None:
    """The note a run prints when correlated columns leave a stratified design."""
    if not sc.correlations or sc.sampler == "random":
        return None
    names = ", ".join(sc.correlations)
    return (
        f"correlations ({names}) with the {sc.sampler} sampler: those columns keep their "
        f"distributions but lose the design's per-column stratification (the Gaussian copula "
        f"mixes their points); the other columns keep it"
    )


def _uncertain_array(source: str, sc, ir, name: str) -> list[str]:
    """The elements ``name`` stands for, each uncertain; else a one-line error."""
    where = f"correlations.{name}"
    layout = ir.layout
    if layout is None:
        raise ScenarioError(source, where, f"'{name}' is not an array", "list arrays only")
    elements = _elements(source, "correlations", name, layout, set(ir.kernel_params))
    missing = [e for e in elements if e not in sc.uncertain]
    if len(elements) < 2 or missing:
        problem = (
            f"'{name}' is not an uncertain array of the model"
            if len(elements) < 2 or len(missing) == len(elements)
            else f"its element '{missing[0]}' is not uncertain"
        )
        arrays = [v for v in layout.dims if all(e in sc.uncertain for e in layout.expand(v))]
        fix = f"give {name} a distribution in 'uncertain'" + (
            f", or name an uncertain array: {', '.join(arrays)}" if arrays else ""
        )
        raise ScenarioError(source, where, problem, fix)
    return elements


def _matrix(source: str, where: str, value, elements: list[str]) -> np.ndarray:
    """The correlation matrix of one entry: checked size, range, symmetry and diagonal."""
    n = len(elements)
    if not isinstance(value, list):
        rho = float(value)
        floor = -1.0 / (n - 1)
        if not -1.0 <= rho < 1.0:
            raise ScenarioError(
                source,
                where,
                f"coefficient {rho:g} is outside [-1, 1)"
                if rho != 1.0
                else "coefficient 1 makes every element the same draw",
                "use shared_draws for one draw per run" if rho == 1.0 else "give one in (-1, 1)",
            )
        if rho <= floor:
            raise ScenarioError(
                source,
                where,
                f"coefficient {rho:g} is at or below -1/(n-1) = {floor:.6g} for {n} elements: "
                f"the matrix is not positive definite",
                f"give a coefficient above {floor:.6g}",
            )
        return np.full((n, n), rho) + (1.0 - rho) * np.eye(n)
    order = ", ".join(elements)
    shape = f"{len(value)} x {'/'.join(sorted({str(len(r)) for r in value})) or 0}"
    if len(value) != n or any(len(r) != n for r in value):
        raise ScenarioError(
            source,
            where,
            f"the matrix is {shape}, but the array has {n} elements",
            f"give {n} rows of {n} in the order {order}, or one coefficient",
        )
    C = np.array(value, dtype=np.float64)
    for i, j in zip(*np.nonzero(~((C >= -1.0) & (C <= 1.0))), strict=True):
        raise ScenarioError(
            source, where, f"entry [{i}][{j}] = {C[i, j]:g} is outside [-1, 1]", "fix the entry"
        )
    for i in np.nonzero(C.diagonal() != 1.0)[0]:
        raise ScenarioError(
            source,
            where,
            f"diagonal entry [{i}][{i}] ({elements[i]}) = {C[i, i]:g} is not 1",
            "an element's correlation with itself is 1",
        )
    for i, j in zip(*np.nonzero(np.abs(C - C.T) > 1e-12), strict=True):
        raise ScenarioError(
            source,
            where,
            f"the matrix is not symmetric: [{i}][{j}] = {C[i, j]:g} but [{j}][{i}] = {C[j, i]:g}",
            "make the two equal",
        )
    return (C + C.T) / 2


def _cholesky(source: str, where: str, C: np.ndarray) -> np.ndarray:
    """The lower Cholesky factor of ``C``, or a one-line error when it has none."""
    try:
        return np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ScenarioError(
            source,
            where,
            "the matrix is not positive definite (its Cholesky factorisation fails), so no "
            "joint distribution has these correlations",
            "use a nearby valid matrix (e.g. the nearest positive-definite correlation "
            "matrix) or smaller coefficients",
        ) from None
