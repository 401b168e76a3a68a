"""CarePulse's service defaults: the plumbing every service needs, written once.

Settings, structured logging, tracing, metrics, Kafka producer/consumer, gRPC server/client,
readiness and graceful shutdown. Services import from here; nothing here imports a service.
"""
