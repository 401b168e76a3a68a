"""Notification: the outbox relay to Kafka `alerts`, webhooks and Alertmanager (each with its
own delivery thread, retries and dead letters), and the feed that wakes them and the alert
streams when an event commits. Each edge encodes the stored alert as it needs."""
