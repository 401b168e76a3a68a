"""The JSON shapes of the public API, and their translation from the services' protobufs."""
