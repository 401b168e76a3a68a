"""Offline benchmarks for CarePulse's domain code; run with ``python -m benchmarks.<name>``."""
