"""UDP transport for the duty line (RFC 3261 §18), replacing pyVoIP's polling receive loop.

Stock pyVoIP polls a non-blocking socket every 10 ms and, while registering, reads the socket
itself under a lock (so an OPTIONS arriving then is lost).  Here one thread blocks on
`recvfrom` and hands every datagram, with its source address, to a single handler; nobody
else reads the socket.  Replies are sent to that source address (§18.2.2), never to an
address read from a header.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Protocol

from sip.api import LineConfigError
from sip.message import MAX_DATAGRAM

log = logging.getLogger("sip.transport")

Address = tuple[str, int]
DatagramHandler = Callable[[bytes, Address], None]


class Transport(Protocol):
    """What the line needs from a datagram transport (the UDP one, or a fake in tests)."""

    @property
    def local_port(self) -> int: ...
    def start(self, handler: DatagramHandler) -> None: ...
    def send(self, data: bytes, addr: Address) -> None: ...
    def close(self) -> None: ...


class UdpTransport:
    """One UDP socket and one receive thread."""

    def __init__(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise LineConfigError(f"cannot listen for SIP on udp {host}:{port}: "
                                  f"{exc.strerror or exc}", title="Line address") from None
        self._sock.settimeout(0.2)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def local_port(self) -> int:
        return int(self._sock.getsockname()[1])

    def start(self, handler: DatagramHandler) -> None:
        def loop() -> None:
            while not self._closed.is_set():
                try:
                    data, addr = self._sock.recvfrom(MAX_DATAGRAM + 1)
                except TimeoutError:
                    continue
                except OSError:
                    if self._closed.is_set():
                        return
                    log.exception("receive failed")
                    continue
                try:
                    handler(data, (addr[0], addr[1]))
                except Exception:  # a bad datagram must never kill the line
                    log.exception("datagram from %s:%s not handled", addr[0], addr[1])

        self._thread = threading.Thread(target=loop, name="sip-recv", daemon=True)
        self._thread.start()

    def send(self, data: bytes, addr: Address) -> None:
        try:
            self._sock.sendto(data, addr)
        except OSError as exc:
            log.warning("send to %s:%s failed: %s", addr[0], addr[1], exc)

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._sock.close()
