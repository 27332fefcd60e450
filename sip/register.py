"""Registration of the duty line with its registrar (RFC 3261 §10, digest per RFC 2617).

Fixes stock pyVoIP: it reads the socket itself while registering (an OPTIONS arriving then is
lost), sends bursts of REGISTERs on a wrong password without saying so, answers only 401, and
gives up for good after three failures.  Here REGISTER is an ordinary client transaction: the
line's single receive thread hands us the responses, retransmissions follow timer E (§17.1.2.2),
401 and 407 are answered once per nonce (qop=auth when offered), and after any failure the
next attempt comes `retry_seconds` later, forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sip.api import LineStatus
from sip.message import SipMessage
from sip.pyvoip_client import ALLOW, DutySipClient, parse_challenge
from sip.timers import T1, T2, Scheduler, TimerHandle

log = logging.getLogger("sip.register")

ATTEMPT_TIMEOUT = 8.0
"""Seconds without any response before an attempt counts as failed (registrar unreachable)."""
REFRESH_CAP = 45.0
"""Longest pause between refreshes, whatever the registrar grants: a registrar that restarted
and forgot us (in-memory location table) has us back within a minute (issue 2, point 1)."""


class RegistrationOutcome:
    """How the first attempt ended, for `start()`."""

    OK = "ok"
    BAD_CREDENTIALS = "bad-credentials"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"


class Registration:
    """Keeps the line registered: attempt, authenticate, refresh, retry, unregister."""

    def __init__(self, client: DutySipClient, send: Callable[[str], None], scheduler: Scheduler,
                 expires: int, retry_seconds: float,
                 on_status: Callable[[LineStatus, str], None]) -> None:
        self._client = client
        self._send = send
        self._scheduler = scheduler
        self._expires = expires
        self._retry = retry_seconds
        self._on_status = on_status
        self._lock = threading.RLock()
        self.call_id = client.gen_call_id()
        self._from_tag = client.new_tag()
        self._cseq = 0
        self._pending_cseq: int | None = None
        self._pending_text = ""
        self._pending_expires = expires
        self._auth_nonces: set[str] = set()
        self._retx: TimerHandle | None = None
        self._deadline: TimerHandle | None = None
        self._next: TimerHandle | None = None
        self._stopped = False
        self.status = LineStatus.STOPPED
        self.first_outcome: str | None = None
        self.first_reason = ""
        """The registrar's words with the first outcome ("" with a 2xx)."""
        self.first_done = threading.Event()
        self.unregistered = threading.Event()
        self.granted = 0
        self.observed: tuple[str, int] | None = None
        """Our address as the registrar saw it (Via received/rport of its last 2xx)."""

    # ------------------------------------------------------------ driving

    def start(self) -> None:
        self._attempt()

    def stop(self) -> None:
        """Cancel timers and send REGISTER with Expires 0 (RFC 3261 §10.2.2)."""
        with self._lock:
            self._stopped = True
            self._cancel_timers()
            was = self.status
        if was != LineStatus.REGISTERED:
            self.unregistered.set()  # no binding to remove: nobody need wait for one
        else:
            self.unregistered.clear()
            # a registrar may reuse the nonce it gave the last REGISTER (Kamailio does within
            # a second); the removal must still be answered, or the binding outlives the line
            self._auth_nonces.clear()
            self._send_register(expires=0)

    def _attempt(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._auth_nonces.clear()
            self._set_status(LineStatus.REGISTERING, "")
            self._send_register(self._expires)

    def _send_register(
        self, expires: int, challenge: tuple[str, dict[str, str]] | None = None
    ) -> None:
        with self._lock:
            self._cseq += 1
            self._pending_cseq = self._cseq
            self._pending_expires = expires
            extra = [f"Expires: {expires}", f"Allow: {ALLOW}"]
            if challenge is not None:
                header, params = challenge
                uri = f"sip:{self._client.server}"
                extra.append(f"{header}: {self._client.digest_header(params, 'REGISTER', uri)}")
            aor = f"<{self._client.aor}>"
            self._pending_text = self._client.gen_request(
                "REGISTER", f"sip:{self._client.server}", from_=f"{aor};tag={self._from_tag}",
                to=aor, call_id=self.call_id, cseq=self._cseq, extra=tuple(extra))
            self._cancel_timers()
            self._send(self._pending_text)
            self._retx = self._scheduler.call_later(T1, lambda: self._retransmit(T1), "register-E")
            self._deadline = self._scheduler.call_later(ATTEMPT_TIMEOUT, self._timed_out,
                                                        "register-timeout")

    def _retransmit(self, interval: float) -> None:
        with self._lock:
            if self._pending_cseq is None:
                return
            self._send(self._pending_text)
            nxt = min(interval * 2, T2)
            self._retx = self._scheduler.call_later(nxt, lambda: self._retransmit(nxt),
                                                    "register-E")

    def _timed_out(self) -> None:
        with self._lock:
            if self._pending_cseq is None:
                return
            self._pending_cseq = None
            if self._pending_expires == 0:
                self.unregistered.set()
                return
            self._fail(RegistrationOutcome.UNREACHABLE,
                       f"registrar {self._client.server}:{self._client.port} does not answer")

    # ------------------------------------------------------------ responses

    def on_response(self, msg: SipMessage) -> None:
        """A response whose Call-ID is ours (the line routes it here)."""
        with self._lock:
            if msg.cseq != self._pending_cseq or msg.status_code < 200:
                return
            self._pending_cseq = None
            self._cancel_timers()
            code = msg.status_code
            if self._pending_expires == 0:
                if code in (401, 407) and self._answer_challenge(msg, 0):
                    return  # done when the authenticated removal is answered
                self.unregistered.set()
                return
            if 200 <= code < 300:
                self.granted = self._granted(msg)
                self._observe(msg)
                self._set_status(LineStatus.REGISTERED, "")
                self._set_first(RegistrationOutcome.OK)
                refresh = max(1.0, min(self.granted * 0.8, REFRESH_CAP))
                self._next = self._scheduler.call_later(refresh, self._attempt, "register-refresh")
            elif code in (401, 407):
                if not self._answer_challenge(msg, self._expires):
                    self._fail(RegistrationOutcome.BAD_CREDENTIALS,
                               f"registrar refused extension {self._client.username}: "
                               "wrong password or unknown extension")
            elif code == 403:
                self._fail(RegistrationOutcome.BAD_CREDENTIALS,
                           f"registrar forbids extension {self._client.username} (403)")
            elif code == 423:
                minimum = msg.header("Min-Expires") or ""
                if minimum.isdigit():
                    self._expires = int(minimum)
                    self._send_register(self._expires)
                else:
                    self._fail(RegistrationOutcome.REFUSED, "423 without Min-Expires")
            else:
                self._fail(RegistrationOutcome.REFUSED,
                           f"registrar answered {code} {msg.reason}".strip())

    def _answer_challenge(self, msg: SipMessage, expires: int) -> bool:
        """Resend with credentials, once per nonce (a repeated nonce = wrong password)."""
        header = "WWW-Authenticate" if msg.status_code == 401 else "Proxy-Authenticate"
        value = msg.header(header)
        if not value:
            return False
        params = parse_challenge(value)
        nonce = params.get("nonce", "")
        stale = params.get("stale", "").lower() == "true"
        if nonce in self._auth_nonces and not stale:
            return False
        if len(self._auth_nonces) >= 3:
            return False
        self._auth_nonces.add(nonce)
        answer = "Authorization" if msg.status_code == 401 else "Proxy-Authorization"
        self._send_register(expires, (answer, params))
        return True

    def _observe(self, msg: SipMessage) -> None:
        """Read where the registrar saw us from our Via (RFC 3261 §18.2.1, RFC 3581 §4).

        A registrar that adds `received` (the source IP, when it differs from our sent-by)
        or fills our `rport` tells us what a NAT or a wrong `local_address` turned us into.
        """
        if not msg.vias:
            return
        via = msg.vias[0]
        received = via.params.get("received") or ""
        rport = via.params.get("rport") or ""
        if not received and not rport.isdigit():
            return
        host = received or via.host
        port = int(rport) if rport.isdigit() else (via.port or 5060)
        seen = (host, port)
        if seen != self.observed:
            advertised = (self._client.myIP, int(self._client.myPort))
            if seen != advertised:
                log.warning("the registrar sees this line at %s:%d, but it advertises %s:%d "
                            "(NAT, or line.local_address is not the address the PBX reaches)",
                            *seen, *advertised)
            self.observed = seen

    def _granted(self, msg: SipMessage) -> int:
        """Seconds the registrar granted our binding (RFC 3261 §10.2.4).

        Its 200 lists every binding of the AOR, other seats' and stale ones among them; ours
        is the one whose URI is our Contact's exactly (a port that merely contains ours, as
        5060 in 15060, is somebody else's).
        """
        ours = self._client.contact.strip("<>").lower()
        for header in msg.header_values("Contact"):
            for contact in _split_contacts(header):
                uri, _, params = contact.partition(">")
                if uri.strip().lstrip("<").lower() != ours:
                    continue
                for param in params.split(";"):
                    key, _, value = param.partition("=")
                    if key.strip().lower() == "expires" and value.strip().isdigit():
                        return int(value.strip())
        value = msg.header("Expires") or ""
        return int(value) if value.strip().isdigit() else self._expires

    # ------------------------------------------------------------ state

    def _fail(self, outcome: str, reason: str) -> None:
        log.warning("registration failed: %s; retrying in %.0f s", reason, self._retry)
        self._set_status(LineStatus.FAILED, reason)
        self._set_first(outcome, reason)
        if not self._stopped:
            self._next = self._scheduler.call_later(self._retry, self._attempt, "register-retry")

    def _set_first(self, outcome: str, reason: str = "") -> None:
        if self.first_outcome is None:
            self.first_outcome = outcome
            self.first_reason = reason
            self.first_done.set()

    def _set_status(self, status: LineStatus, reason: str) -> None:
        if status != self.status:
            self.status = status
            self._on_status(status, reason)

    def _cancel_timers(self) -> None:
        for handle in (self._retx, self._deadline, self._next):
            if handle is not None:
                handle.cancel()
        self._retx = self._deadline = self._next = None


def _split_contacts(header: str) -> list[str]:
    """One Contact header's values (RFC 3261 §20.10): commas inside <> or quotes don't split."""
    out, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(header):
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and not quoted and depth == 0:
            out.append(header[start:i].strip())
            start = i + 1
    out.append(header[start:].strip())
    return [c for c in out if c]
