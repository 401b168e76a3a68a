from pathlib import Path

import pytest
from sqlalchemy import Column, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError

from servicekit.database import create_database_engine
from servicekit.failures import describe_failure

SECRET = "customer-4242-card-4111111111111111"


def _integrity_error(tmp_path: Path) -> IntegrityError:
    engine = create_database_engine(None, tmp_path / "t.db")
    table = Table("votes", MetaData(), Column("customer", String, primary_key=True))
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(table).values(customer=SECRET))
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(insert(table).values(customer=SECRET))
    return raised.value


def test_database_errors_never_carry_statement_parameters(tmp_path: Path) -> None:
    error = _integrity_error(tmp_path)

    assert SECRET not in str(error)


def test_a_database_failure_is_described_without_statement_or_data(tmp_path: Path) -> None:
    description = describe_failure(_integrity_error(tmp_path))

    assert description == "IntegrityError from the database (IntegrityError)"
    assert SECRET not in description and "INSERT" not in description


def test_other_failures_keep_their_message_but_bounded() -> None:
    assert describe_failure(ValueError("bad label")) == "ValueError: bad label"
    assert len(describe_failure(RuntimeError("x" * 10_000))) == 300
