"""More of the duty line against the loopback lab: liveness, headset audio, refusals, spoofing.

Issue 2 follow-up: a caller that vanishes without BYE is hung up by the media watchdog; the
call's audio is readable (caller's 600 Hz tone) and writable (the agent's 1 kHz tone reaches the
caller); a REFER from the caller is refused and nothing is transferred; unknown methods get 501;
OPTIONS and NOTIFY during a held REGISTER are answered and the registration still completes;
spoofed RTP digits from other loopback sources are ignored. Every datagram goes to 127.0.0.0/8
and every process or thread started here is stopped before the test returns.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import labctl
import labpcap
import pytest

from sip.api import (
    CallAnswered,
    CallEnded,
    CallState,
    EndReason,
    LineStatus,
    RequestRefused,
    TransferFinished,
)
from sip.line import DutyCall
from sip.message import parse_message
from tests.sip.test_e2e import Duty, response_codes, start_duty, statuses, udp_socket

__all__ = ["start_duty"]  # the fixture, re-exported for this module

FRAME = 320
"""Bytes of one 20 ms frame of s16le PCM at 8 kHz."""


def request_text(method: str, line_port: int, sock: socket.socket, call_id: str,
                 extra: tuple[str, ...] = (), body: str = "") -> str:
    host, port = sock.getsockname()
    lines = [f"{method} sip:100@127.0.0.1:{line_port} SIP/2.0",
             f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id}",
             f"From: <sip:pbx@{host}>;tag=t{call_id}", "To: <sip:100@127.0.0.1>",
             f"Call-ID: {call_id}", f"CSeq: 1 {method}", "Max-Forwards: 70", *extra,
             f"Content-Length: {len(body)}"]
    return "\r\n".join(lines) + "\r\n\r\n" + body


# ------------------------------------------------------------------ liveness


def test_silent_caller_without_bye_is_hung_up_by_the_watchdog(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty(media_timeout_seconds=2)
    # uac_wait_bye sends no RTP and never hangs up: it only waits (up to 20 s) for our BYE
    result = lab.sipp("uac_wait_bye", timeout=20)
    assert result.ok, result.describe()
    ended = duty.wait(CallEnded)[0]
    assert ended.reason is EndReason.ERROR  # type: ignore[attr-defined]
    assert ended.detail == "no RTP for 2 s"  # type: ignore[attr-defined]
    answered_at = duty.wait(CallAnswered)[0].call.answered_at  # type: ignore[attr-defined]
    assert answered_at > 0 and duty.line.calls() == []


def test_talking_caller_outlives_a_short_watchdog(start_duty: Callable[..., Duty],
                                                  lab: labctl.Lab) -> None:
    duty = start_duty(media_timeout_seconds=2)
    # 3 s of tone, then DTMF, then a 1.5 s pause: never 2 s without a packet
    result = lab.sipp("uac_pcmu_dtmf", duration_ms=1500, timeout=20)
    assert result.ok, result.describe()
    assert duty.wait(CallEnded)[0].reason is EndReason.REMOTE_BYE  # type: ignore[attr-defined]


# ------------------------------------------------------------------ headset audio


class Headset:
    """Plays the agent's part from the answer on: reads the caller, speaks a tone, paced."""

    def __init__(self, tone: bytes) -> None:
        self.tone = tone
        self.heard = bytearray()
        self.errors: list[str] = []
        self.thread: threading.Thread | None = None

    def start(self, call: DutyCall) -> None:
        self.thread = threading.Thread(target=self.run, args=(call,), name="test-headset",
                                       daemon=True)
        self.thread.start()

    def run(self, call: DutyCall) -> None:
        deadline = time.monotonic() + 15.0
        position = 0
        while call.state is CallState.ANSWERED and time.monotonic() < deadline:
            try:
                self.heard += call.read_audio(10)
                if position < len(self.tone):
                    call.write_audio(self.tone[position:position + FRAME])
                    position += FRAME
            except Exception as exc:  # the call ended between the check and the call
                self.errors.append(str(exc))
                return
            time.sleep(0.02)


