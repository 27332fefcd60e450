"""The line's SDP answer follows RFC 3264: one answer m= line per offered one, in order (§6),
rejected streams at port zero, the taken stream's direction mirrored (§6.1), and the taken
stream's own c= preferred over the session's (RFC 4566 §5.7)."""

from __future__ import annotations

import random

import pytest

from sip.api import Codec
from sip.dialog import (
    MAX_MEDIA_STREAMS,
    OfferedStream,
    SdpOffer,
    SdpRejected,
    build_answer,
    parse_offer,
)
from sip.message import SipMessage, parse_message
from tests.sip.fakes import invite

NETWORKS = ("127.0.0.0/8", "10.0.0.0/8")
SESSION = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
AUDIO = ("m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
         "a=rtpmap:101 telephone-event/8000\r\n")


def message(sdp: str) -> SipMessage:
    return parse_message(invite("sdp", sdp=sdp).encode())


def m_lines(answer: str) -> list[list[str]]:
    return [line[2:].split() for line in answer.split("\r\n") if line.startswith("m=")]


def answer_to(sdp: str) -> tuple[SdpOffer, str]:
    offer = parse_offer(message(sdp), NETWORKS)
    return offer, build_answer("127.0.0.1", 20000, offer, 7, 1)


def media_sections(answer: str) -> list[list[str]]:
    """The answer's m= sections, each as its lines (the m= line first)."""
    sections: list[list[str]] = []
    for line in answer.split("\r\n"):
        if line.startswith("m="):
            sections.append([line])
        elif sections and line:
            sections[-1].append(line)
    return sections


# ------------------------------------------------------------------ one answer line per offer


OTHERS = [
    "m=video 40002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
    "m=audio 40004 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:abc\r\n",
    "m=application 40008 UDP/BFCP *\r\n",
    "m=image 40010 udptl t38\r\n",
    "m=audio 40012 RTP/AVPF 0\r\n",
    "m=video 0 RTP/AVP 31\r\n",
    "m=text 40014 RTP/AVP 98\r\na=rtpmap:98 t140/1000\r\n",
    "m=audio 40016 UDP/TLS/RTP/SAVPF 111\r\n",
    "m=message 40018 TCP/MSRP *\r\n",
]


SECOND_AUDIO = "m=audio 40020 RTP/AVP 0 8\r\n"
"""A second usable audio stream after the taken one: we take only one."""


def twenty_stream_offer(taken_at: int) -> tuple[str, list[str]]:
    """The taken audio at `taken_at`, a second plain audio right after it, 18 others around."""
    others = [OTHERS[i % len(OTHERS)] for i in range(18)]
    sections = [*others[:taken_at], AUDIO, SECOND_AUDIO, *others[taken_at:]]
    return SESSION + "".join(sections), sections


@pytest.mark.parametrize("taken_at", [0, 5, 18])
def test_twenty_offered_streams_get_twenty_answer_lines(taken_at: int) -> None:
    sdp, sections = twenty_stream_offer(taken_at)
    offer, answer = answer_to(sdp)
    lines = m_lines(answer)
    assert len(lines) == 20
    assert offer.chosen == taken_at and len(offer.streams) == 20
    assert lines[taken_at] == ["audio", "20000", "RTP/AVP", "8", "101"]
    for index, (line, section) in enumerate(zip(lines, sections, strict=True)):
        if index == taken_at:
            continue
        offered = section.split("\r\n")[0][2:].split()
        assert line[1] == "0", f"stream {index} must be refused with port zero"
        assert line[0] == offered[0] and line[2] == offered[2]
        assert line[3:] == offered[3:]


def test_refused_streams_carry_no_attributes_and_taken_keeps_its_own() -> None:
    sdp, _ = twenty_stream_offer(3)
    _, answer = answer_to(sdp)
    sections = media_sections(answer)
    assert all(len(s) == 1 for i, s in enumerate(sections) if i != 3)
    assert sections[3] == ["m=audio 20000 RTP/AVP 8 101", "a=rtpmap:8 PCMA/8000",
                           "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15",
                           "a=ptime:20", "a=sendrecv"]
    head = answer.split("\r\nm=", 1)[0].split("\r\n")
    assert head == ["v=0", "o=duty 7 1 IN IP4 127.0.0.1", "s=duty line",
                    "c=IN IP4 127.0.0.1", "t=0 0"]


def test_srtp_first_takes_the_later_plain_rtp_audio() -> None:
    sdp = SESSION + ("m=audio 41000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
                     "m=audio 41002 RTP/AVPF 0\r\n" + AUDIO)
    offer, answer = answer_to(sdp)
    assert (offer.chosen, offer.port) == (2, 40000)
    assert m_lines(answer) == [["audio", "0", "RTP/SAVP", "0"], ["audio", "0", "RTP/AVPF", "0"],
                               ["audio", "20000", "RTP/AVP", "8", "101"]]


def test_port_zero_audio_is_skipped() -> None:
    offer, answer = answer_to(SESSION + "m=audio 0 RTP/AVP 0\r\n" + AUDIO)
    assert (offer.chosen, offer.port, offer.codec) == (1, 40000, Codec.PCMA)
    assert m_lines(answer)[0] == ["audio", "0", "RTP/AVP", "0"]
    assert m_lines(answer)[1][1] == "20000"


