"""console.toml: the example loads; every wrong value names file, key, value and expectation."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from console.config import (
    PROMPT_NAMES,
    ConfigError,
    ForwardMethod,
    WaitingPolicy,
    anchor_settings,
    load,
    loads,
)
from console.domain import HolidayPolicy, Language
from sip.api import RtpLatching

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "console.toml.example"

MINIMAL = """\
centre = "XX客服中心"

[line]
registrar = "127.0.0.1"
extension = "1000"

[gate_post]
uri = "sip:8001@127.0.0.1"
"""


def test_example_loads_with_rule_defaults() -> None:
    cfg = load(EXAMPLE, environ={})
    assert cfg.centre == "XX客服中心" and cfg.timezone == "Asia/Shanghai"
    assert cfg.ring_limit.rings == 3 and cfg.ring_limit.seconds == 15.0
    assert [r.name for r in cfg.rosters] == ["day", "noon", "evening", "weekend"]
    assert cfg.gate_post.method is ForwardMethod.REFER
    assert cfg.prompts.language is Language.ZH
    assert cfg.agents.late_after == dt.time(8, 30)
    assert cfg.line_config().extension == "1000"
    cfg.line_config().validate()
    # the packaged calendar: 2025-10-11 is a 调休 Saturday, a working day
    sat = dt.datetime(2025, 10, 11, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert cfg.schedule().at(sat).roster_names == ("day",)


def test_minimal_file_gets_every_default(tmp_path: Path) -> None:
    cfg = loads(MINIMAL, "m.toml", tmp_path, environ={})
    assert cfg.line.registrar_port == 5060 and cfg.line.rtp_port_low == 20000
    assert cfg.timers.survey_digit_timeout_seconds == 8.0
    assert cfg.capacity.waiting is WaitingPolicy.HOLD
    assert cfg.holidays.on_holiday is HolidayPolicy.NIGHT
    assert cfg.database_url.startswith("sqlite:///")
    assert cfg.recording.enabled is False
    assert cfg.recording.directory == tmp_path / "var/recordings"
    assert cfg.follow_ups.default_owner == "" and cfg.follow_ups.due_hours == 24.0
    assert cfg.seat.headset_device == "" and cfg.seat.greeting_by_tts is True
    assert cfg.flow_settings().agent_greeting_by_tts is True


def test_outbox_in_its_own_directory_by_default(tmp_path: Path) -> None:
    cfg = loads(MINIMAL, "m.toml", tmp_path, environ={})
    assert cfg.outbox_dir == tmp_path / "var/outbox" and cfg.outbox_reserve_bytes == 8 << 20
    text = MINIMAL + '\n[database]\noutbox_dir = "/srv/duty/outbox"\noutbox_reserve_mib = 0\n'
    moved = loads(text, "m.toml", tmp_path, environ={})
    assert moved.outbox_dir == Path("/srv/duty/outbox") and moved.outbox_reserve_bytes == 0


def test_anchor_log_beside_the_record_by_default(tmp_path: Path) -> None:
    cfg = loads(MINIMAL, "m.toml", tmp_path, environ={})
    assert cfg.anchors.log == tmp_path / "var/anchors.log"
    assert cfg.anchors.key_file == tmp_path / "var/anchor.key"
    assert cfg.anchors.interval_seconds == 300.0
    text = MINIMAL + '\n[database]\nanchor_log = ""\nanchor_key_file = "/etc/duty/anchor.key"\n'
    none = loads(text, "m.toml", tmp_path, environ={})
    assert none.anchors.log is None and none.anchors.key_file == Path("/etc/duty/anchor.key")
    # verify reads only these keys: a broken roster does not stop it
    file = tmp_path / "console.toml"
    file.write_text(text + "\n[ring_limit]\nrings = 'two'\n", encoding="utf-8")
    assert anchor_settings(file, environ={}) == none.anchors
    with pytest.raises(ConfigError, match="anchor_interval_seconds"):
        anchor_settings(file, environ={"DUTY_DATABASE__ANCHOR_INTERVAL_SECONDS": "-1"})


def test_seat_section(tmp_path: Path) -> None:
    text = with_line(with_line(MINIMAL, "seat", "headset_device = 3"), "seat", 'greeting = "say"')
    cfg = loads(text, "m.toml", tmp_path, environ={})
    assert cfg.seat.headset_device == "3" and cfg.seat.greeting_by_tts is False
    assert cfg.flow_settings().agent_greeting_by_tts is False
    from console.ui.settings import UiSettings

    ui = UiSettings.from_config(cfg)
    assert ui.headset_device == "3" and ui.greeting_by_tts is False
    # The seat judges late / early by the config's thresholds, not built-in ones.
    late = with_line(text, "agents", 'late_after = "09:00"')
    policy = UiSettings.from_config(loads(late, "m.toml", tmp_path, environ={})).attendance()
    assert policy.late_after == dt.time(9, 0) and policy.early_before == dt.time(17, 35)
    assert cfg.calendar.holidays  # packaged calendar by default


def test_adapters_for_flow_and_prompts() -> None:
    pytest.importorskip("console.callflow.ports", reason="call flow not in this tree")
    pytest.importorskip("console.prompts", reason="prompt book not in this tree")
    cfg = loads(
        MINIMAL.replace(
            'uri = "sip:8001@127.0.0.1"',
            'uri = "sip:8001@127.0.0.1"\nsecond_target = "sip:8002@127.0.0.1"\nretries = 2',
        ),
        environ={},
    )
    flow = cfg.flow_settings()
    flow.validate()
    assert [(t.uri, t.attempts) for t in flow.gate_chain] == [
        ("sip:8001@127.0.0.1", 3),
        ("sip:8002@127.0.0.1", 1),
    ]
    assert flow.ring_limit_seconds == 15.0
    assert cfg.prompt_settings().centre == "XX客服中心"
    assert flow.recording_dir.endswith("var/recordings") and flow.record_calls is False
    owned = loads(MINIMAL + '\n[follow_ups]\ndefault_owner = "1001"\ndue_hours = 4\n'
                  '[recording]\nenabled = true\n', environ={}).flow_settings()
    assert (owned.follow_up_owner, owned.follow_up_hours, owned.record_calls) == ("1001", 4, True)
    owned.validate()


def test_prompt_names_match_the_prompt_book() -> None:
    prompts = pytest.importorskip("console.prompts", reason="prompt book not in this tree")
    assert tuple(PROMPT_NAMES) == tuple(prompts.PROMPT_NAMES)


def with_line(text: str, section: str, line: str) -> str:
    """Add `line` under [section] (creating it at the end if absent), replacing the key."""
    key = line.split(" =")[0]
    if section in ("line", "gate_post") and re.search(rf"^{key} = ", text, re.M):
        return re.sub(rf"^{key} = .*$", line, text, count=1, flags=re.M)
    if section == "":
        return line + "\n" + text
    header = f"[{section}]\n"
    if header in text:
        return text.replace(header, header + line + "\n", 1)
    return text + f"\n{header}{line}\n"


# (section, line to add, dotted key in the error, words expected in the message)
BAD = [
    ("", 'timezone = "Mars/Olympus"', "timezone", "IANA"),
    ("", "timezone = 8", "timezone", "IANA"),
    ("", "centr = 'x'", "centr", "did you mean 'centre'"),
    ("line", 'registrar = "pbx.example.com"', "line.registrar", "IP address"),
    ("line", "registrar_port = 70000", "line.registrar_port", "1-65535"),
    ("line", 'registrar_port = "5060"', "line.registrar_port", "1-65535"),
    ("line", "registrar_port = true", "line.registrar_port", "1-65535"),
    ("line", "sip_port = -1", "line.sip_port", "0-65535"),
    ("line", 'extension = "10 00"', "line.extension", "extension"),
    ("line", 'local_address = "localhost"', "line.local_address", "IP"),
    ("line", "rtp_port_low = 30000", "line.rtp_port_high", "above line.rtp_port_low"),
    ("line", 'trusted_sources = "10.0.0.0/8"', "line.trusted_sources", "list"),
    ("line", 'trusted_sources = ["10.0.0.300"]', "line.trusted_sources", "CIDR"),
    ("line", "max_calls = 0", "line.max_calls", "1-1000"),
    ("line", "secrets = 'x'", "line.secrets", "did you mean 'secret'"),
    ("ring_limit", "rings = 0", "ring_limit.rings", "1-20"),
    ("ring_limit", "rings = 2.5", "ring_limit.rings", "whole number"),
    ("ring_limit", 'rings = "3"', "ring_limit.rings", "whole number"),
    ("ring_limit", "cadence_seconds = 0", "ring_limit.cadence_seconds", "0 < s"),
    ("ring_limit", "cadence_seconds = nan", "ring_limit.cadence_seconds", "seconds"),
    ("ring_limit", "cadance_seconds = 5", "ring_limit.cadance_seconds", "did you mean"),
    ("rosters.day", 'start = "25:00"', "rosters.day.start", "HH:MM"),
    ("rosters.day", 'start = "8:0x"', "rosters.day.start", "HH:MM"),
    ("rosters.day", 'end = "07:00"', "rosters.day.end", "must be after rosters.day.start"),
    ("rosters.day", 'days = "fri-mon"', "rosters.day.days", "backwards"),
    ("rosters.day", 'days = "weekdays"', "rosters.day.days", "mon-fri"),
    ("rosters.day", "days = 5", "rosters.day.days", "mon-fri"),
    ("rosters.day", "strat = '08:00'", "rosters.day.strat", "did you mean 'start'"),
    ("rosters.night", 'start = "21:00"', "rosters.night.days", "required"),
    ("holidays", 'on_holiday = "party"', "holidays.on_holiday", '"night"'),
    ("holidays", 'calendar = "nope.toml"', "holidays.calendar", "no such file"),
    ("holidays", 'makeup_works_as = "monday"', "holidays.makeup_works_as", "mon, tue"),
    ("holidays", "warn_days = -1", "holidays.warn_days", "0-366"),
    ("holidays", 'warn_days = "60"', "holidays.warn_days", "0-366"),
    ("holidays", 'source = "holidays-cn"', "holidays.source", '"chinese-calendar"'),
    ("holidays", "warn_day = 30", "holidays.warn_day", "did you mean 'warn_days'"),
    ("gate_post", 'method = "transfer"', "gate_post.method", '"refer"'),
    ("gate_post", "retries = 9", "gate_post.retries", "0-5"),
    ("gate_post", 'second_target = "tel:+861234"', "gate_post.second_target", "SIP URI"),
    ("gate_post", 'second_target = "sip:8001@127.0.0.1"', "gate_post.second_target", "same"),
    ("gate_post", 'second_target = "sip:1000@127.0.0.1"', "gate_post.second_target", "loop"),
    ("gate_post", "transfer_timeout_seconds = -3", "gate_post.transfer_timeout_seconds", "0 < s"),
    ("prompts", 'language = "fr"', "prompts.language", '"zh" or "en"'),
    ("prompts", "rate = 5", "prompts.rate", "80-400"),
    ("prompts", 'voice = "cmn; rm -rf"', "prompts.voice", "espeak-ng"),
    ("prompts.texts", 'greeting = "工号 {agent}"', "prompts.texts.greeting", "{agent}"),
    ("prompts.texts", 'greeting = "{0}"', "prompts.texts.greeting", "positional"),
    ("prompts.texts", 'greeting = ""', "prompts.texts.greeting", "empty"),
    ("prompts.texts", 'goodbye = "再见"', "prompts.texts.goodbye", "unknown key"),
    ("timers", "hold_max_seconds = 0", "timers.hold_max_seconds", "0 < s"),
    ("timers", "survey_digit_timeout_seconds = 61", "timers.survey_digit_timeout_seconds", "≤ 60"),
    (
        "timers",
        'caller_hangup_timeout_seconds = "10"',
        "timers.caller_hangup_timeout_seconds",
        "seconds",
    ),
    ("capacity", 'waiting = "drop"', "capacity.waiting", '"hold" or "forward"'),
    ("capacity", "max_waiting = -1", "capacity.max_waiting", "0-100"),
    ("database", 'url = "mysql://x"', "database.url", "postgresql"),
    ("database", 'url = "sqlite:relative.db"', "database.url", "sqlite:///"),
    ("database", 'uri = "sqlite:///x"', "database.uri", "did you mean 'url'"),
    ("recording", 'enabled = "yes"', "recording.enabled", "true or false"),
    ("follow_ups", 'default_owner = "a:b"', "follow_ups.default_owner", "agent ID"),
    ("follow_ups", 'default_owner = "auto"', "follow_ups.default_owner", "reserved"),
    ("follow_ups", "default_owner = 1001", "follow_ups.default_owner", "agent ID"),
    ("follow_ups", "due_hours = 0", "follow_ups.due_hours", "0 < h ≤ 720"),
    ("follow_ups", 'due_hours = "24"', "follow_ups.due_hours", "hours"),
    ("follow_ups", "default_ownr = '1001'", "follow_ups.default_ownr", "did you mean"),
    ("seat", 'greeting = "speak"', "seat.greeting", '"tts" or "say"'),
    ("seat", "greeting = true", "seat.greeting", '"tts" or "say"'),
    ("seat", f'headset_device = "{"J" * 129}"', "seat.headset_device", "PortAudio"),
    ("seat", "headset_device = -1", "seat.headset_device", "PortAudio"),
    ("seat", "headset = 'Jabra'", "seat.headset", "did you mean"),
    ("agents", 'late_after = "24:00"', "agents.late_after", "HH:MM"),
    ("agents", "away_limit_minutes = 0", "agents.away_limit_minutes", "0 < m"),
    ("line", 'media_networks = "10.0.0.0/8"', "line.media_networks", "a list of addresses"),
    ("line", 'media_networks = ["10.0.0.0/33"]', "line.media_networks", "'10.0.0.0/33'"),
    ("line", 'media_peers = ["pbx.local"]', "line.media_peers", "'pbx.local'"),
    ("line", 'rtp_latching = "never"', "line.rtp_latching", '"auto" or "always"'),
    ("line", "latch_timeout_seconds = 0", "line.latch_timeout_seconds", "1 ≤ s ≤ 120"),
    ("line", "latch_timeout_seconds = 0.5", "line.latch_timeout_seconds", "1 ≤ s ≤ 120"),
    ("line", 'bind_address = "any"', "line.bind_address", "0.0.0.0"),
    ("line", 'bind_address = "::"', "line", "IPv6 but local_host 127.0.0.1 is IPv4"),
    ("line", 'local_address = "0.0.0.0"', "line", "cannot be advertised"),
    ("line", "media_network = []", "line.media_network", "did you mean 'media_networks'"),
    ("database", "anchor_logs = 'a.log'", "database.anchor_logs", "did you mean 'anchor_log'"),
    ("database", "anchor_log = 5", "database.anchor_log", "a file path"),
    ("database", 'anchor_log = "."', "database.anchor_log", "is a directory"),
    ("database", 'anchor_log = "var/duty.db"', "database.anchor_log", "the duty record itself"),
    ("database", 'anchor_key_file = ""', "database.anchor_key_file", "a file path"),
    ("database", 'anchor_log = "var/anchor.key"', "database.anchor_key_file", "the anchor log"),
    ("database", "anchor_interval_seconds = 0", "database.anchor_interval_seconds", "0 < s ≤ 3600"),
    ("database", "anchor_interval_seconds = 7200", "database.anchor_interval_seconds", "≤ 3600"),
    ("database", 'outbox_dir = ""', "database.outbox_dir", "a directory"),
    ("database", 'outbox_dir = "console.toml"', "database.outbox_dir", "not a directory"),
    ("database", "outbox_reserve_mib = -1", "database.outbox_reserve_mib", "MiB 0-1024"),
    ("database", 'outbox_reserve_mib = "lots"', "database.outbox_reserve_mib", "MiB 0-1024"),
]


@pytest.mark.parametrize(("section", "line", "key", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_value(tmp_path: Path, section: str, line: str, key: str, words: str) -> None:
    text = with_line(MINIMAL, section, line)
    file = tmp_path / "console.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(file, environ={})
    err = info.value
    assert err.key == key
    message = str(err)
    assert str(file) in message and key in message and words in message
    # the line number points at the offending line when the key is written in the file
    if err.line is not None:
        assert (
            key.rpartition(".")[2] in text.splitlines()[err.line - 1]
            or "[" in (text.splitlines()[err.line - 1])
        )
    if re.match(r"^\w+ = ", line) and key.endswith(line.split(" =")[0]):
        assert err.line is not None


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (
            "[line]\nregistrar='127.0.0.1'\nextension='1'\n[gate_post]\nuri='sip:1@127.0.0.1'\n",
            "centre",
        ),
        ('centre="x"\n[gate_post]\nuri="sip:1@127.0.0.1"\n', "line.registrar"),
        ('centre="x"\n[line]\nregistrar="127.0.0.1"\nextension="1"\n', "gate_post.uri"),
        ('centre="  "\n' + MINIMAL.split("\n", 1)[1], "centre"),
        (
            'line = "x"\n'
            + MINIMAL.replace('centre = "XX客服中心"\n', 'centre = "x"\n').replace(
                "[line]\n", "[li]\n"
            ),
            "li",
        ),
    ],
)
def test_missing_or_misplaced(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(text, "c.toml", environ={})
    assert info.value.key == key


@pytest.mark.parametrize(
    "uri",
    [
        "sip:8001@127.0.0.1",
        "sip:gate@pbx.example.com:5070",
        "sips:8001@[::1]:5061",
        "sip:8001@127.0.0.1;transport=udp",
        "sip:127.0.0.1",
    ],
)
def test_good_uris(uri: str) -> None:
    cfg = loads(MINIMAL.replace("sip:8001@127.0.0.1", uri), environ={})
    assert cfg.gate_post.uri == uri


@pytest.mark.parametrize(
    "uri",
    [
        "8001@127.0.0.1",
        "http://127.0.0.1",
        "sip:",
        "sip:8001@",
        "sip:8001@999.1.1.1",
        "sip:8001@127.0.0.1:0",
        "sip:8001@127.0.0.1:99999",
        "sip:80 01@127.0.0.1",
        "sip:8001@[::g]",
        "sip:8001@127.0.0.1\r\nVia: x",
        "",
    ],
)
def test_bad_uris(uri: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(MINIMAL.replace("sip:8001@127.0.0.1", uri.replace("\r\n", "\\r\\n")), environ={})
    assert info.value.key == "gate_post.uri" and "SIP URI" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load(tmp_path)


def test_invalid_toml_has_line_number(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(MINIMAL + "\n[timers\nhold_max_seconds = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(file, environ={})
    assert info.value.line == MINIMAL.count("\n") + 2
    assert f"{file}:{info.value.line}" in str(info.value) and "invalid TOML" in str(info.value)


def test_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_bytes(MINIMAL.encode("gbk"))
    with pytest.raises(ConfigError, match="UTF-8"):
        load(file, environ={})


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "DUTY_LINE__SECRET": "s3cret",
        "DUTY_RING_LIMIT__RINGS": "2",
        "DUTY_DATABASE__URL": "postgresql+psycopg://duty@127.0.0.1/duty",
        "DUTY_CENTRE": "南门客服中心",
        "DUTY_ROSTERS__EVENING__END": "22:00",
        "DUTY_SOMETHING_ELSE": "left alone",
        "PATH": "/usr/bin",
    }
    cfg = loads(MINIMAL, "m.toml", tmp_path, environ=env)
    assert cfg.line.secret == "s3cret" and cfg.ring_limit.rings == 2
    assert cfg.database_url.startswith("postgresql") and cfg.centre == "南门客服中心"
    assert next(r for r in cfg.rosters if r.name == "evening").end == dt.time(22, 0)
    assert "line.secret" in cfg.overridden


def test_network_keys_of_the_line(tmp_path: Path) -> None:
    """Issue 15: `[line] media_networks` and `DUTY_LINE__MEDIA_NETWORKS` were unknown keys,
    so every call from an office PBX (SDP c=10.x / 192.168.x) got 488."""
    office = MINIMAL.replace('registrar = "127.0.0.1"', 'registrar = "10.77.0.2"')
    office = with_line(office, "line", 'trusted_sources = ["10.77.0.0/24"]')
    default = loads(office, "m.toml", tmp_path, environ={}).line_config()
    assert default.effective_media_networks() == ("10.77.0.2/32", "10.77.0.0/24")
    assert default.bind_address == default.local_host == "127.0.0.1"
    assert default.rtp_latching is RtpLatching.AUTO and default.latch_timeout_seconds == 10.0
    text = with_line(office, "line", 'media_networks = ["192.168.0.0/16", "10.77.0.0/24"]\n'
                     'media_peers = ["10.77.0.9"]\nrtp_latching = "always"\n'
                     'latch_timeout_seconds = 4\nbind_address = "0.0.0.0"')
    cfg = loads(text, "m.toml", tmp_path, environ={}).line_config()
    assert cfg.effective_media_networks() == ("192.168.0.0/16", "10.77.0.0/24")
    assert cfg.media_peers == ("10.77.0.9",) and cfg.rtp_latching is RtpLatching.ALWAYS
    assert cfg.latch_timeout_seconds == 4.0
    assert (cfg.bind_address, cfg.local_host) == ("0.0.0.0", "127.0.0.1")
    env = {"DUTY_LINE__MEDIA_NETWORKS": '["172.16.0.0/12"]', "DUTY_LINE__RTP_LATCHING": "always"}
    from_env = loads(office, "m.toml", tmp_path, environ=env).line_config()
    assert from_env.effective_media_networks() == ("172.16.0.0/12",)
    assert from_env.rtp_latching is RtpLatching.ALWAYS


def test_the_example_says_what_the_network_keys_default_to() -> None:
    cfg = load(EXAMPLE, environ={}).line_config()
    assert cfg.effective_media_networks() == ("127.0.0.1/32",)
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in ("bind_address", "media_networks", "media_peers", "rtp_latching",
                "latch_timeout_seconds"):
        assert f"\n# {key} = " in text or f"\n{key} = " in text, key


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("DUTY_LINE__MEDIA_NETWORKS", "10.0.0.0/8", "line.media_networks"),
        ("DUTY_RING_LIMIT__RINGS", "zero", "ring_limit.rings"),
        ("DUTY_LINE__SECRETT", "x", "line.secrett"),
        ("DUTY_GATE_POST__URI", "tel:1", "gate_post.uri"),
    ],
)
def test_bad_environment_value_names_the_variable(name: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(MINIMAL, environ={name: value})
    assert info.value.key == key and info.value.source == f"environment {name}"
    assert name in str(info.value)


def test_roster_can_be_dropped_and_added(tmp_path: Path) -> None:
    text = MINIMAL + (
        "\n[rosters.noon]\nenabled = false\n"
        '\n[rosters.late]\nlabel = "夜班"\ndays = "mon-fri"\nstart = "21:00"\nend = "23:00"\n'
    )
    cfg = loads(text, environ={})
    assert [r.name for r in cfg.rosters] == ["day", "evening", "weekend", "late"]


# ---------------------------------------------------------------- holiday calendar

DATA = Path(__file__).resolve().parent / "data" / "holidays"
"""Years' notices as the console shipped them before the chinese-calendar package (TOML),
and the 2026 notice as an iCalendar feed."""


def test_packaged_calendar_makeup_days_are_weekends() -> None:
    from console.holidays.source import packaged_calendar

    cal = packaged_calendar()
    assert cal.makeup_days and all(d.weekday() >= 5 for d in cal.makeup_days)
    assert cal.holidays[dt.date(2025, 10, 1)].startswith("国庆")
    assert dt.date(2025, 10, 11) in cal.makeup_days
    assert {2004, 2025, 2026} <= cal.years and max(cal.years) >= 2026


def _days(first: str, last: str | None = None) -> set[dt.date]:
    a = dt.date.fromisoformat(first)
    b = dt.date.fromisoformat(last or first)
    return {a + dt.timedelta(days=i) for i in range((b - a).days + 1)}


NOTICES = {
    # 国办发明电〔2024〕12号, 2024-11-12: holidays, then the Saturdays/Sundays worked (上班).
    2025: (
        _days("2025-01-01") | _days("2025-01-28", "2025-02-04") | _days("2025-04-04", "2025-04-06")
        | _days("2025-05-01", "2025-05-05") | _days("2025-05-31", "2025-06-02")
        | _days("2025-10-01", "2025-10-08"),
        {dt.date(2025, 1, 26), dt.date(2025, 2, 8), dt.date(2025, 4, 27), dt.date(2025, 9, 28),
         dt.date(2025, 10, 11)},
    ),
    # 国务院办公厅关于2026年部分节假日安排的通知, 2025-11-04.
    2026: (
        _days("2026-01-01", "2026-01-03") | _days("2026-02-15", "2026-02-23")
        | _days("2026-04-04", "2026-04-06") | _days("2026-05-01", "2026-05-05")
        | _days("2026-06-19", "2026-06-21") | _days("2026-09-25", "2026-09-27")
        | _days("2026-10-01", "2026-10-07"),
        {dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 5, 9),
         dt.date(2026, 9, 20), dt.date(2026, 10, 10)},
    ),
}
"""The State Council's notices as published (cited in tests/data/holidays/notice-*.toml),
typed in again independently of them so that an edit to either shows up here."""


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_packaged_calendar_matches_the_state_council_notice(year: int) -> None:
    """chinese-calendar (the default source) holds exactly the notice's dates, and exactly
    the dates of the hand-kept copy the console shipped before it (now test data)."""
    from console.holidays.files import read_notice
    from console.holidays.source import packaged_calendar

    cal = packaged_calendar()
    holidays, makeup = NOTICES[year]
    assert {d for d in cal.holidays if d.year == year} == holidays
    assert {d for d in cal.makeup_days if d.year == year} == makeup
    ours = read_notice(DATA / f"notice-{year}.toml")
    assert ours.year == year
    assert set(ours.holidays) == holidays and set(ours.makeup_days) == makeup


def test_the_default_calendar_is_the_package_and_knows_its_end() -> None:
    from console.config import HolidaySource
    from console.domain import CoverageLevel, coverage

    cfg = loads(MINIMAL, environ={})
    assert cfg.holidays.source is HolidaySource.CHINESE_CALENDAR
    assert cfg.holidays.calendar_file is None and cfg.holidays.warn_days == 60
    assert cfg.calendar.years >= {2025, 2026}
    # 2026-12-01 with chinese-calendar 1.11 (2004-2026): ends 2026-12-31, within 60 days
    end = dt.date(max(cfg.calendar.years), 12, 31)
    assert coverage(cfg.calendar, end - dt.timedelta(days=30), 60).level is CoverageLevel.ENDING
    assert coverage(cfg.calendar, end - dt.timedelta(days=61), 60).level is CoverageLevel.COVERED
    past = coverage(cfg.calendar, end + dt.timedelta(days=2), 60)
    assert past.level is CoverageLevel.ENDED and past.ends == end
    none = loads(MINIMAL + '\n[holidays]\nsource = "none"\nwarn_days = 10\n', environ={})
    assert not none.calendar.holidays and not none.calendar.years
    assert none.holidays.warn_days == 10


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ('[[holiday]]\nname = "x"\ndate = "2025-10-01"\n', "holiday[0].date", "TOML date"),
        ("[[holiday]]\ndate = 2025-10-01\n", "holiday[0].name", "name"),
        (
            '[[holiday]]\nname = "x"\nfrom = 2025-10-08\nto = 2025-10-01\n',
            "holiday[0].to",
            "before",
        ),
        ('[[holiday]]\nname = "x"\n', "holiday[0]", "missing date"),
        (
            '[[holiday]]\nname = "x"\ndate = 2025-10-01\nfrom = 2025-10-01\n',
            "holiday[0]",
            "not both",
        ),
        ('[[holiday]]\nname = "x"\ndate = 2025-10-01\nday = 1\n', "holiday[0].day", "unknown"),
        (
            '[[holiday]]\nname = "x"\ndate = 2025-10-01\n[[makeup]]\nname = "y"\n'
            "date = 2025-10-01\n",
            "makeup",
            "both",
        ),
        ('[[holidays]]\nname = "x"\n', "holidays", "did you mean 'holiday'"),
        (
            '[[holiday]]\nname = "x"\ndate = 2025-10-01\n[[holiday]]\nname = "x"\n'
            "date = 2025-10-01\n",
            "holiday[1]",
            "twice",
        ),
        ("[[holiday]\n", "", "invalid TOML"),
    ],
)
def test_bad_calendar(tmp_path: Path, body: str, key: str, words: str) -> None:
    cal = tmp_path / "cal.toml"
    cal.write_text(body, encoding="utf-8")
    conf = tmp_path / "console.toml"
    conf.write_text(MINIMAL + '\n[holidays]\ncalendar = "cal.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(conf, environ={})
    assert info.value.key == key and words in str(info.value)
    assert str(cal) in str(info.value)


def test_calendar_relative_to_config_and_none(tmp_path: Path) -> None:
    """The office's file sits on top of the package: an addition wins on its date, a year it
    gives whole replaces the package's year and extends the coverage."""
    (tmp_path / "cal.toml").write_text(
        '[[holiday]]\nname = "厂庆"\ndate = 2025-09-22\n'
        '[[makeup]]\nname = "厂庆调休"\ndate = 2025-09-28\n', encoding="utf-8"
    )
    conf = tmp_path / "console.toml"
    conf.write_text(MINIMAL + '\n[holidays]\ncalendar = "cal.toml"\n', encoding="utf-8")
    cfg = load(conf, environ={})
    assert cfg.holidays.calendar_file == tmp_path / "cal.toml"
    assert cfg.calendar.holidays[dt.date(2025, 9, 22)] == "厂庆"
    assert cfg.calendar.makeup_days[dt.date(2025, 9, 28)] == "厂庆调休"
    assert cfg.calendar.holidays[dt.date(2025, 10, 1)].startswith("国庆")  # the package's
    package_years = cfg.calendar.years
    nxt = max(package_years) + 1
    (tmp_path / "cal.toml").write_text(
        f'years = [{nxt}]\n[[holiday]]\nname = "元旦"\ndate = {nxt}-01-01\n', encoding="utf-8"
    )
    extended = load(conf, environ={})
    assert extended.calendar.years == package_years | {nxt}
    assert extended.calendar.holidays[dt.date(nxt, 1, 1)] == "元旦"
    none = loads(MINIMAL + '\n[holidays]\ncalendar = ""\n', environ={})
    assert none.holidays.calendar_file is None and none.calendar.holidays  # the package only


def test_office_calendar_year_keys(tmp_path: Path) -> None:
    cal = tmp_path / "cal.toml"
    conf = tmp_path / "console.toml"
    conf.write_text(MINIMAL + '\n[holidays]\ncalendar = "cal.toml"\n', encoding="utf-8")
    for body, words in [
        ("year = 2027\nyears = [2027]\n", "not both"),
        ('years = "2027"\n', "a list of years"),
        ("year = 27.5\n", "a year like 2027"),
    ]:
        cal.write_text(body, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load(conf, environ={})
        assert words in str(info.value) and str(cal) in str(info.value)
    # a missing office file stops a start, but `holidays add` may create it
    cal.unlink()
    with pytest.raises(ConfigError, match="no such file"):
        load(conf, environ={})
    assert load(conf, environ={}, office_calendar=False).calendar.years
