"""Dialog state of one incoming call (RFC 3261 §12) and the SDP offer/answer it carries (RFC 3264).

As the UAS we fix the dialog at the INVITE: our To-tag, the caller's From-tag, the remote
target (the caller's Contact), the route set (Record-Route in the order received, §12.1.1)
and our own CSeq space (§12.2.1.1), from which BYE/REFER are built.
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass

from sip.api import Codec
from sip.message import SipMessage, parse_name_addr


class SdpRejected(Exception):
    """The offer cannot be taken; `warning` goes into a 488's Warning header (RFC 3261 §20.43)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.warning = f'{code} duty-line "{text}"'


@dataclass(frozen=True)
class SdpOffer:
    """What we use from an audio offer (RFC 4566 §5, RFC 3264 §5)."""

    host: str
    port: int
    codec: Codec
    dtmf_pt: int | None


def parse_offer(message: SipMessage, media_networks: tuple[str, ...]) -> SdpOffer:
    """Pick the first PCMU/PCMA of the first audio stream; raise `SdpRejected` otherwise."""
    if message.content_type != "application/sdp" or not message.body_raw.strip():
        raise SdpRejected(399, "INVITE without SDP offer not supported")
    text = message.body_raw.decode("utf-8", "replace")
    session_c: str | None = None
    media_c: str | None = None
    audio: tuple[int, list[str]] | None = None
    rtpmap: dict[str, str] = {}
    in_audio = False
    for raw in re.split(r"\r?\n", text):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            parts = value.split()
            in_audio = audio is None and len(parts) >= 4 and parts[0] == "audio"
            if in_audio:
                if not parts[1].split("/")[0].isdigit():
                    raise SdpRejected(399, "bad media port")
                audio = (int(parts[1].split("/")[0]), parts[3:])
        elif kind == "c":
            addr = value.split()[-1].split("/")[0] if value.split() else ""
            if audio is None and not in_audio:
                session_c = session_c or addr
            elif in_audio:
                media_c = addr
        elif kind == "a" and in_audio and value.startswith("rtpmap:"):
            pt, _, enc = value[7:].partition(" ")
            rtpmap[pt.strip()] = enc.strip().split("/")[0].lower()
    if audio is None:
        raise SdpRejected(304, "no audio stream offered")
    host = media_c or session_c
    if not host:
        raise SdpRejected(399, "no connection address (c=) in the offer")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise SdpRejected(399, "connection address is not an IP literal") from None
    if not any(ip in ipaddress.ip_network(n, strict=False) for n in media_networks):
        raise SdpRejected(399, "media address outside the allowed networks")
    port, formats = audio
    if not 0 < port < 65536:
        raise SdpRejected(399, "media port rejected")
    codec: Codec | None = None
    dtmf_pt: int | None = None
    for fmt in formats:
        name = rtpmap.get(fmt, {"0": "pcmu", "8": "pcma"}.get(fmt, ""))
        if codec is None and name in ("pcmu", "pcma"):
            codec = Codec.PCMU if name == "pcmu" else Codec.PCMA
        if name == "telephone-event" and fmt.isdigit():
            dtmf_pt = int(fmt)
    if codec is None:
        raise SdpRejected(304, "Only PCMU/PCMA supported")
    return SdpOffer(host=str(ip), port=port, codec=codec, dtmf_pt=dtmf_pt)


def build_answer(local_ip: str, port: int, offer: SdpOffer, session_id: int, version: int) -> str:
    """Our SDP answer: the chosen codec and telephone-event if offered (RFC 3264 §6.1)."""
    ip_kind = "IP6" if ":" in local_ip else "IP4"
    fmts = [str(offer.codec.value)]
    attrs = [f"a=rtpmap:{offer.codec.value} {offer.codec.name}/8000"]
    if offer.dtmf_pt is not None:
        fmts.append(str(offer.dtmf_pt))
        attrs += [f"a=rtpmap:{offer.dtmf_pt} telephone-event/8000", f"a=fmtp:{offer.dtmf_pt} 0-15"]
    lines = ["v=0", f"o=duty {session_id} {version} IN {ip_kind} {local_ip}", "s=duty line",
             f"c=IN {ip_kind} {local_ip}", "t=0 0", f"m=audio {port} RTP/AVP {' '.join(fmts)}",
             *attrs, "a=ptime:20", "a=sendrecv"]
    return "\r\n".join(lines) + "\r\n"


class Dialog:
    """One UAS dialog (RFC 3261 §12.1.1) and the requests we send inside it (§12.2.1)."""

    def __init__(self, invite: SipMessage, local_tag: str) -> None:
        self.call_id = invite.call_id
        self.local_tag = local_tag
        self.remote_tag = invite.from_addr.tag
        self.local_party = (invite.header("To") or "").split(";tag=")[0]
        self.remote_party = invite.header("From") or ""
        contact = invite.contact
        self.remote_target = contact.uri if contact else invite.from_addr.uri
        self.route_set: tuple[str, ...] = tuple(invite.header_values("Record-Route"))
        self.local_cseq = random.randint(1, 2**20)
        self.remote_cseq = invite.cseq

    @property
    def local_header(self) -> str:
        return f"{self.local_party};tag={self.local_tag}"

    def next_cseq(self) -> int:
        self.local_cseq += 1
        return self.local_cseq

    def request_target(self) -> tuple[str, tuple[str, ...]]:
        """Request-URI and Route headers (§12.2.1.1: loose vs strict first route)."""
        if not self.route_set:
            return self.remote_target, ()
        first = parse_name_addr(self.route_set[0])
        if "lr" in first.params or ";lr" in first.uri:
            return self.remote_target, self.route_set
        return first.uri, (*self.route_set[1:], f"<{self.remote_target}>")

    def first_hop(self) -> tuple[str, int] | None:
        """Host and port of the first Route, if any (the line checks it is trusted)."""
        if not self.route_set:
            return None
        uri = parse_name_addr(self.route_set[0]).uri
        hostport = uri.split(":", 1)[1].split(";", 1)[0].split("@")[-1]
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            port = rest.lstrip(":")
        else:
            host, _, port = hostport.partition(":")
        return host, int(port) if port.isdigit() else 5060

    def matches(self, request: SipMessage) -> bool:
        """Same dialog as this one: Call-ID, remote tag and our tag (§12.2.2)."""
        return (request.call_id == self.call_id and request.from_addr.tag == self.remote_tag
                and request.to_addr.tag == self.local_tag)
