"""sim315: a system-dynamics engine. Stock-and-flow models compiled to one Numba kernel that
runs a whole Monte Carlo ensemble per call.

>>> import sim315
>>> model = sim315.load_model("model.yaml")          # doctest: +SKIP
>>> result = model.simulate(model.parameters(runs=100))  # doctest: +SKIP
>>> ds = sim315.run("plan", runs=200)                  # doctest: +SKIP
>>> sim315.to_dataframe(ds, ["tech_smes"])            # doctest: +SKIP
"""

from .core.version import __version__

__all__ = [
    "CompiledModel",
    "SimulationResult",
    "__version__",
    "load_model",
    "open_results",
    "run",
    "to_dataframe",
]


def __getattr__(name):
    # Imported on first use so that `import sim315` (and the CLI's checks) need not load Numba.
    if name in ("CompiledModel", "SimulationResult", "load_model"):
        from .ensembles import model

        return getattr(model, name)
    if name in ("open_results", "to_dataframe"):
        from .results import reader as dataset

        return getattr(dataset, name)
    if name == "run":
        from .api import run

        return run
    raise AttributeError(f"module 'sim315' has no attribute {name!r}")
