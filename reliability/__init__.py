"""Harnesses that attack a running CarePulse stack and print, as JSON, what held.

Like `benchmarks/`, they drive the real processes and import the services' code; nothing
imports them.
"""
