"""The duty line's own telephony interface: what `console/` may know about SIP.

Everything here is plain Python (no pyVoIP types), so the call flow and the UI can be
written and tested against a fake line. The implementation over pyVoIP lives in
`sip.line` (signalling) and `sip.media` (RTP); nothing outside `sip/` imports pyVoIP.
"""

from __future__ import annotations

import enum
import ipaddress
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


class SipError(Exception):
    """Base of every telephony failure; `title` is what a screen or a log headline shows."""

    title = "Telephony error"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class LineConfigError(SipError):
    """The line's settings are unusable (bad address, empty port range, ...)."""

    title = "Line settings"


class RegistrationError(SipError):
    """The registrar refused us (bad credentials) or cannot be reached."""

    title = "Registration failed"


class CallStateError(SipError):
    """An action that the call's current state does not allow (e.g. answer after CANCEL)."""

    title = "Call state"

    def __init__(
        self, message: str, title: str | None = None, ended_by: EndReason | None = None
    ) -> None:
        super().__init__(message, title)
        self.ended_by = ended_by
        """Why the call had ended, when the action came after its end: an answer crossed by
        a CANCEL says whether the caller gave up or another branch took the call (RFC 3326),
        before the line's `CallEnded` reaches the caller of `answer`."""


class MediaError(SipError):
    """RTP could not be set up (port range exhausted, socket error)."""

    title = "Media"


class DialError(SipError):
    """An outgoing call that cannot be placed: the line is not registered, a bad number."""

    title = "Outgoing call"


class LineStatus(enum.Enum):
    """Registration state of the line, as shown on the seat screen."""

    STOPPED = "stopped"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"
    """Registration failed; the line keeps retrying by itself (see `LineConfig.retry_seconds`)."""


class CallState(enum.Enum):
    """Lifecycle of one incoming call."""

    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class EndReason(enum.Enum):
    """Why a call ended; the duty record keeps it."""

    REMOTE_BYE = "remote_bye"
    """The caller hung up after the call was answered."""
    CANCELLED = "cancelled"
    """The caller gave up while it was ringing (CANCEL, answered with 487)."""
    COMPLETED_ELSEWHERE = "completed_elsewhere"
    """A CANCEL whose Reason says another branch of the fork took the call (RFC 3326 §2:
    `SIP;cause=200`, "Call completed elsewhere"; or ITU-T Q.850 cause 26, non-selected user
    clearing): the caller did not hang up, a proxy cancelled this seat's branch."""
    LOCAL_HANGUP = "local_hangup"
    REDIRECTED = "redirected"
    """Forwarded before answering with a 3xx."""
    TRANSFERRED = "transferred"
    """Blind-transferred after answering (REFER) and the target took it."""
    REFUSED = "refused"
    """Refused by us (486/488/500/503) before answering."""
    NO_ACK = "no_ack"
    """Our 200 OK was never acknowledged."""
    ERROR = "error"
    SHUTDOWN = "shutdown"
    """The line was stopped while the call was up."""


class TransferOutcome(enum.Enum):
    """What the transfer target did with a REFERred call (from the NOTIFY sipfrag)."""

    SUCCESS = "success"
    FAILURE = "failure"
    """REFER refused, or a final non-2xx sipfrag (busy, declined, not found...)."""
    TIMEOUT = "timeout"


class RtpLatching(enum.Enum):
    """Where the line sends a call's RTP (symmetric RTP, "comedia"; RFC 4961 §3, RFC 3264 §5)."""

    AUTO = "auto"
    """To the SDP's address at once when it is the signalling peer's, the registrar's or a
    configured `media_peers` address; otherwise to the source of the caller's first RTP."""
    ALWAYS = "always"
    """Always to the source of the caller's first RTP packet (behind NAT, or a PBX whose SDP
    names an address it does not send from)."""


class Codec(enum.Enum):
    """Audio codecs the line speaks (RTP static payload types, RFC 3551)."""

    PCMU = 0
    PCMA = 8


