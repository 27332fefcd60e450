"""A private two-host network for the lab: two network namespaces joined by one veth pair.

On loopback every address is local, so a console that only ever speaks to 127.0.0.1 can hide
mistakes a real network shows at once (the address it advertises, which peers its RTP may go
to). Tests that need the console and the PBX on different addresses build this network
themselves, run programs inside it and delete it afterwards. Both veth ends are created
directly inside their namespaces and nothing is routed to the host: no packet of the lab ever
reaches the host's own interfaces, and deleting the namespaces removes the links with them.

Usage (root only; ``ip netns`` from iproute2)::

    import netns
    netns.require()                           # NetnsNotRoot / NetnsUnavailable otherwise
    netns.remove_stale()                      # namespaces an earlier, crashed run left behind
    with netns.Network(seat=["10.77.0.1/24"], pbx=["10.77.0.2/24", "10.77.0.3/24"]) as net:
        net["pbx"].argv(["kamailio", ...])    # ["ip", "netns", "exec", "<name>", "kamailio", ...]
        net["pbx"].run(["ip", "-br", "addr"])  # a short command inside, bounded
        sock = net["seat"].socket()           # a UDP socket that lives in the seat namespace
        net["seat"].reaches("10.77.0.2")      # True: an address this network assigned
    # leaving the block deletes both namespaces (and so the veth pair)

Names are ``<prefix><creator pid>-<token>-<role>``, so a namespace whose creator is gone is
recognisably stale and `remove_stale` never touches a live run's namespaces.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("lab.netns")

PREFIX = "dutynet-"
"""Every namespace this module creates starts with this (stale ones are found by it)."""
NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
IP_TIMEOUT_S = 10.0
"""Bound on one ``ip`` command."""
_LOCK = threading.Lock()
_LIVE: dict[str, Network] = {}
"""Networks created by this process and not yet deleted, by namespace name."""


class NetnsError(Exception):
    """A lab network namespace could not be created, used or deleted."""

    title = "Lab network"


class NetnsUnavailable(NetnsError):
    """``ip netns`` does not work here (no iproute2, no kernel support, not permitted)."""

    title = "Network namespaces unavailable"


class NetnsNotRoot(NetnsUnavailable):
    """Namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); this process is not root."""

    title = "Network namespaces need root"


def _ip(args: Sequence[str], timeout: float = IP_TIMEOUT_S, check: bool = True) -> str:
    """Run ``ip ARGS`` (bounded); return stdout, raise `NetnsError` with stderr on failure."""
    try:
        done = subprocess.run(
            ["ip", *args], capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise NetnsUnavailable("the ip command (iproute2) is not installed") from None
    except subprocess.TimeoutExpired:
        raise NetnsError(f"ip {' '.join(args)} did not finish within {timeout:.0f} s") from None
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def require() -> None:
    """Raise `NetnsNotRoot` if not root, `NetnsUnavailable` if ``ip netns`` does not work."""
    if os.geteuid() != 0:
        raise NetnsNotRoot("network namespaces need root (ip netns add); this is not root")
    if shutil.which("ip") is None:
        raise NetnsUnavailable("the ip command (iproute2) is not on PATH")
    probe = f"{PREFIX}{os.getpid()}-probe-{secrets.token_hex(2)}"
    try:
        _ip(["netns", "add", probe])
    except NetnsError as exc:
        raise NetnsUnavailable(f"ip netns add does not work here: {exc}") from None
    try:
        _ip(["link", "add", "p0", "netns", probe, "type", "veth", "peer", "name", "p1",
             "netns", probe])
    except NetnsError as exc:
        raise NetnsUnavailable(f"veth pairs cannot be created here: {exc}") from None
    finally:
        _ip(["netns", "delete", probe], check=False)


def list_namespaces() -> list[str]:
    """Names of every named network namespace (``ip netns list``)."""
    return [line.split()[0] for line in _ip(["netns", "list"]).splitlines() if line.strip()]


def _creator_alive(name: str, prefix: str) -> bool:
    creator = name[len(prefix):].split("-", 1)[0]
    if not creator.isdigit():
        return False
    return int(creator) == os.getpid() or Path(f"/proc/{creator}").exists()


def namespace_pids(name: str) -> list[int]:
    """Pids of the processes running in namespace ``name`` (``ip netns pids``)."""
    out = _ip(["netns", "pids", name], check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def _end_pids(pids: Iterable[int], grace: float = 3.0) -> None:
    """SIGTERM ``pids``, SIGKILL the ones still there after ``grace`` s (bounded)."""
    left = set(pids)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        left = {p for p in left if Path(f"/proc/{p}").exists()}
        time.sleep(0.05)
    for pid in left:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def remove_stale(prefix: str = PREFIX) -> list[str]:
    """Delete namespaces named ``<prefix><pid>-…`` whose creating process is gone.

    Processes still inside such a namespace were started by that dead run (the names are
    ours alone); they are ended by pid before the namespace is deleted. Namespaces of a
    live creator (another test run at the same time) are left alone. Returns the names.
    """
    if not prefix:
        raise NetnsError("remove_stale needs a non-empty prefix")
    removed = []
    for name in list_namespaces():
        if not name.startswith(prefix) or _creator_alive(name, prefix):
            continue
        pids = namespace_pids(name)
        if pids:
            log.warning("stale namespace %s still runs pids %s: ending them", name, pids)
            _end_pids(pids)
        _ip(["netns", "delete", name], check=False)
        removed.append(name)
        log.info("removed stale namespace %s", name)
    return removed


def _socket_in(name: str, family: int, kind: int) -> socket.socket:
    """A socket created inside namespace ``name``; it keeps that namespace for its life.

    ``setns`` changes only the calling thread's namespace, so a short-lived thread enters
    the namespace, creates the socket and ends; the caller's threads never move.
    """
    box: dict[str, object] = {}

    def enter() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(NETNS_DIR / name, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns into {name}: {os.strerror(err)}")
            finally:
                os.close(fd)
            box["sock"] = socket.socket(family, kind)
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=enter, name=f"netns-{name}", daemon=True)
    thread.start()
    thread.join(5.0)
    if "error" in box:
        raise NetnsError(f"cannot open a socket in {name}: {box['error']}")
    sock = box.get("sock")
    if not isinstance(sock, socket.socket):
        raise NetnsError(f"cannot open a socket in {name}: no answer within 5 s")
    return sock


@dataclass(eq=False)
class Namespace:
    """One end of the lab network: a named namespace, its veth end and its addresses."""

    name: str
    role: str
    """What the test calls it, e.g. ``"seat"`` or ``"pbx"``."""
    interface: str
    """The veth end inside this namespace (capture on it to see what crossed the link)."""
    interfaces: tuple[ipaddress.IPv4Interface, ...]
    network: Network = field(repr=False)

    @property
    def addresses(self) -> tuple[str, ...]:
        """This namespace's own IPv4 addresses on the veth (no prefix length)."""
        return tuple(str(i.ip) for i in self.interfaces)

    @property
    def address(self) -> str:
        """The first address (the usual one to listen on)."""
        return self.addresses[0]

    def argv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside this namespace (``ip netns exec`` execs it: same pid)."""
        self._require_live()
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self, argv: Sequence[str], timeout: float = IP_TIMEOUT_S, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a short command inside, bounded by ``timeout``; `NetnsError` if it fails."""
        try:
            done = subprocess.run(
                self.argv(argv), capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise NetnsError(f"{argv[0]} in {self.name} did not finish in {timeout} s") from None
        if check and done.returncode != 0:
            raise NetnsError(
                f"{' '.join(argv)} in {self.name} failed ({done.returncode}): "
                f"{done.stderr.strip()}"
            )
        return done

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_DGRAM) -> socket.socket:
        """A socket inside this namespace (bind/connect it as usual, from any thread)."""
        self._require_live()
        return _socket_in(self.name, family, kind)

    def reaches(self, host: str) -> bool:
        """True if traffic from here to ``host`` stays in the lab network.

        That is this namespace's loopback (127.0.0.0/8) or an address the network assigned
        to one of its two ends — never a whole subnet, never anything outside.
        """
        if not self.network.live:
            return False
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        if ip.version == 4 and ip in ipaddress.ip_network("127.0.0.0/8"):
            return True
        return str(ip) in self.network.addresses

    def _require_live(self) -> None:
        if not self.network.live:
            raise NetnsError(f"namespace {self.name} was deleted (or never created)")


