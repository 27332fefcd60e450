"""RTP on disk: write the pcaps SIPp plays, read the pcaps we capture, decode G.711.

The lab must not commit binaries it can generate, and tests must decode what the console sent
without Wireshark's help, so this module is a small, pure-Python (stdlib only) pcap/pcapng
reader and writer, an RTP header parser (RFC 3550 §5.1), RFC 4733 telephone-event packets
and G.711 μ-law/A-law codecs (ITU-T G.711; no ``audioop``, which Python 3.13 removes).

Generated pcaps use 127.0.0.1 only; SIPp rewrites the addresses to the negotiated media.
"""

from __future__ import annotations

import itertools
import math
import struct
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = (127, 0, 0, 1)
PT_PCMU = 0
PT_PCMA = 8
PT_EVENT = 101
DTMF_CODES = {c: i for i, c in enumerate("0123456789*#ABCD")}
DTMF_CHARS = "0123456789*#ABCD"

_LINKTYPE_ETHERNET = 1
_LINKTYPE_NULL = 0
_LINKTYPE_RAW = 101
_LINKTYPE_LINUX_SLL = 113
_LINKTYPE_LINUX_SLL2 = 276


class PcapError(Exception):
    """A capture file could not be read or written."""

    title = "Packet capture"


# --------------------------------------------------------------------------- G.711


def _ulaw_encode_sample(sample: int) -> int:
    value = sample >> 2  # 14-bit magnitude, as in the ITU reference code
    if value < 0:
        value, mask = -value, 0x7F
    else:
        mask = 0xFF
    value = min(value, 8159) + 33
    segment = next((i for i, end in enumerate(_ULAW_SEG_END) if value <= end), 8)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


_ULAW_SEG_END = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)


def _ulaw_decode_sample(code: int) -> int:
    code = ~code & 0xFF
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -magnitude if sign else magnitude


def _alaw_encode_sample(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(sample if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _alaw_decode_sample(code: int) -> int:
    code ^= 0x55
    sign, exponent, mantissa = code & 0x80, (code >> 4) & 0x07, code & 0x0F
    if exponent == 0:
        magnitude = (mantissa << 4) + 8
    else:
        magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if sign else -magnitude


_ULAW_DEC = [_ulaw_decode_sample(i) for i in range(256)]
_ALAW_DEC = [_alaw_decode_sample(i) for i in range(256)]


def pcm16_to_ulaw(pcm: bytes) -> bytes:
    """Encode little-endian signed 16-bit PCM as G.711 μ-law."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    return bytes(_ulaw_encode_sample(s) for s in samples)


def pcm16_to_alaw(pcm: bytes) -> bytes:
    """Encode little-endian signed 16-bit PCM as G.711 A-law."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    return bytes(_alaw_encode_sample(s) for s in samples)


def ulaw_to_pcm16(data: bytes) -> bytes:
    """Decode G.711 μ-law to little-endian signed 16-bit PCM."""
    return struct.pack(f"<{len(data)}h", *(_ULAW_DEC[b] for b in data))


def alaw_to_pcm16(data: bytes) -> bytes:
    """Decode G.711 A-law to little-endian signed 16-bit PCM."""
    return struct.pack(f"<{len(data)}h", *(_ALAW_DEC[b] for b in data))


def decode_g711(payload_type: int, data: bytes) -> bytes:
    """Decode a PCMU (0) or PCMA (8) payload to s16le PCM."""
    if payload_type == PT_PCMU:
        return ulaw_to_pcm16(data)
    if payload_type == PT_PCMA:
        return alaw_to_pcm16(data)
    raise PcapError(f"payload type {payload_type} is not G.711 (expected 0 or 8)")


def tone_pcm16(freq_hz: float, seconds: float, amplitude: int = 8000, rate: int = 8000) -> bytes:
    """A sine tone as s16le PCM (8 kHz mono by default)."""
    n = int(rate * seconds)
    return struct.pack(
        f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * freq_hz * i / rate)) for i in range(n))
    )