def test_headset_hears_the_caller_and_the_caller_hears_the_agent(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    headset = Headset(labpcap.tone_pcm16(1000, 2.0))
    duty = start_duty()
    duty.on_answer = headset.start
    with lab.capture(duty.rtp_ports) as cap:
        result = lab.sipp("uac_pcmu_dtmf", duration_ms=500, timeout=20)
    assert result.ok, result.describe()
    assert headset.thread is not None
    headset.thread.join(5)
    heard = bytes(headset.heard)
    assert len(heard) >= FRAME * 100, f"only {len(heard) // FRAME} frames read"
    # the caller's pcap is 3 s of 600 Hz: measure the middle of what we read
    assert abs(labpcap.dominant_frequency(heard[FRAME * 20:FRAME * 120]) - 600) < 30
    ours = sorted((p for p in cap.packets if p.src[1] in duty.rtp_ports
                   and p.dst[1] == result.media_port), key=lambda p: p.seq)
    silence = bytes([0xFF]) * 160
    spoken = b"".join(labpcap.decode_g711(p.pt, p.payload) for p in ours if p.payload != silence)
    assert len(spoken) >= FRAME * 80, f"only {len(spoken) // FRAME} frames of the agent sent"
    assert abs(labpcap.dominant_frequency(spoken[FRAME * 5:FRAME * 85]) - 1000) < 50


# ------------------------------------------------------------------ refusals


def test_refer_from_the_caller_gets_403_and_nothing_is_transferred(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    duty = start_duty()
    result = lab.sipp("uac_send_refer", timeout=15)
    assert result.ok, result.describe()
    assert 403 in statuses(result)
    refused = [e for e in duty.events.of(RequestRefused) if e.method == "REFER"]  # type: ignore[attr-defined]
    assert [(e.code, e.reason) for e in refused] == [  # type: ignore[attr-defined]
        (403, "the line never transfers on request")]
    assert not duty.events.of(TransferFinished)
    ended = duty.wait(CallEnded)[0]
    assert ended.reason is EndReason.REMOTE_BYE  # type: ignore[attr-defined]  # not TRANSFERRED
    assert lab.gate is None or lab.gate.calls() == 0, "the gate post was never called"


@pytest.mark.parametrize("method,code", [("FROBNICATE", 501), ("XPUBLISH", 501),
                                         ("PUBLISH", 405)])
def test_unknown_methods_get_501(start_duty: Callable[..., Duty], method: str, code: int) -> None:
    duty = start_duty()
    with udp_socket("127.0.0.1") as pbx:
        pbx.sendto(request_text(method, duty.sip_port, pbx, f"m{method}").encode(),
                   ("127.0.0.1", duty.sip_port))
        assert response_codes(pbx, code) == [code]
    assert duty.line.status is LineStatus.REGISTERED and duty.line.calls() == []


# ------------------------------------------------------------------ requests during REGISTER


class RegisterRelay:
    """A loopback UDP hop between the line and Kamailio that holds the 200 to REGISTER.

    The line registers at the relay; everything is forwarded both ways at once, except a
    2xx to REGISTER, which waits until `release()` (bounded by `hold_max`).
    """

    def __init__(self, proxy: tuple[str, int], hold_max: float = 8.0) -> None:
        self.proxy = proxy
        self.hold_max = hold_max
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.line: tuple[str, int] | None = None
        self.holding = threading.Event()
        self.released = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="register-relay", daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if source == self.proxy:
                if self.line is None:
                    continue
                head = data[:2048]
                if (head.startswith(b"SIP/2.0 2") and b" REGISTER" in head
                        and not self.released.is_set()):
                    threading.Thread(target=self.hold_then_send, args=(data,), daemon=True,
                                     name="relay-hold").start()
                    continue
                self.sock.sendto(data, self.line)
            elif source[0] == "127.0.0.1":
                self.line = source
                self.sock.sendto(data, self.proxy)

    def hold_then_send(self, data: bytes) -> None:
        self.holding.set()
        self.released.wait(self.hold_max)
        assert self.line is not None
        self.sock.sendto(data, self.line)

    def release(self) -> None:
        self.released.set()

    def stop(self) -> None:
        self.released.set()
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


def test_options_and_notify_during_a_held_register_are_answered(
        start_duty: Callable[..., Duty], lab: labctl.Lab) -> None:
    relay = RegisterRelay(("127.0.0.1", lab.proxy_port))
    started: list[Duty] = []
    try:
        starter = threading.Thread(
            target=lambda: started.append(start_duty(registrar_port=relay.port)),
            name="duty-start", daemon=True)
        starter.start()
        assert relay.holding.wait(8), "the registrar's 200 never came to the relay"
        assert relay.line is not None
        line_addr = relay.line
        replies: dict[str, int] = {}
        with udp_socket("127.0.0.1") as pbx:
            for method, extra, body in (
                    ("OPTIONS", ("Accept: application/sdp",), ""),
                    ("NOTIFY", ("Event: message-summary", "Subscription-State: active",
                                "Content-Type: application/simple-message-summary"),
                     "Messages-Waiting: no\r\n")):
                pbx.sendto(request_text(method, line_addr[1], pbx, f"d{method}", extra,
                                        body).encode(), line_addr)
                data, _ = pbx.recvfrom(65535)
                reply = parse_message(data)
                replies[reply.cseq_method] = reply.status_code
        assert replies == {"OPTIONS": 200, "NOTIFY": 200}
        relay.release()
        starter.join(10)
        assert started, "start() did not return"
        duty = started[0]
        assert duty.line.status is LineStatus.REGISTERED
        assert duty.line.registration is not None
    finally:
        relay.stop()


# ------------------------------------------------------------------ spoofed RTP


def dtmf_burst(digit_code: int, ts: int, ssrc: int) -> list[bytes]:
    """A complete RFC 4733 event: start (marked), two updates, three ends."""
    packets = []
    for n, (end, duration) in enumerate([(False, 160), (False, 320), (False, 480),
                                         (True, 640), (True, 640), (True, 640)]):
        payload = bytes([digit_code, 0x80 | 10 if end else 10]) + duration.to_bytes(2, "big")
        packets.append(labpcap.rtp_bytes(101, 1000 + n, ts, ssrc, payload, marker=n == 0))
    return packets


def test_spoofed_dtmf_from_other_sources_is_ignored(start_duty: Callable[..., Duty],
                                                    lab: labctl.Lab) -> None:
    spoofed: list[int] = []

    def spoof(call: DutyCall) -> None:
        port = call.session.local_port
        for host in ("127.0.0.1", "127.0.0.2"):  # another port, then another address
            with udp_socket(host) as rogue:
                for k in range(3):
                    for packet in dtmf_burst(3, 50000 + 1000 * k, 0xBAD):
                        rogue.sendto(packet, ("127.0.0.1", port))
                        spoofed.append(len(packet))

    duty = start_duty()
    duty.on_answer = spoof
    result = lab.sipp("uac_pcmu_dtmf", duration_ms=2500, timeout=20)  # all of "1234#" sent
    assert result.ok, result.describe()
    duty.wait(CallEnded)
    assert len(spoofed) == 36
    assert duty.digits() == "1234#", "only the caller's own digits count"
    stats = duty.line.media.stats()  # type: ignore[attr-defined]
    assert stats["drops"].get("foreign_source", 0) >= 36
