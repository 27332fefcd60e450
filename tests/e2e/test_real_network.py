"""The duty line on a real network: the console and the PBX on different addresses (issue 15).

On loopback every address is local, so a console that only works there can look fine. Here
the test builds its own two-host network: network namespaces ``dutynet-<pid>-<hex>-seat``
(10.77.0.1/24) and ``…-pbx`` (10.77.0.2/24 and 10.77.0.3/24), joined by one veth pair that
is created inside them (scripts/lab/netns.py). Kamailio (registrar/proxy with digest auth)
listens on 10.77.0.2, the gate post (baresip 200) and the SIPp caller on 10.77.0.3, and
``duty-console run --headless`` runs in the seat namespace on 10.77.0.1. The traffic stays
inside the namespaces the test made (nothing is routed to or from the host) and they are
deleted at teardown, after every process the test started was stopped by its pid; stale
namespaces with the prefix that an earlier, crashed run left behind are removed first.

Without root the test is skipped (namespaces need it); as root, a machine where
``ip netns`` or veth pairs do not work FAILS the test: CI runs as root, and a skip there
would hide a regression. Every wait is bounded (SIPp's own timeout, polls with a deadline).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import labctl
import labpcap
import netns
import pytest

from console.store import CallOutcome, CallRecord, DutyRecord
from tests.e2e.helpers import E2E_SIPP, at, ensure_digit_pcap, greeting_correlation, wait_until
from tests.e2e.labconfig import write_console_toml

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
SEAT_IP, PROXY_IP, CALLER_IP = "10.77.0.1", "10.77.0.2", "10.77.0.3"
MONDAY_10 = at("2026-03-02 10:00")
"""Staffed: nobody answers, so the console answers by itself at the ring limit."""
MONDAY_22 = at("2026-03-02 22:00")
"""Night: calls go to the gate post."""
GATE_URI = "sip:200@" + PROXY_IP + ":{port}"
CALLER_NUMBER = "13900000001"
"""The From user of tests/e2e/sipp/uac_press_until_bye.xml."""


@pytest.fixture(scope="module")
def net() -> Iterator[netns.Network]:
    """The private network (seat | pbx), deleted when the module's tests are done."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add); CI runs this test as root")
    try:
        netns.require()
    except netns.NetnsUnavailable as exc:
        pytest.fail(f"{exc.title}: {exc} — this test needs ip netns and veth pairs "
                    "(iproute2, root); a skip would hide a regression", pytrace=False)
    missing = labctl.missing_tools()
    if missing:
        pytest.fail(f"lab tools missing: {', '.join(missing)} — run scripts/setup", pytrace=False)
    netns.remove_stale()
    network = netns.Network(seat=[f"{SEAT_IP}/24"], pbx=[f"{PROXY_IP}/24", f"{CALLER_IP}/24"])
    network.create()
    try:
        yield network
    finally:
        network.delete()
        assert not any(n.startswith(network.prefix + network.token)
                       for n in netns.list_namespaces()), "a lab namespace survived teardown"


