"""`console.toml`: one file that says how this seat runs, read once at start-up.

The file is parsed with `tomllib` into frozen, typed dataclasses; then `DUTY_*` environment
variables may override single keys (`DUTY_LINE__SECRET`, `DUTY_DATABASE__URL`, section and
key joined by a double underscore). Every wrong value stops start-up with a `ConfigError`
that names the file (or variable), the dotted key, the value and what was expected, with
the line number when it can be found. Unknown keys are errors: a typo must not silently
fall back to a default. Public holidays and 调休 make-up days come from the
`chinese-calendar` package (`console.holidays.source`); the office's own calendar file
(`[holidays] calendar`, TOML, see `load_calendar`) sits on top of it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import ipaddress
import math
import os
import re
import socket
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from console.domain.agent import AttendancePolicy
from console.domain.calendar import overlay
from console.domain.errors import DomainError
from console.domain.labels import Language
from console.domain.prompt_names import PROMPT_NAMES
from console.domain.ring import RingLimit
from console.domain.schedule import (
    DEFAULT_ROSTERS,
    WEEKDAYS,
    HolidayCalendar,
    HolidayPolicy,
    Roster,
    Schedule,
    format_days,
    parse_days,
)
from console.domain.seat import SEAT_NAME_MAX, check_seat_name, default_seat_name
from console.domain.survey import DEFAULT_SURVEY_DIGITS, survey_keys
from console.domain.text import PromptText
from sip.api import LineConfig, LineConfigError, RtpLatching

if TYPE_CHECKING:
    from console.callflow.ports import FlowSettings
    from console.prompts import PromptSettings

ENV_PREFIX = "DUTY_"

T = TypeVar("T")


class ConfigError(Exception):
    """A config value that stops start-up; the message says where, what and what was expected."""

    title = "Configuration"

    def __init__(
        self,
        source: str,
        key: str,
        problem: str,
        value: Any = None,
        line: int | None = None,
    ) -> None:
        self.source = source
        """The file (or `environment DUTY_...`) the value came from."""
        self.key = key
        """Dotted key, e.g. `ring_limit.rings`."""
        self.value = value
        self.line = line
        self.problem = problem
        where = f"{source}:{line}" if line else source
        shown = "" if value is None else f" = {value!r}"
        super().__init__(f"{where}: {key}{shown}: {problem}" if key else f"{where}: {problem}")


class ForwardMethod(enum.Enum):
    """How a call reaches the gate post."""

    REFER = "refer"
    """Answer, play the after-hours prompt, then blind-transfer with REFER."""
    REDIRECT = "302"
    """Answer nothing: 302 Moved Temporarily to the gate post while ringing."""


class WaitingPolicy(enum.Enum):
    """A call arriving while the seat is busy."""

    HOLD = "hold"
    FORWARD = "forward"


# ---------------------------------------------------------------- settings dataclasses


@dataclass(frozen=True)
class LineSettings:
    """`[line]`: the SIP registration of this seat."""

    registrar: str
    """Registrar/proxy IP address (no names: nothing is resolved at run time)."""
    registrar_port: int
    extension: str
    secret: str
    local_address: str
    """The address the PBX reaches this seat at: written into Via, Contact and SDP."""
    bind_address: str
    """Where the sockets listen: local_address, or a wildcard (0.0.0.0, ::)."""
    sip_port: int
    """0 picks a free port."""
    rtp_port_low: int
    rtp_port_high: int
    trusted_sources: tuple[str, ...]
    max_calls: int
    register_expires: int
    media_networks: tuple[str, ...] = ()
    """Where RTP may go; () = the registrar and the trusted sources."""
    media_peers: tuple[str, ...] = ()
    """Media servers whose SDP address is sent to at once, besides the signalling peer."""
    rtp_latching: RtpLatching = RtpLatching.AUTO
    latch_timeout_seconds: float = 10.0

    def line_config(self) -> LineConfig:
        """The `sip.api.LineConfig` the line is started with."""
        return LineConfig(
            registrar_host=self.registrar,
            registrar_port=self.registrar_port,
            extension=self.extension,
            secret=self.secret,
            local_host=self.local_address,
            bind_host="" if self.bind_address == self.local_address else self.bind_address,
            sip_port=self.sip_port,
            rtp_port_low=self.rtp_port_low,
            rtp_port_high=self.rtp_port_high,
            trusted_sources=self.trusted_sources,
            max_calls=self.max_calls,
            register_expires=self.register_expires,
            media_networks=self.media_networks,
            media_peers=self.media_peers,
            rtp_latching=self.rtp_latching,
            latch_timeout_seconds=self.latch_timeout_seconds,
        )


class HolidaySource(enum.Enum):
    """Where the State Council's holidays and make-up days come from."""

    CHINESE_CALENDAR = "chinese-calendar"
    """The `chinese-calendar` package (a new year arrives by upgrading it)."""
    NONE = "none"
    """Only the office's calendar file."""


@dataclass(frozen=True)
class HolidaySettings:
    """`[holidays]`: where the calendar is, what a holiday follows, when to warn of its end."""

    calendar_file: Path | None
    """The office's own calendar (TOML), on top of `source`; None: none."""
    on_holiday: HolidayPolicy
    makeup_works_as: int
    """Weekday (0 = Monday) whose rosters a 调休 make-up day runs."""
    source: HolidaySource = HolidaySource.CHINESE_CALENDAR
    warn_days: int = 60
    """From this many days before the calendar's last covered date, screens and log warn."""


@dataclass(frozen=True)
class GatePostSettings:
    """`[gate_post]`: the fixed after-hours destination and its fallback chain."""

    uri: str
    method: ForwardMethod
    retries: int
    """Extra attempts on the same target after busy / no answer / 503."""
    second_target: str | None
    take_message: bool
    """Last step of the chain: record a message and open a follow-up."""
    transfer_timeout_seconds: float
    probe_interval_seconds: float
    probe_timeout_seconds: float


@dataclass(frozen=True)
class PromptConfig:
    """`[prompts]`: language, voice and the texts that replace the defaults."""

    language: Language
    voice: str
    rate: int
    cache_dir: str
    texts: Mapping[str, PromptText]
    engine: str = "pyttsx3"
    """Speech engine: "pyttsx3" (default) or "espeak-ng" (fallback)."""
    survey_digits: str = DEFAULT_SURVEY_DIGITS
    """The keys for satisfied, average, dissatisfied, in that order (the survey prompts must
    say so: texts for `survey` and `survey_retry` are required when these are not "123")."""


