"""CarePulse under users like real ones: Locust scenarios and a load shape that finds saturation.

Three kinds of user, against the gateway only:

* `Customer`: chats in conversations of a few turns with think time between them, and now
  and then says whether the top suggestion helped (`POST /v1/chat`, `POST /v1/feedback`);
* `SocialFeed`: a firehose posting batches of posts to `POST /v1/messages` at a steady pace,
  every few batches a storm of angry posts on one topic, which should raise an alert;
* `Operator`: holds `GET /v1/alerts/stream` open, acknowledges every alert that fires
  (`POST /v1/alerts/{id}/ack`), resumes with Last-Event-ID. How long an alert event took from
  its last change to the operator is reported as the request "SSE alert delivered".

`RampToSaturation` adds customers step by step until, after the first step (the warm-up), the
chat's p95 over the last 10 s passes LOADTEST_SATURATION_P95_MS or more than
LOADTEST_SATURATION_FAILURES of it fails, holds that load one more step, then stops; it never
runs past LOADTEST_DURATION_S.

`make loadtest` starts a stack, runs this headless and writes CSV and HTML reports to a work
folder (loadtests/run.py). By hand, against a running `make run` (from the repository root):

    LOADTEST_CLIENT_KEY=... LOADTEST_OPERATOR_KEY=... PYTHONPATH=. \
      .venv-loadtest/bin/locust -f loadtests/locustfile.py --host http://127.0.0.1:8080
"""

import functools
import logging
import os
import random
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from locust import HttpUser, LoadTestShape, between, constant, constant_pacing, task

from loadtests import api

REPO_ROOT = Path(__file__).resolve().parent.parent


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


CLIENT_KEY = os.environ.get("LOADTEST_CLIENT_KEY", "")
OPERATOR_KEY = os.environ.get("LOADTEST_OPERATOR_KEY", "")
MESSAGES = Path(os.environ.get("LOADTEST_MESSAGES", REPO_ROOT / "tests/data/bank_support.csv"))
DURATION_S = _setting("LOADTEST_DURATION_S", 60)
STEP_S = _setting("LOADTEST_STEP_S", 10)
STEP_USERS = int(_setting("LOADTEST_STEP_USERS", 10))
MAX_USERS = int(_setting("LOADTEST_MAX_USERS", 500))
SATURATION_P95_MS = _setting("LOADTEST_SATURATION_P95_MS", 1000)
SATURATION_FAILURES = _setting("LOADTEST_SATURATION_FAILURES", 0.05)

THINK_S = (2.0, 6.0)  # between a customer's turns: reading the answer, typing the next
TURNS = (2, 6)  # messages in one conversation
FEEDBACK_SHARE = 0.3  # of answers a customer rates
FEED_BATCH = 50  # posts per firehose batch
FEED_PACING_S = 1.0  # one batch a second
STORM_EVERY = 10  # every 10th batch is a storm
STREAM_HOLD_S = 30.0  # an operator reconnects after this long, resuming where it was
STREAM_READ_TIMEOUT_S = 40.0  # beyond the gateway's heartbeat (15 s by default)

log = logging.getLogger(__name__)


@functools.cache
def texts() -> api.Texts:
    """One message source for every user of this process, read when the first one asks."""
    return api.Texts(MESSAGES)


class Customer(HttpUser):
    weight = 10
    wait_time = between(*THINK_S)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = CLIENT_KEY
        self.customer_id = f"lt-customer-{secrets.token_hex(4)}"
        self._new_conversation()

    def _new_conversation(self) -> None:
        self.conversation_id = f"lt-conversation-{secrets.token_hex(4)}"
        self.turns_left = random.randint(*TURNS)

    @task
    def chat(self) -> None:
        if self.turns_left == 0:
            self._new_conversation()
        self.turns_left -= 1
        body = api.chat_body(self.conversation_id, self.customer_id, texts().next())
        with self.client.post(api.CHAT, json=body, catch_response=True) as response:
            if not response.ok:
                response.failure(f"{response.status_code}")
                return
            answer = response.json()
        if answer["suggestions"] and random.random() < FEEDBACK_SHARE:
            top = answer["suggestions"][0]["article_id"]
            vote = api.feedback_body(
                answer["message_id"], self.customer_id, top, random.random() < 0.7
            )
            self.client.post(api.FEEDBACK, json=vote)