@pytest.fixture(scope="module")
def pbx(net: netns.Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[labctl.Lab]:
    """Kamailio on 10.77.0.2 and the gate post 200 on 10.77.0.3, in the pbx namespace."""
    lab = labctl.Lab(tmp_path_factory.mktemp("netlab"), auth=True, host=PROXY_IP,
                     ua_host=CALLER_IP, netns=net["pbx"])
    try:
        lab.start(gate=True)
        yield lab
    finally:
        lab.stop()


class SeatConsole:
    """``duty-console run --headless`` as a process in the seat namespace, stopped by pid."""

    def __init__(self, net: netns.Network, config: Path, start: datetime) -> None:
        self.config = config
        self.log_path = config.parent / "console.log"
        self.process = labctl.ManagedProcess(
            "duty-console",
            net["seat"].argv([sys.executable, "-m", "console.cli", "run", "--headless",
                              "--config", str(config), "--clock-start", start.isoformat()]),
            self.log_path,
            REPO,
        )

    def log_text(self) -> str:
        return self.process.log_text()

    def wait_logged(self, text: str, timeout: float) -> None:
        def seen() -> bool:
            if text in self.log_text():
                return True
            if not self.process.running():
                raise AssertionError(f"the console exited:\n{self.log_text()[-3000:]}")
            return False

        wait_until(f"console log {text!r}", seen, timeout)

    def stop(self) -> int | None:
        """SIGTERM (the console hangs up, unregisters, seals), SIGKILL after 15 s."""
        self.process.stop(grace=15)
        return self.process.popen.returncode if self.process.popen else None

    def records(self) -> list[CallRecord]:
        """The duty record's calls, read from the SQLite file (after `stop`)."""
        with DutyRecord(f"sqlite:///{self.config.parent / 'duty.db'}",
                        tz=ZoneInfo("Asia/Shanghai")) as record:
            return list(record.calls())

    def greeting(self) -> bytes:
        """The PCM of the greeting this console plays (from the prompt cache it filled)."""
        from console import config as config_mod
        from console.prompts import PromptBook

        settings = config_mod.load(self.config).prompt_settings()
        key = repr(settings)
        if key not in _GREETINGS:
            book = PromptBook.load(settings, base=self.config.parent)
            _GREETINGS[key] = book.greeting_for("").pcm16
        return _GREETINGS[key]


_GREETINGS: dict[str, bytes] = {}
"""Rendered greetings by prompt settings: the tests' consoles share one prompt cache."""


SeatFactory = Callable[..., SeatConsole]


@pytest.fixture
def seat_factory(net: netns.Network, pbx: labctl.Lab, tmp_path: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeatFactory]:
    """``seat_factory(start=MONDAY_10, **console_toml)``: the console registered as 100 from
    10.77.0.1 at Kamailio on 10.77.0.2; stopped (exit 0 expected) when the test ends."""
    made: list[SeatConsole] = []

    def make(start: datetime = MONDAY_10, **overrides: Any) -> SeatConsole:
        options: dict[str, Any] = {
            "registrar": PROXY_IP,
            "local_address": SEAT_IP,
            "trusted_sources": (f"{CALLER_IP}/32",),
            "gate_uri": GATE_URI.format(port=pbx.proxy_port),
            "prompt_cache": tmp_path_factory.getbasetemp() / "prompt-cache",
            **overrides,
        }
        config = write_console_toml(tmp_path / f"seat{len(made)}", pbx.proxy_port, **options)
        console = SeatConsole(net, config, start)
        made.append(console)
        console.process.start()
        console.wait_logged("line registered; waiting for calls", 30)
        return console

    try:
        yield make
    finally:
        codes = {str(c.config): c.stop() for c in made}
        for console in made:
            assert codes[str(console.config)] == 0, console.log_text()[-3000:]


SILENT_THEN_BYE = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<!-- Caller who never sends RTP: INVITE (PCMU + telephone-event), 200, ACK, pause -d ms
     (hearing the greeting), BYE, expects 200. Written by test_real_network.py. -->
<scenario name="uac_silent_then_bye">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "e2e caller" <sip:13900000001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:13900000001@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv

    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "e2e caller" <sip:13900000001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:13900000001@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "e2e caller" <sip:13900000001@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      [routes]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:13900000001@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
"""
"""A silent caller that hangs up by itself (keeps the test short: no survey to time out)."""


def _refused(result: labctl.SippResult) -> str | None:
    """The console's 4xx/5xx status line to the INVITE in a SIPp trace, if it refused."""
    found = re.search(r"^\s*(SIP/2\.0 [45]\d\d [^\r\n]*)", result.messages, re.M)
    if found is None:
        return None
    warning = re.search(r"^\s*Warning: ([^\r\n]*)", result.messages, re.M)
    return found.group(1) + (f" ({warning.group(1)})" if warning else "")


def _answer_sdp(messages: str) -> tuple[str, int]:
    """(c= address, m=audio port) of the 200 OK to the INVITE in a SIPp message trace."""
    for block in re.split(r"\n-{10,}", messages):
        if "SIP/2.0 200" in block and "INVITE" in block and "m=audio" in block:
            conn = re.search(r"^\s*c=IN IP4 (\S+)", block, re.M)
            media = re.search(r"^\s*m=audio (\d+)", block, re.M)
            if conn and media:
                return conn.group(1), int(media.group(1))
    raise AssertionError(f"no 200 OK with SDP in the SIPp trace:\n{messages[-3000:]}")


def _flows(packets: list[labpcap.RtpPacket]) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    return sorted({(p.src, p.dst) for p in packets})


def _pcm_from(packets: list[labpcap.RtpPacket], src: tuple[str, int],
              dst: tuple[str, int]) -> bytes:
    audio = sorted((p for p in packets if p.src == src and p.dst == dst
                    and p.payload_type in (0, 8)), key=lambda p: p.time)
    return b"".join(labpcap.decode_g711(p.payload_type, p.payload) for p in audio)


def _call_over_the_veth(
    pbx: labctl.Lab, net: netns.Network, scenario: Path, duration_ms: int | None = None
) -> tuple[labctl.SippRun, labctl.SippResult, labctl.Capture, labctl.Capture, tuple[str, int]]:
    """One SIPp call from 10.77.0.3 via the proxy, captured on both ends of the veth."""
    with (
        pbx.capture(interface=net["pbx"].interface) as at_pbx,
        pbx.capture(interface=net["seat"].interface, netns=net["seat"]) as at_seat,
    ):
        run = pbx.sipp_start(scenario, timeout=40, duration_ms=duration_ms)
        result = run.wait(timeout=45)
    refused = _refused(result)
    assert refused is None, f"the console refused the call from {CALLER_IP}: {refused}"
    assert result.ok, result.describe()
    invite = result.messages.split("INVITE sip:", 1)[1].split("SIP/2.0 ", 1)[0]
    assert f"c=IN IP4 {CALLER_IP}" in invite
    console_ip, console_port = _answer_sdp(result.messages)
    assert console_ip == SEAT_IP, "the console advertised another address than the seat's"
    return run, result, at_pbx, at_seat, (SEAT_IP, console_port)


def test_registers_from_the_seat_address_at_the_proxy(
    seat_factory: SeatFactory, pbx: labctl.Lab
) -> None:
    """Kamailio's usrloc took 100's binding from 10.77.0.1, across the veth pair."""
    seat_factory()
    pattern = re.compile(rf"registered sip:100@{re.escape(PROXY_IP)}\S* "
                         rf"contact <sip:100@{re.escape(SEAT_IP)}:\d+[^>]*> "
                         rf"from {re.escape(SEAT_IP)}:\d+")
    wait_until("Kamailio's log of the seat's REGISTER",
               lambda: pattern.search(pbx.proxy.process.log_text()) is not None, 10)


def test_call_from_another_host_auto_answered_audio_both_ways(
    seat_factory: SeatFactory, pbx: labctl.Lab, net: netns.Network
) -> None:
    """SIPp on 10.77.0.3 calls 100 via the proxy; the console answers at the ring limit.

    The config names no media keys: the caller's address is a trusted source, so by default
    RTP may go there, and since it is not the signalling peer's (the proxy, 10.77.0.2) the
    console latches — sends to where the caller's RTP comes from, once it has come. The
    caller's RTP reaches the console's port (captured on the seat end; the DTMF '1' it
    carries is the survey score in the record), the greeting reaches 10.77.0.3 from the
    port the console advertised (captured on the pbx end), and the record row is right.
    """
    ensure_digit_pcap(pbx, "1")
    seat = seat_factory(hangup_timeout=1.0)
    run, _, at_pbx, at_seat, console = _call_over_the_veth(
        pbx, net, E2E_SIPP / "uac_press_until_bye.xml")

    caller = (CALLER_IP, run.media_port)
    to_console = sorted((p for p in at_seat.packets if p.src == caller and p.dst == console),
                        key=lambda p: p.time)
    assert len(to_console) >= 10, (f"the caller's RTP did not reach {console} on the seat "
                                   f"side; seen: {_flows(at_seat.packets)}")
    assert any(p.payload_type == labpcap.PT_EVENT for p in to_console)
    to_caller = sorted((p for p in at_pbx.packets if p.src == console and p.dst == caller),
                       key=lambda p: p.time)
    assert to_caller, f"no RTP from {console} to {caller} on the pbx side: {_flows(at_pbx.packets)}"
    first_in = min(p.time for p in at_pbx.packets if p.src == caller)
    assert to_caller[0].time >= first_in, "sent to an unlatched address before the caller spoke"
    assert not [p for p in at_pbx.packets if p.src[0] == SEAT_IP and p.dst != caller]

    seat.wait_logged("duty record: call", 15)
    assert greeting_correlation(seat.greeting(), _pcm_from(at_pbx.packets, console, caller)) > 0.9
    assert seat.stop() == 0, seat.log_text()[-3000:]
    records = seat.records()
    assert len(records) == 1, records
    record = records[0]
    assert record.outcome is CallOutcome.ANSWERED
    assert record.answered_by == "auto" and record.rings == 2
    assert record.caller_number == CALLER_NUMBER
    assert record.forwarded_to is None and record.forward_result is None
    assert record.satisfaction == 1, "the caller's DTMF (RTP to the console) was not heard"


def test_media_peer_is_sent_to_at_once_wildcard_bind(
    seat_factory: SeatFactory, pbx: labctl.Lab, net: netns.Network, tmp_path: Path
) -> None:
    """Explicit keys: bind 0.0.0.0 (advertise 10.77.0.1), media_networks the lab's /24 and the
    caller a media peer. The caller never sends RTP, yet hears the greeting (nothing to latch
    to: the console sends to the SDP address at once), from the advertised address and port;
    it hangs up after 3.5 s.
    """
    seat = seat_factory(
        trusted_sources=(),
        line_extra={"bind_address": "0.0.0.0", "media_networks": ["10.77.0.0/24"],
                    "media_peers": [CALLER_IP], "rtp_latching": "auto"},
    )
    scenario = tmp_path / "uac_silent_then_bye.xml"
    scenario.write_text(SILENT_THEN_BYE, encoding="iso-8859-1")
    run, _, at_pbx, _, console = _call_over_the_veth(pbx, net, scenario, duration_ms=3500)

    caller = (CALLER_IP, run.media_port)
    assert not [p for p in at_pbx.packets if p.src == caller], "the silent caller sent RTP"
    heard = _pcm_from(at_pbx.packets, console, caller)
    assert heard, f"no RTP from {console} to {caller}: {_flows(at_pbx.packets)}"
    seat.wait_logged("duty record: call", 15)
    assert greeting_correlation(seat.greeting(), heard) > 0.9
    assert seat.stop() == 0, seat.log_text()[-3000:]
    (record,) = seat.records()
    assert record.outcome is CallOutcome.ANSWERED and record.answered_by == "auto"
    assert record.caller_number == CALLER_NUMBER and record.rings == 2
    assert record.end_reason == "remote_bye" and record.forwarded_to is None


def test_night_refer_reaches_the_gate_post_on_the_other_host(
    seat_factory: SeatFactory, pbx: labctl.Lab
) -> None:
    """At night a baresip caller on 10.77.0.3 is referred to the gate post (also 10.77.0.3,
    via the proxy on 10.77.0.2), which answers; the record says forwarded."""
    seat = seat_factory(start=MONDAY_22)
    gate = GATE_URI.format(port=pbx.proxy_port)
    caller = pbx.start_caller("300")
    try:
        since = len(pbx.gate.events)
        caller.dial(pbx.uri("100"))
        pbx.gate.wait_event("CALL_ESTABLISHED", timeout=20, since=since)
        seat.wait_logged("duty record: call", 20)
    finally:
        caller.hangup_all()
        pbx.gate.hangup_all()
        pbx.stop_ua("300")
    assert seat.stop() == 0, seat.log_text()[-3000:]
    (record,) = seat.records()
    assert record.outcome is CallOutcome.FORWARDED
    assert record.forwarded_to == gate and record.forward_method == "refer"
    assert record.forward_result == "success" and record.answered_by == "auto"
    assert record.caller_number == "300"


def test_lab_traffic_may_only_target_the_network_it_created(
    net: netns.Network, pbx: labctl.Lab
) -> None:
    """From the pbx namespace only loopback and the addresses the network gave its two ends
    are targets; outside any namespace only 127.0.0.0/8; a network not (or no longer)
    created allows nothing."""
    pbx_ns = net["pbx"]
    for host in ("127.0.0.1", SEAT_IP, PROXY_IP, CALLER_IP):
        assert labctl._check_target(host, pbx_ns) == host
    for host in ("10.77.0.4", "10.77.1.1", "192.0.2.1", "8.8.8.8", "localhost"):
        with pytest.raises(labctl.LabError, match="a network the lab created"):
            labctl._check_target(host, pbx_ns)
    with pytest.raises(labctl.LabError, match=re.escape("127.0.0.0/8")):
        labctl._check_target(PROXY_IP)
    with pytest.raises(labctl.LabError):
        pbx.sipp_start("uac_options", target=("192.0.2.1", 5060))
    other = netns.Network(a=["10.77.9.1/24"], b=["10.77.9.2/24"])  # never created
    with pytest.raises(labctl.LabError):
        labctl._check_target("10.77.9.2", other["a"])


def test_stale_namespaces_of_a_dead_run_are_removed(net: netns.Network) -> None:
    """A namespace with the prefix whose creating pid is gone is deleted; ours are kept."""
    dead = 4_000_000
    while Path(f"/proc/{dead}").exists():
        dead += 1
    stale = f"{netns.PREFIX}{dead}-0badc0-seat"
    subprocess.run(["ip", "netns", "add", stale], check=True, timeout=10)
    try:
        removed = netns.remove_stale()
        names = netns.list_namespaces()
    finally:
        subprocess.run(["ip", "netns", "delete", stale], check=False, timeout=10,
                       capture_output=True)
    assert stale in removed and stale not in names
    assert net["seat"].name in names and net["pbx"].name in names