@dataclass(frozen=True)
class TimerSettings:
    """`[timers]`, all in seconds."""

    hold_max_seconds: float
    """On hold after an auto-answer before the console takes a message."""
    message_seconds: float
    """Longest message a caller may leave."""
    survey_digit_timeout_seconds: float
    caller_hangup_timeout_seconds: float
    """After the survey, how long the caller gets to hang up first."""


@dataclass(frozen=True)
class CapacitySettings:
    """`[capacity]`: a second call while the seat is busy."""

    waiting: WaitingPolicy
    max_waiting: int
    max_wait_seconds: float


@dataclass(frozen=True)
class RecordingSettings:
    """`[recording]`."""

    enabled: bool
    directory: Path


@dataclass(frozen=True)
class AnchorSettings:
    """`[database] anchor_*`: the duty record's chain heads, kept outside the database.

    Anchors inside the database go wherever the database goes (a cut, a rewrite, a deleted
    table); this log is a second witness that the line writes by itself, every
    `interval_seconds` and at shutdown, MAC'd under a key that is never stored in the database.
    """

    log: Path | None
    """The append-only anchor log (JSON lines); None: no log is kept (`anchor_log = ""`)."""
    key_file: Path
    """The anchor key (created 0600 on first use): MACs the log and binds every open call."""
    interval_seconds: float
    """Seconds between two scheduled anchors."""


DEFAULT_ANCHORS = AnchorSettings(Path("var/anchors.log"), Path("var/anchor.key"), 300.0)
"""Beside the default record (`var/duty.db`), in the state directory next to the config."""


@dataclass(frozen=True)
class FollowUpSettings:
    """`[follow_ups]`: who owns a follow-up no agent took, and when one is due."""

    default_owner: str
    """Agent ID owning follow-ups of calls answered by the console or the gate post (首问负责
    falls to the agent who served the caller otherwise); "" = none (an alarm per follow-up)."""
    due_hours: float
    callback_ring_seconds: float = 30.0
    """How long a callback (回访) to the follow-up's caller rings before it is cancelled and
    recorded as not answered."""


@dataclass(frozen=True)
class SeatSettings:
    """`[seat]`: the agent's headset and how the greeting is given."""

    headset_device: str
    """A PortAudio device: part of its name or its index; "" = the system default."""
    greeting_by_tts: bool
    """True: the console plays the greeting (with the agent's ID) when an agent answers;
    False: the agent says it (the script panel shows the line). Auto-answer always plays it."""
    name: str = ""
    """This seat's name in the shared record (`calls.seat`): its start-up seals only the
    calls it left open. Default `<extension>@<host>`; "" only in configs built in code."""


@dataclass(frozen=True)
class TeamSettings:
    """`[team]`: the seats that share the hotline's number (a ring-all team, issue 13)."""

    name: str = ""
    """The team's (the hotline's) name, as supervisors call it; "" = the centre's."""
    seats: tuple[str, ...] = ()
    """The seat names that ring for the hotline, this seat among them; () = this seat alone.
    Two or more need a record every seat reaches: PostgreSQL (`[database] url`)."""

    @property
    def shared(self) -> bool:
        """More than one seat rings for the hotline: a caller's legs are grouped."""
        return len(self.seats) > 1


@dataclass(frozen=True)
class AgentSettings:
    """`[agents]`: attendance thresholds."""

    late_after: dt.time
    early_before: dt.time
    away_limit_minutes: float


@dataclass(frozen=True)
class ConsoleConfig:
    """Everything in `console.toml`, validated."""

    source: str
    centre: str
    timezone: str
    line: LineSettings
    ring_limit: RingLimit
    rosters: tuple[Roster, ...]
    holidays: HolidaySettings
    calendar: HolidayCalendar
    gate_post: GatePostSettings
    prompts: PromptConfig
    timers: TimerSettings
    capacity: CapacitySettings
    database_url: str
    recording: RecordingSettings
    agents: AgentSettings
    follow_ups: FollowUpSettings = FollowUpSettings("", 24.0)
    seat: SeatSettings = SeatSettings("", True)
    team: TeamSettings = TeamSettings()
    """`[team]`: which seats share the hotline (empty: this seat alone)."""
    outbox_dir: Path = Path("var/outbox")
    """`[database] outbox_dir`: where the line keeps writes until the database has them.
    Its own place (default `var/outbox` beside the config, not the database's directory),
    so a full database disk or a restart under another user doesn't lose or hide them."""
    outbox_reserve_bytes: int = 8 * 1024 * 1024
    """`[database] outbox_reserve_mib`: space the outbox keeps to give up when the disk fills."""
    anchors: AnchorSettings = DEFAULT_ANCHORS
    overridden: tuple[str, ...] = ()
    """Dotted keys taken from `DUTY_*` environment variables (for the start-up log)."""

    def schedule(self) -> Schedule:
        return Schedule(self.rosters, self.calendar, self.timezone, self.holidays.on_holiday)

    def attendance(self) -> AttendancePolicy:
        return AttendancePolicy(
            late_after=self.agents.late_after,
            early_before=self.agents.early_before,
            away_limit=dt.timedelta(minutes=self.agents.away_limit_minutes),
            timezone=ZoneInfo(self.timezone),
        )

    def line_config(self) -> LineConfig:
        return self.line.line_config()

    @property
    def seat_name(self) -> str:
        """The seat's name in the record: `[seat] name`, else `<extension>@<host>`."""
        return self.seat.name or default_seat_name(socket.gethostname(), self.line.extension)

    def prompt_settings(self) -> PromptSettings:
        """The settings `console.prompts.PromptBook` renders from."""
        from console.prompts import PromptSettings

        return PromptSettings(
            language=self.prompts.language.value,
            centre=self.centre,
            voice=self.prompts.voice,
            rate=self.prompts.rate,
            texts={name: t.template for name, t in self.prompts.texts.items()},
            cache_dir=self.prompts.cache_dir,
            engine=self.prompts.engine,
        )

    def flow_settings(self) -> FlowSettings:
        """The settings `console.callflow` runs with."""
        from console.callflow.ports import FlowSettings, ForwardTarget

        gp = self.gate_post
        method = "refer" if gp.method is ForwardMethod.REFER else "redirect"
        chain = [ForwardTarget(gp.uri, method, attempts=1 + gp.retries)]
        if gp.second_target:
            chain.append(ForwardTarget(gp.second_target, method, attempts=1))
        return FlowSettings(
            ring_limit_seconds=self.ring_limit.seconds,
            ring_cadence=self.ring_limit.cadence,
            handover_timeout=self.timers.hold_max_seconds,
            message_seconds=self.timers.message_seconds,
            digit_timeout=self.timers.survey_digit_timeout_seconds,
            hangup_timeout=self.timers.caller_hangup_timeout_seconds,
            transfer_timeout=gp.transfer_timeout_seconds,
            busy_policy=self.capacity.waiting.value,
            busy_wait=self.capacity.max_wait_seconds,
            gate_chain=tuple(chain),
            probe_interval=gp.probe_interval_seconds,
            follow_up_owner=self.follow_ups.default_owner,
            follow_up_hours=self.follow_ups.due_hours,
            recording_dir=str(self.recording.directory),
            record_calls=self.recording.enabled,
            agent_greeting_by_tts=self.seat.greeting_by_tts,
        )


