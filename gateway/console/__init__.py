"""The web console: an agent's and an operator's view of the public API, served by the gateway."""