def dominant_frequency(pcm: bytes, rate: int = 8000) -> float:
    """Rough dominant frequency of s16le PCM from zero crossings (enough for 440 vs 600 Hz)."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    if len(samples) < 2:
        return 0.0
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return crossings * rate / (2 * len(samples))


# --------------------------------------------------------------------------- RTP


@dataclass(frozen=True)
class RtpPacket:
    """One captured RTP packet (RFC 3550 §5.1 header fields plus where and when it was seen)."""

    time: float
    """Capture timestamp, seconds since the epoch."""
    src: tuple[str, int]
    dst: tuple[str, int]
    ssrc: int
    seq: int
    timestamp: int
    payload_type: int
    marker: bool
    payload: bytes

    @property
    def ts(self) -> int:
        """Alias of ``timestamp`` (the RTP media clock)."""
        return self.timestamp

    @property
    def pt(self) -> int:
        """Alias of ``payload_type``."""
        return self.payload_type

    @property
    def digit(self) -> str | None:
        """The DTMF digit of a telephone-event packet, or None."""
        event = self.event()
        return event[0] if event else None

    @property
    def event_end(self) -> bool:
        """True for an RFC 4733 end-of-event packet."""
        event = self.event()
        return bool(event and event[1])

    def event(self) -> tuple[str, bool, int] | None:
        """RFC 4733 §2.3 telephone-event: (digit, end bit, duration) or None if not an event."""
        if len(self.payload) < 4:
            return None
        code, flags, duration = struct.unpack("!BBH", self.payload[:4])
        digit = DTMF_CHARS[code] if code < len(DTMF_CHARS) else f"?{code}"
        return digit, bool(flags & 0x80), duration


def parse_rtp(data: bytes) -> tuple[int, int, int, int, bool, bytes] | None:
    """Parse an RTP header; returns (ssrc, seq, ts, pt, marker, payload) or None if not RTP v2."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    offset = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # header extension
        if len(data) < offset + 4:
            return None
        (ext_words,) = struct.unpack("!H", data[offset + 2 : offset + 4])
        offset += 4 + 4 * ext_words
    end = len(data)
    if b0 & 0x20 and end > offset:  # padding
        end -= data[-1]
    if offset > end:
        return None
    return ssrc, seq, ts, b1 & 0x7F, bool(b1 & 0x80), data[offset:end]


def rtp_bytes(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool = False) -> bytes:
    """Build one RTP packet (version 2, no CSRC, no extension)."""
    return (
        struct.pack(
            "!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc
        )
        + payload
    )


# --------------------------------------------------------------------------- pcap writing


def _ipv4_udp_frame(payload: bytes, sport: int, dport: int) -> bytes:
    udp_len = 8 + len(payload)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    header = struct.pack(
        "!BBHHHBBH4B4B", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, *LOOPBACK, *LOOPBACK
    )
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    header = header[:10] + struct.pack("!H", ~total & 0xFFFF) + header[12:]
    return b"\x00" * 12 + b"\x08\x00" + header + udp


def write_pcap(path: Path, packets: Iterable[tuple[float, bytes]]) -> int:
    """Write (time, RTP bytes) as Ethernet/IPv4/UDP frames in libpcap format; returns the count."""
    count = 0
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, _LINKTYPE_ETHERNET))
        for t, rtp in packets:
            frame = _ipv4_udp_frame(rtp, 40000, 10000)
            sec = int(t)
            out.write(struct.pack("<IIII", sec, round((t - sec) * 1e6), len(frame), len(frame)))
            out.write(frame)
            count += 1
    return count


