"""The model language: equations (a Python-expression subset), units and their check, targets."""