def test_refused_stream_without_formats_gets_one() -> None:
    _, answer = answer_to(SESSION + "m=video 40002 RTP/AVP\r\n" + AUDIO)
    assert m_lines(answer)[0] == ["video", "0", "RTP/AVP", "0"]


# ------------------------------------------------------------------ connection address per stream


def test_media_level_c_overrides_session_c_for_that_stream_only() -> None:
    sdp = (SESSION.replace("127.0.0.1", "203.0.113.9")
           + "m=video 40002 RTP/AVP 96\r\n" + AUDIO + "c=IN IP4 10.1.2.3\r\n")
    offer, _ = answer_to(sdp)
    assert offer.host == "10.1.2.3"
    assert offer.streams[0].host == "203.0.113.9"
    assert offer.streams[1].host == "10.1.2.3"


def test_session_c_applies_when_stream_has_none() -> None:
    offer, _ = answer_to(SESSION + "m=video 40002 RTP/AVP 96\r\nc=IN IP4 203.0.113.9\r\n" + AUDIO)
    assert offer.host == "127.0.0.1", "the video's c= is not the audio's"


def test_taken_stream_address_outside_networks_is_refused() -> None:
    sdp = SESSION + AUDIO + "c=IN IP4 203.0.113.9\r\n"
    with pytest.raises(SdpRejected, match="media address outside the allowed networks"):
        parse_offer(message(sdp), NETWORKS)


def test_bad_address_or_port_in_refused_stream_does_not_refuse_offer() -> None:
    sdp = SESSION + ("m=video 40002 RTP/AVP 96\r\nc=IN IP4 nowhere.example\r\n"
                     "m=video 4x RTP/AVP 96\r\nc=IN IP4 203.0.113.9\r\n"
                     "m=audio 99999999 RTP/AVP 0\r\n"
                     "m=audio none RTP/AVP 0\r\n" + AUDIO)
    offer, answer = answer_to(sdp)
    assert offer.chosen == 4
    assert [line[1] for line in m_lines(answer)] == ["0", "0", "0", "0", "20000"]


# ------------------------------------------------------------------ direction (RFC 3264 §6.1)


@pytest.mark.parametrize(("offered", "session_level", "answered"), [
    ("sendrecv", False, "sendrecv"),
    ("sendonly", False, "recvonly"),
    ("recvonly", False, "sendonly"),
    ("inactive", False, "inactive"),
    ("sendonly", True, "recvonly"),
    ("recvonly", True, "sendonly"),
    ("inactive", True, "inactive"),
    ("", False, "sendrecv"),
])
def test_direction_is_mirrored(offered: str, session_level: bool, answered: str) -> None:
    attr = f"a={offered}\r\n" if offered else ""
    sdp = SESSION + attr + AUDIO if session_level else SESSION + AUDIO + attr
    offer, answer = answer_to(sdp)
    assert offer.direction == (offered or "sendrecv")
    directions = [line for line in answer.split("\r\n")
                  if line[2:] in ("sendrecv", "sendonly", "recvonly", "inactive")]
    assert directions == [f"a={answered}"]


def test_media_level_direction_overrides_session_level() -> None:
    offer, answer = answer_to(SESSION + "a=inactive\r\n" + AUDIO + "a=sendonly\r\n")
    assert offer.direction == "sendonly" and "a=recvonly\r\n" in answer


def test_other_streams_direction_does_not_leak() -> None:
    offer, _ = answer_to(SESSION + "m=video 40002 RTP/AVP 96\r\na=sendonly\r\n" + AUDIO)
    assert offer.direction == "sendrecv"


# ------------------------------------------------------------------ compatibility


REINVITE_ANSWER = ("v=0\r\no=duty 7 3 IN IP4 127.0.0.1\r\ns=duty line\r\nc=IN IP4 127.0.0.1\r\n"
                   "t=0 0\r\nm=audio 20000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                   "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
                   "a=sendrecv\r\n")


def test_four_field_offer_answers_one_audio_line_as_before() -> None:
    offer = SdpOffer("127.0.0.1", 40000, Codec.PCMU, 101)
    assert build_answer("127.0.0.1", 20000, offer, 7, 3) == REINVITE_ANSWER
    plain = build_answer("::1", 20000, SdpOffer("::1", 40000, Codec.PCMA, None), 7, 3)
    assert m_lines(plain) == [["audio", "20000", "RTP/AVP", "8"]]
    assert "c=IN IP6 ::1\r\n" in plain and "telephone-event" not in plain


def test_reinvite_style_offer_from_a_multi_stream_offer_is_still_single_line() -> None:
    parsed, _ = answer_to(twenty_stream_offer(4)[0])
    rebuilt = SdpOffer(parsed.host, parsed.port, parsed.codec, parsed.dtmf_pt)
    assert len(m_lines(build_answer("127.0.0.1", 20000, rebuilt, 7, 2))) == 1