# ---------------------------------------------------------------- reading with good errors


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.\- ]+?)\s*=""")


def _unquote_path(text: str) -> str:
    parts = [p.strip().strip("\"'") for p in text.split(".")]
    return ".".join(parts)


def _find_line(text: str, dotted: str) -> int | None:
    """Line number of `dotted` in TOML `text`, or None (best effort, no full parser)."""
    table = ""
    first_header: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _unquote_path(header.group(1))
            if table == dotted and first_header is None:
                first_header = number
            continue
        key = _KEY.match(line)
        if key:
            full = _unquote_path(key.group(1))
            full = f"{table}.{full}" if table else full
            if full == dotted:
                return number
    return first_header


_MISSING = object()


class _Reader:
    """Walks the parsed TOML, converting values and remembering which keys were read."""

    def __init__(self, source: str, text: str, data: dict[str, Any], env: Mapping[str, str]):
        self.source = source
        self.text = text
        self.data = data
        self.env_keys = dict(env)
        """Dotted key → environment variable that set it."""

    # -- errors

    def error(self, key: str, problem: str, value: Any = None) -> ConfigError:
        if key in self.env_keys:
            return ConfigError(f"environment {self.env_keys[key]}", key, problem, value)
        return ConfigError(self.source, key, problem, value, _find_line(self.text, key))

    # -- navigation

    def table(self, dotted: str) -> dict[str, Any]:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict):
                raise self.error(dotted, "expected a table")
            node = node.get(part, {})
        if not isinstance(node, dict):
            raise self.error(dotted, "expected a table ([section])", node)
        return node

    def check_keys(self, dotted: str, allowed: tuple[str, ...] | frozenset[str]) -> None:
        """Unknown keys are typos until proven otherwise."""
        node = self.table(dotted) if dotted else self.data
        for key in node:
            if key not in allowed:
                full = f"{dotted}.{key}" if dotted else key
                close = difflib.get_close_matches(key, list(allowed), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.error(
                    full, f"unknown key{hint} (known here: {', '.join(sorted(allowed))})"
                )

    def raw(self, dotted: str) -> Any:
        section, _, key = dotted.rpartition(".")
        node = self.table(section) if section else self.data
        return node.get(key, _MISSING)

    # -- typed getters

    def get(
        self,
        dotted: str,
        convert: Callable[[Any], T],
        default: T | object = _MISSING,
        expected: str = "",
    ) -> T:
        value = self.raw(dotted)
        if value is _MISSING:
            if default is _MISSING:
                raise self.error(dotted, f"missing; expected {expected}")
            return default  # type: ignore[return-value]
        try:
            return convert(value)
        except (ValueError, TypeError, DomainError) as exc:
            detail = str(exc)
            problem = f"expected {expected}" + (f" ({detail})" if detail else "")
            raise self.error(dotted, problem, value) from None


# ---------------------------------------------------------------- converters


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"got {type(value).__name__}")
    return value


def _nonempty(value: Any) -> str:
    text = _str(value).strip()
    if not text:
        raise ValueError("empty")
    if not text.isprintable():
        raise ValueError("contains control characters")
    return text


def _int_in(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"got {type(value).__name__}")
        if not low <= value <= high:
            raise ValueError("out of range")
        return value

    return convert


def _seconds(
    low: float = 0.0, high: float = 86400.0, allow_zero: bool = False
) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError("not finite")
        if number < low or number > high or (number == low and not allow_zero):
            raise ValueError("out of range")
        return number

    return convert


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"got {type(value).__name__}")
    return value


def _ip(value: Any) -> str:
    text = _str(value).strip()
    ipaddress.ip_address(text)
    return text


def _network(value: Any) -> str:
    text = _str(value).strip()
    ipaddress.ip_network(text, strict=False)
    return text


def _networks(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"got {type(value).__name__}, not a list")
    out = []
    for item in value:
        try:
            out.append(_network(item))
        except (ValueError, TypeError):
            raise ValueError(f"{item!r} is not an address or CIDR network") from None
    return tuple(out)


def _clock(value: Any) -> dt.time:
    """ "HH:MM" (or a TOML local time) → time; "25:00", "8:0x" fail."""
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ValueError("a wall-clock time has no offset")
        return value
    text = _str(value).strip()
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match:
        raise ValueError("not HH:MM")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ValueError("no such time of day")
    return dt.time(hour, minute)


def _days(value: Any) -> frozenset[int]:
    return parse_days(_str(value))


def _timezone(value: Any) -> str:
    text = _nonempty(value)
    try:
        ZoneInfo(text)
    except (ValueError, KeyError, OSError):
        raise ValueError("unknown zone") from None
    return text


def _enum(kind: type[enum.Enum]) -> Callable[[Any], Any]:
    def convert(value: Any) -> enum.Enum:
        text = _str(value).strip()
        for member in kind:
            if member.value == text:
                return member
        raise ValueError("")

    return convert


def _weekday(value: Any) -> int:
    text = _str(value).strip().lower()
    if text not in WEEKDAYS:
        raise ValueError("")
    return WEEKDAYS.index(text)


_SIP_URI = re.compile(
    r"(?P<scheme>sips?):(?:(?P<user>[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?)"
    r"(?::(?P<port>\d{1,5}))?(?P<params>(?:;[A-Za-z0-9\-_.!~*'()%]+(?:=[A-Za-z0-9\-_.!~*'()%]+)?)*)"
)


def parse_sip_uri(value: Any) -> tuple[str, str, int | None]:
    """ "sip:user@host[:port][;params]" → (user, host, port); ValueError on anything else."""
    text = _str(value).strip()
    match = _SIP_URI.fullmatch(text)
    if not match:
        raise ValueError("")
    host = match.group("host")
    if host.startswith("["):
        ipaddress.IPv6Address(host[1:-1])
    elif re.fullmatch(r"[\d.]+", host):
        ipaddress.IPv4Address(host)
    port = int(match.group("port")) if match.group("port") else None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("port out of range")
    return match.group("user") or "", host, port


def _sip_uri(value: Any) -> str:
    parse_sip_uri(value)
    return _str(value).strip()


_DB_SCHEMES = ("sqlite", "postgresql")


def _database_url(value: Any) -> str:
    text = _nonempty(value)
    match = re.fullmatch(r"([a-z][a-z0-9]*)(\+[a-z0-9_]+)?://(.*)", text)
    if not match or match.group(1) not in _DB_SCHEMES:
        raise ValueError("")
    if (
        match.group(1) == "sqlite"
        and match.group(3) not in ("", "/")
        and not match.group(3).startswith("/")
    ):
        raise ValueError("sqlite URLs look like sqlite:///relative.db or sqlite:////abs.db")
    return text


def _text(value: Any) -> str:
    return _nonempty(value)


# ---------------------------------------------------------------- the schema

_TOP = (
    "centre",
    "timezone",
    "line",
    "ring_limit",
    "rosters",
    "holidays",
    "gate_post",
    "prompts",
    "timers",
    "capacity",
    "database",
    "recording",
    "agents",
    "follow_ups",
    "seat",
    "team",
)
_LINE_KEYS = (
    "registrar",
    "registrar_port",
    "extension",
    "secret",
    "local_address",
    "bind_address",
    "sip_port",
    "rtp_port_low",
    "rtp_port_high",
    "trusted_sources",
    "max_calls",
    "register_expires",
    "media_networks",
    "media_peers",
    "rtp_latching",
    "latch_timeout_seconds",
)
_ROSTER_KEYS = ("days", "start", "end", "label", "enabled")


def _read_line(r: _Reader) -> LineSettings:
    r.check_keys("line", _LINE_KEYS)
    port = _int_in(1, 65535)
    local_address = r.get("line.local_address", _ip, "127.0.0.1", "a local IP address")
    settings = LineSettings(
        registrar=r.get("line.registrar", _ip, expected="the registrar's IP address"),
        registrar_port=r.get("line.registrar_port", port, 5060, "a port 1-65535"),
        extension=r.get(
            "line.extension", _extension, expected="the extension (digits, letters, .-_+)"
        ),
        secret=r.get("line.secret", _str, "", "text"),
        local_address=local_address,
        bind_address=r.get(
            "line.bind_address", _ip, local_address, "an IP address of this host, or 0.0.0.0 / ::"
        ),
        sip_port=r.get("line.sip_port", _int_in(0, 65535), 5060, "a port 0-65535 (0 = any)"),
        rtp_port_low=r.get("line.rtp_port_low", port, 20000, "a port 1-65535"),
        rtp_port_high=r.get("line.rtp_port_high", port, 20999, "a port 1-65535"),
        trusted_sources=r.get(
            "line.trusted_sources", _networks, (), "a list of addresses or CIDR networks"
        ),
        max_calls=r.get("line.max_calls", _int_in(1, 1000), 8, "a whole number 1-1000"),
        register_expires=r.get(
            "line.register_expires", _int_in(30, 86400), 120, "seconds 30-86400"
        ),
        media_networks=r.get(
            "line.media_networks", _networks, (), "a list of addresses or CIDR networks"
        ),
        media_peers=r.get(
            "line.media_peers", _networks, (), "a list of addresses or CIDR networks"
        ),
        rtp_latching=r.get(
            "line.rtp_latching", _enum(RtpLatching), RtpLatching.AUTO, '"auto" or "always"'
        ),
        latch_timeout_seconds=r.get(
            "line.latch_timeout_seconds", _seconds(0, 120), 10.0, "seconds, 1 ≤ s ≤ 120"
        ),
    )
    if settings.latch_timeout_seconds < 1:
        raise r.error(
            "line.latch_timeout_seconds", "expected seconds, 1 ≤ s ≤ 120",
            settings.latch_timeout_seconds,
        )
    if settings.rtp_port_high - settings.rtp_port_low < 1:
        raise r.error(
            "line.rtp_port_high",
            f"must be above line.rtp_port_low ({settings.rtp_port_low}) to hold a port pair",
            settings.rtp_port_high,
        )
    try:
        settings.line_config().validate()
    except LineConfigError as exc:
        raise r.error("line", str(exc)) from None
    return settings


def _extension(value: Any) -> str:
    text = _nonempty(value)
    if not re.fullmatch(r"[A-Za-z0-9.\-_+]{1,64}", text):
        raise ValueError("")
    return text


def _read_rosters(r: _Reader) -> tuple[Roster, ...]:
    section = r.table("rosters")
    defaults = {ro.name: ro for ro in DEFAULT_ROSTERS}
    rosters = dict(defaults)
    for name, body in section.items():
        key = f"rosters.{name}"
        if not isinstance(body, dict):
            raise r.error(key, "expected a table [rosters.NAME] with days, start, end", body)
        r.check_keys(key, _ROSTER_KEYS)
        base = defaults.get(name)
        if not r.get(f"{key}.enabled", _bool, True, "true or false"):
            rosters.pop(name, None)
            continue
        need = "" if base else " (required for a roster that is not a default)"
        days = r.get(
            f"{key}.days",
            _days,
            base.days if base else _MISSING,
            'days like "mon-fri", "sat,sun", "daily"' + need,
        )
        start = r.get(
            f"{key}.start", _clock, base.start if base else _MISSING, '"HH:MM" 00:00-23:59' + need
        )
        end = r.get(
            f"{key}.end", _clock, base.end if base else _MISSING, '"HH:MM" 00:00-23:59' + need
        )
        label = r.get(f"{key}.label", _text, base.label if base else name, "text")
        if end <= start:
            raise r.error(
                f"{key}.end",
                f"must be after {key}.start ({start:%H:%M}); a roster cannot cross midnight, "
                "split it in two",
                f"{end:%H:%M}",
            )
        rosters[name] = Roster(name, days, start, end, label)
    return tuple(rosters.values())


def _read_calendar(
    r: _Reader, base_dir: Path, office_calendar: bool = True
) -> tuple[HolidaySettings, HolidayCalendar]:
    r.check_keys(
        "holidays", ("calendar", "source", "warn_days", "on_holiday", "makeup_works_as")
    )
    raw_path = r.get("holidays.calendar", _str, "", 'a file path, or "" for none')
    path: Path | None = None
    if raw_path.strip():
        path = Path(raw_path).expanduser()
        if not path.is_absolute():
            path = base_dir / path
    policy = r.get(
        "holidays.on_holiday",
        _enum(HolidayPolicy),
        HolidayPolicy.NIGHT,
        '"night" (forward all day) or "weekend" (weekend rosters run)',
    )
    makeup_as = r.get("holidays.makeup_works_as", _weekday, 0, "a weekday: mon, tue, ... sun")
    source = r.get(
        "holidays.source",
        _enum(HolidaySource),
        HolidaySource.CHINESE_CALENDAR,
        '"chinese-calendar" (the package) or "none" (only the office\'s calendar file)',
    )
    warn_days = r.get("holidays.warn_days", _int_in(0, 366), 60, "a whole number of days 0-366")
    settings = HolidaySettings(path, policy, makeup_as, source, warn_days)
    if not office_calendar:
        return settings, build_calendar(settings, office=False)
    if path is not None and not path.is_file():
        raise r.error("holidays.calendar", f"no such file: {path}", raw_path)
    return settings, build_calendar(settings)


def build_calendar(settings: HolidaySettings, office: bool = True) -> HolidayCalendar:
    """The calendar the schedule uses: the source's dates, the office's file on top (unless
    `office` is False: the source's alone)."""
    from console.holidays.source import packaged_calendar

    base = (
        packaged_calendar(settings.makeup_works_as)
        if settings.source is HolidaySource.CHINESE_CALENDAR
        else HolidayCalendar(makeup_works_as=settings.makeup_works_as)
    )
    if settings.calendar_file is None or not office:
        return base
    return overlay(base, load_calendar(settings.calendar_file, settings.makeup_works_as))


@dataclass(frozen=True)
class CalendarFile:
    """A calendar file as written, before the days are checked against each other."""

    source: str
    years: frozenset[int]
    """Years the file declares whole (`year = 2027` or `years = [2026, 2027]`)."""
    holidays: dict[dt.date, str]
    makeup_days: dict[dt.date, str]


def read_calendar_file(path: Path) -> CalendarFile:
    """Read a calendar file: optional `year`/`years`, `[[holiday]]` (date or from/to, name),
    `[[makeup]]`; a syntax error is a `ConfigError` naming the file, line and key."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read the calendar: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "", "the calendar is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"invalid TOML: {exc}", line=_toml_line(exc)) from None
    r = _Reader(source, text, data, {})
    r.check_keys("", ("year", "years", "holiday", "makeup"))
    if "year" in data and "years" in data:
        raise r.error("years", "give either year or years, not both")
    year_expected = "a year like 2027"
    if "year" in data:
        years = frozenset({r.get("year", _int_in(1900, 2999), expected=year_expected)})
    else:
        years = frozenset(r.get("years", _years, frozenset(), "a list of years like [2027]"))
    holidays: dict[dt.date, str] = {}
    makeup: dict[dt.date, str] = {}
    for kind, target in (("holiday", holidays), ("makeup", makeup)):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise r.error(kind, f"expected [[{kind}]] entries", entries)
        for index, entry in enumerate(entries):
            key = f"{kind}[{index}]"
            if not isinstance(entry, dict):
                raise r.error(key, "expected a table", entry)
            for k in entry:
                if k not in ("name", "date", "from", "to"):
                    raise r.error(f"{key}.{k}", "unknown key (known: name, date, from, to)")
            name = entry.get("name")
            if not isinstance(name, str) or not name.strip():
                raise r.error(f"{key}.name", "expected the day's name", name)
            first, last = _date_range(r, key, entry)
            day = first
            while day <= last:
                if day in target:
                    raise r.error(f"{key}", f"{day} is listed twice", name)
                target[day] = name.strip()
                day += dt.timedelta(days=1)
    return CalendarFile(source, years, holidays, makeup)


def _years(value: Any) -> frozenset[int]:
    if not isinstance(value, list):
        raise TypeError(f"got {type(value).__name__}, not a list")
    convert = _int_in(1900, 2999)
    return frozenset(convert(v) for v in value)


def load_calendar(path: Path, makeup_works_as: int = 0) -> HolidayCalendar:
    """Read the office's calendar file (`read_calendar_file`) into a `HolidayCalendar`."""
    file = read_calendar_file(path)
    clash = sorted(set(file.holidays) & set(file.makeup_days))
    if clash:
        raise ConfigError(
            file.source, "makeup", f"{clash[0]} is both a holiday and a make-up working day"
        )
    return HolidayCalendar(file.holidays, file.makeup_days, makeup_works_as, years=file.years)


def _date_range(r: _Reader, key: str, entry: dict[str, Any]) -> tuple[dt.date, dt.date]:
    def as_date(k: str) -> dt.date:
        value = entry[k]
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise r.error(f"{key}.{k}", "expected a TOML date like 2025-10-01 (no quotes)", value)
        return value

    if "date" in entry:
        if "from" in entry or "to" in entry:
            raise r.error(key, "give either date or from/to, not both")
        day = as_date("date")
        return day, day
    if "from" not in entry:
        raise r.error(key, "missing date (or from/to)")
    first = as_date("from")
    last = as_date("to") if "to" in entry else first
    if last < first:
        raise r.error(f"{key}.to", f"is before from ({first})", last)
    if (last - first).days > 31:
        raise r.error(f"{key}.to", "a holiday longer than 31 days is surely a typo", last)
    return first, last


def _read_gate_post(r: _Reader, line: LineSettings) -> GatePostSettings:
    r.check_keys(
        "gate_post",
        (
            "uri",
            "method",
            "retries",
            "second_target",
            "take_message",
            "transfer_timeout_seconds",
            "probe_interval_seconds",
            "probe_timeout_seconds",
        ),
    )
    uri_expected = "a SIP URI like sip:8001@192.0.2.10 (sip: or sips:, user@host[:port])"
    uri = r.get("gate_post.uri", _sip_uri, expected=uri_expected)
    second = r.get("gate_post.second_target", _optional_uri, None, uri_expected + ' or ""')
    for key, target in (("gate_post.uri", uri), ("gate_post.second_target", second)):
        if target and _is_self(target, line):
            raise r.error(key, "forwards to this line itself: calls would loop", target)
    if second and second == uri:
        raise r.error("gate_post.second_target", "is the same as gate_post.uri", second)
    return GatePostSettings(
        uri=uri,
        method=r.get(
            "gate_post.method",
            _enum(ForwardMethod),
            ForwardMethod.REFER,
            '"refer" (announce, then REFER) or "302" (redirect while ringing)',
        ),
        retries=r.get("gate_post.retries", _int_in(0, 5), 1, "a whole number 0-5"),
        second_target=second,
        take_message=r.get("gate_post.take_message", _bool, True, "true or false"),
        transfer_timeout_seconds=r.get(
            "gate_post.transfer_timeout_seconds", _seconds(0, 300), 15.0, "seconds, 0 < s ≤ 300"
        ),
        probe_interval_seconds=r.get(
            "gate_post.probe_interval_seconds",
            _seconds(0, 86400),
            300.0,
            "seconds, 0 < s ≤ 86400",
        ),
        probe_timeout_seconds=r.get(
            "gate_post.probe_timeout_seconds", _seconds(0, 60), 2.0, "seconds, 0 < s ≤ 60"
        ),
    )


def _optional_uri(value: Any) -> str | None:
    if isinstance(value, str) and not value.strip():
        return None
    return _sip_uri(value)


def _is_self(uri: str, line: LineSettings) -> bool:
    user, host, port = parse_sip_uri(uri)
    return (
        user == line.extension
        and host in (line.registrar, line.local_address)
        and (port is None or port in (line.registrar_port, line.sip_port))
    )


def _read_prompts(r: _Reader) -> PromptConfig:
    r.check_keys(
        "prompts",
        ("language", "voice", "rate", "cache_dir", "texts", "engine", "survey_digits"),
    )
    r.check_keys("prompts.texts", PROMPT_NAMES)
    texts: dict[str, PromptText] = {}
    for name in r.table("prompts.texts"):
        key = f"prompts.texts.{name}"
        template = r.get(key, _str, expected="text")
        try:
            texts[name] = PromptText(name, template)
        except DomainError as exc:
            raise r.error(
                key, f"expected text with only {{centre}} and {{agent_id}}: {exc}", template
            ) from None
    digits = r.get(
        "prompts.survey_digits",
        _survey_digits,
        DEFAULT_SURVEY_DIGITS,
        'three different keys 0-9 for satisfied, average, dissatisfied, e.g. "123"',
    )
    if digits != DEFAULT_SURVEY_DIGITS:
        for name in ("survey", "survey_retry"):
            key = f"prompts.texts.{name}"
            if name not in texts:
                raise r.error(
                    "prompts.survey_digits",
                    f"the default {name} prompt says 1/2/3: give {key} naming {digits}",
                    digits,
                )
            missing = [d for d in digits if d not in texts[name].template]
            if missing:
                raise r.error(
                    key, f"does not name key {', '.join(missing)} of prompts.survey_digits",
                    texts[name].template,
                )
    return PromptConfig(
        language=r.get("prompts.language", _enum(Language), Language.ZH, '"zh" or "en"'),
        voice=r.get("prompts.voice", _voice, "", 'an espeak-ng voice name such as "cmn"'),
        rate=r.get("prompts.rate", _int_in(80, 400), 160, "words per minute 80-400"),
        cache_dir=r.get("prompts.cache_dir", _nonempty, "var/prompts", "a directory"),
        texts=texts,
        engine=r.get("prompts.engine", _tts_engine, "pyttsx3", '"pyttsx3" or "espeak-ng"'),
        survey_digits=digits,
    )


def _survey_digits(value: Any) -> str:
    text = _str(value).strip()
    try:
        survey_keys(text)
    except DomainError:
        raise ValueError("") from None
    return text


def _tts_engine(value: Any) -> str:
    text = _str(value).strip()
    if text not in ("pyttsx3", "espeak-ng"):
        raise ValueError("")
    return text


def _voice(value: Any) -> str:
    text = _str(value).strip()
    if text and not re.fullmatch(r"[A-Za-z0-9_\-+/]{1,40}", text):
        raise ValueError("")
    return text


def _read_timers(r: _Reader) -> TimerSettings:
    r.check_keys(
        "timers",
        (
            "hold_max_seconds",
            "message_seconds",
            "survey_digit_timeout_seconds",
            "caller_hangup_timeout_seconds",
        ),
    )
    return TimerSettings(
        hold_max_seconds=r.get(
            "timers.hold_max_seconds", _seconds(0, 3600), 60.0, "seconds, 0 < s ≤ 3600"
        ),
        message_seconds=r.get(
            "timers.message_seconds", _seconds(0, 600), 60.0, "seconds, 0 < s ≤ 600"
        ),
        survey_digit_timeout_seconds=r.get(
            "timers.survey_digit_timeout_seconds", _seconds(0, 60), 8.0, "seconds, 0 < s ≤ 60"
        ),
        caller_hangup_timeout_seconds=r.get(
            "timers.caller_hangup_timeout_seconds", _seconds(0, 120), 10.0, "seconds, 0 < s ≤ 120"
        ),
    )


def _read_capacity(r: _Reader) -> CapacitySettings:
    r.check_keys("capacity", ("waiting", "max_waiting", "max_wait_seconds"))
    return CapacitySettings(
        waiting=r.get(
            "capacity.waiting", _enum(WaitingPolicy), WaitingPolicy.HOLD, '"hold" or "forward"'
        ),
        max_waiting=r.get("capacity.max_waiting", _int_in(0, 100), 3, "a whole number 0-100"),
        max_wait_seconds=r.get(
            "capacity.max_wait_seconds", _seconds(0, 3600), 120.0, "seconds, 0 < s ≤ 3600"
        ),
    )


def _read_recording(r: _Reader, base_dir: Path) -> RecordingSettings:
    r.check_keys("recording", ("enabled", "directory"))
    directory = Path(r.get("recording.directory", _nonempty, "var/recordings", "a directory"))
    if not directory.is_absolute():
        directory = base_dir / directory
    if directory.exists() and not directory.is_dir():
        raise r.error("recording.directory", "exists and is not a directory", str(directory))
    return RecordingSettings(
        enabled=r.get("recording.enabled", _bool, False, "true or false"), directory=directory
    )


_DATABASE_KEYS = ("url", "anchor_log", "anchor_key_file", "anchor_interval_seconds",
                  "outbox_dir", "outbox_reserve_mib")


def _read_anchors(r: _Reader, base_dir: Path, database_url: str | None = None) -> AnchorSettings:
    """`[database] anchor_log`, `anchor_key_file`, `anchor_interval_seconds` (relative: to
    the config's directory, as the record's default `var/duty.db`)."""

    def place(path: Path) -> Path:
        return path if path.is_absolute() else base_dir / path

    log_text = r.get("database.anchor_log", _str, str(DEFAULT_ANCHORS.log), 'a file path or ""')
    log = place(Path(log_text.strip())) if log_text.strip() else None
    key_text = r.get("database.anchor_key_file", _nonempty, str(DEFAULT_ANCHORS.key_file),
                     "a file path")
    key_file = place(Path(key_text))
    record = None
    if database_url and database_url.startswith("sqlite:///"):
        db = Path(database_url.removeprefix("sqlite:///"))
        record = (db if db.is_absolute() else base_dir / db).resolve()
    for key, path in (("anchor_log", log), ("anchor_key_file", key_file)):
        if path is None:
            continue
        if path.is_dir():
            raise r.error(f"database.{key}", "is a directory; expected a file", str(path))
        if record is not None and path.resolve() == record:
            raise r.error(f"database.{key}", "is the duty record itself; the anchors "
                          "must live outside the database", str(path))
    if log is not None and log.resolve() == key_file.resolve():
        raise r.error("database.anchor_key_file", "is the anchor log itself", str(key_file))
    interval = r.get("database.anchor_interval_seconds", _seconds(0, 3600),
                     DEFAULT_ANCHORS.interval_seconds, "seconds, 0 < s ≤ 3600")
    return AnchorSettings(log, key_file, interval)


def anchor_settings(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> AnchorSettings:
    """Only the anchor keys of a config file: what `duty-console verify` needs to find the log.

    The rest of the file is not validated (a verify must not fail on a roster typo)."""
    file = Path(path)
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(source, "", "no such config file") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"invalid TOML: {exc}", line=_toml_line(exc)) from None
    env = _env_overrides(data, os.environ if environ is None else environ)
    r = _Reader(source, text, data, env)
    r.check_keys("database", _DATABASE_KEYS)
    url = r.get("database.url", _database_url, None, "a database URL")
    return _read_anchors(r, file.resolve().parent, url)


def _agent_id(value: Any) -> str:
    text = _str(value).strip()
    if not text:
        return ""
    if len(text) > 64 or ":" in text or not text.isprintable():
        raise ValueError("1-64 printable characters, no ':'")
    if text in ("auto", "gate_post"):
        raise ValueError("reserved, not an agent")
    return text


def _read_follow_ups(r: _Reader) -> FollowUpSettings:
    r.check_keys("follow_ups", ("default_owner", "due_hours", "callback_ring_seconds"))
    return FollowUpSettings(
        default_owner=r.get(
            "follow_ups.default_owner", _agent_id, "",
            'an agent ID (工号) such as "1001", or "" for none',
        ),
        due_hours=r.get("follow_ups.due_hours", _seconds(0, 720), 24.0, "hours, 0 < h ≤ 720"),
        callback_ring_seconds=r.get(
            "follow_ups.callback_ring_seconds", _seconds(5, 120), 30.0, "seconds, 5 < s ≤ 120"
        ),
    )


def _device(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)  # a device index, as `python -m sounddevice` numbers them
    text = _str(value).strip()
    if len(text) > 128 or not text.isprintable():
        raise ValueError("at most 128 printable characters")
    return text


def _greeting(value: Any) -> bool:
    text = _str(value).strip().lower()
    if text not in ("tts", "say"):
        raise ValueError('"tts" or "say"')
    return text == "tts"


def _seat_name(value: Any) -> str:
    return check_seat_name(_str(value).strip())


def _read_seat(r: _Reader, line: LineSettings) -> SeatSettings:
    r.check_keys("seat", ("headset_device", "greeting", "name"))
    return SeatSettings(
        name=r.get(
            "seat.name", _seat_name, default_seat_name(socket.gethostname(), line.extension),
            f"1-{SEAT_NAME_MAX} letters, digits, . _ @ - (unique per seat of the hotline)",
        ),
        headset_device=r.get(
            "seat.headset_device", _device, "",
            'part of a PortAudio device name or its index, or "" for the default',
        ),
        greeting_by_tts=r.get("seat.greeting", _greeting, True, '"tts" or "say"'),
    )


def _seat_names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ValueError("a list of one seat name or more")
    names = tuple(_seat_name(v) for v in value)
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} named twice")
    return names


