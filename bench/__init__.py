"""Benchmarks (scripts and the packages they share); results in bench/README.md."""
