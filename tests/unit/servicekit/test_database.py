from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from servicekit.database import create_database_engine, outages_are_transient
from servicekit.kafka.consumer import TransientFailure


def test_default_is_a_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    engine = create_database_engine(None, tmp_path / "state" / "x.db")
    with engine.connect() as connection:
        mode = connection.execute(text("PRAGMA journal_mode")).scalar()

    assert mode == "wal"
    assert (tmp_path / "state" / "x.db").exists()


def test_postgres_urls_use_the_psycopg3_driver() -> None:
    engine = create_database_engine("postgresql://u:p@127.0.0.1:1/db", Path("unused.db"))
    assert engine.url.drivername == "postgresql+psycopg"


def test_database_outage_in_a_processor_becomes_a_transient_failure() -> None:
    with pytest.raises(TransientFailure), outages_are_transient():
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError())
