"""`duty-console check`: does this PC reach the PBX the way `console.toml` says, before a shift?

Installing the console on the office network fails in a few ordinary ways: a typo in the
config, an address this PC does not have, a wrong secret, a registrar that sees the PC at
another address than the one it advertises (NAT), a gate post nobody registered, an RTP range
another program holds. `check` finds each of them without placing a call: it loads the config,
starts the real line (bind, REGISTER), asks the gate post with OPTIONS, shows the media
settings, binds one RTP port, unregisters and exits. One line per check on stdout; exit 0 when
every check is ok, 1 when one failed, 2 when the config is unusable. Every wait is bounded by
`--timeout`; nothing needs a terminal.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sip.api import (
    Line,
    LineConfig,
    LineConfigError,
    LineEvent,
    LineStatus,
    RegistrationError,
    SipError,
)

log = logging.getLogger("console.check")

DEFAULT_TIMEOUT = 5.0
"""Seconds each network wait (the REGISTER, each OPTIONS) may take."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

LineFactory = Callable[[Any, Callable[[LineEvent], None]], Line]
"""Builds the line from `ConsoleConfig.line_config()` and an event sink (tests: a fake)."""


@dataclass
class Report:
    """The check lines, written to `out` as each check finishes (so a slow one shows where)."""

    out: TextIO
    failed: bool = False
    """True once any check said FAIL."""
    lines: list[str] = field(default_factory=list)

    def _write(self, name: str, verdict: str, text: str) -> None:
        detail = " ".join(text.split())  # one line, whatever the message held
        line = f"{name:<8} {verdict}  {detail}" if verdict else f"{name:<8} {detail}"
        self.lines.append(line)
        self.out.write(line + "\n")
        self.out.flush()

    def ok(self, name: str, text: str) -> None:
        self._write(name, "ok", text)

    def fail(self, name: str, text: str) -> None:
        self.failed = True
        self._write(name, "FAIL", text)

    def skip(self, name: str, text: str) -> None:
        """Not checked, because an earlier check failed (that one already says FAIL)."""
        self._write(name, "skip", text)

    def info(self, name: str, text: str) -> None:
        """What the check found, neither ok nor FAIL (settings, a warning)."""
        self._write(name, "", text)


def hostport(host: str, port: int) -> str:
    """`10.0.0.5:5062`, `[2001:db8::5]:5062`."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _s(seconds: float) -> str:
    return f"{seconds:g} s"


# ---------------------------------------------------------------- the checks


def run_check(
    config_path: str | Path,
    timeout: float = DEFAULT_TIMEOUT,
    out: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    line_factory: LineFactory | None = None,
) -> int:
    """Run every check against the PBX `config_path` names; the exit code (0, 1 or 2)."""
    from console import config as config_mod

    report = Report(out or sys.stdout)
    try:
        cfg = config_mod.load(config_path, environ)
    except Exception as exc:  # ConfigError (and a calendar's): titled, one line, no traceback
        if not isinstance(getattr(exc, "title", None), str):
            raise
        report.fail("config", str(exc))
        return EXIT_CONFIG
    source = str(config_path)
    if cfg.overridden:
        source += f" (from the environment: {', '.join(cfg.overridden)})"
    report.ok("config", source)

    line_config = cfg.line_config()
    if line_factory is None:
        from console.runner import duty_line  # the one composition root picks the Line

        line_factory = duty_line
    try:
        line = line_factory(line_config, lambda event: None)
    except SipError as exc:
        report.fail("line", f"{exc.title}: {exc}")
        return EXIT_FAILED
    try:
        registered, stopped = _check_line(report, line, line_config, timeout)
        gate = cfg.gate_post
        targets = [(gate.uri, "")]
        if gate.second_target:
            targets.append((gate.second_target, " (second target)"))
        for uri, label in targets:
            if registered:
                _check_gate(report, line, uri, label, timeout)
            else:
                report.skip("gate", f"{uri}{label} not asked: the line is not registered")
    finally:
        if not stopped:
            _stop(line)
    _report_media(report, line_config)
    _check_rtp(report, line_config)
    return EXIT_FAILED if report.failed else EXIT_OK


def _check_line(report: Report, line: Line, cfg: LineConfig,
                timeout: float) -> tuple[bool, bool]:
    """`bind` and `register`, then `seen-as`: (registered, the line stopped itself)."""
    bind_host = cfg.bind_address
    registrar = hostport(cfg.registrar_host, cfg.registrar_port)
    started = time.monotonic()
    error: Exception | None = None
    try:
        line.start(timeout=timeout)
    except (SipError, OSError) as exc:
        error = exc
    elapsed = time.monotonic() - started

    binding = line.binding
    if binding.local_port is None and isinstance(error, OSError | LineConfigError):
        # local_address not one of this host's, or the SIP port taken / not ours to bind
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        report.fail("bind", f"udp {hostport(bind_host, cfg.sip_port)}: {why}")
        return False, False
    port = binding.local_port or cfg.sip_port  # sip_port 0: the one the socket picked
    advertised = (cfg.local_host, port)
    bound = f"udp {hostport(bind_host, port)}"
    if advertised[0] != bind_host:
        bound += f" (advertised as {hostport(*advertised)})"
    report.ok("bind", bound)

    aor = f"sip:{cfg.extension}@{cfg.registrar_host}"
    if isinstance(error, RegistrationError):  # bad credentials: the line has stopped itself
        report.fail("register", f"{aor} at {registrar}: {error}")
        return False, line.status is LineStatus.STOPPED
    if error is not None:
        title = getattr(error, "title", "Line")
        report.fail("register", f"{aor}: the line did not start: {title}: {error}")
        return False, False
    status = line.status
    binding = line.binding  # as the registrar's answers left it
    if status is LineStatus.REGISTERED:
        expires = f", expires {binding.granted} s" if binding.granted else ""
        report.ok("register", f"{aor} at {registrar} (registered in {_ms(elapsed)}{expires})")
    elif status is LineStatus.FAILED:
        reason = binding.refusal or "refused"
        report.fail("register", f"{aor} at {registrar}: {reason}")
        return False, False
    else:
        report.fail("register", f"no answer from {registrar} in {_s(timeout)}")
        return False, False

    observed = line.observed_address
    if observed is None:
        report.info("seen-as", "unknown (the registrar did not say)")
        return True, False
    seen = (str(observed[0]), int(observed[1]))
    report.info("seen-as", hostport(*seen))
    if seen != advertised:
        report.info(
            "warning",
            f"the registrar sees this PC at {hostport(*seen)} but the line advertises "
            f"{hostport(*advertised)} in Via, Contact and SDP: calls and audio go to the "
            f"advertised address. Set [line] local_address = \"{seen[0]}\" if that is this "
            "PC; behind a NAT, have the PBX fix it (PJSIP force_rport, rewrite_contact, "
            "rtp_symmetric; Kamailio fix_nated_contact)",
        )
    return True, False


def _check_gate(report: Report, line: Line, uri: str, label: str, timeout: float) -> None:
    """OPTIONS to a gate post target through the proxy (`Line.probe`)."""
    started = time.monotonic()
    try:
        answered = line.probe(uri, timeout=timeout)
    except SipError as exc:
        report.fail("gate", f"{uri}{label}: {exc}")
        return
    elapsed = time.monotonic() - started
    if answered:
        report.ok("gate", f"{uri}{label} answered OPTIONS ({_ms(elapsed)})")
    elif elapsed < timeout * 0.9:
        report.fail("gate", f"{uri}{label}: the PBX answered for it: nobody there to take "
                            "a call (not registered, unknown or unavailable)")
    else:
        report.fail("gate", f"{uri}{label}: no answer to OPTIONS in {_s(timeout)}")


def _stop(line: Line) -> None:
    """Unregister and close; bounded by the line's own waits (a few seconds at most)."""
    try:
        line.stop()
    except (SipError, OSError) as exc:
        log.warning("line stop: %s", exc)


