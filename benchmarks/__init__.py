"""Benchmarks: scripts that print throughput figures (never timed tests)."""
