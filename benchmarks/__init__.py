"""Benchmarks of ranking, allocation and import. Run with `python -m benchmarks` or `make benchmark`.

Not tests: they print figures. The data is generated from a fixed seed, so every run measures the same work.
"""
