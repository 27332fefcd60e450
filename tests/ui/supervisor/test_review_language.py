"""Both languages complete on the supervisor's screens (issue 11, point 6).

Every tab, the call detail and the holiday-notice dialog are walked with a record whose
own data is plain ASCII words, once with `language = "en"` (no CJK may be left) and once
with the default Chinese (no English sentence and no Python repr such as None or 'x').
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from console.app import DutyConsoleApp
from console.domain.labels import Language
from console.screens.supervisor.detail import CallDetailScreen
from console.screens.supervisor.holiday_notice import HolidayNoticeScreen
from console.store import AgentRole, CallOutcome, DutyRecord, FollowUpStatus
from tests.ui.conftest import START, TZ
from tests.ui.fakes import FakeClock
from tests.ui.helpers import login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]

TABS = (
    "tab-log", "tab-kpis", "tab-morning", "tab-handovers", "tab-quality", "tab-integrity",
    "tab-export", "tab-attendance", "tab-events", "tab-follow-ups",
)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,:]+[A-Za-z]{2,}){2,}")
PYTHON_REPR = re.compile(r"\bNone\b|'[^'\n]*'")


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[DutyRecord]:
    """The UI tests' record, with agents named in ASCII (data, not labels, in any language)."""
    record = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=TZ, clock=clock.now)
    record.create_agent("1024", "Fang", AgentRole.AGENT, "s3cret-1024")
    record.create_agent("9001", "Zhang", AgentRole.SUPERVISOR, "s3cret-9001")
    yield record
    record.close()


def ascii_record(store: DutyRecord) -> str:
    """A day of calls, a follow-up, a handover, an event and an amendment in ASCII words."""
    store.create_agent("1001", "Wang", AgentRole.AGENT, "pw-1001")
    first = None
    for i in range(6):
        ring = START - dt.timedelta(hours=i + 1)
        key = store.open_call("hotline", ring, caller_number=f"1390000{i:04d}")
        answered = ring + dt.timedelta(seconds=4)
        store.seal_call(
            key, CallOutcome.ANSWERED if i % 3 else CallOutcome.ABANDONED,
            **({} if i % 3 == 0 else {
                "answered_at": answered, "ended_at": answered + dt.timedelta(seconds=70),
                "answered_by": "1001", "category": "repair", "satisfaction": 1 + i % 3,
                "content": f"lift-{i}", "result": "follow_up",
                # the flow's own action lines, as it writes them (seen in English in zh)
                "action": "put on hold by 1001 at 09:10:00\ntaken back from hold by 1001 at "
                          "09:11:00\ntransfer to the gate post by 1001: timeout at 09:12:00\n"
                          "survey: no rating at 09:13:00",
            }),
        )
        first = first or (key if i % 3 else None)
    assert first is not None
    store.amend(first, "category", "complaint", who="9001", why="misfiled")
    store.amend(first, "contact", "555", who="1001", why="话后处理 after-call work")  # the seat's
    store.add_follow_up("1001", "callback-1", START + dt.timedelta(hours=2), first)
    # the flow's own reasons, as it writes them into the record (point 6 saw them in zh)
    store.add_follow_up("1001", "caller dissatisfied: supervisor to call back", START, first)
    store.add_follow_up("1001", "call back 13900001111 (message)", START)
    store.add_follow_up("1001", "call back unknown caller (no message taken)", START, first)
    done = store.add_follow_up("1001", "callback-2", START - dt.timedelta(hours=2))
    store.close_follow_up(done.key, "9001", "done-ok", FollowUpStatus.DONE)
    store.write_handover("1001", "quiet", "callback-1")
    store.report_event("1001", "flood", first)
    return first


async def walk(pilot, app: DutyConsoleApp, call_key: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every review screen's text, by where it was seen."""
    seen: dict[str, str] = {}
    await login(pilot, "9001", "s3cret-9001")
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "review")
    screen = app.screen
    tabs = screen.query_one("#review-tabs", TabbedContent)
    for tab in TABS:
        screen.action_tab(tab)  # type: ignore[attr-defined]
        await until(pilot, lambda t=tab: tabs.active == t, tab)
        for _ in range(12):  # its worker reads the record
            await pilot.pause(0.02)
        seen[tab] = screen_text(app)
    app.push_screen(CallDetailScreen(call_key))
    await until(pilot, lambda: isinstance(app.screen, CallDetailScreen)
                and app.screen.detail is not None, "detail")
    await pilot.pause()
    seen["detail"] = screen_text(app)
    await pilot.press("escape")
    await until(pilot, lambda: screen_name(app) == "SupervisorScreen", "back")
    screen.action_tab("tab-integrity")  # type: ignore[attr-defined]
    await pilot.press("f10")
    await until(pilot, lambda: isinstance(app.screen, HolidayNoticeScreen), "notice dialog")
    await pilot.pause()
    seen["notice"] = screen_text(app)
    return seen


async def test_english_review_has_no_chinese_left(build: Build, store: DutyRecord) -> None:
    key = ascii_record(store)
    app = build(settings={"language": Language.EN})
    async with app.run_test(size=(160, 48)) as pilot:
        seen = await walk(pilot, app, key)
    bad = {where: CJK.findall(text) for where, text in seen.items() if CJK.search(text)}
    assert not bad, "\n\n".join(f"{w}: {sorted(set(c))}\n{seen[w]}" for w, c in bad.items())


async def test_chinese_review_has_no_english_sentence_or_repr(
    build: Build, store: DutyRecord
) -> None:
    key = ascii_record(store)
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        seen = await walk(pilot, app, key)
    bad = {
        where: ENGLISH_SENTENCE.findall(text) + PYTHON_REPR.findall(text)
        for where, text in seen.items()
        if ENGLISH_SENTENCE.search(text) or PYTHON_REPR.search(text)
    }
    assert not bad, "\n\n".join(f"{w}: {found}\n{seen[w]}" for w, found in bad.items())
