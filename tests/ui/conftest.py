"""Fixtures of the seat's UI tests: a temporary duty record with agents, fakes, the app."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from console.app import DutyConsoleApp, make_app
from console.domain.night import NightMode
from console.domain.schedule import Schedule
from console.headset import Headset
from console.store import AgentRole, DutyRecord
from console.ui.settings import UiSettings
from tests.ui.fakes import HEADSET, FakeAudio, FakeClock, FakeFlow, FakeLine
from tests.ui.soundserver import SoundServer

TZ = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday, day shift
SECRET = "s3cret-1024"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (Pilot needs one; no asyncio plugin here)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True




@pytest.fixture
def sound(tmp_path: Path) -> Iterator[SoundServer]:
    """A real PulseAudio server of this test's own, stopped by pid afterwards."""
    server = SoundServer(tmp_path / "pulse").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[DutyRecord]:
    record = DutyRecord(
        f"sqlite:///{tmp_path / 'duty.db'}",
        tz=TZ,
        clock=clock.now,
        lockout_failures=3,
    )
    record.create_agent("1024", "王芳", AgentRole.AGENT, SECRET)
    record.create_agent("2048", "李强", AgentRole.AGENT, "s3cret-2048")
    record.create_agent("9001", "张主任", AgentRole.SUPERVISOR, "s3cret-9001")
    yield record
    record.close()


@pytest.fixture
def flow() -> FakeFlow:
    return FakeFlow()


@pytest.fixture
def line() -> FakeLine:
    return FakeLine()


@pytest.fixture
def night() -> NightMode:
    return NightMode(Schedule(timezone=TZ))


@pytest.fixture
def build(
    tmp_path: Path,
    store: DutyRecord,
    clock: FakeClock,
    flow: FakeFlow,
    line: FakeLine,
    night: NightMode,
) -> Callable[..., DutyConsoleApp]:
    def make(**overrides: Any) -> DutyConsoleApp:
        settings = UiSettings(
            drafts_dir=tmp_path / "drafts", timezone=TZ, tick_seconds=0.1,
            **overrides.pop("settings", {}),
        )
        headset = overrides.pop("headset", Headset(FakeAudio([HEADSET], 0)))
        return make_app(line, store, clock, settings, flow, night=night, headset=headset,
                        **overrides)

    return make
