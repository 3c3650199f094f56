"""Benchmarks of the gateway on loopback; figures go to bench/RESULTS.md."""