def _report_media(report: Report, cfg: LineConfig) -> None:
    """`media`: where RTP may go and how the line picks its destination (no network use)."""
    shown = ", ".join(cfg.effective_media_networks())
    if not cfg.media_networks:
        shown += " (default: the registrar and trusted_sources)"
    parts = [f"networks {shown}"]
    if cfg.media_peers:
        parts.append(f"peers {', '.join(cfg.media_peers)}")
    parts.append(f"latching {cfg.rtp_latching.value} (waits "
                 f"{_s(cfg.latch_timeout_seconds)} for the caller's first packet)")
    report.info("media", "; ".join(parts))


def _check_rtp(report: Report, cfg: LineConfig) -> None:
    """Bind one even RTP port of the range (RFC 3550 §11) on the media address, then free it."""
    host = cfg.bind_address
    low, high = cfg.rtp_port_low, cfg.rtp_port_high
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last: OSError | None = None
    for port in range(low + (low & 1), high, 2):  # even ports whose odd neighbour is in range
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError as exc:
            last = exc
            if exc.errno != errno.EADDRINUSE:
                break  # not this port's fault: the address itself is wrong
            continue
        finally:
            sock.close()
        report.ok("rtp", f"ports {low}-{high} bindable on {host} (tried {port})")
        return
    why = f": {last.strerror or last}" if last is not None else ""
    report.fail("rtp", f"no even port of {low}-{high} could be bound on {host}{why}")


# ---------------------------------------------------------------- the sub-command


def _timeout(text: str) -> float:
    value = float(text)
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds, 0 < s ≤ 120")
    return value


def _main(args: argparse.Namespace) -> int:
    # Only the line's errors reach stderr unless asked: its retry warnings would read as if
    # the check were still going on. Everything the check found is on stdout.
    logging.basicConfig(stream=sys.stderr, level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    return run_check(args.config, timeout=args.timeout)


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    check = subparsers.add_parser(
        "check", help="check the line against the PBX: bind, register, gate post, RTP ports")
    check.add_argument("--config", default="console.toml", help="the console's TOML file")
    check.add_argument("--timeout", type=_timeout, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"longest wait for each answer (default {DEFAULT_TIMEOUT:g})")
    check.add_argument("--verbose", action="store_true", help="log the line's work to stderr")
    check.set_defaults(handler=_main)


__all__ = ["DEFAULT_TIMEOUT", "Report", "add_commands", "run_check"]
