"""gRPC plumbing: a server with health, reflection, tracing and metrics; channels with retries."""
