"""Dialog state of one incoming call (RFC 3261 §12) and the SDP offer/answer it carries (RFC 3264).

As the UAS we fix the dialog at the INVITE: our To-tag, the caller's From-tag, the remote
target (the caller's Contact), the route set (Record-Route in the order received, §12.1.1)
and our own CSeq space (§12.2.1.1), from which BYE/REFER are built.

The line speaks one audio stream. Offers come from the network and may carry many streams
(video, SRTP, a second audio, ...): we take one plain RTP/AVP PCMU/PCMA audio stream and
refuse every other one with port zero, one answer m= line per offered one (RFC 3264 §6).
"""

from __future__ import annotations

import ipaddress
import random
import re
from dataclasses import dataclass, field

from sip.api import Codec
from sip.message import SipMessage, parse_name_addr


class SdpRejected(Exception):
    """The offer cannot be taken; `warning` goes into a 488's Warning header (RFC 3261 §20.43)."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.warning = f'{code} duty-line "{text}"'


MAX_MEDIA_STREAMS = 64
"""Most m= lines we read in one offer. A longer offer is refused as a whole, never cut short:
RFC 3264 §6 wants one answer m= line per offered one, so a truncated answer would be wrong."""

MAX_REJECTED_FORMATS = 16
"""Formats copied into the m= line of a rejected stream. RFC 3264 §6: "Any media formats
listed are ignored. At least one MUST be present"; the cap keeps a hostile offer from
inflating our 200 OK."""

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
"""The direction attributes of RFC 3264 §5.1 (RFC 4566 §6)."""

ANSWER_DIRECTION: dict[str, str] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
"""Offered direction -> our answer's direction (RFC 3264 §6.1)."""

_TOKEN = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+")
"""RFC 4566 §9 `token` (media and fmt)."""
_PROTO = re.compile(rf"{_TOKEN.pattern}(?:/{_TOKEN.pattern})*")
"""RFC 4566 §9 `proto`: token *("/" token)."""
_PORT = re.compile(r"([0-9]{1,10})(?:/[0-9]{1,10})?")
"""RFC 4566 §5.14 `<port>[/<number of ports>]`, ASCII digits only, bounded length."""
_PAYLOAD_TYPE = re.compile(r"[0-9]{1,3}")
_STATIC_NAMES = {"0": "pcmu", "8": "pcma"}
"""RFC 3551 §6 static payload types we take without an rtpmap."""


@dataclass(frozen=True)
class OfferedStream:
    """One offered media description (RFC 4566 §5.14), as far as the answer needs it.

    Every offered stream gets a line in the answer (RFC 3264 §6), taken or not, so the parser
    keeps them all, in order.
    """

    media: str
    """The media type (`audio`, `video`, `application`, ...)."""
    port: int | None
    """The offered port; None when the field is not a number (the stream cannot be taken)."""
    proto: str
    """The transport protocol (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, ...)."""
    formats: tuple[str, ...]
    """The offered fmt tokens, in order (syntactically invalid ones dropped)."""
    host: str = ""
    """Connection address: the media-level c= if any, else the session-level c= (RFC 4566
    §5.7); "" when neither is there. Only the taken stream's address is checked."""
    direction: str = "sendrecv"
    """Media-level direction attribute, else session-level, else sendrecv (RFC 3264 §5.1)."""

    def rejected_line(self) -> str:
        """The answer's m= line refusing this stream: same media and proto, port zero (§6)."""
        formats = self.formats[:MAX_REJECTED_FORMATS] or ("0",)
        return f"m={self.media} 0 {self.proto} {' '.join(formats)}"


@dataclass(frozen=True)
class SdpOffer:
    """What we use from an offer (RFC 4566 §5, RFC 3264 §5): the taken audio stream's address,
    codec and telephone-event type, plus every offered stream so the answer can mirror them.

    An offer built with the first four fields only (no `streams`) is answered with the single
    audio m= line, as a re-INVITE answer from the line does.
    """

    host: str
    """The taken stream's connection address (checked against the media networks)."""
    port: int
    """The taken stream's RTP port."""
    codec: Codec
    """The codec we answer with: the first PCMU/PCMA of the taken stream."""
    dtmf_pt: int | None
    """Payload type of the offered telephone-event (RFC 4733), if any."""
    streams: tuple[OfferedStream, ...] = ()
    """Every offered m= line in order; empty for an offer built by hand."""
    chosen: int = 0
    """Index in `streams` of the stream we take (ignored when `streams` is empty)."""
    direction: str = "sendrecv"
    """The taken stream's offered direction (RFC 3264 §5.1); the answer mirrors it (§6.1)."""

    def __post_init__(self) -> None:
        if self.direction not in ANSWER_DIRECTION:
            raise ValueError(f"unknown SDP direction {self.direction!r}")
        if self.streams and not 0 <= self.chosen < len(self.streams):
            raise ValueError(f"chosen stream {self.chosen} of {len(self.streams)}")