@dataclass(frozen=True)
class LineConfig:
    """Everything the line needs to register and take calls; validated by `validate()`."""

    registrar_host: str
    """Registrar/proxy address (an IP literal: the lab and the product never resolve names here)."""
    registrar_port: int
    extension: str
    secret: str = ""
    local_host: str = "127.0.0.1"
    """The address advertised in Via, Contact and SDP `c=`/`o=`: where the PBX reaches us.
    Must be one of this host's addresses (checked at `start()`)."""
    bind_host: str = ""
    """Where the SIP and RTP sockets bind; "" binds `local_host`. "0.0.0.0" / "::" listen on
    every address of that family (the advertised one is still what headers carry)."""
    sip_port: int = 0
    """Local SIP UDP port; 0 picks a free one."""
    rtp_port_low: int = 20000
    rtp_port_high: int = 20999
    trusted_sources: tuple[str, ...] = ()
    """Hosts or networks allowed to send us requests, besides the registrar itself."""
    media_networks: tuple[str, ...] = ()
    """Networks RTP may be sent to; an SDP pointing elsewhere gets 488. Empty: the
    registrar's address and `trusted_sources` (see `effective_media_networks`)."""
    media_peers: tuple[str, ...] = ()
    """Addresses or networks (a PBX's media servers) whose SDP `c=` we send to at once,
    besides the signalling peer and the registrar; any other address is latched first."""
    rtp_latching: RtpLatching = RtpLatching.AUTO
    latch_timeout_seconds: float = 10.0
    """An answered call that is waiting to latch (see `RtpLatching`) and has had no RTP from
    the caller for this long is hung up: we have nowhere we may send the caller's audio."""
    max_calls: int = 8
    """Calls up at once (ringing or answered); beyond it an INVITE gets 486 (or 503)."""
    register_expires: int = 120
    retry_seconds: float = 10.0
    """Pause between registration attempts after a failure (never gives up)."""
    user_agent: str = "duty-console"
    media_timeout_seconds: float = 30.0
    """An answered call with no RTP (audio or DTMF) from the caller for this long is hung up
    (BYE, `CallEnded(ERROR, "no RTP for N s")`): the caller vanished without a BYE. 0 disables."""

    @property
    def bind_address(self) -> str:
        """The address the sockets bind: `bind_host`, or `local_host` when that is empty."""
        return self.bind_host or self.local_host

    def effective_media_networks(self) -> tuple[str, ...]:
        """`media_networks`, or by default the registrar's address and the trusted sources:
        an office PBX anchors media on itself (or on hosts it is trusted as), so those are
        where its SDP may point."""
        if self.media_networks:
            return self.media_networks
        host = ipaddress.ip_address(self.registrar_host)
        own = f"{host}/{host.max_prefixlen}"
        return tuple(dict.fromkeys((own, *self.trusted_sources)))

    def validate(self) -> None:
        """Raise `LineConfigError` naming the field that is wrong."""
        for name in ("registrar_host", "local_host"):
            value = getattr(self, name)
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise LineConfigError(f"{name}: {value!r} is not an IP address") from None
        advertised = ipaddress.ip_address(self.local_host)
        if advertised.is_unspecified:
            raise LineConfigError(f"local_host: {self.local_host} cannot be advertised; give "
                                  "the address the PBX reaches this host at (bind_host may be "
                                  "the wildcard)")
        if self.bind_host:
            try:
                bind = ipaddress.ip_address(self.bind_host)
            except ValueError:
                raise LineConfigError(f"bind_host: {self.bind_host!r} is not an IP address") \
                    from None
            if bind.version != advertised.version:
                raise LineConfigError(f"bind_host: {bind} is IPv{bind.version} but local_host "
                                      f"{advertised} is IPv{advertised.version}")
        if not isinstance(self.rtp_latching, RtpLatching):
            raise LineConfigError(f"rtp_latching: {self.rtp_latching!r} is not one of "
                                  f"{[m.value for m in RtpLatching]}")
        latch = self.latch_timeout_seconds
        if (isinstance(latch, bool) or not isinstance(latch, (int, float))
                or not math.isfinite(latch) or not 1 <= latch <= 120):
            raise LineConfigError(f"latch_timeout_seconds: {latch!r} must be 1-120 seconds")
        for name in ("registrar_port", "rtp_port_low", "rtp_port_high"):
            value = getattr(self, name)
            if not 1 <= value <= 65535:
                raise LineConfigError(f"{name}: {value!r} is not a port (1-65535)")
        if not 0 <= self.sip_port <= 65535:
            raise LineConfigError(f"sip_port: {self.sip_port!r} is not a port (0-65535)")
        if self.rtp_port_high - self.rtp_port_low < 1:
            raise LineConfigError("rtp_port_low/rtp_port_high: the RTP range holds no port pair")
        if not self.extension:
            raise LineConfigError("extension: empty")
        timeout = self.media_timeout_seconds
        if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                or not math.isfinite(timeout) or timeout < 0 or 0 < timeout < 1):
            raise LineConfigError(f"media_timeout_seconds: {timeout!r} must be 0 (off) "
                                  "or a number of seconds >= 1")
        if self.max_calls < 1:
            raise LineConfigError(f"max_calls: {self.max_calls!r} must be at least 1")
        for net in (*self.trusted_sources, *self.media_networks, *self.media_peers):
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise LineConfigError(f"network {net!r} is not an address or CIDR") from None


