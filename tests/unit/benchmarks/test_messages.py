"""Benchmark messages: each handed out once, the file's first, then synthetic ones."""

from pathlib import Path

import pytest

from benchmarks.system.messages import MessagePool, read_texts


def test_every_message_is_given_once_and_synthetic_ones_follow_the_file(tmp_path: Path) -> None:
    source = tmp_path / "messages.csv"
    source.write_text(
        "text,category\nWhere is my card?,card_arrival\n"
        "Where is my card?,card_arrival\nMy PIN is blocked,pin_blocked\n"
        "Why was I charged a fee?,card_fee\n"
    )
    pool = MessagePool(source)

    given = pool.take(2) + pool.take(3)

    assert len(set(given)) == 5
    assert set(given[:3]) == {"Where is my card?", "My PIN is blocked", "Why was I charged a fee?"}
    assert pool.summary() == {"source": str(source), "from_source": 3, "synthetic": 2}


def test_a_plain_file_is_one_message_a_line(tmp_path: Path) -> None:
    source = tmp_path / "messages.txt"
    source.write_text("first message\n\n  second message  \n")

    assert read_texts(source) == ["first message", "second message"]


def test_a_csv_without_a_text_column_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "messages.csv"
    source.write_text("body,category\nhello,greeting\n")

    with pytest.raises(ValueError, match="text"):
        read_texts(source)
