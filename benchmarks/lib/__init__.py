"""Shared helpers for the benchmark scripts (not a benchmark: `make bench` runs only benchmarks/*.py)."""
