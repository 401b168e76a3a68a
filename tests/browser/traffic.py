"""Customer traffic for the console's alerts: a quiet baseline, then a burst of complaints (a
negative-share spike), or steady questions, then a flood of them (a volume surge)."""

import time
import uuid

import httpx

COMPLAINT = "My card payment was declined again and nobody helps me, this is unacceptable"
# A complaint about another topic than COMPLAINT's, for a series no other test touches.
STOLEN_CARD_COMPLAINT = "My card was stolen and you still have not blocked it, this is a disgrace"
CALM = "Thanks, the card works fine now"
# Neutral: many of them make more messages, not a larger share of negative ones.
QUESTION = "Which countries do you support?"


def negative_topic(client_api: httpx.Client, complaint: str = COMPLAINT) -> str:
    """The intent the complaint is classified as: the topic its alert will be about."""
    return _topic(client_api, complaint, sentiments={"negative"})


def neutral_topic(client_api: httpx.Client, question: str = QUESTION) -> str:
    """The intent of a question that is not negative: the topic of its volume alert."""
    return _topic(client_api, question, sentiments={"neutral", "positive"})


def send_baseline_then_burst(
    client_api: httpx.Client,
    channel: str,
    *,
    quiet_buckets: int,
    bucket_s: float,
    complaint: str = COMPLAINT,
) -> None:
    """A few messages per bucket, mostly calm, then 40 complaints at once on `channel`, so the
    alert's series has a band to spike out of."""
    run = uuid.uuid4().hex[:8]
    for bucket in range(quiet_buckets):
        texts = [complaint, CALM, CALM, CALM]
        _send(client_api, channel, [(f"{run}-q{bucket}-{i}", t) for i, t in enumerate(texts)])
        time.sleep(bucket_s)
    _send(client_api, channel, [(f"{run}-b{i}", complaint) for i in range(40)])


def send_steady_then_surge(
    client_api: httpx.Client,
    channel: str,
    *,
    steady_buckets: int,
    bucket_s: float,
    question: str = QUESTION,
) -> None:
    """Three questions per bucket, then 40 at once: far above the volume detector's minimum
    (20 messages, twice the expected) and its surprise threshold, with no negative among them."""
    run = uuid.uuid4().hex[:8]
    for bucket in range(steady_buckets):
        _send(client_api, channel, [(f"{run}-s{bucket}-{i}", question) for i in range(3)])
        time.sleep(bucket_s)
    _send(client_api, channel, [(f"{run}-v{i}", question) for i in range(40)])


def _topic(client_api: httpx.Client, text: str, *, sentiments: set[str]) -> str:
    probe = client_api.post(
        "/v1/chat", json={"conversation_id": "c-probe", "customer_id": "u-probe", "text": text}
    )
    assert probe.status_code == 200, probe.text
    assert probe.json()["sentiment"] in sentiments, probe.json()
    topic: str = probe.json()["intent"]
    return topic


def _send(client_api: httpx.Client, channel: str, messages: list[tuple[str, str]]) -> None:
    batch = [
        {"conversation_id": f"c-{key}", "customer_id": f"u-{key}", "text": text, "channel": channel}
        for key, text in messages
    ]
    reply = client_api.post("/v1/messages", json={"messages": batch})
    assert reply.status_code == 202, reply.text
