"""Shared pytest fixtures: the loopback SIP lab (Kamailio, baresip, SIPp) for end-to-end tests.

The lab code lives in ``scripts/lab`` (not a package of the product), so it is put on
``sys.path`` here. A missing lab program fails the test with a pointer to ``scripts/setup``:
CI must install them, so a silent skip would hide a broken setup.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

LAB_DIR = Path(__file__).resolve().parent.parent / "scripts" / "lab"
if str(LAB_DIR) not in sys.path:
    sys.path.insert(0, str(LAB_DIR))

import labctl  # noqa: E402

LAB_FIXTURES = {"lab", "lab_factory"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use a lab fixture get the ``lab`` marker (``-m "not lab"`` deselects them)."""
    for item in items:
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.lab)


def _require_lab_tools() -> None:
    missing = labctl.missing_tools()
    if missing:
        pytest.fail(
            f"lab tools missing: {', '.join(missing)} — run scripts/setup "
            "(it installs kamailio, sip-tester, baresip-core and tshark)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[labctl.Lab]:
    """A session-wide lab: Kamailio with digest auth and the gate post 200 (auto-answer).

    Register the duty line as 100/secret100 at ``lab.proxy_addr``. Tests must leave it as
    they found it (stop what they start themselves; use ``lab_factory`` to break things).
    """
    _require_lab_tools()
    instance = labctl.Lab(tmp_path_factory.mktemp("lab"), auth=True, follow_3xx=False)
    try:
        instance.start(gate=True)
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def lab_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., labctl.Lab]]:
    """Make a started lab variant: ``lab_factory(auth=True, follow_3xx=False, gate=True)``.

    Every lab made here is stopped when the test ends, pass or fail.
    """
    _require_lab_tools()
    made: list[labctl.Lab] = []

    def make(
        auth: bool = True, follow_3xx: bool = False, gate: bool = True, qop: bool = False,
        proxy_auth: bool = False,
    ) -> labctl.Lab:
        instance = labctl.Lab(
            tmp_path_factory.mktemp("labv"), auth=auth, follow_3xx=follow_3xx, qop=qop,
            proxy_auth=proxy_auth,
        )
        made.append(instance)
        instance.start(gate=gate)
        return instance

    try:
        yield make
    finally:
        for instance in made:
            instance.stop()


@pytest.fixture
def free_udp_port() -> Callable[[], int]:
    """``free_udp_port()`` returns a free 127.0.0.1 port (UDP and TCP), reserved for this run."""
    return labctl.free_udp_port
