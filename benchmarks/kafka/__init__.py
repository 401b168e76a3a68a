"""Kafka throughput through servicekit: the producer and the consumer loop the services run."""
