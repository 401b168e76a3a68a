"""Training and evaluation of classify's bundle: `python -m training.classify --help`."""
