"""Calls the line places (RFC 3261 UAC, §13.2): the INVITE, its CANCEL, ACK and BYE.

The duty line answers calls; the only calls it places are the console's callbacks (回访,
which the console decides; this module knows nothing of them). Built on the line's own
pieces — its `DutySipClient` for messages and digest answers, its scheduler for timers,
its non-INVITE client transaction for CANCEL and BYE (`DutyLine._send_request`,
`send_in_dialog`), its media engine for RTP — so nothing here talks to pyVoIP directly:

- the INVITE client transaction (§17.1.1): timer A retransmits it at T1, 2·T1, … until a
  provisional or final answer comes (§17.1.1.2), timer B (64·T1) gives up without one;
- a 401/407 is ACKed and the INVITE sent once more with credentials, with the next CSeq
  (§22.2, §22.3; §8.1.3.5);
- the ring time over, the INVITE is CANCELled (§9.1) — never before a provisional answer
  came (§9.1: "SHOULD NOT be sent … before a provisional response"); the 487 is ACKed;
- a non-2xx final answer is ACKed inside the transaction: same branch and Request-URI, the
  To with the callee's tag (§17.1.1.3);
- a 2xx makes the dialog (§12.1.2: route set = Record-Route reversed, remote target = its
  Contact) and is ACKed as a transaction of its own through the route set, again for every
  retransmitted 2xx (§13.2.2.4); a 2xx that crosses our CANCEL is ACKed and then BYEd (§9.1);
- BYE from the dialog ends it (§15.1.1); the callee's BYE is answered 200 by the line and
  ends it too (§15.1.2);
- the callee's re-INVITE (hold, a session refresh) is answered in the dialog with our SDP and
  the RTP retargeted (§14.2), its 200 retransmitted until the ACK (§13.3.1.4); INFO (DTMF) is
  answered 200. Neither is a request "for an unknown dialog" (which the console would
  record as a refused, missed call).

Every call gets its own Call-ID from the client (§8.1.1.4: unique across runs), its own
From tag and its own branches (§8.1.1.7).
"""

from __future__ import annotations

import logging
import random
import re
import threading
from typing import TYPE_CHECKING

from sip.api import (
    CallState,
    DialError,
    DialResult,
    EndReason,
    MediaError,
)
from sip.call_audio import CallAudio
from sip.dialog import Dialog, SdpOffer, SdpRejected, build_answer, parse_offer
from sip.message import SipMessage
from sip.pyvoip_client import ALLOW, parse_challenge
from sip.timers import T1, TIMER_H, TimerHandle

if TYPE_CHECKING:
    from sip.line import DutyLine, RtpSession, _ServerInvite

log = logging.getLogger("sip.originate")

TIMER_B = 64 * T1
"""RFC 3261 §17.1.1.2: how long the INVITE waits for any answer before giving up (32 s)."""
CANCEL_WAIT = TIMER_H
"""After our CANCEL, how long we wait for the INVITE's final answer (487) before giving up."""
FINISHED_MEMORY = TIMER_H
"""How long an ended outgoing call still answers retransmitted finals with its ACK."""
BYE_WAIT = 2.0
"""How long `hangup()` waits for the 200 to its BYE (off the line's own threads)."""
NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
"""What the line puts in a Request-URI's user part: digits, * and #, an optional leading +
(RFC 3966 §5.1 global/local numbers, without visual separators). Nothing else gets in."""


def check_number(number: object) -> str:
    """`number` if the line can dial it, else `DialError` (a URI injected is refused)."""
    if not isinstance(number, str) or NUMBER.fullmatch(number) is None:
        raise DialError(f"{number!r} is not a number the line can dial (digits, *, #, leading +)")
    return number


def build_offer(local_ip: str, port: int, session_id: int) -> str:
    """Our SDP offer (RFC 3264 §5): one audio stream, PCMU and PCMA, telephone-event 101."""
    ip_kind = "IP6" if ":" in local_ip else "IP4"
    lines = [
        "v=0", f"o=duty {session_id} 1 IN {ip_kind} {local_ip}", "s=duty line",
        f"c=IN {ip_kind} {local_ip}", "t=0 0", f"m=audio {port} RTP/AVP 0 8 101",
        "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv",
    ]
    return "\r\n".join(lines) + "\r\n"


