"""The duty line: one registered extension taking incoming calls (RFC 3261 UAS, §8.2, §12-§17).

Replaces pyVoIP's `VoIPPhone`/`VoIPCall` lifecycle, keeping its `SIPMessage` (see
`sip.message`) and `SIPClient` (see `sip.pyvoip_client`) underneath.  Fixes, by number of
issue 2: the ringing event comes at INVITE time (no 1 s timer), 100 Trying, 180 with our
Contact and Record-Route; `answer(at=)` fires on a timer; 200 is retransmitted until ACK
(§13.3.1.4) and a missing ACK ends the call; CANCEL gives 487; BYE/REFER are built from the
dialog; re-INVITE retargets media instead of starting a second stream; every INVITE gets a
final response; replies go to the packet's source (§18.2.2); unknown sources are refused.
Beyond the stock: a media watchdog hangs up an answered call whose caller has sent no RTP for
`LineConfig.media_timeout_seconds` (vanished without BYE), prompts can be encoded up front
(`prepare`), and the call's audio is readable and writable for the agent's headset.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import queue
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sip.api import (
    AudioTap,
    CallAnswered,
    CallEnded,
    CallRinging,
    CallState,
    CallStateError,
    CancelReason,
    Codec,
    DialError,
    DtmfReceived,
    EndReason,
    EventSink,
    LineBinding,
    LineConfig,
    LineConfigError,
    LineEvent,
    LineStatus,
    LineStatusChanged,
    MediaError,
    PlaybackFinished,
    Prompt,
    RegistrationError,
    RequestRefused,
    RtpLatching,
    TransferFinished,
    TransferOutcome,
)
from sip.call_audio import CallAudio
from sip.dialog import Dialog, SdpOffer, SdpRejected, build_answer, parse_offer
from sip.message import SipMessage, SipParseError, parse_message, parse_reason
from sip.originate import DutyOutgoingCall, originate
from sip.pyvoip_client import ALLOW, DutySipClient, parse_challenge
from sip.register import Registration, RegistrationOutcome
from sip.timers import T1, T2, TIMER_H, Scheduler, ThreadScheduler, TimerHandle
from sip.transport import Address, Transport, UdpTransport

log = logging.getLogger("sip.line")

ENDED_MEMORY = TIMER_H
"""Seconds an ended dialog is remembered to absorb retransmissions (RFC 3261 §17.2.1)."""
ACK_WAIT_BEFORE_REFER = 8 * T1
"""How long a transfer waits for the caller's ACK before sending REFER anyway: the 200's
retransmissions at T1, 2·T1 and 4·T1 have drawn a lost ACK again by then (4 s)."""
REFUSAL_LOG_INTERVAL = 5.0
"""At most one log line / 403 per refused source in this many seconds."""
BYE_WAIT = 2.0
"""How long `hangup()` waits for the 200 to its BYE."""
_KNOWN_NOT_ALLOWED = frozenset({"REGISTER", "SUBSCRIBE", "PUBLISH", "MESSAGE", "UPDATE", "PRACK"})

CALL_TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    CallState.RINGING: frozenset({CallState.ANSWERED, CallState.ENDED}),
    CallState.ANSWERED: frozenset({CallState.ENDED}),
    CallState.ENDED: frozenset(),
}
"""The only moves a call may make; anything else is a `CallStateError`."""


class RtpSession(Protocol):
    """The slice of `sip.media.RtpSession` the line uses."""

    local_port: int
    on_dtmf: Callable[[str], None] | None
    latched: bool
    """The stream has a destination (at once, or from the caller's first packet)."""

    def start(self, remote: tuple[str, int], codec: Codec, dtmf_pt: int | None,
              latch: bool = False) -> None: ...
    def retarget(self, remote: tuple[str, int], latch: bool = False) -> None: ...
    def play(self, prompt: Prompt, on_done: Callable[[bool], None] | None = None) -> None: ...
    def stop_playback(self) -> None: ...
    def wait_playback(self, timeout: float | None = None) -> bool: ...
    def read_audio(self, max_frames: int) -> bytes: ...
    def write_audio(self, pcm16: bytes) -> None: ...
    def set_tap(self, tap: AudioTap | None) -> None: ...
    def close(self) -> None: ...


class MediaFactory(Protocol):
    """The slice of `sip.media.MediaEngine` the line uses."""

    def allocate(self) -> Any: ...
    def prepare(self, prompt: Prompt) -> None: ...
    def close(self) -> None: ...


@dataclass
class _ServerInvite:
    """INVITE server transaction state: the last response and its retransmission (§17.2.1)."""

    response: str
    addr: Address
    final: bool = False
    acked: bool = False
    timer: TimerHandle | None = None
    deadline: TimerHandle | None = None


Rebuild = Callable[[str], tuple[str, int]]
"""Builds a request again with one more header (the digest answer): (text, its CSeq)."""


@dataclass
class _ClientRequest:
    """A non-INVITE request we sent (BYE, REFER, OPTIONS) waiting for its final response."""

    text: str
    addr: Address
    key: tuple[str, int, str] = ("", 0, "")
    """(Call-ID, CSeq, method): how its responses are matched."""
    uri: str = ""
    """Its Request-URI, which the digest answer covers (RFC 2617 §3.2.2)."""
    rebuild: Rebuild | None = None
    authenticated: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    response: SipMessage | None = None
    timer: TimerHandle | None = None
    left: float = 0.0
    """Seconds before timer F gives up on it."""


@dataclass
class _Ended:
    """What we remember of an ended dialog: enough to answer retransmissions."""

    txn: _ServerInvite
    local_tag: str
    until: float


class DutyCall(CallAudio):
    """One incoming call; implements `sip.api.Call`."""

    def __init__(self, line: DutyLine, invite: SipMessage, source: Address, offer: SdpOffer,
                 session: RtpSession, local_tag: str, now: float) -> None:
        self._line = line
        self.invite = invite
        self.source = source
        self.offer = offer
        self.session = session
        self.dialog = Dialog(invite, local_tag)
        self._state = CallState.RINGING
        self._ended_by: EndReason | None = None
        """Why the call ended (told to an action that comes too late: `CallStateError`)."""
        self.ring_started_at = now
        self.txn = _ServerInvite(response="", addr=source)
        self._answer_timer: TimerHandle | None = None
        self._ended = threading.Event()
        self._sdp_session = random.randint(1, 2**31)
        self._sdp_version = 1
        self._transfer_done = threading.Event()
        self._acked = threading.Event()
        self._transfer_result: tuple[TransferOutcome, str] | None = None
        self._transfer_cseq: int | None = None
        self._playing: list[str] = []
        self._watchdog: TimerHandle | None = None
        self._latch_timer: TimerHandle | None = None
        self.caller_silent = _caller_sends_nothing(invite)
        """The caller's SDP says it sends no RTP (a=inactive / a=recvonly, e.g. on hold): the
        media watchdog waits instead of hanging up."""
        session.on_dtmf = self._on_dtmf

    # ------------------------------------------------------------ Call protocol

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    @property
    def from_tag(self) -> str:
        return self.dialog.remote_tag or ""

    @property
    def caller_number(self) -> str:
        return self.invite.from_addr.user

    @property
    def caller_name(self) -> str:
        return self.invite.from_addr.display

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def ring_started(self) -> float:
        return self.ring_started_at

    def ring_elapsed(self) -> float:
        return self._line.clock() - self.ring_started_at

    def answer(self, at: float | None = None) -> None:
        with self._line.lock:
            self._require(CallState.RINGING, "answer")
            if self._answer_timer is not None:
                self._answer_timer.cancel()
            if at is None or at <= self._line.clock():
                self._do_answer()
            else:
                self._answer_timer = self._line.scheduler.call_at(at, self._timed_answer,
                                                                  f"answer {self.call_id}")

    def refuse(self, code: int = 486, reason: str = "Busy Here") -> None:
        if not 300 <= code <= 699:
            raise CallStateError(f"refuse needs a 3xx-6xx code, not {code}")
        with self._line.lock:
            self._require(CallState.RINGING, "refuse")
            self._final(code, reason=reason)
            self._end(EndReason.REFUSED, f"{code} {reason}")

    def redirect(self, target_uri: str) -> None:
        if ":" not in target_uri or any(c in target_uri for c in "<>\r\n "):
            raise CallStateError(f"redirect target {target_uri!r} is not a SIP URI")
        with self._line.lock:
            self._require(CallState.RINGING, "redirect")
            client = self._line.client
            diversion = (f"Diversion: <{client.aor}>;reason=deflection;counter=1;privacy=off")
            self._final(302, extra=(f"Contact: <{target_uri}>", diversion))
            self._end(EndReason.REDIRECTED, target_uri)

    def transfer(self, target_uri: str, timeout: float = 15.0) -> TransferOutcome:
        """Blind transfer by in-dialog REFER (RFC 3515 §2.4); NOTIFY sipfrag gives the outcome."""
        if ":" not in target_uri or any(c in target_uri for c in "<>\r\n "):
            raise CallStateError(f"transfer target {target_uri!r} is not a SIP URI")
        deadline = time.monotonic() + timeout
        # Not before the caller's ACK (bounded): a REFER that overtakes our 200 OK (two
        # proxy workers, a loaded machine) reaches a caller whose dialog isn't up yet, which
        # may leave it unanswered; the 200's retransmissions draw a lost ACK again.
        self._acked.wait(min(ACK_WAIT_BEFORE_REFER, timeout))
        with self._line.lock:
            self._require(CallState.ANSWERED, "transfer")
            self._transfer_done.clear()
            self._transfer_result = None
            extra = (f"Refer-To: <{target_uri}>", f"Referred-By: <{self._line.client.aor}>")
            req = self._line.send_in_dialog(self, "REFER", extra)
            self._transfer_cseq = self.dialog.local_cseq
        req.done.wait(max(0.0, deadline - time.monotonic()))
        if req.response is not None and req.response.status_code >= 300:
            self._transfer_result = (TransferOutcome.FAILURE,
                                     f"{req.response.status_code} {req.response.reason}")
        elif not self._transfer_done.is_set():
            self._transfer_done.wait(max(0.0, deadline - time.monotonic()))
        result = self._transfer_result or (TransferOutcome.TIMEOUT,
                                           f"no final NOTIFY in {timeout:.0f} s")
        outcome, detail = result
        self._line.emit(TransferFinished(self, target_uri, outcome, detail))
        if outcome is TransferOutcome.SUCCESS and self._state is CallState.ANSWERED:
            self._bye(EndReason.TRANSFERRED, target_uri)
        return outcome

    def hangup(self) -> None:
        with self._line.lock:
            state = self._state
            if state is CallState.RINGING:
                self._final(480, reason="Temporarily Unavailable")
                self._end(EndReason.LOCAL_HANGUP, "while ringing")
                return
        if state is CallState.ANSWERED:
            self._bye(EndReason.LOCAL_HANGUP, "")

    def play(self, prompt: Prompt) -> None:
        if self._state is not CallState.ANSWERED:
            raise CallStateError(f"play needs an answered call (call is {self._state.value})")
        self.session.play(prompt, lambda ok: self._line.emit(PlaybackFinished(self, prompt.name,
                                                                               ok)))

    def stop_playback(self) -> None:
        if self._state is CallState.ANSWERED:
            self.session.stop_playback()

    def wait_playback(self, timeout: float | None = None) -> bool:
        if self._state is not CallState.ANSWERED:
            return False
        return bool(self.session.wait_playback(timeout))

    def wait_ended(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def __repr__(self) -> str:
        return f"DutyCall({self.call_id!r}, {self.caller_number!r}, {self._state.value})"

    # ------------------------------------------------------------ internals

    def _require(self, state: CallState, action: str) -> None:
        if self._state is not state:
            raise CallStateError(f"cannot {action}: call {self.call_id} is {self._state.value}",
                                 ended_by=self._ended_by)

    def _move(self, new: CallState) -> None:
        if new not in CALL_TRANSITIONS[self._state]:
            raise CallStateError(f"call {self.call_id}: {self._state.value} -> {new.value}")
        self._state = new

    def _timed_answer(self) -> None:
        with self._line.lock:
            if self._state is CallState.RINGING:
                self._do_answer()

    def _do_answer(self) -> None:
        body = build_answer(self._line.config.local_host, self.session.local_port, self.offer,
                            self._sdp_session, self._sdp_version)
        text = self._line.client.gen_response(
            self.invite, 200, to_tag=self.dialog.local_tag, contact=True, record_route=True,
            body=body, content_type="application/sdp")
        self._move(CallState.ANSWERED)
        self.answered_at = self._line.clock()
        self._line.send_text(text, self.source)
        self._line.reliable_final(self.txn, text, on_timeout=self._no_ack)
        latch = self._line.must_latch(self.offer.host, self.source)
        try:
            self.session.start((self.offer.host, self.offer.port), self.offer.codec,
                               self.offer.dtmf_pt, latch=latch)
        except Exception:
            log.exception("media start failed for %s", self.call_id)
        if latch:
            self._arm_latch_check()
        self._line.emit(CallAnswered(self))

    # latching: a caller whose SDP names a host we may not send to must show us where it is

    def _arm_latch_check(self) -> None:
        wait = self._line.config.latch_timeout_seconds
        self._latch_timer = self._line.scheduler.call_later(wait, self._check_latched,
                                                            f"latch {self.call_id}")

    def _check_latched(self) -> None:
        with self._line.lock:
            self._latch_timer = None
            if self._state is not CallState.ANSWERED or self.session.latched:
                return
            if self.caller_silent:  # on hold: it will send when it takes the call back
                self._arm_latch_check()
                return
        wait = self._line.config.latch_timeout_seconds
        log.warning("call %s: no RTP from the caller in %.0f s, and its SDP address %s is not "
                    "one we may send to unasked; hanging up", self.call_id, wait,
                    self.offer.host)
        self._bye(EndReason.ERROR, f"no RTP to latch onto in {wait:g} s "
                                   f"(SDP address {self.offer.host} not trusted)", wait=False)

    def _final(self, code: int, reason: str | None = None, extra: tuple[str, ...] = ()) -> None:
        text = self._line.client.gen_response(self.invite, code, to_tag=self.dialog.local_tag,
                                              reason=reason, extra=extra)
        self._line.send_text(text, self.source)
        self._line.reliable_final(self.txn, text)

    def _no_ack(self) -> None:
        with self._line.lock:
            if self._state is not CallState.ANSWERED:
                return
        log.warning("call %s: no ACK for our 200 in %.0f s; hanging up", self.call_id, TIMER_H)
        self._bye(EndReason.NO_ACK, "200 OK never acknowledged", wait=False)

    def _bye(self, reason: EndReason, detail: str, wait: bool = True) -> None:
        with self._line.lock:
            if self._state is not CallState.ANSWERED:
                return
            req = self._line.send_in_dialog(self, "BYE", ())
            self._end(reason, detail)
        if wait and threading.current_thread().name not in ("sip-recv", "sip-timers"):
            req.done.wait(BYE_WAIT)

    def _end(
        self, reason: EndReason, detail: str = "", cancel_reasons: tuple[CancelReason, ...] = ()
    ) -> None:
        if self._state is CallState.ENDED:
            return
        if self._answer_timer is not None:
            self._answer_timer.cancel()
        self._move(CallState.ENDED)
        self._ended_by = reason
        for timer in (self._watchdog, self._latch_timer):
            if timer is not None:
                timer.cancel()
        self._watchdog = self._latch_timer = None
        try:
            self.session.close()
        except Exception:
            log.exception("media close failed for %s", self.call_id)
        self._line.forget(self)
        self._ended.set()
        self._transfer_done.set()
        self._line.emit(CallEnded(self, reason, detail, cancel_reasons))

    def _on_dtmf(self, digit: str) -> None:
        if self._state is CallState.ANSWERED:
            self._line.emit(DtmfReceived(self, digit, "rfc4733"))

    # requests inside the dialog (the line has checked the dialog matches)

    def on_ack(self, msg: SipMessage) -> None:
        self.txn.acked = True
        self._acked.set()
        self._line.stop_retransmit(self.txn)
        if self._watchdog is None and self._state is CallState.ANSWERED:
            self._arm_watchdog(self._line.clock())

    # the media watchdog: a caller gone without BYE must not keep the seat busy forever

    def _arm_watchdog(self, since: float) -> None:
        """Check for RTP `media_timeout_seconds` after `since` (the last packet or the ACK)."""
        timeout = self._line.config.media_timeout_seconds
        if not timeout or getattr(self.session, "last_activity", None) is None:
            return
        when = max(since + timeout, self._line.clock() + 0.5)
        self._watchdog = self._line.scheduler.call_at(when, self._check_media,
                                                      f"media-watchdog {self.call_id}")

    def _check_media(self) -> None:
        timeout = self._line.config.media_timeout_seconds
        with self._line.lock:
            self._watchdog = None
            if self._state is not CallState.ANSWERED:
                return
            last = max(float(getattr(self.session, "last_activity", 0.0)), self.answered_at)
            if self.caller_silent:  # on hold: silence is expected, look again later
                last = self._line.clock()
            silent = self._line.clock() - last
            if silent < timeout:
                self._arm_watchdog(last)
                return
        log.warning("call %s: no RTP from the caller for %.0f s; hanging up", self.call_id,
                    silent)
        self._bye(EndReason.ERROR, f"no RTP for {timeout:g} s", wait=False)

    def on_bye(self) -> None:
        if self._state is CallState.ANSWERED:
            self._end(EndReason.REMOTE_BYE)

    def on_cancel(self, reasons: tuple[CancelReason, ...] = ()) -> None:
        """§9.2: 487 to the INVITE; the CANCEL's Reason (RFC 3326) says whether the caller
        gave up or a forking proxy cancelled this branch because another one answered."""
        if self._state is CallState.RINGING:
            self._final(487)
            elsewhere = any(r.completed_elsewhere for r in reasons)
            end = EndReason.COMPLETED_ELSEWHERE if elsewhere else EndReason.CANCELLED
            detail = ", ".join(r.header() for r in reasons)
            self._end(end, detail, cancel_reasons=reasons)

    def on_reinvite(self, msg: SipMessage, source: Address) -> None:
        """Re-INVITE (§14.2): new offer, same RTP session retargeted; never a second stream."""
        client = self._line.client
        if self._state is not CallState.ANSWERED or not self.txn.acked:
            self._line.send_text(client.gen_response(msg, 491), source)
            return
        if _unsupported_body(msg):
            self._line.send_text(client.gen_response(
                msg, 415, extra=(f"Accept: {', '.join(BODY_TYPES)}",
                                 "Accept-Encoding: identity")), source)
            return
        try:
            offer = parse_offer(msg, self._line.media_networks)
        except SdpRejected as exc:
            self._line.send_text(client.gen_response(msg, 488, extra=(f"Warning: {exc.warning}",)),
                                 source)
            return
        self.caller_silent = _caller_sends_nothing(msg)
        if (offer.host, offer.port) != (self.offer.host, self.offer.port):
            latch = self._line.must_latch(offer.host, source)
            try:
                self.session.retarget((offer.host, offer.port), latch=latch)
            except Exception:
                log.exception("retarget failed for %s", self.call_id)
            if latch and self._latch_timer is None:
                self._arm_latch_check()
        # the codec stays as negotiated; the streams and direction are the new offer's (§8)
        self.offer = dataclasses.replace(offer, codec=self.offer.codec, dtmf_pt=self.offer.dtmf_pt)
        self._sdp_version += 1
        body = build_answer(self._line.config.local_host, self.session.local_port, self.offer,
                            self._sdp_session, self._sdp_version)
        text = client.gen_response(msg, 200, contact=True, record_route=True, body=body,
                                   content_type="application/sdp")
        self.dialog.remote_cseq = msg.cseq
        self.txn = _ServerInvite(response=text, addr=source)
        self._line.send_text(text, source)
        self._line.reliable_final(self.txn, text)

    def on_info(self, msg: SipMessage) -> None:
        """SIP INFO DTMF: application/dtmf-relay `Signal=5` or application/dtmf `5`."""
        body = msg.body_raw.decode("utf-8", "replace")
        digit = ""
        if msg.content_type == "application/dtmf-relay":
            for line in body.splitlines():
                key, _, value = line.partition("=")
                if key.strip().lower() == "signal":
                    digit = value.strip()
        elif msg.content_type == "application/dtmf":
            digit = body.strip()
        digit = {"10": "*", "11": "#"}.get(digit, digit).upper()
        if len(digit) == 1 and digit in "0123456789*#ABCD" and self._state is CallState.ANSWERED:
            self._line.emit(DtmfReceived(self, digit, "info"))

    def on_notify(self, msg: SipMessage) -> None:
        """REFER progress (RFC 3515 §2.4.5): a message/sipfrag status line."""
        if (msg.header("Event") or "").split(";")[0].strip().lower() != "refer":
            return
        frag = msg.body_raw.decode("utf-8", "replace").strip().split("\n", 1)[0].strip()
        parts = frag.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("SIP/") or not parts[1].isdigit():
            return
        code = int(parts[1])
        if code >= 200:
            outcome = TransferOutcome.SUCCESS if code < 300 else TransferOutcome.FAILURE
            self._transfer_result = (outcome, frag)
            self._transfer_done.set()
        elif "terminated" in (msg.header("Subscription-State") or "").lower():
            self._transfer_result = (TransferOutcome.FAILURE, f"subscription ended at {frag}")
            self._transfer_done.set()


SCHEMES = frozenset({"sip"})
"""Request-URI schemes we take; any other (sips: we have no TLS, tel:, …) gets 416."""
SUPPORTED: frozenset[str] = frozenset()
"""Option tags (RFC 3261 §19.2) we support: none, so any `Require` gets 420."""
BODY_TYPES = ("application/sdp",)
"""Bodies an INVITE may carry (§8.2.3): anything else gets 415 with `Accept`."""


def _cancel_reasons(msg: SipMessage) -> tuple[CancelReason, ...]:
    """The CANCEL's Reason header values (RFC 3326 §2); an unreadable header is ignored.

    A malformed Reason must not stop the CANCEL (RFC 3326 §2: the header is informative):
    the call ends as a plain caller's CANCEL and the log says what was wrong.
    """
    reasons: list[CancelReason] = []
    for value in msg.header_values("Reason"):
        try:
            reasons.extend(parse_reason(value))
        except SipParseError as exc:
            log.warning("CANCEL %s: Reason %r ignored: %s", msg.call_id, value[:80], exc)
    return tuple(reasons)


def _unsupported(msg: SipMessage) -> list[str]:
    """The option tags of `Require` we do not support, in order (RFC 3261 §8.2.2.3)."""
    tags: list[str] = []
    for value in msg.header_values("Require"):
        for tag in value.split(","):
            tag = tag.strip()
            if tag and tag.lower() not in SUPPORTED and tag not in tags:
                tags.append(tag)
    return tags[:16]


def _unsupported_body(msg: SipMessage) -> bool:
    """An offer we cannot read: a body whose type or encoding is not ours (§8.2.3)."""
    if not msg.body_raw.strip():
        return False
    encoding = (msg.header("Content-Encoding") or "identity").strip().lower()
    return msg.content_type not in BODY_TYPES or encoding not in ("", "identity")


def check_local_address(host: str) -> None:
    """Raise `LineConfigError` unless `host` is one of this machine's addresses.

    The advertised address goes into Via, Contact and SDP; one this host does not have sends
    every response and all RTP to somebody else, so the line refuses to start with it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_DGRAM)
    try:
        probe.bind((host, 0))
    except OSError as exc:
        raise LineConfigError(
            f"local_address {host} is not an address of this host ({exc.strerror or exc}); "
            "give the address the PBX reaches this machine at", title="Line address") from None
    finally:
        probe.close()


def _caller_sends_nothing(msg: SipMessage) -> bool:
    """True if the SDP's direction says the caller will send no RTP (RFC 3264 §5.1, §8.4)."""
    if msg.content_type != "application/sdp":
        return False
    lines = msg.body_raw.decode("utf-8", "replace").replace("\r", "").split("\n")
    return any(line.strip() in ("a=inactive", "a=recvonly") for line in lines)


class DutyLine:
    """The duty line over pyVoIP; implements `sip.api.Line`.

    `transport`, `scheduler` and `media` are for tests (fakes); by default the line binds UDP,
    runs its own timer thread, and uses `sip.media.MediaEngine`.
    """

    def __init__(self, config: LineConfig, on_event: EventSink,
                 clock: Callable[[], float] = time.monotonic, *,
                 transport: Transport | None = None, scheduler: Scheduler | None = None,
                 media: MediaFactory | None = None) -> None:
        config.validate()
        self.config = config
        self.clock = clock
        self._on_event = on_event
        self._transport_given = transport
        self._scheduler_given = scheduler
        self._media_given = media
        self.lock = threading.RLock()
        self._calls: dict[str, DutyCall] = {}
        self._ended: dict[str, _Ended] = {}
        self._refused: dict[str, _Ended] = {}
        self._requests: dict[tuple[str, int, str], _ClientRequest] = {}
        self._outgoing: dict[str, DutyOutgoingCall] = {}
        """Calls we placed (`dial`, RFC 3261 UAC), by Call-ID, until a while after their end."""
        self._refusal_log: dict[tuple[str, str], float] = {}
        self._refusals_held: dict[tuple[str, str], RequestRefused] = {}
        """The next report of each (source, method), counting the requests refused since the
        last one: the security log keeps every one of them, aggregated, not only the ones we
        logged. Sent with the next request after `REFUSAL_LOG_INTERVAL`, or by
        `flush_refusals` (at stop)."""
        self._status = LineStatus.STOPPED
        self._events: queue.Queue[LineEvent | None] = queue.Queue()
        self._dispatcher: threading.Thread | None = None
        self._trusted = [ipaddress.ip_network(n, strict=False)
                         for n in (config.registrar_host, *config.trusted_sources)]
        self.media_networks = config.effective_media_networks()
        """Where RTP may go (an SDP elsewhere gets 488)."""
        self._media_peers = [ipaddress.ip_network(n, strict=False)
                             for n in (config.registrar_host, *config.media_peers)]
        self.parse_errors = 0
        self.transport: Transport | None = None
        self.registration: Registration | None = None
        self._to_prepare: list[Prompt] = []

    # ------------------------------------------------------------ Line protocol

    @property
    def status(self) -> LineStatus:
        return self._status

    def start(self, timeout: float = 10.0) -> None:
        if self.transport is not None:
            raise RegistrationError("the line is already started", title="Line")
        cfg = self.config
        if self._transport_given is None:
            check_local_address(cfg.local_host)
            transport: Transport = UdpTransport(cfg.bind_address, cfg.sip_port)
        else:
            transport = self._transport_given
        self.scheduler = self._scheduler_given or ThreadScheduler(self.clock)
        self.transport = transport
        self.media = self._media_given or self._default_media()
        for prompt in self._to_prepare:
            self.media.prepare(prompt)
        self._to_prepare.clear()
        self.client = DutySipClient(cfg.registrar_host, cfg.registrar_port, cfg.extension,
                                    cfg.secret, cfg.local_host, self.transport.local_port,
                                    cfg.user_agent)
        self._dispatcher = threading.Thread(target=self._dispatch, name="sip-events",
                                            daemon=True)
        self._dispatcher.start()
        self.registration = Registration(
            self.client, lambda text: self.send_text(text, self.registrar), self.scheduler,
            cfg.register_expires, cfg.retry_seconds, self._status_changed)
        self.transport.start(self.on_datagram)
        self.registration.start()
        if not self.registration.first_done.wait(timeout) and self._scheduler_given is None:
            log.warning("registration still pending after %.1f s; retrying in background",
                        timeout)
        outcome = self.registration.first_outcome
        if outcome == RegistrationOutcome.BAD_CREDENTIALS:
            reason = self.registration.first_reason or "bad credentials"
            self.stop()
            raise RegistrationError(reason)

    def stop(self) -> None:
        with self.lock:
            calls = list(self._calls.values())
            outgoing = list(self._outgoing.values())
        for placed in outgoing:
            placed.shutdown()
        for call in calls:
            with self.lock:
                if call.state is CallState.RINGING:
                    call._final(480, reason="Temporarily Unavailable")
                    call._end(EndReason.SHUTDOWN)
                elif call.state is CallState.ANSWERED:
                    call._bye(EndReason.SHUTDOWN, "line stopped", wait=False)
        if self.registration is not None:
            self.registration.stop()
            if self._scheduler_given is None:
                self.registration.unregistered.wait(2.0)
        self._status_changed(LineStatus.STOPPED, "stopped")
        if self.transport is not None:
            self.transport.close()
        if self._scheduler_given is None and getattr(self, "scheduler", None) is not None:
            self.scheduler.close()
        if self._media_given is None and getattr(self, "media", None) is not None:
            self.media.close()
        self.flush_refusals()  # nothing more arrives: the counts still held are reported
        self._events.put(None)
        if self._dispatcher is not None and self._dispatcher is not threading.current_thread():
            self._dispatcher.join(timeout=2)
        self.transport = None

    def probe(self, target_uri: str, timeout: float = 2.0) -> bool:
        """OPTIONS to `target_uri` through the proxy (RFC 3261 §11): True if the target answered.

        A final answer from the target is True, even 486 (busy is reachable, §11.2); the
        proxy's own 404/408/410/480 or a 5xx/6xx mean nobody is there to take a call.
        """
        if ":" not in target_uri or any(c in target_uri for c in "<>\r\n "):
            raise CallStateError(f"probe target {target_uri!r} is not a SIP URI")
        if self.transport is None:  # a watcher that started before the line (issue 11)
            raise CallStateError("the line is not started: nothing can be probed yet")
        call_id = self.client.gen_call_id()
        from_ = f"<{self.client.aor}>;tag={self.client.new_tag()}"

        def build(cseq: int, extra: tuple[str, ...] = ()) -> str:
            return self.client.gen_request(
                "OPTIONS", target_uri, from_=from_, to=f"<{target_uri}>", call_id=call_id,
                cseq=cseq, extra=("Accept: application/sdp", *extra))

        req = self._send_request(build(1), self.registrar, (call_id, 1, "OPTIONS"), target_uri,
                                 lambda auth: (build(2, (auth,)), 2))
        req.done.wait(timeout)
        with self.lock:
            self._drop_request(req.key)
        code = req.response.status_code if req.response is not None else 0
        # a challenge we could not answer says nothing about the target (§22.3)
        return 200 <= code < 500 and code not in (401, 404, 407, 408, 410, 480)

    def dial(self, number: str, ring_seconds: float = 30.0) -> DutyOutgoingCall:
        """Place a call to `number` through the proxy (`sip.api.Dialler`; `sip.originate`).

        `DialError` when the line is not registered (a request the registrar never saw us
        for would be refused, RFC 3261 §10), is at `max_calls`, or `number` is no number.
        """
        if self.transport is None or self._status is not LineStatus.REGISTERED:
            raise DialError(f"the line is not registered ({self._status.value}): "
                            "nothing can be dialled now")
        with self.lock:
            up = len(self._calls) + sum(c.state is not CallState.ENDED
                                        for c in self._outgoing.values())
        if up >= self.config.max_calls:
            raise DialError(f"{up} calls are up (max_calls {self.config.max_calls})")
        return originate(self, number, ring_seconds)

    def forget_outgoing(self, call: DutyOutgoingCall) -> None:
        """Drop an outgoing call that ended a while ago (its retransmissions are over)."""
        with self.lock:
            if self._outgoing.get(call.call_id) is call:
                del self._outgoing[call.call_id]

    def prepare(self, prompts: Iterable[Prompt]) -> None:
        """Encode `prompts` for every codec now (before `start()`: as it starts)."""
        items = list(prompts) if not isinstance(prompts, Prompt) else [prompts]
        for prompt in items:
            if not isinstance(prompt, Prompt):
                raise MediaError(f"prepare() needs Prompts, not {type(prompt).__name__}")
        media: MediaFactory | None = getattr(self, "media", None)
        if media is None:
            self._to_prepare.extend(items)
            return
        for prompt in items:
            media.prepare(prompt)

    def calls(self) -> list[DutyCall]:  # type: ignore[override]
        with self.lock:
            return list(self._calls.values())

    # ------------------------------------------------------------ plumbing used by calls

    @property
    def registrar(self) -> Address:
        return (self.config.registrar_host, self.config.registrar_port)

    def emit(self, event: LineEvent) -> None:
        self._events.put(event)

    def _dispatch(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            try:
                self._on_event(event)
            except Exception:
                log.exception("event handler failed on %s", type(event).__name__)

    def send_text(self, text: str, addr: Address) -> None:
        if self.transport is not None:
            self.transport.send(text.encode("utf-8"), addr)

    def reliable_final(self, txn: _ServerInvite, text: str,
                       on_timeout: Callable[[], None] | None = None) -> None:
        """Retransmit a final INVITE response T1, 2T1... until ACK or timer H (§17.2.1)."""
        self.stop_retransmit(txn)
        txn.response, txn.final, txn.acked = text, True, False

        def again(interval: float) -> None:
            with self.lock:
                if txn.acked:
                    return
                self.send_text(txn.response, txn.addr)
                nxt = min(interval * 2, T2)
                txn.timer = self.scheduler.call_later(nxt, lambda: again(nxt), "invite-G")

        def give_up() -> None:
            with self.lock:
                if txn.acked:
                    return
                self.stop_retransmit(txn)
            if on_timeout is not None:
                on_timeout()

        txn.timer = self.scheduler.call_later(T1, lambda: again(T1), "invite-G")
        txn.deadline = self.scheduler.call_later(TIMER_H, give_up, "invite-H")

    def stop_retransmit(self, txn: _ServerInvite) -> None:
        for handle in (txn.timer, txn.deadline):
            if handle is not None:
                handle.cancel()
        txn.timer = txn.deadline = None

    def send_in_dialog(self, call: DutyCall | DutyOutgoingCall, method: str,
                       extra: tuple[str, ...]) -> _ClientRequest:
        """BYE/REFER with our Via, our CSeq, the route set (§12.2.1.1)."""
        dialog = call.dialog
        assert dialog is not None  # an outgoing call has one from its 2xx on
        cseq = dialog.next_cseq()
        uri, routes = dialog.request_target()
        text = self.client.gen_request(method, uri, from_=dialog.local_header,
                                       to=dialog.remote_party, call_id=dialog.call_id,
                                       cseq=cseq, routes=routes, extra=extra)
        hop = dialog.first_hop()
        addr = hop if hop is not None and self.trusted(hop[0]) else call.source

        def rebuild(auth: str) -> tuple[str, int]:
            again = dialog.next_cseq()  # a new request in the dialog (RFC 3261 §22.2)
            return self.client.gen_request(method, uri, from_=dialog.local_header,
                                           to=dialog.remote_party, call_id=dialog.call_id,
                                           cseq=again, routes=routes,
                                           extra=(*extra, auth)), again

        return self._send_request(text, addr, (dialog.call_id, cseq, method), uri, rebuild)

    def _send_request(self, text: str, addr: Address, key: tuple[str, int, str],
                      uri: str = "", rebuild: Rebuild | None = None) -> _ClientRequest:
        """Non-INVITE client transaction: timer E retransmissions, timer F = 64*T1 (§17.1.2).

        A 401/407 is answered once with credentials (§22.2, §22.3) when `rebuild` is given:
        an Asterisk endpoint with auth challenges every request, its BYE and REFER too.
        """
        req = _ClientRequest(text=text, addr=addr, key=key, uri=uri, rebuild=rebuild)
        with self.lock:
            self._requests[key] = req
            self._transmit(req)
        return req

    def _transmit(self, req: _ClientRequest) -> None:
        """Send `req` now and arm its retransmissions (lock held)."""
        self.send_text(req.text, req.addr)
        req.left = TIMER_H - T1
        key = req.key

        def again(interval: float) -> None:
            with self.lock:
                if req.done.is_set() or self._requests.get(key) is not req:
                    return
                if req.left <= 0:
                    self._drop_request(key)
                    req.done.set()
                    return
                self.send_text(req.text, req.addr)
                nxt = min(interval * 2, T2)
                req.left -= nxt
                req.timer = self.scheduler.call_later(nxt, lambda: again(nxt), f"{key[2]}-E")

        req.timer = self.scheduler.call_later(T1, lambda: again(T1), f"{key[2]}-E")

    def _authenticate(self, req: _ClientRequest, msg: SipMessage) -> bool:
        """Answer a 401/407 to `req` once with our digest (RFC 3261 §22.2); lock held."""
        header = "WWW-Authenticate" if msg.status_code == 401 else "Proxy-Authenticate"
        challenge = msg.header(header)
        if req.rebuild is None or req.authenticated or not challenge:
            return False
        answer = "Authorization" if msg.status_code == 401 else "Proxy-Authorization"
        method = req.key[2]
        digest = self.client.digest_header(parse_challenge(challenge), method, req.uri)
        text, cseq = req.rebuild(f"{answer}: {digest}")
        self._drop_request(req.key)
        req.text, req.key, req.authenticated = text, (req.key[0], cseq, method), True
        self._requests[req.key] = req
        self._transmit(req)
        return True

    def _drop_request(self, key: tuple[str, int, str]) -> None:
        req = self._requests.pop(key, None)
        if req is not None and req.timer is not None:
            req.timer.cancel()

    def forget(self, call: DutyCall) -> None:
        """Drop an ended call; keep only what answers retransmissions, for a while."""
        self._calls.pop(call.call_id, None)
        self._ended[call.call_id] = _Ended(call.txn, call.dialog.local_tag,
                                           self.clock() + ENDED_MEMORY)

    def must_latch(self, host: str, source: Address) -> bool:
        """Whether RTP to the SDP's `host` must wait for the caller's first packet.

        Sent at once only to the signalling peer (the packet source of the INVITE, §18.2.2),
        the registrar or a configured media peer; any other address could be a third host
        the caller names to have us stream at it (issue 15), so we latch (RFC 4961 §3).
        """
        if self.config.rtp_latching is RtpLatching.ALWAYS:
            return True
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return True
        if host == source[0]:
            return False
        return not any(ip in net for net in self._media_peers)

    @property
    def observed_address(self) -> Address | None:
        """Where the registrar saw our REGISTER come from (its Via received/rport, RFC 3581
        §4), None until a 2xx said so; differs from what we advertise behind a NAT."""
        registration = self.registration
        return registration.observed if registration is not None else None

    @property
    def binding(self) -> LineBinding:
        """The socket's port (None until bound) and the registrar's grant or refusal."""
        transport, registration = self.transport, self.registration
        port = transport.local_port if transport is not None else None
        if registration is None:
            return LineBinding(port)
        refused = registration.first_outcome not in (None, RegistrationOutcome.OK)
        return LineBinding(port, registration.granted,
                           registration.first_reason if refused else "")

    def trusted(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in net for net in self._trusted)

    # ------------------------------------------------------------ receiving

    def on_datagram(self, data: bytes, source: Address) -> None:
        """Everything that arrives on the SIP socket; never raises."""
        if not data.strip(b"\r\n\x00 "):
            return  # keep-alive (RFC 5626 §4.4.1)
        try:
            msg = parse_message(data)
        except SipParseError as exc:
            self.parse_errors += 1
            self._log_refusal(source, "?", f"unparsable datagram ({exc})")
            return
        msg.source = source
        try:
            with self.lock:
                self._prune()
                if msg.is_request:
                    self._on_request(msg, source)
                else:
                    self._on_response(msg, source)
        except Exception:
            log.exception("handling %s from %s:%s failed", msg.summary(), *source)
            if msg.is_request and msg.method not in ("ACK",):
                self.send_text(self.client.gen_response(msg, 500, to_tag=self.client.new_tag()),
                               source)

    def _on_response(self, msg: SipMessage, source: Address) -> None:
        if not self.trusted(source[0]):
            return
        if self.registration is not None and msg.call_id == self.registration.call_id:
            self.registration.on_response(msg)
            return
        placed = self._outgoing.get(msg.call_id)
        if placed is not None and msg.cseq_method == "INVITE":
            placed.on_response(msg, source)  # our INVITE's transaction (RFC 3261 §17.1.1)
            return
        if msg.status_code < 200:
            return
        req = self._requests.get((msg.call_id, msg.cseq, msg.cseq_method))
        if req is not None:
            if msg.status_code in (401, 407) and self._authenticate(req, msg):
                return
            req.response = msg
            self._drop_request((msg.call_id, msg.cseq, msg.cseq_method))
            req.done.set()

    def _on_request(self, msg: SipMessage, source: Address) -> None:
        method = msg.method
        if not self.trusted(source[0]):
            self._refuse_source(msg, source)
            return
        if method == "ACK":
            self._on_ack(msg)
            return
        if msg.defect is not None:
            code, reason = msg.defect
            self._reply(msg, source, code, reason=reason)
            return
        handler = {
            "INVITE": self._on_invite, "BYE": self._on_bye, "CANCEL": self._on_cancel,
            "OPTIONS": self._on_options, "INFO": self._on_info, "NOTIFY": self._on_notify,
            "REFER": self._on_refer,
        }.get(method)
        if handler is None:  # the method first (§8.2.1)
            self._reply(msg, source, 405 if method in _KNOWN_NOT_ALLOWED else 501)
            return
        scheme = msg.request_uri.split(":", 1)[0].lower()
        if scheme not in SCHEMES:  # then the Request-URI (§8.2.2.1)
            self._refuse_early(msg, source, 416, f"Request-URI scheme {scheme[:20]!r}")
            return
        unsupported = [] if method == "CANCEL" else _unsupported(msg)
        if unsupported:  # then what the request requires of us (§8.2.2.3)
            self._refuse_early(msg, source, 420, f"requires {', '.join(unsupported)}",
                               (f"Unsupported: {', '.join(unsupported)}",))
            return
        handler(msg, source)

    def _refuse_early(self, msg: SipMessage, source: Address, code: int, why: str,
                      extra: tuple[str, ...] = ()) -> None:
        """A final answer before any dialog: an INVITE's is retransmitted until ACKed (§17.2.1)
        unless it retransmits the request itself (answered from memory, as any INVITE)."""
        if msg.method != "INVITE" or msg.to_addr.tag:
            self._reply(msg, source, code, extra=extra)
            return
        old = self._refused.get(msg.call_id)
        if old is not None:
            self.send_text(old.txn.response, source)
            return
        self._refuse_invite(msg, source, self.client.new_tag(), code, why, extra)

    def _reply(self, msg: SipMessage, source: Address, code: int, reason: str | None = None,
               extra: tuple[str, ...] = (), to_tag: str | None = None,
               contact: bool = False) -> str:
        text = self.client.gen_response(msg, code, to_tag=to_tag or self.client.new_tag(),
                                        reason=reason, extra=extra, contact=contact)
        self.send_text(text, source)
        return text

    def _refuse_source(self, msg: SipMessage, source: Address) -> None:
        """§9 of the issue: a scanner gets one 403 per interval for INVITE, silence otherwise."""
        key = (source[0], msg.method)
        now = self.clock()
        report = RequestRefused(source[0], msg.method, 403, "source not trusted", msg.call_id,
                                msg.from_addr.user, trusted_source=False,
                                count=self._held_count(key) + 1)
        if now - self._refusal_log.get(key, -1e9) >= REFUSAL_LOG_INTERVAL:
            self._refusal_log[key] = now
            log.warning("refused %s from untrusted %s:%s", msg.method, *source)
            if msg.method == "INVITE":
                self._reply(msg, source, 403)
            self.emit(report)
        else:
            self._refusals_held[key] = report
        self._bound_refusals()

    def _held_count(self, key: tuple[str, str]) -> int:
        """Requests of `key` counted since its last report (taking them out of the table)."""
        held = self._refusals_held.pop(key, None)
        return 0 if held is None else held.count

    def flush_refusals(self) -> None:
        """Report every refusal counted but not reported yet (issue 10: the security log
        keeps every request). At stop, before the line's events end, so the flow writes
        them before the shutdown anchor; and before a sweep's table of sources is cleared."""
        held, self._refusals_held = self._refusals_held, {}
        for report in held.values():
            self.emit(report)

    def _bound_refusals(self) -> None:
        """A sweep from many addresses must not grow memory: forget the oldest sources."""
        if len(self._refusal_log) > 1024:
            self.flush_refusals()  # what they stand for is reported, not forgotten
            self._refusal_log.clear()

    def _log_refusal(self, source: Address, method: str, reason: str) -> None:
        """A datagram that is no SIP message: logged and reported (aggregated) per source."""
        key = (source[0], method)
        now = self.clock()
        report = RequestRefused(source[0], method, 0, reason,
                                trusted_source=self.trusted(source[0]),
                                count=self._held_count(key) + 1, malformed=True)
        if now - self._refusal_log.get(key, -1e9) >= REFUSAL_LOG_INTERVAL:
            self._refusal_log[key] = now
            log.warning("dropped datagram from %s:%s: %s", source[0], source[1], reason)
            self.emit(report)
        else:
            self._refusals_held[key] = report
        self._bound_refusals()

    # ------------------------------------------------------------ per method

    def _on_invite(self, msg: SipMessage, source: Address) -> None:
        placed = self._outgoing.get(msg.call_id)
        if placed is not None and placed.dialog is not None and placed.dialog.matches(msg):
            placed.on_reinvite(msg, source)  # the callee's re-INVITE in our dialog (§14.2)
            return
        call = self._calls.get(msg.call_id)
        if call is not None and msg.from_addr.tag == call.dialog.remote_tag:
            if not msg.to_addr.tag and msg.cseq == call.dialog.remote_cseq:
                self.send_text(call.txn.response, source)  # retransmission (§17.2.1)
            elif msg.to_addr.tag == call.dialog.local_tag and msg.cseq > call.dialog.remote_cseq:
                call.on_reinvite(msg, source)
            elif msg.to_addr.tag == call.dialog.local_tag and msg.cseq == call.dialog.remote_cseq:
                self.send_text(call.txn.response, source)  # re-INVITE retransmission
            else:
                self._reply(msg, source, 491 if msg.to_addr.tag else 482,
                            reason=None if msg.to_addr.tag else "Loop Detected")
            return
        old = self._ended.get(msg.call_id) or self._refused.get(msg.call_id)
        if old is not None and (not msg.to_addr.tag or msg.to_addr.tag == old.local_tag):
            if not msg.to_addr.tag:
                self.send_text(old.txn.response, source)
            else:
                self._reply(msg, source, 481)
            return
        if msg.to_addr.tag:
            self._reply(msg, source, 481)
            self.emit(RequestRefused(source[0], "INVITE", 481, "unknown dialog", msg.call_id,
                                     msg.from_addr.user))
            return
        local_tag = self.client.new_tag()
        self.send_text(self.client.gen_response(msg, 100), source)
        if len(self._calls) >= self.config.max_calls:
            self._refuse_invite(msg, source, local_tag, 486, "over max_calls")
            return
        if _unsupported_body(msg):
            self._refuse_invite(msg, source, local_tag, 415,
                                f"body of type {msg.content_type or '?'} not supported",
                                extra=(f"Accept: {', '.join(BODY_TYPES)}",
                                       "Accept-Encoding: identity"))
            return
        try:
            offer = parse_offer(msg, self.media_networks)
        except SdpRejected as exc:
            self._refuse_invite(msg, source, local_tag, 488, str(exc),
                                extra=(f"Warning: {exc.warning}",))
            return
        try:
            session = self.media.allocate()
        except MediaError as exc:
            self._refuse_invite(msg, source, local_tag, 500, f"media: {exc}")
            return
        except Exception as exc:
            log.exception("media allocation failed")
            self._refuse_invite(msg, source, local_tag, 500, f"media: {exc}")
            return
        try:
            call = DutyCall(self, msg, source, offer, session, local_tag, self.clock())
            ringing = self.client.gen_response(msg, 180, to_tag=local_tag, contact=True,
                                               record_route=True)
            call.txn.response = ringing
            self._calls[call.call_id] = call
            self.send_text(ringing, source)
            call.ring_started_at = self.clock()
        except Exception as exc:
            log.exception("INVITE %s could not be set up", msg.call_id)
            self._calls.pop(msg.call_id, None)
            session.close()
            self._refuse_invite(msg, source, local_tag, 500, f"internal error: {exc}")
            return
        self.emit(CallRinging(call))

    def _refuse_invite(self, msg: SipMessage, source: Address, local_tag: str, code: int,
                       why: str, extra: tuple[str, ...] = ()) -> None:
        text = self.client.gen_response(msg, code, to_tag=local_tag, extra=extra)
        txn = _ServerInvite(response=text, addr=source)
        self.send_text(text, source)
        self.reliable_final(txn, text)
        self._refused[msg.call_id] = _Ended(txn, local_tag, self.clock() + ENDED_MEMORY)
        log.info("refused INVITE %s from %s: %d %s", msg.call_id, msg.from_addr.user, code, why)
        self.emit(RequestRefused(source[0], "INVITE", code, why, msg.call_id, msg.from_addr.user))

    def _on_ack(self, msg: SipMessage) -> None:
        placed = self._outgoing.get(msg.call_id)
        if placed is not None and placed.dialog is not None and placed.dialog.matches(msg):
            placed.on_ack()
            return
        call = self._calls.get(msg.call_id)
        if call is not None:
            call.on_ack(msg)
            return
        old = self._ended.get(msg.call_id) or self._refused.get(msg.call_id)
        if old is not None:
            old.txn.acked = True
            self.stop_retransmit(old.txn)

    def _in_dialog(self, msg: SipMessage) -> DutyCall | None:
        call = self._calls.get(msg.call_id)
        return call if call is not None and call.dialog.matches(msg) else None

    def _on_bye(self, msg: SipMessage, source: Address) -> None:
        placed = self._outgoing.get(msg.call_id)
        if placed is not None and placed.dialog is not None and placed.dialog.matches(msg):
            self._reply(msg, source, 200)  # the callee hung up our call (RFC 3261 §15.1.2)
            placed.on_bye()
            return
        call = self._in_dialog(msg)
        if call is None or call.state is not CallState.ANSWERED:
            self._reply(msg, source, 481)
            return
        self._reply(msg, source, 200)
        call.on_bye()

    def _on_cancel(self, msg: SipMessage, source: Address) -> None:
        """§9.2: CANCEL matches the INVITE by Call-ID, From-tag, CSeq number, top branch."""
        call = self._calls.get(msg.call_id)
        ended = self._ended.get(msg.call_id) or self._refused.get(msg.call_id)
        if call is not None and call.dialog.remote_tag == msg.from_addr.tag \
                and call.invite.cseq == msg.cseq:
            self._reply(msg, source, 200, to_tag=call.dialog.local_tag)
            call.on_cancel(_cancel_reasons(msg))
        elif ended is not None:
            self._reply(msg, source, 200, to_tag=ended.local_tag)
        else:
            self._reply(msg, source, 481)

    def _on_options(self, msg: SipMessage, source: Address) -> None:
        self._reply(msg, source, 200, contact=True,
                    extra=("Accept: application/sdp", "Supported: "),
                    to_tag=msg.to_addr.tag or None)

    def _on_info(self, msg: SipMessage, source: Address) -> None:
        placed = self._outgoing.get(msg.call_id)
        if placed is not None and placed.dialog is not None and placed.dialog.matches(msg):
            self._reply(msg, source, 200)  # the callee's DTMF: nothing the console reads
            return
        call = self._in_dialog(msg)
        if call is None:
            self._reply(msg, source, 481)
            return
        self._reply(msg, source, 200)
        call.on_info(msg)

    def _on_notify(self, msg: SipMessage, source: Address) -> None:
        if not msg.to_addr.tag:
            self._reply(msg, source, 200)  # unsolicited NOTIFY from the PBX (MWI and such)
            return
        call = self._in_dialog(msg)
        if call is None:
            self._reply(msg, source, 481)
            return
        self._reply(msg, source, 200)
        call.on_notify(msg)

    def _on_refer(self, msg: SipMessage, source: Address) -> None:
        self._reply(msg, source, 403, reason="Transfer On Request Not Allowed")
        self.emit(RequestRefused(source[0], "REFER", 403, "the line never transfers on request",
                                 msg.call_id, msg.from_addr.user))

    # ------------------------------------------------------------ bookkeeping

    def _prune(self) -> None:
        now = self.clock()
        for memo in (self._ended, self._refused):
            for cid in [c for c, e in memo.items() if e.until <= now]:
                entry = memo.pop(cid)
                self.stop_retransmit(entry.txn)

    def _status_changed(self, status: LineStatus, reason: str) -> None:
        if status != self._status:
            self._status = status
            self.emit(LineStatusChanged(status, reason))

    def _default_media(self) -> MediaFactory:
        from sip.media import MediaEngine  # another module of sip/, loaded only when needed

        cfg = self.config
        return MediaEngine(cfg.bind_address, cfg.rtp_port_low, cfg.rtp_port_high,  # type: ignore[no-any-return]
                           self.media_networks, self.clock)

    def pending_memory(self) -> dict[str, int]:
        """Sizes of the per-call tables (tests check memory stays bounded)."""
        with self.lock:
            return {"calls": len(self._calls), "ended": len(self._ended),
                    "refused": len(self._refused), "requests": len(self._requests)}


__all__ = ["ALLOW", "DutyCall", "DutyLine"]
