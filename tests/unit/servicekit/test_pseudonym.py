import pytest

from servicekit.pseudonym import KEY_VARIABLE, Pseudonymizer

KEY = b"k" * 32


def test_the_same_id_always_gets_the_same_pseudonym_and_never_itself() -> None:
    pseudonym = Pseudonymizer(KEY)

    assert pseudonym("customer-42") == pseudonym("customer-42")
    assert "customer-42" not in pseudonym("customer-42")
    assert pseudonym("customer-42") != pseudonym("customer-43")


def test_without_the_key_a_pseudonym_cannot_be_recomputed() -> None:
    assert Pseudonymizer(KEY)("customer-42") != Pseudonymizer(b"x" * 32)("customer-42")


def test_processes_sharing_the_configured_key_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_VARIABLE, "a-shared-deployment-key-0123456789")

    assert Pseudonymizer.from_environment()("c-1") == Pseudonymizer.from_environment()("c-1")


def test_without_a_configured_key_each_process_draws_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)

    assert Pseudonymizer.from_environment()("c-1") != Pseudonymizer.from_environment()("c-1")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymizer(b"short")
