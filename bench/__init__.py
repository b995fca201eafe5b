"""Benchmarks behind `make bench` (see bench/run.py); results go to bench/out/ (git-ignored)."""
