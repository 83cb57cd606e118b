"""Shared by every layer: one-line errors, text and YAML files, seeds, packaged names, the
version."""
