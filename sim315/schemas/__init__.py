"""The files people write, as strict pydantic models: model files, fit files, sweep files,
distributions."""