def _read_team(r: _Reader, seat: SeatSettings, database_url: str) -> TeamSettings:
    """`[team]`: the hotline's seats. This seat must be one of them; two or more on a
    SQLite file are refused (a file has no locking between machines: PostgreSQL)."""
    r.check_keys("team", ("name", "seats"))
    name = r.get("team.name", _str, "", "the team's name, e.g. \"客服热线\"").strip()
    seats = r.get(
        "team.seats", _seat_names, (),
        f'a list of seat names like ["seat-1", "seat-2"] (1-{SEAT_NAME_MAX} letters, '
        "digits, . _ @ -, each once)",
    )
    if seats and seat.name not in seats:
        raise r.error(
            "team.seats",
            f"this seat's name {seat.name!r} ([seat] name) is not one of the team's seats",
            list(seats),
        )
    if len(seats) > 1 and database_url.startswith("sqlite"):
        raise r.error(
            "team.seats",
            f"{len(seats)} seats share the hotline but [database] url is a SQLite file, which "
            "seats on other machines cannot share; give every seat the team's PostgreSQL: "
            'url = "postgresql+psycopg://USER@HOST/DB"',
            list(seats),
        )
    return TeamSettings(name, seats)


def _read_agents(r: _Reader) -> AgentSettings:
    r.check_keys("agents", ("late_after", "early_before", "away_limit_minutes"))
    return AgentSettings(
        late_after=r.get("agents.late_after", _clock, dt.time(8, 30), '"HH:MM" 00:00-23:59'),
        early_before=r.get("agents.early_before", _clock, dt.time(17, 35), '"HH:MM" 00:00-23:59'),
        away_limit_minutes=r.get(
            "agents.away_limit_minutes", _seconds(0, 480), 15.0, "minutes, 0 < m ≤ 480"
        ),
    )


