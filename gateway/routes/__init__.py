"""One router per resource; each is built from the upstreams and settings it needs."""
