"""Numenta Anomaly Benchmark (NAB) harness for the alert service's streaming detector.

``runner`` writes one score file per data file; ``scoring`` reads those files and the
labelled windows and computes NAB's normalized scores (Lavin & Ahmad, 2015).
"""
