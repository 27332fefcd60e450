"""What the security log keeps: requests that are no caller calling (duty rules §5).

A scanner sweeping the line, or a peer sending garbage, must not appear as calls — a
missed call would lower the answer rate (接通率) with calls that never existed — and must
not vanish either: the regulator's record shows that the line was probed, from where, and
how often. Every such request is one of these kinds; the line aggregates them per source
(one report per few seconds with a count), the record chains them in their own chain
(`~security`) and supervisors see the count.
"""

from __future__ import annotations

import enum

from console.domain.labels import Language


class SecurityKind(enum.Enum):
    """Why a request went to the security log instead of the calls."""

    UNTRUSTED_INVITE = "untrusted_invite"
    """An INVITE from a host that is neither the PBX nor a trusted source (refused 403)."""
    UNTRUSTED_REQUEST = "untrusted_request"
    """Any other request from such a host (dropped without an answer)."""
    MALFORMED = "malformed"
    """A datagram on the SIP port that is no SIP message at all."""

    def label(self, language: Language = Language.ZH) -> str:
        zh, en = SECURITY_KIND_LABELS[self]
        return en if language is Language.EN else zh


SECURITY_KIND_LABELS: dict[SecurityKind, tuple[str, str]] = {
    SecurityKind.UNTRUSTED_INVITE: ("不受信来源的呼叫", "INVITE from an untrusted host"),
    SecurityKind.UNTRUSTED_REQUEST: ("不受信来源的请求", "Request from an untrusted host"),
    SecurityKind.MALFORMED: ("无法解析的报文", "Malformed datagram"),
}
"""(zh, en) of each kind: the one table screens and the log show."""


def security_kind(method: str, *, malformed: bool = False) -> SecurityKind:
    """The kind of a refused request: its method decides, a datagram that was no SIP
    message is `MALFORMED` whoever sent it."""
    if malformed:
        return SecurityKind.MALFORMED
    return SecurityKind.UNTRUSTED_INVITE if method == "INVITE" else SecurityKind.UNTRUSTED_REQUEST