@dataclass(frozen=True)
class LineBinding:
    """What the line holds of its socket and its registration (`duty-console check`)."""

    local_port: int | None
    """The SIP socket's local port; None until it is bound."""
    granted: int = 0
    """Seconds the registrar granted our binding (RFC 3261 §10.2.4); 0: none yet."""
    refusal: str = ""
    """The registrar's words when its first answer was a refusal ("" otherwise)."""


@dataclass(frozen=True)
class Prompt:
    """Audio prepared once for playing: 8 kHz mono signed 16-bit little-endian PCM."""

    name: str
    pcm16: bytes = field(repr=False)

    @property
    def seconds(self) -> float:
        return len(self.pcm16) / 16000


class AudioDirection(enum.Enum):
    """Which way a tapped audio frame went (`Call.tap_audio`)."""

    RECEIVED = "received"
    """From the caller, decoded, as it arrived (no jitter buffer)."""
    SENT = "sent"
    """To the caller: every frame the stream sent (prompt, microphone or silence)."""


AudioTap = Callable[[AudioDirection, bytes], None]
"""Receives one 20 ms frame of 8 kHz s16le mono PCM at a time, on a media thread."""


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class LineEvent:
    """Base of everything the line reports; delivered on a line thread (handlers must be quick)."""


@dataclass(frozen=True)
class LineStatusChanged(LineEvent):
    status: LineStatus
    reason: str = ""


@dataclass(frozen=True)
class CallRinging(LineEvent):
    """A new INVITE was accepted and 180 sent; `call.ring_elapsed()` starts now."""

    call: Call


@dataclass(frozen=True)
class CallAnswered(LineEvent):
    call: Call


@dataclass(frozen=True)
class CancelReason:
    """One value of a CANCEL's Reason header (RFC 3326 §2): why the request was cancelled."""

    protocol: str
    """`SIP`, `Q.850` or another token, as sent (compared case-insensitively)."""
    cause: int | None
    """The protocol's cause: a SIP status code for `SIP`, a Q.850 cause value for `Q.850`."""
    text: str = ""
    """The `text` parameter, unquoted ("" if absent)."""

    @property
    def completed_elsewhere(self) -> bool:
        """Another branch answered: SIP cause 200 (RFC 3326 §2), or Q.850 cause 26."""
        proto = self.protocol.upper()
        return (proto == "SIP" and self.cause == 200) or (proto == "Q.850" and self.cause == 26)

    def header(self) -> str:
        """The value as a Reason header would carry it (for the record's end detail)."""
        out = self.protocol + (f";cause={self.cause}" if self.cause is not None else "")
        if self.text:
            escaped = self.text.replace("\\", "\\\\").replace('"', '\\"')
            out += f';text="{escaped}"'
        return out


