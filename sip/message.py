"""A tolerant SIP message parser (RFC 3261 §7, §20, §25) over pyVoIP's `SIPMessage`.

Stock pyVoIP 1.6.8 drops compact headers, `Name:value` without a space, comma-separated Via
lists, non-SDP bodies (NOTIFY sipfrag) and datagrams over 8 KiB, and raises `IndexError`
or `KeyError` on most of the RFC 4475 torture messages.  `SipMessage` keeps pyVoIP's
attribute shape (`headers["Via"]` as a list of dicts, `headers["From"]` as a dict) so the
inherited generators still work, and adds typed accessors used by the duty line.  Every
problem surfaces as `SipParseError` (a subclass of pyVoIP's `SIPParseError`), never as an
arbitrary exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pyVoIP.VoIP  # noqa: F401 - must load first: pyVoIP.SIP alone is a circular import
from pyVoIP.SIP import SIPMessage, SIPMessageType, SIPParseError

from sip.api import CancelReason

MAX_DATAGRAM = 65535
"""Largest UDP payload we read (RFC 3261 §18.1.1 allows any size up to the IP limit)."""

COMPACT_FORMS: dict[str, str] = {
    "i": "Call-ID",
    "f": "From",
    "t": "To",
    "v": "Via",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "r": "Refer-To",
    "b": "Referred-By",
    "o": "Event",
    "u": "Allow-Events",
    "x": "Session-Expires",
}
"""RFC 3261 §7.3.3 (and RFC 3515/3892/6665 for r, b, o, u)."""

_CANONICAL = {
    name.lower(): name
    for name in (
        "Call-ID", "From", "To", "Via", "Contact", "CSeq", "Content-Length", "Content-Type",
        "Record-Route", "Route", "Max-Forwards", "Refer-To", "Referred-By", "Event",
        "Subscription-State", "Allow", "Supported", "WWW-Authenticate", "Proxy-Authenticate",
        "Authorization", "Proxy-Authorization", "Expires", "Content-Encoding", "User-Agent",
        "Diversion", "Warning", "Server", "Require", "Accept", "Allow-Events", "Min-Expires",
        "Reason",
    )
}
_LIST_HEADERS = frozenset({"Via", "Record-Route", "Route"})
"""Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1)."""
_SINGLE_HEADERS = frozenset({"Call-ID", "From", "To", "CSeq", "Content-Length", "Max-Forwards"})
"""Headers that must appear at most once; a second copy makes the message invalid."""
_MANDATORY = ("Call-ID", "From", "To", "CSeq", "Via")
"""RFC 3261 §8.1.1: the headers without which we cannot even answer."""
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_SIP_VERSION = "SIP/2.0"


class SipParseError(SIPParseError):
    """The datagram is not a SIP message we can handle; `reason` says why (for logs/400)."""


@dataclass(frozen=True)
class NameAddr:
    """A From/To/Contact/Refer-To value (RFC 3261 §20.10, §25.1 name-addr / addr-spec)."""

    display: str
    uri: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    @property
    def user(self) -> str:
        rest = self.uri.split(":", 1)[1] if ":" in self.uri else self.uri
        return rest.split("@", 1)[0] if "@" in rest else ""

    @property
    def host(self) -> str:
        rest = self.uri.split(":", 1)[1] if ":" in self.uri else self.uri
        return rest.split("@", 1)[-1].split(";", 1)[0]


def _split_commas(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets (RFC 3261 §7.3.1)."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    if quoted:
        raise SipParseError(f"unbalanced quotes in {value[:60]!r}")
    parts.append(value[start:].strip())
    return [p for p in parts if p]


def _params(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, val = item.partition("=")
        out[key.strip().lower()] = val.strip().strip('"')
    return out


_REASON_PARAM = re.compile(
    r'\s*([A-Za-z0-9\-.!%*_+`\'~]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;"\s]+))?\s*'
)


def parse_reason(value: str) -> list[CancelReason]:
    """The values of one Reason header (RFC 3326 §2), several when comma-separated.

    `reason-value = protocol *(SEMI reason-params)`, `cause = 1*DIGIT`, `text` a quoted
    string; other parameters (reason-extension) are skipped. Anything else is a
    `SipParseError`: the caller ignores the header, the CANCEL itself still counts.
    """
    out: list[CancelReason] = []
    for item in _split_commas(value):
        protocol, *params = item.split(";") if '"' not in item else _split_semis(item)
        protocol = protocol.strip()
        if not _TOKEN.match(protocol):
            raise SipParseError(f"Reason: bad protocol {protocol[:20]!r}")
        cause: int | None = None
        text = ""
        for param in params:
            match = _REASON_PARAM.fullmatch(param)
            if match is None:
                raise SipParseError(f"Reason: bad parameter {param[:40]!r}")
            name, val = match.group(1).lower(), match.group(2)
            if name == "cause":
                if val is None or not val.isdigit() or len(val) > 5:
                    raise SipParseError(f"Reason: cause {str(val)[:20]!r} is not 1-5 digits")
                cause = int(val)
            elif name == "text":
                if val is None or not (len(val) >= 2 and val[0] == val[-1] == '"'):
                    raise SipParseError("Reason: text must be a quoted string")
                text = re.sub(r"\\(.)", r"\1", val[1:-1])
        out.append(CancelReason(protocol, cause, text))
    return out


def _split_semis(value: str) -> list[str]:
    """Split at semicolons outside quoted strings (a Reason text may hold one)."""
    parts, start, quoted, i = [], 0, False, 0
    while i < len(value):
        ch = value[i]
        if quoted and ch == "\\":
            i += 1
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return parts


def parse_name_addr(value: str) -> NameAddr:
    """Parse `"Display" <uri>;params` or `uri;params` (RFC 3261 §20.10)."""
    value = value.strip()
    if not value:
        raise SipParseError("empty address")
    display = ""
    rest = value
    if rest.startswith('"'):
        i = 1
        while i < len(rest):
            if rest[i] == "\\":
                i += 2
                continue
            if rest[i] == '"':
                break
            i += 1
        else:
            raise SipParseError(f"unbalanced quotes in {value[:60]!r}")
        display = re.sub(r"\\(.)", r"\1", rest[1:i])
        rest = rest[i + 1 :].lstrip()
        if not rest.startswith("<"):
            raise SipParseError(f"display name without <uri> in {value[:60]!r}")
    if "<" in rest:
        lt = rest.index("<")
        gt = rest.find(">", lt)
        if gt < 0:
            raise SipParseError(f"missing '>' in {value[:60]!r}")
        if not display:
            display = rest[:lt].strip()
        uri = rest[lt + 1 : gt]
        if uri != uri.strip() or not uri:
            raise SipParseError(f"whitespace inside <> in {value[:60]!r}")
        params = _params(rest[gt + 1 :])
    else:
        uri, _, ptext = rest.partition(";")
        uri = uri.strip()
        if " " in uri:
            raise SipParseError(f"bad addr-spec {value[:60]!r}")
        params = _params(ptext)
    if ":" not in uri:
        raise SipParseError(f"URI without scheme: {uri[:60]!r}")
    return NameAddr(display=display, uri=uri, params=params)


@dataclass(frozen=True)
class Via:
    """One Via entry (RFC 3261 §20.42); `raw` is echoed verbatim in responses (§8.2.6.2)."""

    raw: str
    transport: str
    host: str
    port: int | None
    params: dict[str, str | None]

    @property
    def branch(self) -> str:
        return self.params.get("branch") or ""


def parse_via(value: str) -> Via:
    # any SIP/x.y here: a request of another version is answered 505 (RFC 3261 §21.5.7),
    # which needs its Via; the start line's version decides that, not this one
    m = re.match(r"^SIP\s*/\s*\d{1,3}\.\d{1,3}\s*/\s*([A-Za-z]+)\s+([^;\s]+)\s*(.*)$",
                 value.strip(), re.S)
    if not m:
        raise SipParseError(f"bad Via {value[:60]!r}")
    transport, sent_by, ptext = m.group(1).upper(), m.group(2), m.group(3)
    host, port = sent_by, None
    if sent_by.startswith("["):
        end = sent_by.find("]")
        if end < 0:
            raise SipParseError(f"bad Via host {sent_by!r}")
        host, tail = sent_by[1:end], sent_by[end + 1 :]
        if tail.startswith(":"):
            port = _port(tail[1:])
    elif ":" in sent_by:
        host, ptxt = sent_by.rsplit(":", 1)
        port = _port(ptxt)
    params: dict[str, str | None] = {}
    for item in ptext.split(";"):
        item = item.strip()
        if item:
            key, eq, val = item.partition("=")
            params[key.strip().lower()] = val.strip() if eq else None
    return Via(raw=value.strip(), transport=transport, host=host, port=port, params=params)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SipParseError(f"bad port {text[:20]!r}")
    return int(text)


class SipMessage(SIPMessage):
    """One parsed SIP request or response (RFC 3261 §7), tolerant where the RFC allows it.

    Accepts compact forms, any whitespace around the colon, folded lines, comma-separated
    Via/Record-Route/Route, any body type (kept raw in `body_raw`), datagrams up to 64 KiB.
    Rejects (with `SipParseError`) what RFC 4475 calls invalid: missing mandatory headers,
    duplicated or negative Content-Length, a body shorter than Content-Length, trailing
    whitespace after the version, unbalanced quotes, spaces inside `<>`.
    """

    method: str
    version: str

    def parse(self, data: bytes) -> None:  # overrides pyVoIP's, called from its __init__
        self.request_uri = ""
        self.status_code = 0
        self.reason = ""
        self.method = ""
        self.header_list: list[tuple[str, str]] = []
        self.vias: list[Via] = []
        self.source: tuple[str, int] | None = None
        """The packet's source address, set by the receiver (for the Via `received`/`rport`
        of our responses, RFC 3261 §18.2.1, RFC 3581 §4)."""
        self.body_raw = b""
        self.defect: tuple[int, str] | None = None
        """A request we parsed but must refuse (code, reason): the line answers it."""
        self.cseq = 0
        self.cseq_method = ""
        if len(data) > MAX_DATAGRAM:
            raise SipParseError("datagram too large")
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = data.partition(b"\n\n")
        text = head.decode("utf-8", "replace")
        lines = re.split(r"\r?\n", text)
        while lines and not lines[0].strip():
            lines.pop(0)  # RFC 3261 §7.5: ignore CRLFs before the start line
        if not lines:
            raise SipParseError("empty message")
        self.heading = lines[0].encode("utf-8", "replace")
        self._parse_start_line(lines[0])
        self._parse_headers(lines[1:])
        self._check_and_set_body(body)

    # ------------------------------------------------------------ pieces

    def _parse_start_line(self, line: str) -> None:
        parts = line.split()
        is_response = len(parts) >= 2 and parts[0].upper().startswith("SIP/")
        if line != line.lstrip() or (not is_response and line != line.rstrip()):
            raise SipParseError("whitespace around the start line")
        if is_response:
            if parts[0] != _SIP_VERSION:
                raise SipParseError(f"SIP version {parts[0][:20]!r} not supported")
            if not (parts[1].isdigit() and len(parts[1]) == 3):
                raise SipParseError(f"bad status code {parts[1][:10]!r}")
            self.type = SIPMessageType.RESPONSE
            self.version = parts[0]
            self.status_code = int(parts[1])
            self.reason = line.split(None, 2)[2] if len(parts) > 2 else ""
            return
        if len(parts) != 3:
            raise SipParseError(f"bad request line {line[:80]!r}")
        method, uri, version = parts
        if not _TOKEN.match(method):
            raise SipParseError(f"bad method {method[:20]!r}")
        if version != _SIP_VERSION:
            if not version.upper().startswith("SIP/"):
                raise SipParseError(f"bad SIP version {version[:20]!r}")
            self.defect = (505, "Version Not Supported")
        if ":" not in uri or uri.startswith("<"):
            raise SipParseError(f"bad Request-URI {uri[:60]!r}")
        self.type = SIPMessageType.MESSAGE
        self.method = method
        self.request_uri = uri
        self.version = version

    def _parse_headers(self, lines: list[str]) -> None:
        unfolded: list[str] = []
        for line in lines:
            if line[:1] in (" ", "\t") and unfolded:
                unfolded[-1] += " " + line.strip()  # RFC 3261 §7.3.1 line folding
            elif line.strip():
                unfolded.append(line)
        seen: dict[str, int] = {}
        for line in unfolded:
            name, colon, value = line.partition(":")
            name = name.strip()
            if not colon or not _TOKEN.match(name):
                raise SipParseError(f"bad header line {line[:60]!r}")
            key = name.lower()
            canon = COMPACT_FORMS.get(key) if len(key) == 1 else None
            canon = canon or _CANONICAL.get(key, name)
            value = value.strip()
            seen[canon] = seen.get(canon, 0) + 1
            if canon in _LIST_HEADERS:
                for item in _split_commas(value):
                    self.header_list.append((canon, item))
            else:
                self.header_list.append((canon, value))
        for name in _SINGLE_HEADERS:
            if seen.get(name, 0) > 1:
                raise SipParseError(f"{name} appears {seen[name]} times")
        missing = [h for h in _MANDATORY if h not in seen]
        if missing:
            raise SipParseError(f"missing mandatory header(s): {', '.join(missing)}")
        # pyVoIP-shaped dict, first value wins (except lists)
        headers: dict[str, object] = {"Via": []}
        for name, value in self.header_list:
            if name == "Via":
                via = parse_via(value)
                self.vias.append(via)
                headers["Via"].append(  # type: ignore[attr-defined]
                    {"type": f"SIP/2.0/{via.transport}",
                     "address": (via.host, str(via.port or 5060)), **via.params}
                )
            elif name in ("Record-Route", "Route"):
                headers.setdefault(name, []).append(value)  # type: ignore[attr-defined]
            elif name not in headers:
                headers[name] = value
        self.from_addr = parse_name_addr(str(headers["From"]))
        self.to_addr = parse_name_addr(str(headers["To"]))
        for key, addr in (("From", self.from_addr), ("To", self.to_addr)):
            raw = str(headers[key])
            headers[key] = {
                "raw": raw.split(";tag=")[0],
                "tag": addr.tag,
                "address": addr.uri.split(":", 1)[-1],
                "number": addr.user or None,
                "caller": addr.display,
                "host": addr.host,
            }
        cseq = str(headers["CSeq"]).split()
        if len(cseq) != 2 or not cseq[0].isdigit():
            raise SipParseError(f"bad CSeq {headers['CSeq']!s:.40}")
        if int(cseq[0]) >= 2**31:
            self.defect = (400, "CSeq Out Of Range")  # RFC 3261 §8.1.1.5
        if not _TOKEN.match(cseq[1]):
            raise SipParseError(f"bad CSeq method {cseq[1][:20]!r}")
        self.cseq = int(cseq[0])
        self.cseq_method = cseq[1]
        if self.method and cseq[1] != self.method:
            self.defect = (400, "CSeq Method Mismatch")  # RFC 4475 §3.1.2.17
        headers["CSeq"] = {"check": cseq[0], "method": cseq[1]}
        if not str(headers["Call-ID"]).strip():
            raise SipParseError("empty Call-ID")
        self.headers = headers

    def _check_and_set_body(self, body: bytes) -> None:
        length_text = self.header("Content-Length")
        if length_text is not None:
            if not length_text.isdigit():
                raise SipParseError(f"bad Content-Length {length_text[:20]!r}")
            length = int(length_text)
            if length > len(body):
                raise SipParseError(f"Content-Length {length} but only {len(body)} bytes of body")
            body = body[:length]  # RFC 3261 §18.3: extra bytes after the body are dropped
            self.headers["Content-Length"] = length
        self.body_raw = body
        self.body = {}

    # ------------------------------------------------------------ accessors

    def header(self, name: str) -> str | None:
        """First value of a header by canonical name, or None."""
        for key, value in self.header_list:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.header_list if key == name]

    @property
    def is_request(self) -> bool:
        return self.type == SIPMessageType.MESSAGE

    @property
    def call_id(self) -> str:
        return str(self.headers["Call-ID"])

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def contact(self) -> NameAddr | None:
        value = self.header("Contact")
        if not value or value.strip() == "*":
            return None
        try:
            return parse_name_addr(_split_commas(value)[0])
        except (SipParseError, IndexError):
            return None

    def summary(self) -> str:
        if self.is_request:
            return f"{self.method} {self.request_uri} (Call-ID {self.call_id}, CSeq {self.cseq})"
        return f"{self.status_code} {self.reason} (CSeq {self.cseq} {self.cseq_method})"


def parse_message(data: bytes) -> SipMessage:
    """Parse one datagram; raises `SipParseError` for anything that is not a usable message."""
    try:
        return SipMessage(data)
    except SipParseError:
        raise
    except Exception as exc:  # any parser slip is a parse error, never a crash
        raise SipParseError(f"{type(exc).__name__}: {exc}") from exc
