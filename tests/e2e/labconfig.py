"""A `console.toml` for the loopback lab: the duty line 100 registering at the lab's Kamailio.

Shared by the end-to-end tests, the adapter tests and `scripts/bench_flow`; everything
points at 127.0.0.1 (unless a test on a lab network namespace passes its addresses) and the
record is a SQLite file next to the config.
"""

from __future__ import annotations

import sys
from pathlib import Path

LAB_DIR = Path(__file__).resolve().parents[2] / "scripts" / "lab"
if str(LAB_DIR) not in sys.path:
    sys.path.insert(0, str(LAB_DIR))

import labctl  # noqa: E402

SHORT_TEXTS = {
    "greeting_auto": "Hello, {centre}. Please hold.",
    "hold": "Please hold.",
    "busy": "The agent is busy. Please hold.",
    "fallback": "Please leave a message.",
    "survey": "Press 1, 2 or 3.",
    "survey_retry": "Again: press 1, 2 or 3.",
    "thanks": "Thank you.",
    "after_hours": "Forwarding you to the gate post.",
}
"""Short English prompts so a lab call walks the whole script in seconds."""


def write_console_toml(
    directory: Path,
    proxy_port: int,
    *,
    gate_uri: str = "sip:200@127.0.0.1",
    method: str = "refer",
    retries: int = 0,
    take_message: bool = True,
    rings: int = 2,
    cadence: float = 0.5,
    language: str = "en",
    prompt_cache: Path | None = None,
    max_calls: int = 8,
    hold_max: float = 1.0,
    message_seconds: float = 1.0,
    digit_timeout: float = 3.0,
    hangup_timeout: float = 2.0,
    transfer_timeout: float = 8.0,
    probe_interval: float = 300.0,
    extension: str = "100",
    texts: dict[str, str] | None = None,
    recording: bool = False,
    default_owner: str = "",
    registrar: str = "127.0.0.1",
    local_address: str = "127.0.0.1",
    trusted_sources: tuple[str, ...] = ("127.0.0.1/32",),
    line_extra: dict[str, object] | None = None,
) -> Path:
    """Write `console.toml` into `directory` and return its path (free SIP/RTP ports).

    `registrar`, `local_address` and `trusted_sources` default to the loopback lab;
    `line_extra` adds `[line]` keys as given (strings quoted, lists as TOML arrays).
    """
    directory.mkdir(parents=True, exist_ok=True)
    sip_port = labctl.free_udp_port()
    rtp_low = labctl.free_port_range(max(4, 2 * max_calls + 2), align=2, tcp=False)
    rtp_high = rtp_low + max(4, 2 * max_calls + 2) - 1
    cache = prompt_cache or (directory / "prompts")
    texts = SHORT_TEXTS if texts is None else texts
    text_lines = "\n".join(f'{name} = "{value}"' for name, value in texts.items())
    trusted = ", ".join(f'"{net}"' for net in trusted_sources)
    extra_lines = "".join(f"{key} = {_toml(value)}\n" for key, value in (line_extra or {}).items())
    text = f"""\
centre = "Lab Service Centre"
timezone = "Asia/Shanghai"

[line]
registrar = "{registrar}"
registrar_port = {proxy_port}
extension = "{extension}"
secret = "{labctl.USERS.get(extension, "")}"
local_address = "{local_address}"
sip_port = {sip_port}
rtp_port_low = {rtp_low}
rtp_port_high = {rtp_high}
trusted_sources = [{trusted}]
max_calls = {max_calls}
register_expires = 60
{extra_lines}
[ring_limit]
rings = {rings}
cadence_seconds = {cadence}

[gate_post]
uri = "{gate_uri}"
method = "{method}"
retries = {retries}
take_message = {"true" if take_message else "false"}
transfer_timeout_seconds = {transfer_timeout}
probe_interval_seconds = {probe_interval}
probe_timeout_seconds = 1

[prompts]
language = "{language}"
rate = 175
cache_dir = "{cache}"

[prompts.texts]
{text_lines}

[timers]
hold_max_seconds = {hold_max}
message_seconds = {message_seconds}
survey_digit_timeout_seconds = {digit_timeout}
caller_hangup_timeout_seconds = {hangup_timeout}

[capacity]
waiting = "hold"
max_waiting = 100
max_wait_seconds = {hold_max}

[database]
url = "sqlite:///{directory / "duty.db"}"

[recording]
enabled = {"true" if recording else "false"}
directory = "{directory / "recordings"}"

[follow_ups]
default_owner = "{default_owner}"
due_hours = 24
"""
    path = directory / "console.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _toml(value: object) -> str:
    """A TOML literal for a bool, number, string or list of those (enough for `[line]`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML literal for {value!r}")
