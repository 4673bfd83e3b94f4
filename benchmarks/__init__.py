"""Benchmarks: each writes its figures to benchmarks/results/NAME.json; run as ``python -m benchmarks.NAME``."""
