"""Message generation over pyVoIP's `SIPClient` (RFC 3261 §8.2.6, §12.2.1, §22).

Stock `SIPClient` sends every INVITE response to the registrar, rebuilds Via instead of
copying it, gives the 180 the caller's Contact, drops Record-Route, makes up a new To-tag in
BYE responses, builds our BYE from the caller's Via and CSeq, and only knows MD5 digest
without qop for 401.  `DutySipClient` keeps pyVoIP's id generators (branch, tag, Call-ID,
instance UUID) and replaces the rest; it never touches a socket: the line sends what it
builds to the packet's source (§18.2.2) or to the proxy.
"""

from __future__ import annotations

import hashlib
import secrets

import pyVoIP
import pyVoIP.VoIP  # must load first: pyVoIP.SIP alone is a circular import
from pyVoIP.SIP import SIPClient

from sip.message import SipMessage, Via

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY"
"""Methods we take (RFC 3261 §20.5); REFER is refused, the line never transfers on request."""

REASONS: dict[int, str] = {
    100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 302: "Moved Temporarily",
    400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    481: "Call/Transaction Does Not Exist", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 491: "Request Pending", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "Version Not Supported",
}


class DutySipClient(SIPClient):
    """pyVoIP's SIP client, made to generate correct responses and in-dialog requests."""

    def __init__(self, server: str, port: int, username: str, password: str,
                 my_ip: str, my_port: int, user_agent: str) -> None:
        super().__init__(server, port, username, password, phone=None,  # type: ignore[arg-type]
                         myIP=my_ip, myPort=my_port)
        self.user_agent = f"{user_agent} (pyVoIP {pyVoIP.__version__})"
        self._nc = 0

    # ------------------------------------------------------------ identity

    @property
    def contact(self) -> str:
        host = f"[{self.myIP}]" if ":" in self.myIP else self.myIP
        return f"<sip:{self.username}@{host}:{self.myPort}>"

    @property
    def aor(self) -> str:
        return f"sip:{self.username}@{self.server}"

    def new_tag(self) -> str:
        return secrets.token_hex(6)

    def gen_call_id(self) -> str:
        """A Call-ID unique across runs (RFC 3261 §8.1.1.4): pyVoIP hashes a counter that
        starts again at every start, so a line restarted after a crash sent its REGISTER with
        the old Call-ID and a lower CSeq, which Kamailio refuses (400 "invalid cseq for aor")
        until the retry 10 s later — calls in that gap got 404 (issue 10)."""
        host = f"[{self.myIP}]" if ":" in self.myIP else self.myIP
        return f"{secrets.token_hex(16)}@{host}"

    def via(self, branch: str | None = None) -> str:
        host = f"[{self.myIP}]" if ":" in self.myIP else self.myIP
        return f"SIP/2.0/UDP {host}:{self.myPort};branch={branch or self.gen_branch()};rport"

    # ------------------------------------------------------------ responses (§8.2.6)

    def _gen_response_via_header(self, request: SipMessage) -> str:  # type: ignore[override]
        """Copy every Via value as received, in order (RFC 3261 §8.2.6.2)."""
        return "".join(f"Via: {via.raw}\r\n" for via in request.vias)

    def gen_response(self, request: SipMessage, code: int, *, to_tag: str | None = None,
                     reason: str | None = None, extra: tuple[str, ...] = (),
                     contact: bool = False, record_route: bool = False,
                     body: str = "", content_type: str = "") -> str:
        """A response to `request` (RFC 3261 §8.2.6); To gets `to_tag` unless it has one."""
        lines = [f"SIP/2.0 {code} {reason or REASONS.get(code, 'Unknown')}"]
        vias = [via.raw for via in request.vias]
        if vias and request.source is not None:
            vias[0] = stamp_via(request.vias[0], request.source)
        lines += [f"Via: {via}" for via in vias]
        if record_route:
            lines += [f"Record-Route: {rr}" for rr in request.header_values("Record-Route")]
        lines.append(f"From: {request.header('From')}")
        to = request.header("To") or ""
        if to_tag and not request.to_addr.tag and code != 100:
            to = f"{to};tag={to_tag}"
        lines.append(f"To: {to}")
        lines.append(f"Call-ID: {request.call_id}")
        lines.append(f"CSeq: {request.cseq} {request.cseq_method}")
        if contact:
            lines.append(f"Contact: {self.contact}")
        lines += list(extra)
        lines.append(f"Allow: {ALLOW}")
        lines.append(f"Server: {self.user_agent}")
        return _finish(lines, body, content_type)

    # ------------------------------------------------------------ requests

    def gen_request(self, method: str, request_uri: str, *, from_: str, to: str,
                    call_id: str, cseq: int, routes: tuple[str, ...] = (),
                    branch: str | None = None, extra: tuple[str, ...] = (),
                    body: str = "", content_type: str = "") -> str:
        """A request with our own Via/branch and the caller's CSeq (RFC 3261 §8.1.1)."""
        lines = [f"{method} {request_uri} SIP/2.0", f"Via: {self.via(branch)}",
                 "Max-Forwards: 70"]
        lines += [f"Route: {r}" for r in routes]
        lines += [f"From: {from_}", f"To: {to}", f"Call-ID: {call_id}",
                  f"CSeq: {cseq} {method}", f"Contact: {self.contact}"]
        lines += list(extra)
        lines.append(f"User-Agent: {self.user_agent}")
        return _finish(lines, body, content_type)

    # ------------------------------------------------------------ digest (RFC 2617 §3.2.2)

    def digest_header(self, challenge: dict[str, str], method: str, uri: str) -> str:
        """Authorization value for a WWW-/Proxy-Authenticate challenge; MD5, qop=auth if offered."""
        realm = challenge.get("realm", "")
        nonce = challenge.get("nonce", "")
        algorithm = challenge.get("algorithm", "MD5")
        ha1 = _md5(f"{self.username}:{realm}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        parts = [f'username="{self.username}"', f'realm="{realm}"', f'nonce="{nonce}"',
                 f'uri="{uri}"', f"algorithm={algorithm}"]
        qops = [q.strip() for q in challenge.get("qop", "").split(",") if q.strip()]
        if "auth" in qops:
            self._nc += 1
            nc = f"{self._nc:08x}"
            cnonce = secrets.token_hex(8)
            response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            response = _md5(f"{ha1}:{nonce}:{ha2}")
        parts.append(f'response="{response}"')
        if "opaque" in challenge:
            parts.append(f'opaque="{challenge["opaque"]}"')
        return "Digest " + ", ".join(parts)


