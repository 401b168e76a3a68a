"""Customer traffic for the console's alerts: a quiet baseline, then a burst of complaints."""

import time
import uuid

import httpx

COMPLAINT = "My card payment was declined again and nobody helps me, this is unacceptable"
CALM = "Thanks, the card works fine now"


def negative_topic(client_api: httpx.Client) -> str:
    """The intent the complaint is classified as: the topic its alert will be about."""
    probe = client_api.post(
        "/v1/chat",
        json={"conversation_id": "c-probe", "customer_id": "u-probe", "text": COMPLAINT},
    )
    assert probe.status_code == 200, probe.text
    assert probe.json()["sentiment"] == "negative"
    topic: str = probe.json()["intent"]
    return topic


def send_baseline_then_burst(
    client_api: httpx.Client, channel: str, *, quiet_buckets: int, bucket_s: float
) -> None:
    """A few messages per bucket, mostly calm, then 40 complaints at once on `channel`, so the
    alert's series has a band to spike out of."""
    run = uuid.uuid4().hex[:8]
    for bucket in range(quiet_buckets):
        texts = [COMPLAINT, CALM, CALM, CALM]
        _send(client_api, channel, [(f"{run}-q{bucket}-{i}", t) for i, t in enumerate(texts)])
        time.sleep(bucket_s)
    _send(client_api, channel, [(f"{run}-b{i}", COMPLAINT) for i in range(40)])


def _send(client_api: httpx.Client, channel: str, messages: list[tuple[str, str]]) -> None:
    batch = [
        {"conversation_id": f"c-{key}", "customer_id": f"u-{key}", "text": text, "channel": channel}
        for key, text in messages
    ]
    reply = client_api.post("/v1/messages", json={"messages": batch})
    assert reply.status_code == 202, reply.text
