"""The fast parts of `make abuse` against the session's stack, so every run proves them: the
auth matrix, a handful of hostile requests, the PII sweep over a few texts of each kind, and
no API key in any log line or span. schemathesis runs only in `make abuse`
(docs/reliability.md)."""

import pytest

from local.stack import Stack
from reliability.abuse.auth_matrix import run_auth_matrix
from reliability.abuse.hostile import Attacks
from reliability.abuse.leak_search import find, mark, read_telemetry, telemetry_files
from reliability.abuse.pii_sweep import load_corpus, run_pii_sweep
from reliability.abuse.target import Target

pytestmark = pytest.mark.integration

# Quick ones: the slow body and slow headers wait out the stack's 30 s body timeout.
FAST_ATTACKS = {
    "body_over_limit_declared",
    "body_over_limit_chunked",
    "deeply_nested_array",
    "invalid_utf8_body",
    "batch_of_50k_invalid_items",
    "nfkc_expansion_bomb",
    "content_length_and_chunked",
    "out_of_range_numbers_and_times",
    "alert_streams_over_the_caps",
}


@pytest.fixture
def target(stack: Stack, keys: dict[str, str]) -> Target:
    return Target(
        url=stack.gateway_url,
        client_key=keys["CAREPULSE_CLIENT_KEY"],
        operator_key=keys["CAREPULSE_OPERATOR_KEY"],
        gateway_pid=stack.processes["gateway"].pid,
        log_dir=stack.log_dir,
        traces_dir=stack.traces_dir,
        bootstrap_servers=stack.broker.bootstrap_servers,
    )


def test_only_probes_and_docs_answer_without_a_key_and_each_route_admits_one_role(
    target: Target,
) -> None:
    report = run_auth_matrix(target)

    assert report.violations == []
    assert set(report.role_of.values()) == {"client", "operator"}


def test_hostile_requests_get_4xx_and_the_gateway_keeps_serving(target: Target) -> None:
    report = Attacks(target, log=lambda _: None).run_all(only=FAST_ATTACKS)

    assert {result.name for result in report.results} == FAST_ATTACKS
    assert report.failed == []
    assert report.server_errors == []
    assert report.gateway_died_after is None


def test_pii_corpus_sent_everywhere_leaves_no_covered_pii_in_topics_logs_or_spans(
    target: Target,
) -> None:
    since = mark(telemetry_files(target.log_dir, target.traces_dir))

    report = run_pii_sweep(target, load_corpus(per_kind=2), since, log=lambda _: None)

    assert report.refused == []
    assert report.messages_classified == 2 * report.texts_sent
    assert any(place.startswith("topic messages.raw") for place in report.searched)
    assert report.leaks == {}
    assert report.raw_customer_ids_in_telemetry == 0
    assert report.raw_conversation_ids_in_telemetry == 0


def test_api_and_pseudonym_keys_never_appear_in_logs_or_spans(
    target: Target, keys: dict[str, str]
) -> None:
    # Every key, right, wrong and unknown, presented on every route.
    presented = [*keys.values(), *run_auth_matrix(target).unknown_keys]

    files = telemetry_files(target.log_dir, target.traces_dir)
    secrets = {f"secret {i}": {secret} for i, secret in enumerate(presented)}

    assert files
    assert find(secrets, read_telemetry(files)) == {}
