"""From a checked model file to a kernel: lowering to the IR, code generation, the on-disk cache."""
