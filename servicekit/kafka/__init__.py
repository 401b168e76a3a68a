"""Kafka plumbing: topics, headers, a durable producer and a consumer loop that loses nothing."""
