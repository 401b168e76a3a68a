"""`make abuse`: hostile input against the gateway, with a JSON summary as the last line.

schemathesis against the OpenAPI document with both roles' keys, an auth matrix over every
route, hostile requests (oversized, nested, invalid UTF-8, slow, header abuse, many streams)
while the gateway's memory is sampled, and a PII corpus sent through every entry point and
then looked for in every topic, log line and span. See docs/reliability.md.
"""