@dataclass
class _Section:
    """The lines of one SDP section while parsing: the session part or one m= section."""

    fields: list[str] = field(default_factory=list)
    connection: str = ""
    direction: str = ""
    rtpmap: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Refusal:
    """Why a stream cannot be taken; `rank` orders how far it got through the checks."""

    rank: int
    code: int
    text: str


def _split_sections(text: str) -> tuple[_Section, list[_Section]]:
    """Session-level part and m= sections (RFC 4566 §5: an m= line starts a media section).

    Lines that are not `<type>=<value>` are skipped, as today; more than
    `MAX_MEDIA_STREAMS` m= lines refuse the offer.
    """
    session = _Section()
    sections: list[_Section] = []
    current = session
    for raw in re.split(r"\r?\n", text):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "m":
            if len(sections) >= MAX_MEDIA_STREAMS:
                raise SdpRejected(
                    399, f"too many media streams (over {MAX_MEDIA_STREAMS} m= lines)")
            current = _Section(fields=value.split())
            sections.append(current)
        elif kind == "c":
            parts = value.split()
            address = parts[-1].split("/")[0] if parts else ""
            current.connection = current.connection or address
        elif kind == "a":
            value = value.strip()
            if value in DIRECTIONS:
                current.direction = value
            elif value.startswith("rtpmap:") and current is not session:
                pt, _, encoding = value[7:].partition(" ")
                current.rtpmap[pt.strip()] = encoding.strip().split("/")[0].lower()
    return session, sections


def _offered_stream(section: _Section, session: _Section) -> OfferedStream:
    """One m= line (RFC 4566 §5.14 `m=<media> <port>[/n] <proto> <fmt> ...`).

    Media and proto must be there and well-formed (we echo them in the answer, RFC 3264 §6);
    a bad port or missing formats only make the stream impossible to take.
    """
    fields = section.fields
    if len(fields) < 3 or not _TOKEN.fullmatch(fields[0]) or not _PROTO.fullmatch(fields[2]):
        raise SdpRejected(399, "malformed m= line")
    port_match = _PORT.fullmatch(fields[1])
    return OfferedStream(
        media=fields[0],
        port=int(port_match.group(1)) if port_match else None,
        proto=fields[2],
        formats=tuple(f for f in fields[3:] if _TOKEN.fullmatch(f)),
        host=section.connection or session.connection,
        direction=section.direction or session.direction or "sendrecv",
    )


def _codec_and_dtmf(stream: OfferedStream,
                    rtpmap: dict[str, str]) -> tuple[Codec | None, int | None]:
    """The first PCMU/PCMA format and the first telephone-event type (RFC 3551, RFC 4733)."""
    codec: Codec | None = None
    dtmf_pt: int | None = None
    for fmt in stream.formats:
        name = rtpmap.get(fmt, _STATIC_NAMES.get(fmt, ""))
        if codec is None and name in ("pcmu", "pcma"):
            codec = Codec.PCMU if name == "pcmu" else Codec.PCMA
        if (dtmf_pt is None and name == "telephone-event" and _PAYLOAD_TYPE.fullmatch(fmt)
                and int(fmt) < 128):
            dtmf_pt = int(fmt)
    return codec, dtmf_pt


