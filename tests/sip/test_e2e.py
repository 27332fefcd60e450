"""The duty line against the real loopback lab: Kamailio, SIPp and baresip (issue 2, points 1-10).

The unit tests in this directory prove the logic over fakes; these prove that the same code
speaks to real SIP peers: digest registration, ringing and answering on time, prompts that
arrive intact, DTMF three ways, hang-ups, 3xx and REFER to the gate post, refusals, and that
no malformed datagram stops the line. Every process is started by the lab fixtures and
stopped by pid; every datagram goes to 127.0.0.0/8.
"""

from __future__ import annotations

import math
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import labctl
import labpcap
import pytest

from sip.api import (
    CallAnswered,
    CallEnded,
    CallRinging,
    CallState,
    DtmfReceived,
    EndReason,
    LineConfig,
    LineEvent,
    LineStatus,
    LineStatusChanged,
    PlaybackFinished,
    Prompt,
    RegistrationError,
    RequestRefused,
    TransferOutcome,
)
from sip.line import DutyCall, DutyLine
from sip.message import parse_message
from tests.sip.fakes import Events

CORPUS = Path(__file__).resolve().parents[1] / "data" / "sip-torture"

# ------------------------------------------------------------------ helpers


@dataclass
class Duty:
    """A started duty line registered at a lab, with what it reported."""

    line: DutyLine
    events: Events
    rtp_ports: range
    on_ring: Callable[[DutyCall], None]
    on_answer: Callable[[DutyCall], None] = lambda call: None

    @property
    def sip_port(self) -> int:
        assert self.line.transport is not None
        return self.line.transport.local_port

    def wait(self, kind: type, count: int = 1, timeout: float = 10.0) -> list[LineEvent]:
        return self.events.wait_for(kind, count, timeout)

    def digits(self) -> str:
        return "".join(e.digit for e in self.events.of(DtmfReceived))  # type: ignore[attr-defined]


def answer_now(call: DutyCall) -> None:
    """Answer 20 ms after the 180: the lab's Kamailio has two UDP workers, and a 200 sent right
    behind the 180 can overtake it there; SIPp then sees a 180 after its ACK and aborts."""
    call.answer(at=call.ring_started + 0.02)


def let_ring(call: DutyCall) -> None:
    """Leave the call ringing (the test decides)."""


@pytest.fixture
def start_duty(lab: labctl.Lab) -> Iterator[Callable[..., Duty]]:
    """``start_duty(on_ring=..., at=lab, **LineConfig overrides)`` → a registered `Duty`."""
    started: list[Duty] = []

    def start(on_ring: Callable[[DutyCall], None] = answer_now, at: labctl.Lab | None = None,
              rtp_count: int = 40, **overrides: object) -> Duty:
        where = at or lab
        low = labctl.free_port_range(max(rtp_count, 2), align=2)
        settings: dict[str, object] = {
            "registrar_host": "127.0.0.1", "registrar_port": where.proxy_port,
            "extension": "100", "secret": where.users["100"], "rtp_port_low": low,
            "rtp_port_high": low + max(rtp_count, 2) - 1, "retry_seconds": 1.0}
        settings.update(overrides)
        events = Events()
        duty: Duty

        def sink(event: LineEvent) -> None:
            events(event)
            if isinstance(event, CallRinging):
                duty.on_ring(event.call)  # type: ignore[arg-type]
            elif isinstance(event, CallAnswered):
                duty.on_answer(event.call)  # type: ignore[arg-type]

        line = DutyLine(LineConfig(**settings), sink)  # type: ignore[arg-type]
        duty = Duty(line, events, range(low, low + max(rtp_count, 2)), on_ring)
        started.append(duty)
        line.start(timeout=5)
        return duty

    yield start
    for duty in started:
        duty.line.stop()
        labctl.release_ports(duty.rtp_ports)


@dataclass
class Traced:
    """One message in a SIPp ``-trace_msg`` file."""

    at: float
    sent: bool
    first_line: str
    text: str = field(repr=False)


