"""Fakes for the duty line's unit tests: a transport that records, media that remembers."""

from __future__ import annotations

from collections.abc import Callable

from sip.api import Codec, LineConfig, LineEvent, MediaError, Prompt
from sip.message import SipMessage, parse_message
from sip.transport import Address, DatagramHandler

REGISTRAR: Address = ("127.0.0.1", 5060)


class FakeTransport:
    """Records every datagram sent; `inject` delivers one as if it came from `source`."""

    local_port = 5099

    def __init__(self) -> None:
        self.sent: list[tuple[SipMessage, Address]] = []
        self.handler: DatagramHandler | None = None
        self.closed = False

    def start(self, handler: DatagramHandler) -> None:
        self.handler = handler

    def send(self, data: bytes, addr: Address) -> None:
        self.sent.append((parse_message(data), addr))

    def close(self) -> None:
        self.closed = True

    def inject(self, data: bytes | str, source: Address = REGISTRAR) -> None:
        assert self.handler is not None
        self.handler(data.encode() if isinstance(data, str) else data, source)

    def take(self) -> list[tuple[SipMessage, Address]]:
        out, self.sent = self.sent, []
        return out

    def codes(self) -> list[int]:
        return [m.status_code for m, _ in self.sent if not m.is_request]


class FakeSession:
    def __init__(self, port: int) -> None:
        self.local_port = port
        self.on_dtmf: Callable[[str], None] | None = None
        self.started: list[tuple[tuple[str, int], Codec, int | None]] = []
        self.retargets: list[tuple[str, int]] = []
        self.latching: list[bool] = []
        """`latch` of each start/retarget: whether the line withheld the SDP's address."""
        self.latched = True
        """A test sets False to play a caller that never sent RTP to latch onto."""
        self.closed = False
        self.played: list[str] = []
        self.inbound: list[bytes] = []
        """Frames `read_audio` hands out (a test puts caller audio here)."""
        self.written: list[bytes] = []
        self.last_activity = 0.0
        """Clock time of the caller's last packet (a test moves it to keep the call alive)."""

    def start(self, remote: tuple[str, int], codec: Codec, dtmf_pt: int | None,
              latch: bool = False) -> None:
        self.started.append((remote, codec, dtmf_pt))
        self.latching.append(latch)

    def retarget(self, remote: tuple[str, int], latch: bool = False) -> None:
        self.retargets.append(remote)
        self.latching.append(latch)

    def play(self, prompt: Prompt, on_done: Callable[[bool], None] | None = None) -> None:
        self.played.append(prompt.name)
        if on_done is not None:
            on_done(True)

    def stop_playback(self) -> None:
        pass

    def wait_playback(self, timeout: float | None = None) -> bool:
        return True

    def read_audio(self, max_frames: int) -> bytes:
        out, self.inbound = self.inbound[:max_frames], self.inbound[max_frames:]
        return b"".join(out)

    def write_audio(self, pcm16: bytes) -> None:
        self.written.append(bytes(pcm16))

    def close(self) -> None:
        self.closed = True


class FakeMedia:
    def __init__(self, ports: int = 100) -> None:
        self.free = list(range(20000, 20000 + 2 * ports, 2))
        self.sessions: list[FakeSession] = []
        self.prepared: list[str] = []

    def allocate(self) -> FakeSession:
        if not self.free:
            raise MediaError("RTP port range exhausted")
        session = FakeSession(self.free.pop(0))
        self.sessions.append(session)
        return session

    def prepare(self, prompt: Prompt) -> None:
        self.prepared.append(prompt.name)

    def close(self) -> None:
        pass


class Events:
    """Collects events (the line delivers them on its dispatcher thread)."""

    def __init__(self) -> None:
        import threading

        self.items: list[LineEvent] = []
        self.cond = threading.Condition()

    def __call__(self, event: LineEvent) -> None:
        with self.cond:
            self.items.append(event)
            self.cond.notify_all()

    def wait_for(self, kind: type, count: int = 1, timeout: float = 3.0) -> list[LineEvent]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.of(kind)) >= count, timeout)
            found = self.of(kind)
        assert len(found) >= count, f"expected {count} {kind.__name__}, got {self.items}"
        return found

    def of(self, kind: type) -> list[LineEvent]:
        return [e for e in self.items if isinstance(e, kind)]


def config(**kw: object) -> LineConfig:
    base: dict[str, object] = {"registrar_host": "127.0.0.1", "registrar_port": 5060,
                               "extension": "100", "secret": "pw", "retry_seconds": 10.0}
    base.update(kw)
    return LineConfig(**base)  # type: ignore[arg-type]


SDP = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
       "m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\n")


def invite(call_id: str = "c1", *, cseq: int = 1, to_tag: str = "", sdp: str | None = SDP,
           branch: str = "z9hG4bKa1", display: str = '"sipp caller"', number: str = "300",
           content_type: str = "application/sdp", compact: bool = False) -> str:
    body = sdp or ""
    to = "<sip:100@127.0.0.1>" + (f";tag={to_tag}" if to_tag else "")
    h = {"Via": f"SIP/2.0/UDP 127.0.0.1:5060;branch={branch}",
         "Record-Route": "<sip:127.0.0.1;lr>",
         "From": f"{display} <sip:{number}@127.0.0.1>;tag=ft1", "To": to, "Call-ID": call_id,
         "CSeq": f"{cseq} INVITE", "Contact": f"<sip:{number}@127.0.0.1:5070>",
         "Max-Forwards": "69"}
    if body:
        h["Content-Type"] = content_type
    lines = ["INVITE sip:100@127.0.0.1:5099 SIP/2.0"]
    short = {"Via": "v", "From": "f", "To": "t", "Call-ID": "i", "Contact": "m"}
    for k, v in h.items():
        lines.append(f"{short.get(k, k) if compact else k}:{'' if compact else ' '}{v}")
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def request(method: str, call_id: str, to_tag: str, *, cseq: int = 2, body: str = "",
            content_type: str = "", extra: tuple[str, ...] = (), from_tag: str = "ft1",
            branch: str = "z9hG4bKb2") -> str:
    lines = [f"{method} sip:100@127.0.0.1:5099 SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}",
             f"From: \"sipp caller\" <sip:300@127.0.0.1>;tag={from_tag}",
             "To: <sip:100@127.0.0.1>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {call_id}", f"CSeq: {cseq} {method}", "Max-Forwards: 70", *extra]
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def response_to(req: SipMessage, code: int, reason: str = "OK", extra: tuple[str, ...] = (),
                to_tag: str = "") -> str:
    to = req.header("To") or ""
    if to_tag and ";tag=" not in to:
        to += f";tag={to_tag}"
    lines = [f"SIP/2.0 {code} {reason}", *(f"Via: {v.raw}" for v in req.vias),
             f"From: {req.header('From')}", f"To: {to}", f"Call-ID: {req.call_id}",
             f"CSeq: {req.cseq} {req.cseq_method}", *extra, "Content-Length: 0"]
    return "\r\n".join(lines) + "\r\n\r\n"