def _refusal(stream: OfferedStream, codec: Codec | None) -> _Refusal | None:
    """Why we cannot take this stream, or None: we take plain RTP/AVP audio (RFC 3551) with a
    usable port (port 0 is a stream the offerer itself disabled, RFC 3264 §5.1) and PCMU/PCMA.
    """
    if stream.media != "audio":
        return _Refusal(0, 304, "no audio stream offered")
    if stream.proto != "RTP/AVP":
        return _Refusal(1, 304, "Only RTP/AVP audio supported (no SRTP/AVPF)")
    if stream.port is None:
        return _Refusal(2, 399, "bad media port")
    if stream.port == 0:
        return _Refusal(3, 304, "no active audio stream offered (port 0)")
    if stream.port >= 65536:
        return _Refusal(4, 399, "media port rejected")
    if codec is None:
        return _Refusal(5, 304, "Only PCMU/PCMA supported")
    return None


def parse_offer(message: SipMessage, media_networks: tuple[str, ...]) -> SdpOffer:
    """Read an SDP offer (RFC 4566) and choose the one stream we take (RFC 3264 §5, §6).

    We take the first m=audio with proto RTP/AVP, a non-zero port and a PCMU/PCMA format;
    every other offered stream is kept in `SdpOffer.streams` so `build_answer` refuses it with
    port zero. Only the taken stream's connection address (media-level c= over session-level,
    RFC 4566 §5.7) must be an IP literal inside `media_networks`. Anything we cannot take,
    including malformed SDP, raises `SdpRejected` (the line answers 488), nothing else.
    """
    if message.content_type != "application/sdp" or not message.body_raw.strip():
        raise SdpRejected(399, "INVITE without SDP offer not supported")
    session, sections = _split_sections(message.body_raw.decode("utf-8", "replace"))
    streams = tuple(_offered_stream(s, session) for s in sections)
    best: _Refusal | None = None
    for index, (stream, section) in enumerate(zip(streams, sections, strict=True)):
        codec, dtmf_pt = _codec_and_dtmf(stream, section.rtpmap)
        refusal = _refusal(stream, codec)
        if refusal is None and codec is not None and stream.port is not None:
            return SdpOffer(host=_checked_address(stream.host, media_networks),
                            port=stream.port, codec=codec, dtmf_pt=dtmf_pt, streams=streams,
                            chosen=index, direction=stream.direction)
        if refusal is not None and (best is None or refusal.rank > best.rank):
            best = refusal
    if best is None:
        raise SdpRejected(304, "no audio stream offered")
    raise SdpRejected(best.code, best.text)


def _checked_address(host: str, media_networks: tuple[str, ...]) -> str:
    """The taken stream's address, an IP literal inside the allowed networks (RFC 4566 §5.7)."""
    if not host:
        raise SdpRejected(399, "no connection address (c=) in the offer")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise SdpRejected(399, "connection address is not an IP literal") from None
    if not any(ip in ipaddress.ip_network(n, strict=False) for n in media_networks):
        raise SdpRejected(399, "media address outside the allowed networks")
    return str(ip)


def build_answer(local_ip: str, port: int, offer: SdpOffer, session_id: int, version: int) -> str:
    """Our SDP answer (RFC 3264 §6): one m= line per offered m= line, in the offer's order.

    The taken stream carries our port, the chosen codec, telephone-event if offered
    (RFC 4733 §7.1.1, events 0-15), ptime 20 and the mirrored direction (§6.1); every other
    stream is refused with port zero, its media type and proto, and no attributes (§6).
    An offer without `streams` gets the taken audio line alone.
    """
    ip_kind = "IP6" if ":" in local_ip else "IP4"
    fmts = [str(offer.codec.value)]
    attrs = [f"a=rtpmap:{offer.codec.value} {offer.codec.name}/8000"]
    if offer.dtmf_pt is not None:
        fmts.append(str(offer.dtmf_pt))
        attrs += [f"a=rtpmap:{offer.dtmf_pt} telephone-event/8000", f"a=fmtp:{offer.dtmf_pt} 0-15"]
    taken = [f"m=audio {port} RTP/AVP {' '.join(fmts)}", *attrs, "a=ptime:20",
             f"a={ANSWER_DIRECTION[offer.direction]}"]
    media: list[str] = []
    if not offer.streams:
        media = taken
    for index, stream in enumerate(offer.streams):
        media += taken if index == offer.chosen else [stream.rejected_line()]
    lines = ["v=0", f"o=duty {session_id} {version} IN {ip_kind} {local_ip}", "s=duty line",
             f"c=IN {ip_kind} {local_ip}", "t=0 0", *media]
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
