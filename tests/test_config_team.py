"""`[team]`: the seats that share the hotline, and where their record is (issue 13).

A team of two seats or more needs one record every seat reaches: a SQLite file is refused
in one line that names the file and the key and points to PostgreSQL. The store refuses a
second machine on a SQLite file too (`tests/store/test_seats.py`); this is the same rule,
said before anything starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from console.config import ConfigError, load, loads
from tests.test_config import MINIMAL, with_line

PG = 'url = "postgresql+psycopg://duty@127.0.0.1/duty"'


def team_config(*lines: tuple[str, str]) -> str:
    text = MINIMAL
    for section, line in lines:
        text = with_line(text, section, line)
    return text


def test_no_team_is_this_seat_alone(tmp_path: Path) -> None:
    cfg = loads(MINIMAL, "m.toml", tmp_path, environ={})
    assert cfg.team.seats == () and not cfg.team.shared and cfg.team.name == ""


def test_a_team_names_its_seats_on_postgresql(tmp_path: Path) -> None:
    text = team_config(("database", PG), ("seat", 'name = "seat-2"'),
                       ("team", 'seats = ["seat-1", "seat-2", "gate"]'),
                       ("team", 'name = "客服热线"'))
    cfg = loads(text, "m.toml", tmp_path, environ={})
    assert cfg.team.seats == ("seat-1", "seat-2", "gate") and cfg.team.shared
    assert cfg.team.name == "客服热线" and cfg.database_url.startswith("postgresql")


def test_one_seat_team_on_sqlite_is_fine(tmp_path: Path) -> None:
    text = team_config(("seat", 'name = "desk"'), ("team", 'seats = ["desk"]'))
    cfg = loads(text, "m.toml", tmp_path, environ={})
    assert cfg.team.seats == ("desk",) and not cfg.team.shared


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ((("seat", 'name = "seat-1"'), ("team", 'seats = ["seat-1", "seat-2"]')),
         "SQLite file"),
        ((("database", PG), ("seat", 'name = "seat-9"'), ("team", 'seats = ["seat-1"]')),
         "'seat-9' ([seat] name) is not one of the team's seats"),
        ((("database", PG), ("team", "seats = []")), "a list of one seat name or more"),
        ((("database", PG), ("team", 'seats = "seat-1"')), "a list of one seat name or more"),
        ((("database", PG), ("team", 'seats = ["seat 1"]')), "letters, digits"),
        ((("database", PG), ("seat", 'name = "a"'), ("team", 'seats = ["a", "a"]')),
         "a named twice"),
        ((("database", PG), ("team", 'seat = ["a"]')), "did you mean 'seats'"),
    ],
)
def test_a_bad_team_is_one_line_naming_file_and_key(
    tmp_path: Path, lines: tuple[tuple[str, str], ...], words: str
) -> None:
    file = tmp_path / "console.toml"
    file.write_text(team_config(*lines), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(file, environ={})
    message = str(info.value)
    assert info.value.key.startswith("team.") and str(file) in message and words in message, message
    assert "\n" not in message


def test_the_sqlite_refusal_points_to_postgresql(tmp_path: Path) -> None:
    file = tmp_path / "console.toml"
    file.write_text(team_config(("seat", 'name = "seat-1"'),
                                ("team", 'seats = ["seat-1", "seat-2"]')), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(file, environ={})
    assert "postgresql+psycopg://" in str(info.value) and "2 seats" in str(info.value)
