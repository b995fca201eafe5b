"""Benchmark-only pages (registered when BENCH_ROUTES is set, env RELANCE_BENCH=1)."""
