"""Running CarePulse on one machine: the Kafka broker and every service as local processes.

Used by `make run` and by the integration tests, so both start the system the same way.
"""
