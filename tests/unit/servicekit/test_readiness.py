from servicekit.readiness import Readiness


def test_ready_only_when_every_check_passes_and_changes_are_reported() -> None:
    model_loaded = False
    changes: list[bool] = []
    readiness = Readiness({"model": lambda: model_loaded, "kafka": lambda: True}, changes.append)

    assert readiness.evaluate() is False
    model_loaded = True
    assert readiness.evaluate() is True
    assert readiness.evaluate() is True

    assert changes == [True]  # starts not ready; one transition, reported once


def test_a_check_that_raises_counts_as_failing() -> None:
    def broken() -> bool:
        raise ConnectionError("database down")

    changes: list[bool] = []
    readiness = Readiness({"database": broken}, changes.append)

    assert readiness.evaluate() is False
    assert readiness.ready is False