def test_single_audio_offer_answer_is_unchanged() -> None:
    _, answer = answer_to(SESSION + AUDIO)
    assert answer == REINVITE_ANSWER.replace(" 7 3 ", " 7 1 ").replace(
        "RTP/AVP 0 101\r\na=rtpmap:0 PCMU", "RTP/AVP 8 101\r\na=rtpmap:8 PCMA")


def test_offered_stream_and_offer_defaults() -> None:
    stream = OfferedStream("video", 0, "RTP/AVP", ())
    assert stream.rejected_line() == "m=video 0 RTP/AVP 0"
    offer = SdpOffer("127.0.0.1", 1, Codec.PCMU, None)
    assert (offer.streams, offer.chosen, offer.direction) == ((), 0, "sendrecv")
    with pytest.raises(ValueError):
        SdpOffer("127.0.0.1", 1, Codec.PCMU, None, streams=(stream,), chosen=1)
    with pytest.raises(ValueError):
        SdpOffer("127.0.0.1", 1, Codec.PCMU, None, direction="sideways")


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("sdp", "text"), [
    (SESSION + "m=video 40002 RTP/AVP 96\r\n", "no audio stream offered"),
    ("v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 18\r\n", "Only PCMU/PCMA"),
    (SESSION + "m=audio 4000 RTP/SAVP 0\r\nm=audio 4002 RTP/AVP 18\r\n", "Only PCMU/PCMA"),
    (SESSION + "m=audio 4000 RTP/SAVP 0\r\n", "Only RTP/AVP"),
    (SESSION + "m=audio 0 RTP/AVP 0\r\n", "port 0"),
    (SESSION + "m=audio 4x RTP/AVP 0\r\n", "bad media port"),
    (SESSION + "m=audio 70000 RTP/AVP 0\r\n", "media port rejected"),
    ("v=0\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "no connection address"),
    ("v=0\r\nc=IN IP4 host.example\r\nm=audio 4000 RTP/AVP 0\r\n", "not an IP literal"),
    (SESSION + "m=\r\n" + AUDIO, "malformed m= line"),
    (SESSION + "m=audio 4000\r\n" + AUDIO, "malformed m= line"),
], ids=["video-only", "codec", "srtp-then-codec", "srtp-only", "port-zero", "port-text",
        "port-range", "no-c", "c-hostname", "empty-m", "m-without-proto"])
def test_offers_we_cannot_take(sdp: str, text: str) -> None:
    with pytest.raises(SdpRejected, match=text) as caught:
        parse_offer(message(sdp), NETWORKS)
    assert caught.value.warning.startswith(("304 duty-line", "399 duty-line"))


def test_too_many_streams_are_refused_not_truncated() -> None:
    at_cap = SESSION + AUDIO + "m=video 0 RTP/AVP 31\r\n" * (MAX_MEDIA_STREAMS - 1)
    _, answer = answer_to(at_cap)
    assert len(m_lines(answer)) == MAX_MEDIA_STREAMS
    with pytest.raises(SdpRejected, match="too many media streams"):
        parse_offer(message(at_cap + "m=video 0 RTP/AVP 31\r\n"), NETWORKS)


def test_unicode_digits_are_not_a_port_or_payload_type() -> None:
    sdp = SESSION + ("m=audio ²³ RTP/AVP 0\r\n"
                     "m=audio 40000 RTP/AVP 0 ¹⁰¹\r\na=rtpmap:¹⁰¹ telephone-event/8000\r\n")
    offer, answer = answer_to(sdp)
    assert (offer.chosen, offer.dtmf_pt) == (1, None)
    assert m_lines(answer)[0] == ["audio", "0", "RTP/AVP", "0"]


FRAGMENTS = ["v=0", "m=audio 4000 RTP/AVP 0", "m=audio 0 RTP/AVP 8", "m=video 1 RTP/SAVP 9",
             "m=", "m=audio", "m=audio x RTP/AVP", "m=audio 4000/2 RTP/AVP 0 101",
             "c=IN IP4 127.0.0.1", "c=IN IP6 ::1", "c=", "c=IN IP4 999.1.1.1/127",
             "a=rtpmap:101 telephone-event/8000", "a=rtpmap:", "a=rtpmap:0", "a=sendonly",
             "a=inactive", "a=", "x", "=", "==", "m=audio 65536 RTP/AVP 0",
             "m=audio 4000 RTP/AVP \x00\x7f", "m=a\u00e9 1 R 1", "\u2028m=audio 1 RTP/AVP 0"]


def test_garbage_raises_only_sdp_rejected() -> None:
    rng = random.Random(3264)
    base = message(SESSION + AUDIO)
    for round_ in range(600):
        if round_ % 2:
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        else:
            lines = [rng.choice(FRAGMENTS) for _ in range(rng.randrange(1, 40))]
            body = rng.choice(["\r\n", "\n", "\r"]).join(lines).encode()
        base.body_raw = body
        try:
            offer = parse_offer(base, NETWORKS)
        except SdpRejected:
            continue
        answer = build_answer("127.0.0.1", 20000, offer, 1, 1)
        assert len(m_lines(answer)) == max(1, len(offer.streams))
        assert "\n" not in answer.replace("\r\n", "")