class ClientDialog(Dialog):
    """The dialog a 2xx to our INVITE makes (RFC 3261 §12.1.2), as the UAC."""

    def __init__(self, response: SipMessage, local_party: str, local_tag: str, cseq: int,
                 request_uri: str) -> None:
        self.call_id = response.call_id
        self.local_tag = local_tag
        self.remote_tag = response.to_addr.tag
        self.local_party = local_party
        self.remote_party = response.header("To") or ""
        contact = response.contact
        self.remote_target = contact.uri if contact else request_uri
        # §12.1.2: the route set is the Record-Route of the 2xx in reverse order
        self.route_set = tuple(reversed(response.header_values("Record-Route")))
        self.local_cseq = cseq
        self.remote_cseq = 0


class DutyOutgoingCall(CallAudio):
    """One call the line placed; implements `sip.api.OutgoingCall`. Built by `DutyLine.dial`."""

    def __init__(self, line: DutyLine, number: str, ring_seconds: float,
                 session: RtpSession) -> None:
        self._line = line
        self._number = number
        self.session = session
        session.on_dtmf = None
        client = line.client
        cfg = line.config
        host = f"[{cfg.registrar_host}]" if ":" in cfg.registrar_host else cfg.registrar_host
        self.uri = f"sip:{number}@{host}:{cfg.registrar_port}"
        self._to = f"<sip:{number}@{host}>"
        self._call_id = client.gen_call_id()
        self._local_tag = client.new_tag()
        self._from_party = f"<{client.aor}>"
        self._from = f"{self._from_party};tag={self._local_tag}"
        self.source = line.registrar
        """Where requests go when the dialog names no trusted first hop (the proxy)."""
        self.dialog: ClientDialog | None = None
        self._cseq = random.randint(1, 2**20)
        self._branch = ""
        self._invite = ""
        self._ring_seconds = ring_seconds
        self._state = CallState.RINGING
        self._result: DialResult | None = None
        self._final = threading.Event()
        self._ended = threading.Event()
        self._ended_by: EndReason | None = None
        self._proceeding = False
        self._cancel_wanted = False
        self._cancelled = False
        self._by_us = False
        self._authenticated = False
        self._ack_2xx = ""
        self._timer_a: TimerHandle | None = None
        self._timer_b: TimerHandle | None = None
        self._ring_timer: TimerHandle | None = None
        self._sdp_id = random.randint(1, 2**31)
        self._sdp_version = 1
        self._answer: SdpOffer | None = None
        """The callee's SDP answer (then its latest re-INVITE offer): what our RTP follows."""
        self._reinvite: _ServerInvite | None = None

    # ------------------------------------------------------------ OutgoingCall protocol

    @property
    def call_id(self) -> str:
        return self._call_id

    @property
    def number(self) -> str:
        return self._number

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def ended_by(self) -> EndReason | None:
        return self._ended_by

    def wait_final(self, timeout: float | None = None) -> DialResult | None:
        self._final.wait(timeout)
        return self._result

    def wait_ended(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    def hangup(self) -> None:
        """CANCEL while ringing (§9.1), BYE once answered (§15.1.1); nothing once ended."""
        req = None
        with self._line.lock:
            self._by_us = True
            if self._state is CallState.RINGING:
                self._want_cancel()
                return
            if self._state is CallState.ANSWERED:
                req = self._line.send_in_dialog(self, "BYE", ())
                self._end(EndReason.LOCAL_HANGUP, "")
        if req is not None and threading.current_thread().name not in ("sip-recv", "sip-timers"):
            req.done.wait(BYE_WAIT)

    def __repr__(self) -> str:
        return f"DutyOutgoingCall({self.call_id!r}, {self._number!r}, {self._state.value})"

    # ------------------------------------------------------------ the INVITE transaction

    def start(self) -> None:
        """Send the INVITE and arm timers A and B and the ring time (line lock held)."""
        self._send_invite()
        self._ring_timer = self._line.scheduler.call_later(
            self._ring_seconds, self._ring_out, f"ring-out {self.call_id}")

    def _send_invite(self, auth: str | None = None) -> None:
        line = self._line
        self._branch = line.client.gen_branch()
        extra = [f"Allow: {ALLOW}"]
        if auth:
            extra.append(auth)
        body = build_offer(line.config.local_host, self.session.local_port, self._sdp_id)
        self._invite = line.client.gen_request(
            "INVITE", self.uri, from_=self._from, to=self._to, call_id=self._call_id,
            cseq=self._cseq, branch=self._branch, extra=tuple(extra), body=body,
            content_type="application/sdp")
        line.send_text(self._invite, self.source)
        self._cancel_timers(ring=False)
        self._timer_a = line.scheduler.call_later(T1, lambda: self._retransmit(T1), "invite-A")
        self._timer_b = line.scheduler.call_later(TIMER_B, self._timer_b_fired, "invite-B")

    def _retransmit(self, interval: float) -> None:
        """Timer A (§17.1.1.2): the INVITE again, the interval doubling, until an answer."""
        with self._line.lock:
            if self._proceeding or self._result is not None or self._state is CallState.ENDED:
                return
            self._line.send_text(self._invite, self.source)
            nxt = interval * 2
            self._timer_a = self._line.scheduler.call_later(
                nxt, lambda: self._retransmit(nxt), "invite-A")

    def _timer_b_fired(self) -> None:
        with self._line.lock:
            if self._proceeding or self._result is not None:
                return
            log.warning("outgoing %s to %s: no answer from the proxy in %.0f s", self.call_id,
                        self._number, TIMER_B)
            self._finish(DialResult(0, f"no answer from the proxy in {TIMER_B:.0f} s"),
                         EndReason.ERROR)

    def _ring_out(self) -> None:
        """The ring time is over: CANCEL (or as soon as a provisional answer allows it)."""
        with self._line.lock:
            if self._state is CallState.RINGING and self._result is None:
                log.info("outgoing %s to %s: no answer in %.0f s; cancelling", self.call_id,
                         self._number, self._ring_seconds)
                self._want_cancel()

    def _want_cancel(self) -> None:
        self._cancel_wanted = True
        if self._proceeding and not self._cancelled:
            self._send_cancel()

    def _send_cancel(self) -> None:
        """CANCEL (§9.1): the INVITE's Request-URI, Call-ID, From, To, branch and CSeq number."""
        self._cancelled = True
        text = self._line.client.gen_request(
            "CANCEL", self.uri, from_=self._from, to=self._to, call_id=self._call_id,
            cseq=self._cseq, branch=self._branch)
        self._line._send_request(text, self.source, (self._call_id, self._cseq, "CANCEL"))
        self._cancel_timers(ring=True)
        self._timer_b = self._line.scheduler.call_later(CANCEL_WAIT, self._cancel_unanswered,
                                                        "cancel-wait")

    def _cancel_unanswered(self) -> None:
        with self._line.lock:
            if self._result is None:
                self._finish(DialResult(487, "no final answer after our CANCEL"),
                             EndReason.LOCAL_HANGUP if self._by_us else EndReason.REFUSED)

    def on_response(self, msg: SipMessage, source: tuple[str, int]) -> None:
        """A response to our INVITE (the line routes it here; its lock is held)."""
        code = msg.status_code
        if msg.cseq != self._cseq:
            if code >= 300:  # a retransmitted final of the challenged INVITE: ACK it again
                self._ack_non_2xx(msg, cseq=msg.cseq)
            return
        if code < 200:
            if not self._proceeding:
                self._proceeding = True
                if self._timer_a is not None:
                    self._timer_a.cancel()
                if self._cancel_wanted and not self._cancelled:
                    self._send_cancel()
            return
        if code < 300:
            self._on_2xx(msg, source)
            return
        self._ack_non_2xx(msg)
        if self._result is not None:
            return  # a retransmission: ACKed again
        challenge = msg.header("WWW-Authenticate" if code == 401 else "Proxy-Authenticate")
        if code in (401, 407) and challenge and not self._authenticated:
            self._authenticated = True
            answer = "Authorization" if code == 401 else "Proxy-Authorization"
            digest = self._line.client.digest_header(parse_challenge(challenge), "INVITE",
                                                     self.uri)
            self._cseq += 1
            self._proceeding = False
            self._send_invite(f"{answer}: {digest}")
            return
        reason = EndReason.LOCAL_HANGUP if self._by_us else EndReason.REFUSED
        self._finish(DialResult(code, msg.reason or ""), reason, f"{code} {msg.reason}")

    def _ack_non_2xx(self, msg: SipMessage, cseq: int | None = None) -> None:
        """ACK of a non-2xx final, inside the INVITE transaction (§17.1.1.3)."""
        text = self._line.client.gen_request(
            "ACK", self.uri, from_=self._from, to=msg.header("To") or self._to,
            call_id=self._call_id, cseq=cseq if cseq is not None else self._cseq,
            branch=self._branch if cseq is None else self._line.client.gen_branch())
        self._line.send_text(text, self.source)

    def _on_2xx(self, msg: SipMessage, source: tuple[str, int]) -> None:
        if self.dialog is not None:
            if msg.to_addr.tag == self.dialog.remote_tag and self._ack_2xx:
                self._send_ack_2xx()  # a retransmitted 2xx: our ACK was lost (§13.2.2.4)
            return
        self.dialog = ClientDialog(msg, self._from_party, self._local_tag, self._cseq, self.uri)
        uri, routes = self.dialog.request_target()
        self._ack_2xx = self._line.client.gen_request(
            "ACK", uri, from_=self._from, to=msg.header("To") or self._to,
            call_id=self._call_id, cseq=self._cseq, routes=routes)
        self._send_ack_2xx()
        self._cancel_timers(ring=True)
        if self._state is CallState.ENDED:  # a 2xx after we gave up (timer B): ACK, BYE
            log.warning("outgoing %s: answered after it was given up; hanging up",
                        self.call_id)
            self._line.send_in_dialog(self, "BYE", ())
            return
        if self._cancel_wanted:  # the answer crossed our CANCEL: ACK, then BYE (§9.1, §15)
            self._move_answered()
            self._line.send_in_dialog(self, "BYE", ())
            self._finish(DialResult(487, "answered as we cancelled; hung up"),
                         EndReason.LOCAL_HANGUP)
            return
        try:
            answer = parse_offer(msg, self._line.media_networks)
        except SdpRejected as exc:
            log.warning("outgoing %s: the callee's answer has no usable audio: %s",
                        self.call_id, exc)
            self._move_answered()
            self._line.send_in_dialog(self, "BYE", ())
            self._finish(DialResult(488, f"the callee's SDP answer is unusable: {exc}"),
                         EndReason.ERROR, str(exc))
            return
        self._move_answered()
        self._answer = answer
        try:
            self.session.start((answer.host, answer.port), answer.codec, answer.dtmf_pt,
                               latch=self._line.must_latch(answer.host, source))
        except MediaError:
            log.exception("media start failed for outgoing %s", self.call_id)
        self._result = DialResult(msg.status_code, msg.reason or "OK")
        self._final.set()
        log.info("outgoing %s to %s answered (%d)", self.call_id, self._number, msg.status_code)

    def _send_ack_2xx(self) -> None:
        assert self.dialog is not None
        hop = self.dialog.first_hop()
        addr = hop if hop is not None and self._line.trusted(hop[0]) else self.source
        self._line.send_text(self._ack_2xx, addr)

    def _move_answered(self) -> None:
        self._state = CallState.ANSWERED

    # ------------------------------------------------------------ in the dialog

    def on_reinvite(self, msg: SipMessage, source: tuple[str, int]) -> None:
        """The callee's re-INVITE (§14.2): our answer, the same RTP session retargeted."""
        from sip.line import _ServerInvite  # the line's own transaction record (no cycle)

        line, client, dialog = self._line, self._line.client, self.dialog
        assert dialog is not None
        if self._reinvite is not None and msg.cseq == dialog.remote_cseq:
            line.send_text(self._reinvite.response, source)  # a retransmission (§17.2.1)
            return
        if self._state is not CallState.ANSWERED or self._answer is None:
            line.send_text(client.gen_response(msg, 491), source)
            return
        try:
            offer = parse_offer(msg, line.media_networks)
        except SdpRejected as exc:
            line.send_text(client.gen_response(msg, 488, extra=(f"Warning: {exc.warning}",)),
                           source)
            return
        if (offer.host, offer.port) != (self._answer.host, self._answer.port):
            try:
                self.session.retarget((offer.host, offer.port),
                                      latch=line.must_latch(offer.host, source))
            except Exception:
                log.exception("retarget failed for outgoing %s", self.call_id)
        # the codec stays as negotiated; the direction is the new offer's (RFC 3264 §8)
        self._answer = SdpOffer(offer.host, offer.port, self._answer.codec,
                                self._answer.dtmf_pt, offer.streams, offer.chosen,
                                offer.direction)
        self._sdp_version += 1
        body = build_answer(line.config.local_host, self.session.local_port, self._answer,
                            self._sdp_id, self._sdp_version)
        text = client.gen_response(msg, 200, contact=True, record_route=True, body=body,
                                   content_type="application/sdp")
        dialog.remote_cseq = msg.cseq
        if self._reinvite is not None:
            line.stop_retransmit(self._reinvite)
        self._reinvite = _ServerInvite(response=text, addr=source)
        line.send_text(text, source)
        line.reliable_final(self._reinvite, text)

    def on_ack(self) -> None:
        """The ACK of our 200 to the callee's re-INVITE: no more retransmissions."""
        if self._reinvite is not None:
            self._reinvite.acked = True
            self._line.stop_retransmit(self._reinvite)

    def on_bye(self) -> None:
        """The callee hung up (§15.1.2); the line has answered the BYE with 200."""
        if self._state is CallState.ANSWERED:
            self._end(EndReason.REMOTE_BYE, "")

    def shutdown(self) -> None:
        """The line stops: BYE an answered call, CANCEL a ringing one, without waiting."""
        with self._line.lock:
            if self._state is CallState.ANSWERED:
                self._line.send_in_dialog(self, "BYE", ())
                self._end(EndReason.SHUTDOWN, "line stopped")
            elif self._state is CallState.RINGING:
                if self._proceeding and not self._cancelled:
                    self._send_cancel()
                self._finish(DialResult(0, "the line stopped while it rang"),
                             EndReason.SHUTDOWN)

    # ------------------------------------------------------------ the end

    def _finish(self, result: DialResult, reason: EndReason, detail: str = "") -> None:
        """The final answer is known and the call is over (not answered, or hung up at once)."""
        if self._result is None:
            self._result = result
        self._final.set()
        self._end(reason, detail or f"{result.code} {result.reason}")

    def _end(self, reason: EndReason, detail: str) -> None:
        if self._state is CallState.ENDED:
            return
        self._state = CallState.ENDED
        self._ended_by = reason
        self._cancel_timers(ring=True)
        if self._reinvite is not None:
            self._line.stop_retransmit(self._reinvite)
        if self._result is None:
            self._result = DialResult(0, detail or reason.value)
        self._final.set()
        try:
            self.session.close()
        except Exception:
            log.exception("media close failed for outgoing %s", self.call_id)
        self._ended.set()
        log.info("outgoing %s to %s ended: %s %s", self.call_id, self._number, reason.value,
                 detail)
        line = self._line
        line.scheduler.call_later(FINISHED_MEMORY, lambda: line.forget_outgoing(self),
                                  f"forget {self.call_id}")

    def _cancel_timers(self, ring: bool) -> None:
        handles = [self._timer_a, self._timer_b] + ([self._ring_timer] if ring else [])
        for handle in handles:
            if handle is not None:
                handle.cancel()
        self._timer_a = self._timer_b = None
        if ring:
            self._ring_timer = None


def originate(line: DutyLine, number: str, ring_seconds: float) -> DutyOutgoingCall:
    """Place a call to `number` through the line's proxy (line lock not held)."""
    check_number(number)
    if not 1 <= ring_seconds <= 300:
        raise DialError(f"ring time {ring_seconds!r} s: must be 1-300 seconds")
    try:
        session = line.media.allocate()
    except MediaError as exc:
        raise DialError(f"no RTP port for the call: {exc}") from None
    with line.lock:
        call = DutyOutgoingCall(line, number, ring_seconds, session)
        line._outgoing[call.call_id] = call
        call.start()
    log.info("outgoing %s: INVITE %s", call.call_id, call.uri)
    return call