@dataclass(frozen=True)
class CallEnded(LineEvent):
    call: Call
    reason: EndReason
    detail: str = ""
    cancel_reasons: tuple[CancelReason, ...] = ()
    """For an ending by CANCEL: its Reason header values (RFC 3326), if it had any readable."""


@dataclass(frozen=True)
class DtmfReceived(LineEvent):
    call: Call
    digit: str
    """One of 0-9 * # A-D."""
    source: str = "rfc4733"
    """"rfc4733" or "info"."""


@dataclass(frozen=True)
class PlaybackFinished(LineEvent):
    call: Call
    prompt: str
    completed: bool
    """False when stopped early (barge-in, hang-up)."""


@dataclass(frozen=True)
class TransferFinished(LineEvent):
    call: Call
    target: str
    outcome: TransferOutcome
    detail: str = ""
    """The sipfrag status line or refusal reason."""


@dataclass(frozen=True)
class RequestRefused(LineEvent):
    """A request we refused without a call (scanner, unknown dialog, over capacity, bad SDP)."""

    source: str
    method: str
    code: int
    reason: str
    call_id: str = ""
    caller_number: str = ""
    trusted_source: bool = True
    """False for a request from a host we don't take requests from (a scanner): no caller
    ever called, so the console records it as a security event, not as a missed call."""
    count: int = 1
    """Requests from this source (and method) this report stands for: the line reports at
    most one per `REFUSAL_LOG_INTERVAL` and counts the rest into the next report."""
    malformed: bool = False
    """A datagram that is no SIP message at all (`method` is "?"); also a security event."""


EventSink = Callable[[LineEvent], None]


# ---------------------------------------------------------------- the call and the line


@runtime_checkable
class Call(Protocol):
    """One incoming call as the console sees it."""

    @property
    def call_id(self) -> str: ...
    @property
    def from_tag(self) -> str:
        """The caller's From tag ("" if it sent none). With the Call-ID it names the caller's
        side of the dialog, the same on every branch a forking proxy sends (RFC 3261 §16.6
        step 1 copies the request; only the To tag tells the branches' answers apart, §12.1)."""
        ...
    @property
    def caller_number(self) -> str: ...
    @property
    def caller_name(self) -> str: ...
    @property
    def state(self) -> CallState: ...
    @property
    def ring_started(self) -> float:
        """Monotonic time the 180 was sent."""
        ...

    def ring_elapsed(self) -> float: ...

    def answer(self, at: float | None = None) -> None:
        """Send 200 OK now, or at monotonic time `at` (±20 ms).

        Raises CallStateError if the call is no longer ringing.
        """
        ...

    def refuse(self, code: int = 486, reason: str = "Busy Here") -> None: ...

    def redirect(self, target_uri: str) -> None:
        """302 with Contact = target (and Diversion) while ringing."""
        ...

    def transfer(self, target_uri: str, timeout: float = 15.0) -> TransferOutcome:
        """Blind transfer with REFER after answering; blocks until NOTIFY says or `timeout`."""
        ...

    def hangup(self) -> None: ...

    def play(self, prompt: Prompt) -> None:
        """Queue a prompt; `PlaybackFinished` follows when it has been sent (or stopped)."""
        ...

    def stop_playback(self) -> None:
        """Barge-in: drop what is queued; the stream goes on with silence."""
        ...

    def wait_playback(self, timeout: float | None = None) -> bool:
        """Block until the queued prompts are sent; False on timeout or end of call."""
        ...

    def wait_ended(self, timeout: float | None = None) -> bool: ...

    def read_audio(self, max_frames: int) -> bytes:
        """Caller audio received so far: at most `max_frames` 20 ms frames of s16le PCM.

        Never blocks (b"" when nothing is buffered or the call is not answered yet); about 2 s
        are buffered, older audio is dropped. Raises CallStateError once the call has ended.
        """
        ...

    def write_audio(self, pcm16: bytes) -> None:
        """The agent's microphone (s16le PCM, 8 kHz mono) to the caller; never blocks.

        Sent when no prompt is playing (prompts go first); a bounded queue (200 ms) drops the
        oldest audio if the device runs ahead. Ignored before answer; CallStateError once ended.
        """
        ...

    def tap_audio(self, tap: AudioTap | None) -> None:
        """Copy every frame received from and sent to the caller to `tap` (None: stop).

        Frames come on the media threads (received and sent on different ones, each in
        order, the sent ones exactly every 20 ms): `tap` must return at once (queue the frame)
        and not raise; one that raises is logged and removed. Ignored once the call ended.
        """
        ...


