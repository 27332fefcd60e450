"""`duty-console check` as a process against the loopback lab (Kamailio with digest auth and
the gate post 200 on baresip): the exit code and the lines are what an installer sees.

Every run has no terminal (stdin from /dev/null, output to pipes) and a `--timeout`; the
process itself is bounded by `subprocess.run(timeout=...)`. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import labctl
import pytest

from console.check import run_check
from sip.api import Line, LineBinding, LineStatus, MediaError, SipError
from tests.e2e.labconfig import write_console_toml

DUTY_CONSOLE = Path(sys.executable).with_name("duty-console")
STOP_SLACK = 6.0
"""Seconds a run may take beyond its --timeout: start-up, and the line's own bounded stop
(2 s for the REGISTER removal, thread joins)."""


def check(config: Path, *extra: str, env: dict[str, str] | None = None,
          timeout: float = 2.0) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run `duty-console check --config CONFIG --timeout T`; (the result, seconds taken)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DUTY_")}
    environ.update(env or {})
    started = time.monotonic()
    result = subprocess.run(
        [str(DUTY_CONSOLE), "check", "--config", str(config), "--timeout", f"{timeout:g}",
         *extra],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, env=environ,
        timeout=timeout * 3 + 30,
    )
    return result, time.monotonic() - started


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """stdout's lines by check name (the first word)."""
    found: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        name, _, rest = line.partition(" ")
        found.setdefault(name, []).append(rest.strip())
    return found


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.fixture
def seat(tmp_path: Path) -> Path:
    return tmp_path / "seat"


def test_all_ok_exits_0_with_every_check_ok(lab: labctl.Lab, seat: Path) -> None:
    config = write_console_toml(seat, lab.proxy_port)
    result, _ = check(config)
    assert result.returncode == 0, describe(result)
    found = lines(result)
    assert found["config"] == [f"ok  {config}"]
    assert found["bind"][0].startswith("ok  udp 127.0.0.1:")
    assert found["register"][0].startswith(
        f"ok  sip:100@127.0.0.1 at 127.0.0.1:{lab.proxy_port} (registered in ")
    port = found["bind"][0].rsplit(":", 1)[1]
    assert found["seen-as"] == [f"127.0.0.1:{port}"]  # Kamailio filled our rport
    assert "warning" not in found
    assert found["gate"][0].startswith("ok  sip:200@127.0.0.1 answered OPTIONS")
    assert found["media"][0].startswith("networks 127.0.0.1/32")
    assert "latching auto" in found["media"][0]
    assert found["rtp"][0].startswith("ok  ports ")
    assert "FAIL" not in result.stdout
    assert "Traceback" not in result.stderr
    assert list(found) == ["config", "bind", "register", "seen-as", "gate", "media", "rtp"]


def test_wrong_secret_is_a_register_fail(lab: labctl.Lab, seat: Path) -> None:
    config = write_console_toml(seat, lab.proxy_port)
    result, _ = check(config, env={"DUTY_LINE__SECRET": "not-the-secret"})
    assert result.returncode == 1, describe(result)
    found = lines(result)
    assert "(from the environment: line.secret)" in found["config"][0]
    assert found["register"][0].startswith(f"FAIL  sip:100@127.0.0.1 at 127.0.0.1:{lab.proxy_port}")
    assert "wrong password or unknown extension" in found["register"][0]
    assert found["gate"][0].startswith("skip  ")
    assert "Traceback" not in result.stderr


def test_gate_post_nobody_registered_is_a_gate_fail(lab: labctl.Lab, seat: Path) -> None:
    # 201 is a lab user nobody registered: Kamailio answers the OPTIONS for it (404)
    config = write_console_toml(seat, lab.proxy_port, gate_uri="sip:201@127.0.0.1")
    result, _ = check(config)
    assert result.returncode == 1, describe(result)
    found = lines(result)
    assert found["register"][0].startswith("ok  ")
    assert found["gate"][0].startswith("FAIL  sip:201@127.0.0.1: the PBX answered for it")
    assert [line for line in result.stdout.splitlines() if "FAIL" in line] == [
        f"gate     {found['gate'][0]}"]


def test_second_target_is_asked_too(lab: labctl.Lab, seat: Path) -> None:
    config = write_console_toml(seat, lab.proxy_port)
    second = 'uri = "sip:200@127.0.0.1"\nsecond_target = "sip:201@127.0.0.1"'
    text = config.read_text("utf-8").replace('uri = "sip:200@127.0.0.1"', second)
    config.write_text(text, "utf-8")
    result, _ = check(config)
    assert result.returncode == 1, describe(result)
    gate = lines(result)["gate"]
    assert gate[0].startswith("ok  sip:200@127.0.0.1 answered OPTIONS")
    assert gate[1].startswith("FAIL  sip:201@127.0.0.1 (second target): the PBX answered")


