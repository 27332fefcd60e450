"""The lab's pcap/RTP/G.711 helpers, checked without any lab process running."""

from __future__ import annotations

import struct
from pathlib import Path

import labpcap
import pytest


def test_ulaw_and_alaw_round_trip_within_quantisation() -> None:
    pcm = labpcap.tone_pcm16(1000, 0.1, amplitude=12000)
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm)
    for encode, decode in (
        (labpcap.pcm16_to_ulaw, labpcap.ulaw_to_pcm16),
        (labpcap.pcm16_to_alaw, labpcap.alaw_to_pcm16),
    ):
        back = struct.unpack(f"<{len(samples)}h", decode(encode(pcm)))
        assert max(abs(a - b) for a, b in zip(samples, back, strict=True)) <= 1024


def test_g711_silence_codes() -> None:
    assert labpcap.pcm16_to_ulaw(b"\x00\x00") == b"\xff"
    assert labpcap.pcm16_to_alaw(b"\x00\x00") == b"\xd5"
    with pytest.raises(labpcap.PcapError, match=r"not G\.711"):
        labpcap.decode_g711(18, b"\x00")


def test_generated_pcaps_read_back(tmp_path: Path) -> None:
    labpcap.ensure_standard_pcaps(tmp_path)
    tone = labpcap.read_rtp(tmp_path / "caller_pcmu.pcap")
    assert len(tone) == 150 and tone[0].marker and not tone[1].marker
    assert [p.seq for p in tone[:3]] == [100, 101, 102]
    assert tone[1].time - tone[0].time == pytest.approx(0.02)
    pcm = b"".join(labpcap.decode_g711(p.pt, p.payload) for p in tone)
    assert abs(labpcap.dominant_frequency(pcm) - 600) < 5
    dtmf = labpcap.read_rtp(tmp_path / "dtmf_1234hash.pcap")
    firsts = [p.digit for p in dtmf if p.marker]
    assert firsts == list("1234#")
    ends = [p for p in dtmf if p.event_end]
    assert len(ends) == 15


def test_read_rtp_filters_ports_and_skips_non_rtp(tmp_path: Path) -> None:
    path = tmp_path / "mixed.pcap"
    sip = b"OPTIONS sip:x SIP/2.0\r\n\r\n"
    rtp = labpcap.rtp_bytes(0, 1, 160, 7, b"\xff" * 160, marker=True)
    labpcap.write_pcap(path, [(1.0, sip), (1.02, rtp)])
    packets = labpcap.read_rtp(path)
    assert len(packets) == 1 and packets[0].ssrc == 7
    assert labpcap.read_rtp(path, ports=[9]) == []


def test_pcapng_is_read(tmp_path: Path) -> None:
    frame = labpcap._ipv4_udp_frame(labpcap.rtp_bytes(8, 5, 800, 9, b"\xd5" * 160), 4000, 5000)

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", 1, 0, 65535))
    ts = 1_700_000_000_250_000  # microseconds
    epb = block(
        6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame
    )
    path = tmp_path / "one.pcapng"
    path.write_bytes(shb + idb + epb)
    (packet,) = labpcap.read_rtp(path)
    assert packet.pt == 8 and packet.seq == 5 and packet.dst == ("127.0.0.1", 5000)
    assert packet.time == pytest.approx(1_700_000_000.25)


def test_bad_inputs(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture file at all")
    with pytest.raises(labpcap.PcapError, match="not a pcap"):
        labpcap.read_rtp(junk)
    with pytest.raises(labpcap.PcapError, match="DTMF digits"):
        labpcap.dtmf_packets("12x")
    with pytest.raises(labpcap.PcapError, match="DTMF digits"):
        labpcap.dtmf_packets("")
    truncated = tmp_path / "cut.pcap"
    labpcap.write_pcap(truncated, labpcap.g711_packets(labpcap.tone_pcm16(440, 0.1)))
    truncated.write_bytes(truncated.read_bytes()[:-50])
    assert len(labpcap.read_rtp(truncated)) == 4  # the cut last record is dropped, not fatal
    assert labpcap.parse_rtp(b"\x80") is None
