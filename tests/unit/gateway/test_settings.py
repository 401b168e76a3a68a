"""Bad configuration stops the gateway at start, and never prints a key."""

import hashlib

import pytest
from pydantic import ValidationError

from gateway.keyring import Role
from gateway.settings import GatewaySettings


def test_plaintext_keys_are_kept_only_as_hashes() -> None:
    settings = GatewaySettings(CAREPULSE_CLIENT_KEY="s3cret-client")

    (key,) = settings.api_keys()
    digest = hashlib.sha256(b"s3cret-client").hexdigest()
    assert (key.role, key.name) == (Role.CLIENT, f"client-{digest[:8]}")
    assert key.sha256 == digest
    assert "s3cret-client" not in repr(settings) + repr(settings.model_dump())


def test_key_hashes_name_their_holders() -> None:
    digest = "ab" * 32
    settings = GatewaySettings(api_key_hashes=f"operator:alice:{digest}, client:shop:{'cd' * 32}")

    assert [(k.role, k.name) for k in settings.api_keys()] == [
        (Role.OPERATOR, "alice"),
        (Role.CLIENT, "shop"),
    ]


@pytest.mark.parametrize(
    "entry",
    ["admin:root:" + "ab" * 32, "operator::" + "ab" * 32, "operator:alice:not-a-hash"],
)
def test_malformed_key_hash_fails_fast(entry: str) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(api_key_hashes=entry)


def test_no_keys_at_all_fails_fast() -> None:
    with pytest.raises(ValidationError, match="no API keys configured"):
        GatewaySettings()


def test_one_key_with_two_roles_fails_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as failure:
        GatewaySettings(CAREPULSE_CLIENT_KEY="same-key", CAREPULSE_OPERATOR_KEY="same-key")

    assert "same-key" not in str(failure.value)
