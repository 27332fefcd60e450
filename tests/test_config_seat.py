"""`[seat] name`: this seat's name in the shared record (issue 13), checked like any key."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from console.config import ConfigError, load, loads
from console.domain.seat import SeatNameError, check_seat_name, default_seat_name
from tests.test_config import MINIMAL, with_line


def test_the_seat_name_defaults_to_extension_at_host(tmp_path: Path) -> None:
    cfg = loads(MINIMAL, "m.toml", tmp_path, environ={})
    assert cfg.seat.name == cfg.seat_name == default_seat_name(socket.gethostname(), "1000")
    assert cfg.seat.name.startswith("1000@")
    named = loads(with_line(MINIMAL, "seat", 'name = " desk-2 "'), "m.toml", tmp_path, environ={})
    assert named.seat_name == "desk-2"
    env = loads(MINIMAL, "m.toml", tmp_path, environ={"DUTY_SEAT__NAME": "night.gate"})
    assert env.seat_name == "night.gate" and env.overridden == ("seat.name",)


@pytest.mark.parametrize(
    ("line", "words"),
    [('name = ""', "may not be empty"), ('name = "desk 2"', "letters, digits"),
     (f'name = "{"d" * 65}"', "at most 64"), ("name = 2", "got int"),
     ('name = "-desk"', "starting with a letter"), ('name = "前台"', "letters, digits")],
)
def test_a_bad_seat_name_is_one_line_naming_file_and_key(
    tmp_path: Path, line: str, words: str
) -> None:
    file = tmp_path / "console.toml"
    file.write_text(with_line(MINIMAL, "seat", line), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(file, environ={})
    message = str(info.value)
    assert info.value.key == "seat.name" and str(file) in message and words in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("host", "extension", "expected"),
    [("desk-1.office.example", "100", "100@desk-1"), ("", "100", "100@localhost"),
     ("前台", "100", "100@localhost"), ("h", "+8610", "8610@h"),
     ("x" * 80, "100", ("100@" + "x" * 80)[:64]), ("desk", ".1", "s.1@desk")],
)
def test_the_default_is_always_a_valid_name(host: str, extension: str, expected: str) -> None:
    name = default_seat_name(host, extension)
    assert name == expected and check_seat_name(name) == name


def test_check_seat_name_refuses_what_cannot_tell_seats_apart() -> None:
    for bad in (None, "", " ", "a b", "a:b", "x" * 65, "~admin"):
        with pytest.raises(SeatNameError):
            check_seat_name(bad)
