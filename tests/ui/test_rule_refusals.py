"""The duty rules' refusals reach the seat in the seat's language (issue 11, point 6).

The domain refuses with a coded error (`console.domain.errors.ErrorCode`) whose `str()` is
the log's English line; the seat words the code from its text table. Before, a night-mode
override the schedule had overtaken (the dialog opened at 20:59 offering 提前转门岗, Enter
pressed at 21:01) toasted "early night mode: already after hours (…)" on a Chinese seat, and
F10 finished after-call work with a category that is none of the rules' six.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest

from console.app import DutyConsoleApp
from console.callflow.events import CallFinished, CallStep
from console.domain.agent import AgentState as SeatState
from console.domain.errors import DomainError, ErrorCode, OverrideError, WrapUpError
from console.domain.labels import Language
from console.domain.night import OverrideKind
from console.domain.schedule import Schedule
from console.screens.call import CallScreen
from console.ui.errors import worded
from console.ui.intents import AfterCallDone
from console.ui.notes import CallNotes
from tests.ui.conftest import START, TZ
from tests.ui.fakes import FakeClock, FakeFlow
from tests.ui.helpers import answer_call, login, screen_name, screen_text, until

Build = Callable[..., DutyConsoleApp]
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,:]+[A-Za-z]{2,}){2,}")

_SHIFT = Schedule(timezone=TZ).at(START)
_SAMPLES: dict[ErrorCode, DomainError] = {
    ErrorCode.OVERRIDE_NO_REASON: OverrideError("x", code=ErrorCode.OVERRIDE_NO_REASON,
                                                kind=OverrideKind.EARLY_NIGHT),
    ErrorCode.OVERRIDE_NO_AGENT: OverrideError("x", code=ErrorCode.OVERRIDE_NO_AGENT,
                                               kind=OverrideKind.STAY_ON),
    ErrorCode.OVERRIDE_AFTER_HOURS: OverrideError("x", code=ErrorCode.OVERRIDE_AFTER_HOURS,
                                                  shift=_SHIFT),
    ErrorCode.OVERRIDE_STAFFED: OverrideError("x", code=ErrorCode.OVERRIDE_STAFFED,
                                              shift=_SHIFT),
    ErrorCode.WRAP_UP_NO_CATEGORY: WrapUpError("x", code=ErrorCode.WRAP_UP_NO_CATEGORY,
                                               fact="category"),
    ErrorCode.WRAP_UP_BAD_CATEGORY: WrapUpError("x", code=ErrorCode.WRAP_UP_BAD_CATEGORY,
                                                fact="category", value="bogus"),
    ErrorCode.WRAP_UP_BAD_DUE: WrapUpError("x", code=ErrorCode.WRAP_UP_BAD_DUE,
                                           fact="follow_up", value="tomorrow"),
    ErrorCode.FOLLOW_UP_CALLBACK_FIRST: DomainError(
        "x", code=ErrorCode.FOLLOW_UP_CALLBACK_FIRST),
}


def test_every_code_has_a_sample() -> None:
    assert set(_SAMPLES) == set(ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_is_worded_in_both_languages(code: ErrorCode) -> None:
    exc = _SAMPLES[code]
    zh_title, zh = worded(exc, Language.ZH)
    en_title, en = worded(exc, Language.EN)
    assert CJK.search(zh) and CJK.search(zh_title), (zh_title, zh)
    typed = str(exc.values.get("value", ""))
    shown = zh.replace(typed, "").replace("YYYY-MM-DD HH:MM", "")  # typed; the form's hint
    assert not ENGLISH_SENTENCE.search(shown), zh
    assert not CJK.search(f"{en_title} {en}"), (en_title, en)
    assert "\n" not in zh and "\n" not in en and "{" not in zh + en


async def _overtaken_night_switch(pilot, app: DutyConsoleApp, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    """Open the night dialog at 20:59 (staffed: it offers night mode early), let the
    evening roster end (21:01), then give a reason and press Enter."""
    await login(pilot)
    await until(pilot, lambda: screen_name(app) == "SeatScreen", "seat")
    clock.advance(dt.timedelta(hours=10, minutes=59).total_seconds())
    await pilot.press("n")
    await until(pilot, lambda: screen_name(app) == "NightSwitchScreen", "night dialog")
    clock.advance(120)
    await pilot.press(*"leak", "enter")


async def test_an_overtaken_night_switch_is_refused_in_chinese(
    build: Build, clock: FakeClock
) -> None:
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        await _overtaken_night_switch(pilot, app, clock)
        await until(pilot, lambda: "无需提前转门岗" in screen_text(app), "the refusal")
        assert screen_name(app) == "NightSwitchScreen"  # the dialog stays up
        toast = next(n for n in app._notifications if "无需提前转门岗" in n.message)
        assert toast.title == "夜间模式切换"
        assert "2026-03-02 21:01 周一(工作日)" in toast.message, toast.message
        assert not ENGLISH_SENTENCE.search(toast.message), toast.message
        assert "after hours" not in screen_text(app)
        assert app.night is not None and app.night.override is None


async def test_an_overtaken_night_switch_is_refused_in_english(
    build: Build, clock: FakeClock
) -> None:
    app = build(settings={"language": Language.EN})
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        await _overtaken_night_switch(pilot, app, clock)
        await until(pilot, lambda: any("No need to switch early" in n.message
                                       for n in app._notifications), "the refusal")
        for note in app._notifications:
            assert not CJK.search(f"{note.title} {note.message}"), note
        assert screen_name(app) == "NightSwitchScreen"


async def test_f10_refuses_a_category_the_rules_do_not_name(
    build: Build, flow: FakeFlow, clock: FakeClock
) -> None:
    """The app asks the domain's rule too (a screen's check is not the only gate): notes
    with a category none of the six are not finished, whoever posted them."""
    app = build()
    async with app.run_test(size=(150, 45), notifications=True) as pilot:
        await answer_call(pilot, flow, "c1", "13800138000", clock.now())
        screen = app.screen
        assert isinstance(screen, CallScreen)
        flow.emit(CallFinished(clock.now(), "c1", CallStep.CONVERSATION, "caller_hangup", "1024"))
        await until(pilot, lambda: not screen.live, "after-call work")
        screen.post_message(AfterCallDone("c1", CallNotes(category="bogus")))
        await until(pilot, lambda: "来电分类“bogus”不是规定的六类之一" in screen_text(app),
                    "the refusal")
        assert screen_name(app) == "CallScreen"
        assert app.agent is not None and app.agent.state is SeatState.AFTER_CALL_WORK


def test_a_rule_the_record_enforces_is_worded_like_the_domains_own() -> None:
    """The record refuses a hand close of a follow-up with a caller's number (a rule of
    domain/callback.py). As a bare InvalidFact a zh seat showed only "记录拒绝…(详情见
    console.log)"; carrying the domain's coded refusal it says why, in the seat's words."""
    from console.store.errors import InvalidFact, RuleRefused

    refusal = _SAMPLES[ErrorCode.FOLLOW_UP_CALLBACK_FIRST]
    exc = RuleRefused(refusal)
    assert isinstance(exc, InvalidFact)  # still the record's kind of refusal for its callers
    for language in (Language.ZH, Language.EN):
        assert worded(exc, language) == worded(refusal, language)
    assert "回访" in worded(exc, Language.ZH)[1]
