"""Place one demo call to the running console through the loopback lab (SIPp as the caller).

Reads the lab's ports from the `lab.json` that `scripts/console` wrote (var/seat/lab.json for
the seat, var/demo/lab.json for the headless demo), calls the duty line (extension 100)
through the lab's Kamailio on 127.0.0.1, keys `--digits` (RFC 4733) from the moment it is
answered — the last digit repeated, so the survey hears it whenever it asks — and either waits
for the console to hang up or hangs up itself `--hangup-after` seconds after the answer.
Loopback only; SIPp is bounded by `--timeout` and stopped by its pid if it outlives it. The
default limit comes from the console's own timers (the console.toml beside lab.json): a
call nobody answers rings out, holds, leaves a message and sits through the survey, and the
limit must outlast all of it (`call_limit`).
Prints what it did; exit 0 when the call went as planned.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts" / "lab"))

import labctl  # noqa: E402
import labpcap  # noqa: E402

SIPP_DIR = ROOT / "scripts" / "lab" / "sipp"
DIGIT_GAP_MS = 1340
"""One key every 1.34 s: the survey's digit timeout is longer, so it always hears one."""
KEYS_REPEATED = 60
"""The last digit is keyed this many times (80 s), then the caller only listens."""


FALLBACK_TIMEOUT = 120.0
"""The limit when no console.toml lies beside the lab file."""
PROMPT_ALLOWANCE_SECONDS = 90.0
"""Room for what an unanswered call hears besides the timers: greeting, hold, message and
survey prompts (the survey twice), thanks, the tone, call set-up. tests/scripts checks that
the real prompts fit."""
MAX_TIMEOUT = 600.0


class DemoError(Exception):
    """A demo-call option or the lab file is unusable; the message says which."""