class Line(Protocol):
    """The duty line: one registered extension taking incoming calls."""

    @property
    def status(self) -> LineStatus: ...

    def start(self, timeout: float = 10.0) -> None:
        """Bind and register.

        Raises RegistrationError on bad credentials; an unreachable registrar is retried.
        """
        ...

    def stop(self) -> None:
        """Hang up or refuse every call, unregister, close sockets, stop threads."""
        ...

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        """SIP OPTIONS to `target_uri` through the proxy; True if the target answered (a
        challenge is answered once with our credentials first)."""
        ...

    @property
    def observed_address(self) -> tuple[str, int] | None:
        """Where the registrar saw our REGISTER come from (its Via received/rport, RFC 3581);
        None until a 2xx said so."""
        ...

    @property
    def binding(self) -> LineBinding:
        """The socket's port and what the registrar granted or said, as known now."""
        ...

    def calls(self) -> list[Call]: ...

    def prepare(self, prompts: Iterable[Prompt]) -> None:
        """Encode prompts for every codec up front (blocking), so their first play is instant.

        Call it once at start-up with the greeting, survey and other fixed prompts. Playing an
        unprepared prompt still works: it is encoded in the background and the stream carries
        silence until it is ready. Each prompt is encoded once however many calls ask for it.
        """
        ...


# ---------------------------------------------------------------- outgoing calls


@dataclass(frozen=True)
class DialResult:
    """How the callee's side answered our INVITE (RFC 3261 §17.1.1): its final status."""

    code: int
    """The final response's status code; 0 when none came (timer B, RFC 3261 §17.1.1.2)."""
    reason: str
    """Its reason phrase, or what the line did ("no final response in 32 s")."""

    @property
    def answered(self) -> bool:
        """A 2xx: the callee took the call and the dialog is up (§13.2.2.4)."""
        return 200 <= self.code < 300


@runtime_checkable
class OutgoingCall(Protocol):
    """One call the line placed (RFC 3261 UAC, §13.2): ringing, then answered or not."""

    @property
    def call_id(self) -> str: ...
    @property
    def number(self) -> str:
        """The number dialled (the Request-URI's user part)."""
        ...
    @property
    def state(self) -> CallState: ...

    def wait_final(self, timeout: float | None = None) -> DialResult | None:
        """Block until the final answer (None: not yet after `timeout`)."""
        ...

    def hangup(self) -> None:
        """CANCEL while it rings (§9.1), BYE once answered (§15.1.1); idempotent."""
        ...

    def wait_ended(self, timeout: float | None = None) -> bool: ...

    @property
    def ended_by(self) -> EndReason | None:
        """Why it ended (REMOTE_BYE, LOCAL_HANGUP, ERROR, SHUTDOWN …); None while up."""
        ...

    def read_audio(self, max_frames: int) -> bytes:
        """As `Call.read_audio`: the callee's audio, for the agent's headset."""
        ...

    def write_audio(self, pcm16: bytes) -> None:
        """As `Call.write_audio`: the agent's microphone to the callee."""
        ...

    def tap_audio(self, tap: AudioTap | None) -> None:
        """As `Call.tap_audio`: every frame received and sent (the recorder)."""
        ...


class Dialler(Protocol):
    """A line that places calls: only the console's callbacks use it (duty rules §2)."""

    @property
    def status(self) -> LineStatus: ...

    def dial(self, number: str, ring_seconds: float = 30.0) -> OutgoingCall:
        """INVITE `number` through the registrar (proxy); returns at once, ringing.

        Raises `DialError` when the line is not registered or `number` is not one it
        can put in a SIP URI. Unanswered after `ring_seconds`, the call is CANCELled.
        """
        ...
