"""`make chaos`: faults against the real processes, with a JSON summary as the last line.

Steady traffic goes through the gateway while each fault is injected and healed in turn
(kill -9 of each service, the broker paused and restarted, classify paused past its session
timeout and made slow). Per fault: messages accepted vs classified (lost), messages the alert
service counted twice, alerts fired twice, p99 of gateway answers and whether the stack
recovered on its own. See docs/reliability.md.
"""
