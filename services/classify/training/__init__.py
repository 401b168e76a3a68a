"""Reproducible training of the classify heads: `python -m services.classify.training --help`."""
