"""Running ensembles: the CompiledModel, scenarios, samplers, executors, the runner, spin-up."""