class SocialFeed(HttpUser):
    fixed_count = 1
    wait_time = constant_pacing(FEED_PACING_S)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = CLIENT_KEY
        self.run_id = secrets.token_hex(4)
        self.sent = 0
        self.batches = 0

    @task
    def post_batch(self) -> None:
        self.batches += 1
        storm = self.batches % STORM_EVERY == 0
        posts = [
            (f"{random.choice(api.STORM_POSTS)} #{self.sent + i}" if storm else texts().next())
            for i in range(FEED_BATCH)
        ]
        name = f"{api.MESSAGES} (storm)" if storm else api.MESSAGES
        self.client.post(
            api.MESSAGES, json=api.feed_batch(posts, self.run_id, self.sent), name=name
        )
        self.sent += FEED_BATCH


class Operator(HttpUser):
    fixed_count = 2
    wait_time = constant(1)

    def on_start(self) -> None:
        self.client.headers["X-API-Key"] = OPERATOR_KEY
        self.last_event_id: str | None = None

    @task
    def watch_alerts(self) -> None:
        """One stream session: read events for STREAM_HOLD_S, acknowledging what fires."""
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        response = self.client.get(
            api.ALERT_STREAM, headers=headers, stream=True, timeout=(5, STREAM_READ_TIMEOUT_S)
        )
        if not response.ok:
            return  # counted as a failure by Locust; the wait time paces the retry
        until = time.monotonic() + STREAM_HOLD_S
        try:
            lines = (line.decode() for line in response.iter_lines())
            for event in api.server_sent_events(lines):
                self.last_event_id = event.id or self.last_event_id
                self._delivered(event.data)
                if event.data["alert"]["state"] == "firing":
                    self._acknowledge(event.data["alert"]["alert_id"])
                if time.monotonic() > until:
                    break
        finally:
            response.close()

    def _delivered(self, event: dict[str, Any]) -> None:
        if not event["alert"]["updated_at"]:
            return
        changed = datetime.fromisoformat(event["alert"]["updated_at"])
        self.environment.events.request.fire(
            request_type="SSE",
            name="alert delivered",
            response_time=max(0.0, (datetime.now(UTC) - changed).total_seconds() * 1000),
            response_length=0,
            exception=None,
            context={},
        )

    def _acknowledge(self, alert_id: str) -> None:
        path = api.ACKNOWLEDGE.format(alert_id=alert_id)
        body = api.acknowledge_body("seen in the load test")
        with self.client.post(path, json=body, name=api.ACKNOWLEDGE, catch_response=True) as ack:
            if ack.status_code == 409:
                ack.success()  # the other operator was first: as intended


class RampToSaturation(LoadTestShape):
    saturated_at: float | None = None  # seconds into the run

    # Locust's LoadTestShape methods carry no annotations: hence the ignores below.
    def tick(self) -> tuple[int, float] | None:
        run_time: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if run_time > DURATION_S:
            return None
        # The first step is the warm-up (connections, first calls): not judged.
        if self.saturated_at is None and run_time >= STEP_S and self._saturated():
            self.saturated_at = run_time
            users = self.get_current_user_count()  # type: ignore[no-untyped-call]
            log.info("saturated after %.0fs at %d users", run_time, users)
        if self.saturated_at is not None:
            if run_time > self.saturated_at + STEP_S:
                return None
            return self.get_current_user_count(), STEP_USERS  # type: ignore[no-untyped-call]
        fixed = SocialFeed.fixed_count + Operator.fixed_count
        customers = STEP_USERS * (1 + int(run_time // STEP_S))
        return min(fixed + customers, MAX_USERS), STEP_USERS

    def _saturated(self) -> bool:
        if self.runner is None:
            return False
        chat = self.runner.stats.get(api.CHAT, "POST")
        p95 = chat.get_current_response_time_percentile(0.95)
        if p95 is not None and p95 > SATURATION_P95_MS:
            return True
        rps = chat.current_rps
        return rps > 0 and chat.current_fail_per_sec / rps > SATURATION_FAILURES