def stamp_via(via: Via, source: tuple[str, int]) -> str:
    """The top Via of a response, telling the sender where its request came from.

    RFC 3261 §18.2.1: `received` is added when the sent-by host is not the packet's source
    IP; RFC 3581 §4: a `rport` without a value is filled in with the source port, and then
    `received` is added always. Other parameters keep their order and spelling.
    """
    host, port = source
    head, *params = via.raw.split(";")
    wants_rport = "rport" in via.params and not via.params["rport"]
    differs = via.host.strip("[]").lower() != host.lower()
    if not wants_rport and not differs:
        return via.raw
    out = []
    for param in params:
        key = param.split("=", 1)[0].strip().lower()
        if key == "received":
            continue
        out.append(f"rport={port}" if key == "rport" and wants_rport else param.strip())
    out.append(f"received={host}")
    return ";".join([head.rstrip(), *out])


def parse_challenge(value: str) -> dict[str, str]:
    """Parse `Digest realm="x", nonce="y", qop="auth"` into a dict (RFC 2617 §3.2.1)."""
    text = value.strip()
    if text[:6].lower() == "digest":
        text = text[6:]
    out: dict[str, str] = {}
    i = 0
    while i < len(text):
        while i < len(text) and text[i] in " ,\t":
            i += 1
        eq = text.find("=", i)
        if eq < 0:
            break
        key = text[i:eq].strip().lower()
        i = eq + 1
        if i < len(text) and text[i] == '"':
            end = text.find('"', i + 1)
            end = len(text) if end < 0 else end
            out[key] = text[i + 1 : end]
            i = end + 1
        else:
            end = text.find(",", i)
            end = len(text) if end < 0 else end
            out[key] = text[i:end].strip()
            i = end
    return out


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _finish(lines: list[str], body: str, content_type: str) -> str:
    data = body.encode("utf-8")
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(data)}")
    return "\r\n".join(lines) + "\r\n\r\n" + body
