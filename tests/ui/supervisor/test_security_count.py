"""The supervisor's Integrity tab shows how often the line was probed: the security log's
count of the last 24 hours (issue 10, point 8), red while there is any."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.widgets import Static

from console.app import DutyConsoleApp
from console.store import DutyRecord
from tests.ui.fakes import FakeClock
from tests.ui.helpers import login, screen_name, until

Build = Callable[..., DutyConsoleApp]


async def test_integrity_counts_the_probes_of_the_last_day(
    build: Build, store: DutyRecord, clock: FakeClock
) -> None:
    now = clock.now()
    store.log_security_event("untrusted_invite", "198.51.100.7", "INVITE", 40,
                             "source not trusted", now - dt.timedelta(hours=1))
    store.log_security_event("malformed", "203.0.113.9", "?", 2, "unparsable datagram",
                             now - dt.timedelta(hours=2))
    store.log_security_event("untrusted_invite", "192.0.2.1", "INVITE", 5,
                             "source not trusted", now - dt.timedelta(hours=30))  # too old
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot, "9001", "s3cret-9001")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
        await pilot.press("f7")
        security = app.screen.query_one("#i-security", Static)
        await until(pilot, lambda: "42" in str(security.render()), "the security count")
        words = str(security.render())
        assert "拒绝 42 次请求" in words and "2 个地址" in words
        assert "不受信来源的呼叫 40" in words and "无法解析的报文 2" in words
        assert security.has_class("-alarm")


async def test_integrity_says_none_without_probes(build: Build) -> None:
    app = build()
    async with app.run_test(size=(160, 50)) as pilot:
        await login(pilot, "9001", "s3cret-9001")
        await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
        await pilot.press("f7")
        security = app.screen.query_one("#i-security", Static)
        await until(pilot, lambda: "无" in str(security.render()), "no probes")
        assert not security.has_class("-alarm")
