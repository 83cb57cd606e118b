"""sim315's asv benchmark suite (run from benchmarks/: see README.md there)."""