def sipp_trace(result: labctl.SippResult) -> list[Traced]:
    """The SIPp message trace as (time, direction, first line) in order."""
    out: list[Traced] = []
    for block in result.messages.split("-----------------------------------------------")[1:]:
        head, _, rest = block.partition("\n")
        if not head.strip()[:1].isdigit():
            continue  # a dashed line inside a message, not a trace separator
        when = datetime.strptime(head.strip(), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        kind, _, body = rest.partition("\n")
        text = body.strip("\n")
        out.append(Traced(when, "sent" in kind, text.split("\n", 1)[0].strip(), text))
    return out


def statuses(result: labctl.SippResult) -> list[int]:
    return [int(m.first_line.split()[1]) for m in sipp_trace(result)
            if not m.sent and m.first_line.startswith("SIP/2.0")]


def chirp(seconds: float = 1.0, rate: int = 8000) -> Prompt:
    """A sweep 300 → 3000 Hz with a rising envelope: no period, so alignment is unique."""
    n = int(seconds * rate)
    samples = []
    for i in range(n):
        t = i / rate
        phase = 2 * math.pi * (300 * t + (2700 / (2 * seconds)) * t * t)
        envelope = 0.3 + 0.7 * i / n
        samples.append(int(12000 * envelope * math.sin(phase)))
    return Prompt("chirp", b"".join(s.to_bytes(2, "little", signed=True) for s in samples))


def pcm_samples(pcm: bytes) -> list[int]:
    return [int.from_bytes(pcm[i:i + 2], "little", signed=True) for i in range(0, len(pcm), 2)]


def correlation(a: list[int], b: list[int]) -> float:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    num = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    da = math.sqrt(sum((x - ma) ** 2 for x in a))
    db = math.sqrt(sum((y - mb) ** 2 for y in b))
    return num / (da * db) if da and db else 0.0


def best_alignment(stream: list[int], prompt: list[int], around: int, span: int = 200) -> float:
    """Highest correlation of the prompt with the stream at offsets around `around`."""
    head = prompt[:1200]
    best_offset, best = around, -1.0
    for offset in range(max(0, around - span), around + span + 1):
        value = correlation(stream[offset:offset + len(head)], head)
        if value > best:
            best_offset, best = offset, value
    return correlation(stream[best_offset:best_offset + len(prompt)], prompt)


def udp_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(2.0)
    return sock


def raw_invite(sock: socket.socket, line_port: int, call_id: str, rtp_port: int = 40000) -> None:
    """Send a plain INVITE with a PCMU offer from `sock` straight to the line."""
    host, port = sock.getsockname()
    sdp = (f"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
           f"m=audio {rtp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    text = (f"INVITE sip:100@127.0.0.1:{line_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id}\r\n"
            f"From: \"raw\" <sip:900@{host}>;tag=t{call_id}\r\n"
            f"To: <sip:100@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
            f"Contact: <sip:900@{host}:{port}>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}")
    sock.sendto(text.encode(), ("127.0.0.1", line_port))


def response_codes(sock: socket.socket, until: int, timeout: float = 3.0) -> list[int]:
    """Read responses on `sock` until one has status `until` (or the timeout)."""
    codes: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            break
        msg = parse_message(data)
        if not msg.is_request:
            codes.append(msg.status_code)
            if msg.status_code == until:
                break
    return codes


# ------------------------------------------------------------------ 1. registration


def test_registers_with_digest_auth_and_takes_a_call(start_duty: Callable[..., Duty],
                                                     lab: labctl.Lab) -> None:
    duty = start_duty()
    assert duty.line.status is LineStatus.REGISTERED
    duty.wait(LineStatusChanged, 2)
    statuses_seen = [e.status for e in duty.events.of(LineStatusChanged)]  # type: ignore[attr-defined]
    assert statuses_seen == [LineStatus.REGISTERING, LineStatus.REGISTERED]
    result = lab.sipp("uac_answer_wait", duration_ms=0, timeout=15)
    assert result.ok, result.describe()


def test_registers_without_auth_on_an_open_registrar(
        start_duty: Callable[..., Duty], lab_factory: Callable[..., labctl.Lab]) -> None:
    open_lab = lab_factory(auth=False, gate=False)
    duty = start_duty(at=open_lab, secret="")
    assert duty.line.status is LineStatus.REGISTERED
    result = open_lab.sipp("uac_answer_wait", duration_ms=0, timeout=15)
    assert result.ok, result.describe()


def test_wrong_password_raises_registration_error(lab: labctl.Lab) -> None:
    low = labctl.free_port_range(2, align=2)
    line = DutyLine(LineConfig("127.0.0.1", lab.proxy_port, "100", "not-the-secret",
                               rtp_port_low=low, rtp_port_high=low + 1), Events())
    with pytest.raises(RegistrationError, match="wrong password"):
        line.start(timeout=5)
    assert line.status is LineStatus.STOPPED
    assert line.transport is None  # sockets closed, nothing left running
    labctl.release_ports([low, low + 1])


def test_registrar_restart_reregistered_and_reachable(
        start_duty: Callable[..., Duty], lab_factory: Callable[..., labctl.Lab]) -> None:
    pbx = lab_factory(auth=True, gate=False)
    duty = start_duty(at=pbx, register_expires=10, retry_seconds=1.0)
    duty.wait(LineStatusChanged, 2)
    pbx.stop_proxy()  # Kamailio forgets every binding (in-memory location table)
    time.sleep(1.0)
    pbx.start_proxy()
    back = time.monotonic()
    seen = duty.wait(LineStatusChanged, 4, timeout=60)
    assert [e.status for e in seen][2:4] == [LineStatus.REGISTERING,  # type: ignore[attr-defined]
                                             LineStatus.REGISTERED]
    while duty.line.status is not LineStatus.REGISTERED and time.monotonic() - back < 60:
        time.sleep(0.1)
    assert duty.line.status is LineStatus.REGISTERED
    assert time.monotonic() - back < 60
    result = pbx.sipp("uac_answer_wait", duration_ms=0, timeout=15)
    assert result.ok, result.describe()


# ------------------------------------------------------------------ 2-3. ringing and answering


def test_ring_then_answer_after_one_second_leaves_on_time(start_duty: Callable[..., Duty],
                                                          lab: labctl.Lab) -> None:
    def answer_later(call: DutyCall) -> None:
        assert call.state is CallState.RINGING
        call.answer(at=call.ring_started + 1.0)

    duty = start_duty(on_ring=answer_later)
    result = lab.sipp("uac_answer_wait", duration_ms=0, timeout=15)
    assert result.ok, result.describe()
    trace = sipp_trace(result)
    got = {m.first_line.split()[1]: m.at for m in trace
           if not m.sent and m.first_line.startswith("SIP/2.0") and "INVITE" in
           m.text.split("CSeq:", 1)[1].split("\n", 1)[0]}
    assert {"100", "180", "200"} <= set(got)
    assert abs((got["200"] - got["180"]) - 1.0) < 0.06, got["200"] - got["180"]
    ringing = duty.wait(CallRinging)[0]
    assert ringing.call.caller_number == "sipp"  # type: ignore[attr-defined]
    assert ringing.call.caller_name == "sipp caller"  # type: ignore[attr-defined]


# ------------------------------------------------------------------ 4. prompts


@pytest.mark.parametrize("scenario,pt", [("uac_pcmu_dtmf", 0), ("uac_pcma_dtmf", 8)])
def test_prompt_arrives_equal_to_what_was_sent(start_duty: Callable[..., Duty], lab: labctl.Lab,
                                               scenario: str, pt: int) -> None:
    prompt = chirp(1.0)
    duty = start_duty()
    duty.on_answer = lambda call: call.play(prompt)
    with lab.capture(duty.rtp_ports) as cap:
        result = lab.sipp(scenario, duration_ms=2500, timeout=20)
    assert result.ok, result.describe()
    finished = duty.wait(PlaybackFinished)[0]
    assert finished.completed  # type: ignore[attr-defined]
    ours = sorted((p for p in cap.packets if p.src[1] in duty.rtp_ports
                   and p.dst[1] == result.media_port), key=lambda p: p.seq)
    assert ours and {p.pt for p in ours} == {pt}
    stream = pcm_samples(b"".join(labpcap.decode_g711(p.pt, p.payload) for p in ours))
    loud = next(i for i, s in enumerate(stream) if abs(s) > 500)
    assert best_alignment(stream, pcm_samples(prompt.pcm16), loud) >= 0.99
    assert duty.digits() == "1234#"


# ------------------------------------------------------------------ 5. DTMF


@pytest.mark.parametrize("scenario,digits,source", [
    ("uac_pcmu_dtmf", "1234#", "rfc4733"),
    ("uac_dtmf_odd", "1357", "rfc4733"),
    ("uac_info_dtmf", "1234#", "info"),
])
def test_dtmf_digits(start_duty: Callable[..., Duty], lab: labctl.Lab, scenario: str,
                     digits: str, source: str) -> None:
    duty = start_duty()
    result = lab.sipp(scenario, duration_ms=2500, timeout=20)
    assert result.ok, result.describe()
    ended = duty.wait(CallEnded)[0]
    assert ended.reason is EndReason.REMOTE_BYE  # type: ignore[attr-defined]
    assert duty.digits() == digits
    assert {e.source for e in duty.events.of(DtmfReceived)} == {source}  # type: ignore[attr-defined]


# ------------------------------------------------------------------ 6. hang-ups


def test_our_hangup_sends_a_bye_the_caller_accepts(start_duty: Callable[..., Duty],
                                                   lab: labctl.Lab) -> None:
    duty = start_duty()
    run = lab.sipp_start("uac_wait_bye", duration_ms=10000, timeout=20)
    call = duty.wait(CallAnswered)[0].call
    time.sleep(0.3)
    call.hangup()  # type: ignore[attr-defined]
    result = run.wait()
    assert result.ok, result.describe()
    bye = next(m for m in sipp_trace(result) if not m.sent and m.first_line.startswith("BYE"))
    vias = [h for h in bye.text.splitlines() if h.startswith("Via:")]
    assert f"127.0.0.1:{duty.sip_port};" in vias[-1] and "branch=z9hG4bK" in vias[-1]  # ours
    assert f"127.0.0.1:{lab.proxy_port}" in vias[0]  # through the proxy: the route set held
    assert "CSeq: 1 BYE" not in bye.text  # our CSeq space, not the caller's
    assert duty.wait(CallEnded)[0].reason is EndReason.LOCAL_HANGUP  # type: ignore[attr-defined]


def test_cancel_at_second_ring_gets_487_and_is_never_answered(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    def answer_at_ring_limit(call: DutyCall) -> None:
        call.answer(at=call.ring_started + 6.5)

    duty = start_duty(on_ring=answer_at_ring_limit)
    result = lab.sipp("uac_cancel", duration_ms=5500, timeout=15)
    assert result.ok, result.describe()
    # The proxy's 200 for the CANCEL and the line's 487 race through Kamailio's two workers.
    # (and a retransmitted 200 may follow them)
    tail = statuses(result)[-3:]
    assert 487 in tail and 200 in tail
    ended = duty.wait(CallEnded)[0]
    assert ended.reason is EndReason.CANCELLED  # type: ignore[attr-defined]
    time.sleep(1.5)  # past the moment the answer was scheduled for
    assert not duty.events.of(CallAnswered)
    assert duty.line.pending_memory()["calls"] == 0


# ------------------------------------------------------------------ 8. re-INVITE, refusals


def test_reinvite_keeps_one_stream(start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty()
    with lab.capture(duty.rtp_ports) as cap:
        result = lab.sipp("uac_reinvite", duration_ms=2000, timeout=20)
    assert result.ok, result.describe()
    ours = [p for p in cap.packets if p.src[1] in duty.rtp_ports]
    old = [p for p in ours if p.dst[1] == result.media_port]
    new = [p for p in ours if p.dst[1] == result.media_port + 2]
    assert old and len(new) > 50, (len(old), len(new))
    assert len({p.src for p in ours}) == 1 and len({p.ssrc for p in ours}) == 1
    assert max(p.time for p in old) <= min(p.time for p in new) + 0.02  # moved, not doubled
    span = max(p.time for p in ours) - min(p.time for p in ours)
    rate = len(ours) / span
    assert 45 <= rate <= 55, rate
    # no second of the call carries more than one stream's worth of packets
    start = min(p.time for p in ours)
    per_second: dict[int, int] = {}
    for p in ours:
        per_second[int(p.time - start)] = per_second.get(int(p.time - start), 0) + 1
    assert max(per_second.values()) <= 53, per_second


@pytest.mark.parametrize("scenario", ["uac_invite_no_sdp", "uac_invite_no_c", "uac_invite_g729"])
def test_unusable_offers_get_488(start_duty: Callable[..., Duty], lab: labctl.Lab,
                                 scenario: str) -> None:
    duty = start_duty(on_ring=let_ring)
    result = lab.sipp(scenario, timeout=10)
    assert result.ok, result.describe()
    assert statuses(result)[-1] == 488
    refused = duty.wait(RequestRefused)[0]
    assert refused.code == 488  # type: ignore[attr-defined]
    assert not duty.events.of(CallRinging)


def test_options_gets_200_with_allow(start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    start_duty()
    result = lab.sipp("uac_options", timeout=10)
    assert result.ok, result.describe()
    reply = next(m for m in sipp_trace(result) if m.first_line.startswith("SIP/2.0 200"))
    allow = next(h for h in reply.text.splitlines() if h.startswith("Allow:"))
    assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO", "NOTIFY"} <= {
        m.strip() for m in allow.split(":", 1)[1].split(",")}


def test_bye_for_unknown_dialog_gets_481(start_duty: Callable[..., Duty],
                                         lab: labctl.Lab) -> None:
    duty = start_duty()
    result = lab.sipp("uac_bye_unknown", target=("127.0.0.1", duty.sip_port), timeout=10)
    assert result.ok, result.describe()
    assert statuses(result) == [481]


# ------------------------------------------------------------------ 9. scanner


def test_scanner_on_another_loopback_address_is_refused(start_duty: Callable[..., Duty]) -> None:
    duty = start_duty(on_ring=answer_now)
    with udp_socket("127.0.0.2") as scanner:
        raw_invite(scanner, duty.sip_port, "scan1")
        assert response_codes(scanner, 403) == [403]
        for n in range(5):  # rate-limited: the next ones get nothing at all
            raw_invite(scanner, duty.sip_port, f"scan{n + 2}")
        assert response_codes(scanner, 403, timeout=0.5) == []
    refused = duty.wait(RequestRefused)
    assert [(r.source, r.code) for r in refused] == [("127.0.0.2", 403)]  # type: ignore[attr-defined]
    assert not duty.events.of(CallRinging) and duty.line.calls() == []


# ------------------------------------------------------------------ 10. torture and fuzz


def test_torture_corpus_and_fuzz_over_udp_then_a_good_call(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty(on_ring=lambda call: call.refuse(486, "Busy Here"))
    corpus = [p.read_bytes() for p in sorted(CORPUS.glob("*.dat"))]
    assert corpus
    rng = random.Random(4475)
    datagrams = list(corpus)
    for _ in range(300):
        base = bytearray(rng.choice(corpus))
        kind = rng.randrange(4)
        if kind == 0:
            datagrams.append(rng.randbytes(rng.randrange(1, 1400)))
        elif kind == 1:
            datagrams.append(bytes(base[:rng.randrange(1, max(2, len(base)))]))
        elif kind == 2:
            for _ in range(rng.randrange(1, 20)):
                base[rng.randrange(len(base))] = rng.randrange(256)
            datagrams.append(bytes(base))
        else:
            cut = rng.randrange(len(base))
            datagrams.append(bytes(base[:cut] + rng.randbytes(rng.randrange(1, 200)) + base[cut:]))
    bpf = f"udp and src port {duty.sip_port}"
    with lab.capture(bpf=bpf) as cap, udp_socket() as fuzzer:
        fuzzer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        for data in datagrams:
            fuzzer.sendto(data[:65000], ("127.0.0.1", duty.sip_port))
            time.sleep(0.001)
        time.sleep(0.5)
        fuzz_port = fuzzer.getsockname()[1]
    sent = labpcap.read_udp(cap.path)
    destinations = {dst for _, _, dst, _ in sent}
    assert destinations <= {("127.0.0.1", fuzz_port), ("127.0.0.1", lab.proxy_port)}, destinations
    assert duty.line.parse_errors > 0
    for call in duty.line.calls():  # valid torture INVITEs may ring; they were refused
        assert call.state is not CallState.ANSWERED
    duty.on_ring = answer_now
    result = lab.sipp("uac_pcmu_dtmf", duration_ms=2500, timeout=20)
    assert result.ok, result.describe()
    assert duty.digits().endswith("1234#")


# ------------------------------------------------------------------ 8. limits and memory


def test_rtp_port_exhaustion_gets_500_and_ports_come_back(start_duty: Callable[..., Duty],
                                                          lab: labctl.Lab) -> None:
    duty = start_duty(rtp_count=2)
    holder = lab.sipp_start("uac_wait_bye", duration_ms=10000, timeout=20)
    call = duty.wait(CallAnswered)[0].call
    with udp_socket() as sock:
        raw_invite(sock, duty.sip_port, "exhaust1")
        assert response_codes(sock, 500) == [100, 500]
    call.hangup()  # type: ignore[attr-defined]
    assert holder.wait().ok
    time.sleep(0.2)
    result = lab.sipp("uac_answer_wait", duration_ms=0, timeout=15)
    assert result.ok, result.describe()


def test_over_capacity_gets_486(start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty(on_ring=let_ring, max_calls=1)
    ringing = lab.sipp_start("uac_cancel", duration_ms=1500, timeout=15)
    duty.wait(CallRinging)
    with udp_socket() as sock:
        raw_invite(sock, duty.sip_port, "over1")
        assert response_codes(sock, 486) == [100, 486]
    assert ringing.wait().ok
    assert [r.code for r in duty.events.of(RequestRefused)] == [486]  # type: ignore[attr-defined]


def test_memory_bounded_after_many_calls(start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    prompt = chirp(0.2)
    duty = start_duty()
    duty.on_answer = lambda call: call.play(prompt)
    result = lab.sipp("uac_answer_wait", calls=40, rate=20, limit=20, duration_ms=0, timeout=40)
    assert result.ok, result.describe()
    duty.wait(CallEnded, 40, timeout=15)
    memory = duty.line.pending_memory()
    assert memory["calls"] == 0 and memory["requests"] == 0, memory
    assert memory["ended"] <= 40
    stats = duty.line.media.stats()  # type: ignore[attr-defined]
    assert stats["sessions"] == 0 and stats["ports_in_use"] == 0, stats


# ------------------------------------------------------------------ 7. forwarding and transfer


def _tone_from(cap: labctl.Capture, sender_ports: range, receiver_ports: range) -> float:
    packets = sorted((p for p in cap.packets if p.src[1] in sender_ports
                      and p.dst[1] in receiver_ports and p.pt in (0, 8)), key=lambda p: p.seq)
    assert packets, "no RTP from the gate post to the caller"
    pcm = b"".join(labpcap.decode_g711(p.pt, p.payload) for p in packets)
    return labpcap.dominant_frequency(pcm)


def test_302_followed_by_baresip_reaches_the_gate_post(start_duty: Callable[..., Duty],
                                                       lab: labctl.Lab) -> None:
    duty = start_duty(on_ring=lambda call: call.redirect(lab.uri("200")))
    caller = lab.start_caller()
    try:
        since = len(caller.events)
        with lab.capture([*lab.gate.rtp_ports, *caller.rtp_ports]) as cap:
            caller.dial(lab.uri("100"))
            caller.wait_event("CALL_ESTABLISHED", timeout=10, since=since)
            time.sleep(1.0)
            caller.hangup()
    finally:
        lab.stop_ua("300")
    assert duty.wait(CallEnded)[0].reason is EndReason.REDIRECTED  # type: ignore[attr-defined]
    assert abs(_tone_from(cap, lab.gate.rtp_ports, caller.rtp_ports) - 440) < 15


def test_302_followed_by_kamailio_reaches_the_gate_post(
        start_duty: Callable[..., Duty], lab_factory: Callable[..., labctl.Lab]) -> None:
    pbx = lab_factory(auth=True, follow_3xx=True, gate=True)
    duty = start_duty(at=pbx, on_ring=lambda call: call.redirect(pbx.uri("200")))
    with pbx.capture(pbx.gate.rtp_ports) as cap:
        result = pbx.sipp("uac_answer_wait", duration_ms=500, timeout=20)
    assert result.ok, result.describe()
    assert duty.wait(CallEnded)[0].reason is EndReason.REDIRECTED  # type: ignore[attr-defined]
    assert 302 not in statuses(result)  # the proxy took the 302 itself
    assert abs(_tone_from(cap, pbx.gate.rtp_ports, range(result.media_port,
                                                         result.media_port + 1)) - 440) < 15


def test_refer_with_sipp_transferee_succeeds_and_hangs_up(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty()
    run = lab.sipp_start("uac_refer_transferee", timeout=20)
    call = duty.wait(CallAnswered)[0].call
    outcome = call.transfer(lab.uri("200"), timeout=10)  # type: ignore[attr-defined]
    result = run.wait()
    assert outcome is TransferOutcome.SUCCESS, duty.events.items
    assert result.ok, result.describe()
    assert duty.wait(CallEnded)[0].reason is EndReason.TRANSFERRED  # type: ignore[attr-defined]
    assert f"Refer-To=<{lab.uri('200')}>" in result.logs or lab.uri("200") in result.logs


@pytest.mark.parametrize("scenario", ["uac_refer_reject", "uac_refer_notify_busy"])
def test_refused_refer_is_failure_and_the_call_stays_up(
        start_duty: Callable[..., Duty], lab: labctl.Lab, scenario: str) -> None:
    duty = start_duty()
    run = lab.sipp_start(scenario, timeout=20)
    call = duty.wait(CallAnswered)[0].call
    outcome = call.transfer(lab.uri("200"), timeout=10)  # type: ignore[attr-defined]
    assert outcome is TransferOutcome.FAILURE
    assert call.state is CallState.ANSWERED  # type: ignore[attr-defined]
    call.hangup()  # type: ignore[attr-defined]
    result = run.wait()
    assert result.ok, result.describe()


def test_refer_moves_a_baresip_caller_to_the_gate_post(start_duty: Callable[..., Duty],
                                                       lab: labctl.Lab) -> None:
    duty = start_duty()
    caller = lab.start_caller()
    try:
        since = len(caller.events)
        caller.dial(lab.uri("100"))
        call = duty.wait(CallAnswered)[0].call
        caller.wait_event("CALL_ESTABLISHED", timeout=10, since=since)
        with lab.capture([*lab.gate.rtp_ports, *caller.rtp_ports]) as cap:
            outcome = call.transfer(lab.uri("200"), timeout=10)  # type: ignore[attr-defined]
            time.sleep(1.0)
        assert outcome is TransferOutcome.SUCCESS, duty.events.items
        assert duty.wait(CallEnded)[0].reason is EndReason.TRANSFERRED  # type: ignore[attr-defined]
        assert abs(_tone_from(cap, lab.gate.rtp_ports, caller.rtp_ports) - 440) < 15
    finally:
        lab.stop_ua("300")
        lab.gate.hangup_all()


def test_refer_to_a_refusing_target_fails_and_the_call_stays_up(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty()
    refusing = lab.start_gate("201", mode="refuse")
    caller = lab.start_caller()
    try:
        since = len(caller.events)
        caller.dial(lab.uri("100"))
        call = duty.wait(CallAnswered)[0].call
        caller.wait_event("CALL_ESTABLISHED", timeout=10, since=since)
        outcome = call.transfer(lab.uri("201"), timeout=10)  # type: ignore[attr-defined]
        assert outcome is TransferOutcome.FAILURE, duty.events.items
        assert call.state is CallState.ANSWERED  # type: ignore[attr-defined]
        assert "CALL_INCOMING" in refusing.event_types()
        call.hangup()  # type: ignore[attr-defined]
    finally:
        lab.stop_ua("300")
        lab.stop_ua("201")