def lab_proxy(lab_json: Path) -> tuple[str, int]:
    """The lab's Kamailio address from `lab.json`; it must be a loopback address."""
    try:
        data = json.loads(lab_json.read_text(encoding="utf-8"))
        host, port = str(data["proxy"]["host"]), int(data["proxy"]["port"])
    except FileNotFoundError:
        raise DemoError(f"{lab_json}: no lab running (start it with scripts/console)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DemoError(f"{lab_json}: not a lab file ({type(exc).__name__}: {exc})") from None
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise DemoError(f"{lab_json}: proxy host {host!r} is not a loopback address")
    if not 1 <= port <= 65535:
        raise DemoError(f"{lab_json}: proxy port {port} out of range")
    return host, port


def longest_call(config_path: Path) -> float:
    """Seconds of timers a call nobody answers sits through under this console config:
    the ring limit, the hold, the message, the survey's two digit timeouts and the wait for
    the caller to hang up (prompts not included; see `PROMPT_ALLOWANCE_SECONDS`)."""
    from console import config

    try:
        cfg = config.load(config_path, environ={})
    except config.ConfigError as exc:
        raise DemoError(f"{config_path}: {exc}") from None
    timers = cfg.timers
    return (cfg.ring_limit.seconds + timers.hold_max_seconds + timers.message_seconds
            + 2 * timers.survey_digit_timeout_seconds + timers.caller_hangup_timeout_seconds)


def call_limit(lab_json: Path) -> float:
    """The default `--timeout`: the console's `longest_call` plus the prompts' allowance,
    from the console.toml beside `lab_json` (`scripts/console` writes both)."""
    config_path = lab_json.parent / "console.toml"
    if not config_path.exists():
        return FALLBACK_TIMEOUT
    return min(MAX_TIMEOUT, longest_call(config_path) + PROMPT_ALLOWANCE_SECONDS)


def check_digits(digits: str) -> str:
    digits = digits.replace(" ", "")
    bad = sorted({d for d in digits if d not in "0123456789*#"})
    if not digits or bad:
        raise DemoError(f"--digits {digits!r}: keys are 0-9, * and # (e.g. --digits 1)")
    return digits


def place(args: argparse.Namespace) -> int:
    if shutil.which("sipp") is None:
        raise DemoError("sipp is not installed (scripts/setup installs it)")
    if args.timeout is None:
        args.timeout = call_limit(args.lab)
    if not 1 <= args.timeout <= MAX_TIMEOUT:
        raise DemoError(f"--timeout {args.timeout}: 1-{MAX_TIMEOUT:g} seconds")
    if args.hangup_after is not None and not 1 <= args.hangup_after < args.timeout:
        raise DemoError(f"--hangup-after {args.hangup_after}: 1 s up to --timeout")
    if not args.service.isdigit():
        raise DemoError(f"--to {args.service!r}: an extension number, e.g. 100")
    digits = check_digits(args.digits)
    host, port = lab_proxy(args.lab)
    work = Path(tempfile.mkdtemp(prefix="demo-call-"))
    (work / "pcap").mkdir()
    keys = digits + digits[-1] * KEYS_REPEATED
    labpcap.write_pcap(work / "pcap" / "demo_digits.pcap",
                       labpcap.dtmf_packets(keys, gap_ms=DIGIT_GAP_MS))
    scenario = "uac_demo_hangup.xml" if args.hangup_after is not None else "uac_demo_wait.xml"
    sip_port = labctl.free_port_range(2)
    media_port = labctl.free_port_range(4, align=2)
    argv = ["sipp", "-sf", str(SIPP_DIR / scenario), "-s", args.service, f"{host}:{port}",
            "-i", "127.0.0.1", "-p", str(sip_port), "-cp", str(sip_port + 1),
            "-mi", "127.0.0.1", "-mp", str(media_port), "-m", "1", "-nostdin",
            "-timeout", f"{args.timeout}s", "-timeout_error", "-trace_err"]
    if args.hangup_after is not None:
        argv += ["-d", str(int(args.hangup_after * 1000))]
    plan = (f"hangs up {args.hangup_after:g} s after the answer" if args.hangup_after is not None
            else "waits for the console to hang up")
    print(f"demo call: 13800138000 → {args.service} via the lab at {host}:{port}; keys "
          f"{digits} once answered (the last one repeated every {DIGIT_GAP_MS / 1000:g} s); "
          f"{plan}; at most {args.timeout:g} s", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=args.timeout + 10)
    except subprocess.TimeoutExpired:
        _stop(proc)
        out = ""
        print(f"demo call: SIPp outlived {args.timeout:g} s; stopped (pid {proc.pid})")
        return 1
    except KeyboardInterrupt:
        _stop(proc)
        print("demo call: interrupted; SIPp stopped")
        return 130
    seconds = time.monotonic() - started
    if proc.returncode == 0:
        who = "the caller" if args.hangup_after is not None else "the console"
        print(f"demo call: done in {seconds:.1f} s; {who} hung up (SIPp: ok); the seat's "
              f"list of today's calls (今日来电) shows it")
        shutil.rmtree(work, ignore_errors=True)
        return 0
    errors = sorted(work.glob("*_errors.log"))
    detail = errors[0].read_text(errors="replace")[-1500:] if errors else out[-1500:]
    print(f"demo call: SIPp exit {proc.returncode} after {seconds:.1f} s (the files are in "
          f"{work}):\n{detail}")
    return 1


def _stop(proc: subprocess.Popen[str]) -> None:
    """Stop the SIPp this script started, by its pid (its own session)."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", default="1",
                        help="keys pressed once answered; the survey takes the first it hears "
                             "(1 satisfied, 2 average, 3 dissatisfied); default 1")
    parser.add_argument("--hangup-after", type=float, default=None, metavar="N",
                        help="the caller hangs up N s after the answer (default: the console "
                             "hangs up, after the survey)")
    parser.add_argument("--to", dest="service", default="100", help="extension to call (100)")
    parser.add_argument("--lab", type=Path, default=None,
                        help="the lab file scripts/console wrote (default: var/seat/lab.json, "
                             "the seat's; else var/demo/lab.json, the headless demo's)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="the whole call at most this long, seconds (default: what the "
                             "console's timers allow a call nobody answers, plus "
                             f"{PROMPT_ALLOWANCE_SECONDS:g} s for its prompts; "
                             f"{FALLBACK_TIMEOUT:g} without a console.toml beside the lab file)")
    args = parser.parse_args(argv)
    if args.lab is None:
        seat = ROOT / "var" / "seat" / "lab.json"
        args.lab = seat if seat.exists() else ROOT / "var" / "demo" / "lab.json"
    try:
        return place(args)
    except (DemoError, labpcap.PcapError) as exc:
        print(f"demo call: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
