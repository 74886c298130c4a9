"""Benchmarks of the platform's real processes (`civic bench ...`); results in docs/benchmarks.md."""
