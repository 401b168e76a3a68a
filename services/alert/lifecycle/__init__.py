"""Lifecycle: counting classified messages into buckets, closing due buckets through each
series' monitor, and carrying out its decisions on the alerts (open, extend, resolve,
acknowledge) in the same transaction as their outbox events."""