def g711_packets(
    pcm: bytes, payload_type: int = PT_PCMU, start: float = 1.0, ssrc: int = 0x1234
) -> list[tuple[float, bytes]]:
    """Packetise s16le 8 kHz PCM into 20 ms G.711 RTP packets."""
    if payload_type == PT_PCMU:
        coded = pcm16_to_ulaw(pcm)
    elif payload_type == PT_PCMA:
        coded = pcm16_to_alaw(pcm)
    else:
        raise PcapError(f"payload type {payload_type} is not G.711 (expected 0 or 8)")
    out = []
    for i in range(0, len(coded) - 159, 160):
        pkt = rtp_bytes(payload_type, 100 + i // 160, 1000 + i, ssrc, coded[i : i + 160], i == 0)
        out.append((start + i / 8000, pkt))
    return out


def dtmf_packets(
    digits: str,
    on_ms: int = 160,
    gap_ms: int = 240,
    odd: bool = False,
    payload_type: int = PT_EVENT,
    start: float = 1.0,
) -> list[tuple[float, bytes]]:
    """RFC 4733 telephone-event packets for ``digits``, each with 3 end packets.

    ``odd=True`` reproduces what is met in the wild: digits at even positions carry no marker
    bit, digits at odd positions repeat their marker packet three times.
    """
    bad = [d for d in digits if d not in DTMF_CODES]
    if bad or not digits:
        raise PcapError(f"DTMF digits must be non-empty and from 0-9*#A-D, got {digits!r}")
    out: list[tuple[float, bytes]] = []
    t, seq, ts = start, 500, 8000
    steps = max(1, on_ms // 20)
    for index, digit in enumerate(digits):
        code = DTMF_CODES[digit]
        for k in range(steps):
            payload = struct.pack("!BBH", code, 10, (k + 1) * 160)
            marker = k == 0 and not (odd and index % 2 == 0)
            repeats = 3 if (odd and index % 2 == 1 and k == 0) else 1
            for _ in range(repeats):
                out.append((t, rtp_bytes(payload_type, seq, ts, 0x5678, payload, marker)))
                seq += 1
            t += 0.02
        for _ in range(3):
            payload = struct.pack("!BBH", code, 0x80 | 10, steps * 160)
            out.append((t, rtp_bytes(payload_type, seq, ts, 0x5678, payload)))
            seq += 1
        t += gap_ms / 1000
        ts += (on_ms + gap_ms) * 8
    return out


STANDARD_PCAPS = {
    "caller_pcmu.pcap": lambda: g711_packets(tone_pcm16(600, 3.0), PT_PCMU),
    "caller_pcma.pcap": lambda: g711_packets(tone_pcm16(600, 3.0), PT_PCMA),
    "dtmf_1234hash.pcap": lambda: dtmf_packets("1234#"),
    "dtmf_odd_1357.pcap": lambda: dtmf_packets("1357", odd=True),
}
"""The pcaps the SIPp scenarios play, by file name (scenarios refer to ``pcap/<name>``)."""


def ensure_standard_pcaps(directory: Path) -> Path:
    """Generate the standard pcaps into ``directory`` (once); returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, build in STANDARD_PCAPS.items():
        target = directory / name
        if not target.exists() or target.stat().st_size == 0:
            tmp = target.with_suffix(".tmp")
            write_pcap(tmp, build())
            tmp.replace(target)
    return directory


# --------------------------------------------------------------------------- pcap reading


def _records(data: bytes) -> Iterator[tuple[float, int, bytes]]:
    """Yield (time, linktype, frame) from libpcap or pcapng bytes."""
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (
        b"\xd4\xc3\xb2\xa1",
        b"\xa1\xb2\xc3\xd4",
        b"\x4d\x3c\xb2\xa1",
        b"\xa1\xb2\x3c\x4d",
    ):
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(endian + "I", data[20:24])[0] & 0x0FFFFFFF
        pos = 24
        while pos + 16 <= len(data):
            sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[pos : pos + 16])
            pos += 16
            if pos + incl > len(data):
                break  # truncated last record (capture still being written)
            yield sec + frac / (1e9 if nano else 1e6), linktype, data[pos : pos + incl]
            pos += incl
        return
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng_records(data)
        return
    raise PcapError(f"not a pcap or pcapng file (magic {magic.hex()})")


def _pcapng_records(data: bytes) -> Iterator[tuple[float, int, bytes]]:
    pos, endian = 0, "<"
    interfaces: list[tuple[int, float]] = []
    while pos + 12 <= len(data):
        if data[pos : pos + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if data[pos + 8 : pos + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            interfaces = []
        btype, blen = struct.unpack(endian + "II", data[pos : pos + 8])
        if blen < 12 or pos + blen > len(data):
            break
        body = data[pos + 8 : pos + blen - 4]
        if btype == 1:  # Interface Description Block
            linktype = struct.unpack(endian + "H", body[:2])[0]
            resolution = 1e-6
            opt = 8
            while opt + 4 <= len(body):
                code, length = struct.unpack(endian + "HH", body[opt : opt + 4])
                if code == 0:
                    break
                if code == 9 and length >= 1:  # if_tsresol
                    raw = body[opt + 4]
                    resolution = 2.0 ** -(raw & 0x7F) if raw & 0x80 else 10.0**-raw
                opt += 4 + (length + 3) // 4 * 4
            interfaces.append((linktype, resolution))
        elif btype == 6 and len(body) >= 20:  # Enhanced Packet Block
            iface, hi, lo, caplen, _orig = struct.unpack(endian + "IIIII", body[:20])
            linktype, resolution = interfaces[iface] if iface < len(interfaces) else (1, 1e-6)
            yield ((hi << 32) | lo) * resolution, linktype, body[20 : 20 + caplen]
        pos += blen


def _udp_of_frame(linktype: int, frame: bytes) -> tuple[str, int, str, int, bytes] | None:
    if linktype == _LINKTYPE_ETHERNET:
        offset, ethertype = 14, frame[12:14]
        while ethertype == b"\x81\x00" and len(frame) >= offset + 4:  # VLAN
            ethertype = frame[offset + 2 : offset + 4]
            offset += 4
        if ethertype != b"\x08\x00":
            return None
    elif linktype == _LINKTYPE_LINUX_SLL:
        if frame[14:16] != b"\x08\x00":
            return None
        offset = 16
    elif linktype == _LINKTYPE_LINUX_SLL2:
        if frame[0:2] != b"\x08\x00":
            return None
        offset = 20
    elif linktype == _LINKTYPE_NULL:
        offset = 4
    elif linktype == _LINKTYPE_RAW:
        offset = 0
    else:
        return None
    ip = frame[offset:]
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 0x0F) * 4
    udp = ip[ihl:]
    if len(udp) < 8:
        return None
    sport, dport, length = struct.unpack("!HHH", udp[:6])
    src = ".".join(str(b) for b in ip[12:16])
    dst = ".".join(str(b) for b in ip[16:20])
    return src, sport, dst, dport, udp[8:length] if length >= 8 else udp[8:]


def read_udp(path: Path) -> list[tuple[float, tuple[str, int], tuple[str, int], bytes]]:
    """All IPv4 UDP datagrams of a capture: (time, src, dst, payload)."""
    out = []
    for t, linktype, frame in _records(Path(path).read_bytes()):
        parsed = _udp_of_frame(linktype, frame)
        if parsed:
            src, sport, dst, dport, payload = parsed
            out.append((t, (src, sport), (dst, dport), payload))
    return out


def read_rtp(path: Path, ports: Iterable[int] | None = None) -> list[RtpPacket]:
    """RTP packets of a capture, optionally only those to or from one of ``ports``.

    A datagram counts as RTP when its first byte says version 2 and it is not RTCP (PT 72–76);
    SIP on the same ports would not parse (it starts with a letter).
    """
    wanted = set(ports) if ports is not None else None
    out = []
    for t, src, dst, payload in read_udp(path):
        if wanted is not None and src[1] not in wanted and dst[1] not in wanted:
            continue
        parsed = parse_rtp(payload)
        if parsed is None or 72 <= parsed[3] <= 76:
            continue
        ssrc, seq, ts, pt, marker, data = parsed
        out.append(RtpPacket(t, src, dst, ssrc, seq, ts, pt, marker, data))
    return out


def write_wav(path: Path, pcm: bytes, rate: int = 8000) -> None:
    """Write s16le mono PCM as a WAV file (for listening to a failed test's audio)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "pcap")
    ensure_standard_pcaps(target)
    sys.stderr.write(f"pcaps in {target}\n")
