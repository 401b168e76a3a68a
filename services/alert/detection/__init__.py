"""Detection: per-series detectors, one per alert kind, and the incident rules that decide
when an alert opens and resolves. Pure domain code, fed per-bucket counts; the service and
the benchmarks drive it the same way (:class:`~.series_monitor.SeriesMonitor`)."""