class Network:
    """Two namespaces joined by a veth pair, created by `create` and deleted by `delete`.

    ``Network(seat=["10.77.0.1/24"], pbx=["10.77.0.2/24", "10.77.0.3/24"])``: the keyword
    names are the roles (exactly two), the values the addresses of that end with their
    prefix. Loopback is brought up in both.
    """

    def __init__(self, prefix: str = PREFIX, **ends: Sequence[str]) -> None:
        if len(ends) != 2:
            raise NetnsError(f"a lab network has exactly two ends, got {sorted(ends)}")
        if not prefix or any(c.isspace() or c == "/" for c in prefix):
            raise NetnsError(f"bad namespace prefix {prefix!r}")
        self.prefix = prefix
        self.token = f"{os.getpid()}-{secrets.token_hex(3)}"
        """Unique per network: the creator's pid (for `remove_stale`) and random hex."""
        self.live = False
        """True between `create` and `delete`."""
        self.ends: dict[str, Namespace] = {}
        seen: set[str] = set()
        for index, (role, addrs) in enumerate(ends.items()):
            if not role.isalnum():
                raise NetnsError(f"role names must be alphanumeric, got {role!r}")
            parsed = tuple(ipaddress.IPv4Interface(a) for a in addrs)
            if not parsed:
                raise NetnsError(f"{role}: no address")
            for item in parsed:
                if item.ip.is_loopback or str(item.ip) in seen:
                    raise NetnsError(f"{role}: address {item} is loopback or used twice")
                seen.add(str(item.ip))
            self.ends[role] = Namespace(
                name=f"{prefix}{self.token}-{role}",
                role=role,
                interface=f"veth{index}",
                interfaces=parsed,
                network=self,
            )

    def __getitem__(self, role: str) -> Namespace:
        try:
            return self.ends[role]
        except KeyError:
            raise NetnsError(f"no end {role!r} (ends: {', '.join(self.ends)})") from None

    @property
    def addresses(self) -> frozenset[str]:
        """Every address this network assigned (both ends)."""
        return frozenset(a for end in self.ends.values() for a in end.addresses)

    def create(self) -> Network:
        """Create both namespaces, the veth pair between them, addresses, links up; self.

        On any failure what was made so far is deleted again before the error is raised.
        """
        a, b = self.ends.values()
        with _LOCK:
            _LIVE.update({a.name: self, b.name: self})
        self.live = True
        try:
            for end in (a, b):
                _ip(["netns", "add", end.name])
            _ip(["link", "add", a.interface, "netns", a.name, "type", "veth",
                 "peer", "name", b.interface, "netns", b.name])
            for end in (a, b):
                for item in end.interfaces:
                    _ip(["-n", end.name, "addr", "add", str(item), "dev", end.interface])
                _ip(["-n", end.name, "link", "set", "lo", "up"])
                _ip(["-n", end.name, "link", "set", end.interface, "up"])
            self._wait_addresses()
        except BaseException:
            self.delete()
            raise
        log.info("created %s (%s) and %s (%s)", a.name, ", ".join(a.addresses),
                 b.name, ", ".join(b.addresses))
        return self

    def _wait_addresses(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until every address can be bound (no IPv4 DAD, but links settle)."""
        deadline = time.monotonic() + timeout
        pending = [(end, addr) for end in self.ends.values() for addr in end.addresses]
        while pending:
            end, addr = pending[0]
            sock = end.socket()
            try:
                sock.bind((addr, 0))
                pending.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    raise NetnsError(
                        f"{addr} not usable in {end.name} within {timeout} s"
                    ) from None
                time.sleep(0.05)
            finally:
                sock.close()

    def delete(self) -> None:
        """Delete both namespaces (the veth pair goes with them); never raises for gone ones.

        Processes still inside are not ended here (stop them by pid first); a namespace
        that still has processes lives on unnamed until they exit, and is reported.
        """
        self.live = False
        for end in self.ends.values():
            if (NETNS_DIR / end.name).exists():
                pids = namespace_pids(end.name)
                if pids:
                    log.warning("deleting %s while pids %s still run in it", end.name, pids)
                _ip(["netns", "delete", end.name], check=False)
            with _LOCK:
                _LIVE.pop(end.name, None)

    def __enter__(self) -> Network:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.delete()


def owned(name: str) -> bool:
    """True if namespace ``name`` was created by this process and not deleted yet."""
    with _LOCK:
        return name in _LIVE
