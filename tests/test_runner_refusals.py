"""Refusals the line still holds when the console stops reach the security log before the
shutdown anchor (issue 10: the security log keeps every request).

The line reports a scanner once per source and 5 s, counting the rest into the next report;
a console stopped within those 5 s lost the count. Here the real `DutyLine` (over a fake
transport, no network) refuses five INVITEs from an untrusted host within a second and the
headless console is stopped: the security log says five, and the anchor log's shutdown
entry covers the security chain's last link.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import labctl
import pytest

from console.runner import assemble
from console.store import DutyRecord
from console.store.anchor_log import AnchorLog, load_key
from console.store.models import SECURITY_CHAIN
from sip.api import LineEvent
from sip.line import DutyLine
from sip.timers import ManualScheduler
from tests.sip.fakes import FakeMedia, FakeTransport, invite
from tests.sip.test_line import FakeRegistrar
from tests.test_runner_anchoring import anchored_config, wait_for


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "prompt-cache"


def test_refusals_held_at_stop_are_logged_before_the_shutdown_anchor(
    tmp_path: Path, cache: Path
) -> None:
    path = anchored_config(tmp_path, 3600.0, cache)
    transports: list[FakeTransport] = []

    def factory(config: Any, sink: Callable[[LineEvent], None]) -> DutyLine:
        transport = FakeTransport()
        FakeRegistrar(transport, password=labctl.USERS["100"])
        transports.append(transport)
        sched = ManualScheduler()
        return DutyLine(config, sink, sched.clock, transport=transport, scheduler=sched,
                        media=FakeMedia())

    headless = assemble(path, line_factory=factory)  # type: ignore[arg-type]
    since = datetime.now(UTC).replace(year=2000)
    ready = threading.Event()
    runner = threading.Thread(target=headless.run, kwargs={"ready": ready.set})
    runner.start()
    try:
        assert ready.wait(30)
        (transport,) = transports
        for i in range(5):
            transport.inject(invite(f"scan{i}"), source=("127.0.0.99", 5060))
        assert wait_for(lambda: headless.store.security_summary(since).requests == 1)
    finally:
        headless.request_stop()
        runner.join(30)
    assert not runner.is_alive()
    key = load_key(tmp_path / "var" / "anchor.key")
    entries = AnchorLog(tmp_path / "var" / "anchors.log", key).read().entries
    with DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}") as record:
        summary = record.security_summary(since)
        head = {a.chain: a.seq for a in record.chain_heads()}[SECURITY_CHAIN]
    assert summary.requests == 5 and summary.sources == 1  # 1 reported at once, 4 at stop
    assert entries[-1].why == "shutdown"
    assert entries[-1].heads[SECURITY_CHAIN][0] == head  # the shutdown anchor covers them
