import base64
import uuid

import pytest

from local import broker


def test_cluster_id_is_kafka_base64_of_16_bytes() -> None:
    cluster_id = broker._kafka_uuid()
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_an_id_that_would_read_as_a_command_line_option_is_drawn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 0xF8 encodes to a leading "-" in URL-safe base64.
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" + bytes(15))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    cluster_id = broker._kafka_uuid()
    assert not cluster_id.startswith("-")
    assert base64.urlsafe_b64decode(cluster_id + "==") == b"\x01" + bytes(15)
