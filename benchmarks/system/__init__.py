"""Benchmarks of the whole running system, started as `make run` starts it (or attached to one).

``python -m benchmarks.system.latency`` (open-loop chat latency), ``.pipeline`` (messages/s to
messages.classified against the classify engine alone) and ``.memory`` (RSS of every process,
idle and under load); each prints one JSON object as its last line (docs/performance.md).
"""