def test_registrar_sees_another_address_than_advertised_warns(lab: labctl.Lab, seat: Path) -> None:
    """Advertise 127.0.0.2, send from 127.0.0.1: Kamailio's Via received says 127.0.0.1."""
    config = write_console_toml(seat, lab.proxy_port, local_address="127.0.0.2",
                                line_extra={"bind_address": "127.0.0.1"})
    result, _ = check(config)
    assert result.returncode == 0, describe(result)  # a warning, not a failure
    found = lines(result)
    port = found["bind"][0].split(" (", 1)[0].rsplit(":", 1)[1]
    assert found["bind"][0] == f"ok  udp 127.0.0.1:{port} (advertised as 127.0.0.2:{port})"
    assert found["seen-as"] == [f"127.0.0.1:{port}"]
    assert found["warning"][0].startswith(
        f"the registrar sees this PC at 127.0.0.1:{port} but the line advertises "
        f"127.0.0.2:{port}")
    assert 'local_address = "127.0.0.1"' in found["warning"][0]


def test_nothing_listening_at_the_registrar_fails_within_the_timeout(seat: Path) -> None:
    silent = labctl.free_udp_port()  # reserved for this run; nobody listens there
    config = write_console_toml(seat, silent)
    result, took = check(config, timeout=2)
    assert result.returncode == 1, describe(result)
    assert took < 2 + STOP_SLACK, f"took {took:.1f} s\n{describe(result)}"
    found = lines(result)
    assert found["register"] == [f"FAIL  no answer from 127.0.0.1:{silent} in 2 s"]
    assert found["gate"][0].startswith("skip  ")
    assert "Traceback" not in result.stderr


def test_sip_port_taken_is_a_bind_fail(seat: Path) -> None:
    config = write_console_toml(seat, labctl.free_udp_port())
    port = int(next(line.split("=")[1] for line in config.read_text("utf-8").splitlines()
                    if line.startswith("sip_port")))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))
        result, _ = check(config)
    assert result.returncode == 1, describe(result)
    found = lines(result)
    assert found["bind"][0].startswith(f"FAIL  udp 127.0.0.1:{port}: ")
    assert "in use" in found["bind"][0]
    assert found["gate"][0].startswith("skip  ")
    assert "register" not in found
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (('registrar = "127.0.0.1"', 'registrar = "pbx.example"'), "line.registrar"),
        (("register_expires = 60", "register_expires = 5"), "line.register_expires"),
        (("[line]", "[line]\nbind_adress = \"0.0.0.0\""), "line.bind_adress"),
        (None, "no such config file"),
    ],
)
def test_bad_config_exits_2_with_one_line(
    seat: Path, edit: tuple[str, str] | None, named: str
) -> None:
    config = write_console_toml(seat, labctl.free_udp_port())
    if edit is None:
        config = seat / "missing.toml"
    else:
        text = config.read_text("utf-8")
        assert edit[0] in text
        config.write_text(text.replace(edit[0], edit[1], 1), "utf-8")
    result, _ = check(config)
    assert result.returncode == 2, describe(result)
    out = result.stdout.splitlines()
    assert len(out) == 1, describe(result)
    assert out[0].startswith(f"config   FAIL  {config}")
    assert named in out[0]
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


class FakeLine:
    """A `sip.api.Line` that registers at once and says nothing of where it was seen."""

    def __init__(self, config: object, sink: object, fail: SipError | None = None) -> None:
        self.config = config
        self.fail = fail
        self.status = LineStatus.STOPPED
        self.probed: list[str] = []
        self.stopped = 0
        self.observed_address: tuple[str, int] | None = None
        self.binding = LineBinding(None)

    def start(self, timeout: float = 10.0) -> None:
        self.binding = LineBinding(int(self.config.sip_port))  # type: ignore[attr-defined]
        if self.fail is not None:
            raise self.fail
        self.status = LineStatus.REGISTERED
        self.binding = LineBinding(int(self.config.sip_port), 300)  # type: ignore[attr-defined]

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        self.probed.append(target_uri)
        return True

    def stop(self) -> None:
        self.stopped += 1
        self.status = LineStatus.STOPPED


def test_a_registrar_that_does_not_say_is_seen_as_unknown(seat: Path) -> None:
    config = write_console_toml(seat, labctl.free_udp_port())
    lines_: list[FakeLine] = []

    def factory(cfg: object, sink: object) -> Line:
        lines_.append(FakeLine(cfg, sink))
        return lines_[-1]  # type: ignore[return-value]

    out = io.StringIO()
    assert run_check(config, timeout=1, out=out, environ={}, line_factory=factory) == 0
    text = out.getvalue()
    assert "seen-as  unknown (the registrar did not say)\n" in text
    assert ", expires 300 s)" in text  # the line's binding, not its internals
    assert "warning" not in text
    assert lines_[0].probed == ["sip:200@127.0.0.1"] and lines_[0].stopped == 1


def test_a_sip_error_at_start_is_a_fail_line_not_a_traceback(seat: Path) -> None:
    config = write_console_toml(seat, labctl.free_udp_port())

    def factory(cfg: object, sink: object) -> Line:
        return FakeLine(cfg, sink, fail=MediaError("no media networks"))  # type: ignore[return-value]

    out = io.StringIO()
    assert run_check(config, timeout=1, out=out, environ={}, line_factory=factory) == 1
    register = [line for line in out.getvalue().splitlines() if line.startswith("register")]
    assert register == ["register FAIL  sip:100@127.0.0.1: the line did not start: Media: "
                        "no media networks"]
