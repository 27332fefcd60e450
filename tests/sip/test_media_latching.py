"""Symmetric RTP (latching) in the media engine, over real loopback sockets (issue 15).

A caller's SDP can name any host; a line on a real network must not stream its greeting at
a host that never sent it media. A latching session sends nothing, and its prompts wait,
until the caller's first valid RTP packet from the media networks; then it sends there, and
only there (RFC 4961 §3). Every socket is on 127.0.0.0/8 and closed by the test.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from sip.api import Codec, Prompt
from sip.media import MediaEngine
from tests.sip.test_media import WAIT, parse, port_range, rtp, sine, wait_for


class Host:
    """A loopback host at its own 127.x address that records what reaches it."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.address: tuple[str, int] = self.sock.getsockname()

    def received(self, within: float, at_most: int = 25) -> list[tuple[bytes, tuple[str, int]]]:
        """The datagrams that arrive within `within` s of each other, at most `at_most`."""
        self.sock.settimeout(within)
        out = []
        try:
            while len(out) < at_most:
                out.append(self.sock.recvfrom(4096))
                self.sock.settimeout(0.05)
        except TimeoutError:
            pass
        return out

    def send_rtp(self, port: int, pt: int = 0, seq: int = 1) -> None:
        self.sock.sendto(rtp(pt, seq, 160 * seq, b"\xff" * 160), ("127.0.0.1", port))

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hosts() -> Iterator[dict[str, Host]]:
    made = {name: Host(addr) for name, addr in
            (("third", "127.0.0.77"), ("caller", "127.0.0.5"), ("outside", "127.0.0.9"))}
    yield made
    for host in made.values():
        host.close()


def engine_for(networks: list[str]) -> MediaEngine:
    low, high = port_range(40)
    return MediaEngine("127.0.0.1", low, high, networks)


def test_a_third_host_named_by_the_sdp_gets_nothing_until_media_comes_from_it(
        hosts: dict[str, Host]) -> None:
    engine = engine_for(["127.0.0.0/8"])
    try:
        session = engine.allocate()
        third = hosts["third"]
        session.start(third.address, Codec.PCMU, None, latch=True)
        session.play(Prompt("greeting", sine(160 * 50)))
        assert third.received(within=0.6) == []  # the old code streamed the greeting here
        assert not session.latched
        assert session.playing, "the greeting waits for a destination instead of running out"
        assert engine.stats()["packets_sent"] == 0

        third.send_rtp(session.local_port)  # now it speaks: it is the caller
        got = third.received(within=WAIT)
        assert len(got) == 25
        assert {src for _, src in got} == {("127.0.0.1", session.local_port)}
        first = parse(got[0][0])
        assert first.marker, "the stream starts with a marked packet (RFC 3551 §4.1)"
        assert session.latched and engine.stats()["latches"] == 1
    finally:
        engine.close()


def test_the_stream_latches_to_the_first_sender_and_only_to_it(
        hosts: dict[str, Host]) -> None:
    engine = engine_for(["127.0.0.0/8"])
    try:
        session = engine.allocate()
        third, caller = hosts["third"], hosts["caller"]
        session.start(third.address, Codec.PCMU, None, latch=True)
        caller.send_rtp(session.local_port)  # a PBX relaying from another address: comedia
        assert len(caller.received(within=WAIT)) >= 10
        third.send_rtp(session.local_port, seq=2)  # a late second sender changes nothing
        assert third.received(within=0.4) == []
        assert wait_for(lambda: engine.stats()["drops"].get("foreign_source", 0) >= 1)
        assert session.remote == caller.address
    finally:
        engine.close()


def test_no_latch_on_a_host_outside_the_media_networks_nor_on_garbage(
        hosts: dict[str, Host]) -> None:
    engine = engine_for(["127.0.0.0/29"])  # 127.0.0.0-7: .5 is inside, .9 is not
    try:
        session = engine.allocate()
        outside, caller = hosts["outside"], hosts["caller"]
        session.start(("127.0.0.6", 4000), Codec.PCMU, None, latch=True)
        outside.send_rtp(session.local_port)
        caller.sock.sendto(b"\x80junk", ("127.0.0.1", session.local_port))  # too short
        caller.send_rtp(session.local_port, pt=18)  # G.729: not what was negotiated
        assert outside.received(within=0.5) == [] and caller.received(within=0.1) == []
        assert not session.latched
        drops = engine.stats()["drops"]
        assert drops.get("foreign_source") == 1 and drops.get("short") == 1
        assert drops.get("unknown_payload") == 1
        caller.send_rtp(session.local_port)
        assert len(caller.received(within=WAIT)) >= 5
    finally:
        engine.close()


def test_a_trusted_destination_is_sent_to_at_once() -> None:
    engine = engine_for(["127.0.0.0/8"])
    peer = Host("127.0.0.1")
    try:
        session = engine.allocate()
        session.start(peer.address, Codec.PCMA, None)
        assert session.latched
        got = peer.received(within=WAIT)
        assert len(got) >= 5
        assert struct.unpack_from("!BB", got[0][0])[1] & 0x7F == Codec.PCMA.value
    finally:
        peer.close()
        engine.close()


def test_a_reinvite_to_an_untrusted_address_latches_again(hosts: dict[str, Host]) -> None:
    engine = engine_for(["127.0.0.0/8"])
    try:
        session = engine.allocate()
        caller, third = hosts["caller"], hosts["third"]
        session.start(caller.address, Codec.PCMU, None)
        assert len(caller.received(within=WAIT)) >= 5
        session.retarget(third.address, latch=True)
        caller.received(within=0.1)  # what was in flight
        assert third.received(within=0.5) == [] and caller.received(within=0.2) == []
        third.send_rtp(session.local_port)
        assert len(third.received(within=WAIT)) >= 5
    finally:
        engine.close()
