"""Observability as code: the collector, Prometheus rules, Grafana provisioning and dashboards.

Only the dashboards generator (`python -m observability.dashboards`) and the metric catalogue
are Python; everything else here is configuration the real backends read.
"""