# ---------------------------------------------------------------- environment overrides


def _env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Apply `DUTY_SECTION__KEY=value` to `data`; returns dotted key → variable name.

    The value is read as a TOML value when it parses as one (`5`, `true`, `["a"]`), else
    as a plain string. Variables whose first part is not a config section are left alone
    (other tools may use the prefix too).
    """
    applied: dict[str, str] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if parts[0] not in _TOP or not all(parts):
            continue
        raw = environ[name]
        try:
            value: Any = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"environment {name}", ".".join(parts), "not a table")
            node = child
        node[parts[-1]] = value
        applied[".".join(parts)] = name
    return applied


# ---------------------------------------------------------------- entry points


def _toml_line(exc: tomllib.TOMLDecodeError) -> int | None:
    match = re.search(r"line (\d+)", str(exc))
    return int(match.group(1)) if match else None


def load(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    *,
    office_calendar: bool = True,
) -> ConsoleConfig:
    """Read, override from `environ` (default `os.environ`) and validate the config file.

    `office_calendar=False` leaves the office's calendar file out (it need not exist yet):
    for `duty-console holidays add`, which reads and writes that file itself."""
    file = Path(path)
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", "no such config file (copy console.toml.example)") from None
    except IsADirectoryError:
        raise ConfigError(source, "", "is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(source, "", "not UTF-8 text") from None
    return loads(text, source, file.resolve().parent, environ, office_calendar=office_calendar)


def loads(
    text: str,
    source: str = "<string>",
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    office_calendar: bool = True,
) -> ConsoleConfig:
    """Validate config `text`; relative paths are resolved against `base_dir`."""
    base = base_dir or Path.cwd()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"invalid TOML: {exc}", line=_toml_line(exc)) from None
    env = _env_overrides(data, os.environ if environ is None else environ)
    r = _Reader(source, text, data, env)
    r.check_keys("", _TOP)
    for section in _TOP[2:]:
        r.table(section)  # a section given as a plain value is an error here
    centre = r.get("centre", _text, expected='the centre\'s name, e.g. "XX客服中心"')
    timezone = r.get("timezone", _timezone, "Asia/Shanghai", 'an IANA zone like "Asia/Shanghai"')
    line = _read_line(r)
    r.check_keys("ring_limit", ("rings", "cadence_seconds"))
    rings = r.get("ring_limit.rings", _int_in(1, 20), 3, "a whole number of rings 1-20")
    cadence = r.get("ring_limit.cadence_seconds", _seconds(0, 30), 5.0, "seconds, 0 < s ≤ 30")
    rosters = _read_rosters(r)
    holidays, calendar = _read_calendar(r, base, office_calendar)
    r.check_keys("database", _DATABASE_KEYS)
    database_url = r.get(
        "database.url",
        _database_url,
        "sqlite:///var/duty.db",
        "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB",
    )
    outbox_dir = Path(r.get("database.outbox_dir", _nonempty, "var/outbox", "a directory"))
    if not outbox_dir.is_absolute():
        outbox_dir = base / outbox_dir
    if outbox_dir.exists() and not outbox_dir.is_dir():
        raise r.error("database.outbox_dir", "exists and is not a directory", str(outbox_dir))
    reserve_mib = r.get("database.outbox_reserve_mib", _int_in(0, 1024), 8,
                        "a whole number of MiB 0-1024")
    seat = _read_seat(r, line)
    return ConsoleConfig(
        source=source,
        centre=centre,
        timezone=timezone,
        line=line,
        ring_limit=RingLimit(rings, cadence),
        rosters=rosters,
        holidays=holidays,
        calendar=calendar,
        gate_post=_read_gate_post(r, line),
        prompts=_read_prompts(r),
        timers=_read_timers(r),
        capacity=_read_capacity(r),
        database_url=database_url,
        outbox_dir=outbox_dir,
        outbox_reserve_bytes=reserve_mib * 1024 * 1024,
        recording=_read_recording(r, base),
        agents=_read_agents(r),
        follow_ups=_read_follow_ups(r),
        seat=seat,
        team=_read_team(r, seat, database_url),
        anchors=_read_anchors(r, base, database_url),
        overridden=tuple(sorted(env)),
    )


def describe_rosters(rosters: tuple[Roster, ...]) -> Iterator[str]:
    """One line per roster, for the start-up log."""
    for ro in rosters:
        yield f"{ro.name} ({ro.label}): {format_days(ro.days)} {ro.start:%H:%M}–{ro.end:%H:%M}"


__all__ = [
    "PROMPT_NAMES",
    "AgentSettings",
    "AnchorSettings",
    "CalendarFile",
    "CapacitySettings",
    "ConfigError",
    "ConsoleConfig",
    "FollowUpSettings",
    "ForwardMethod",
    "GatePostSettings",
    "HolidaySettings",
    "HolidaySource",
    "LineSettings",
    "PromptConfig",
    "RecordingSettings",
    "TimerSettings",
    "WaitingPolicy",
    "anchor_settings",
    "build_calendar",
    "load",
    "load_calendar",
    "loads",
    "parse_sip_uri",
    "read_calendar_file",
]
