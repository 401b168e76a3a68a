"""CarePulse's public HTTP entry: REST in, gRPC out to the services."""
