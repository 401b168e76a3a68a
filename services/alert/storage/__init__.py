"""Storage: everything the alert service keeps, in one database (SQLite or PostgreSQL).

`store.AlertStore` hands out one transaction per unit of work (a counted batch, a closed
bucket, an acknowledgement); inside it, each table group has its module: `messages`
(processed ids, open buckets), `series` (monitor state, judged buckets), `alerts` (alerts and
their outbox) and `deliveries` (notification rows). Rows hold domain values; nothing here
knows protobuf.
"""
