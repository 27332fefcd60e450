"""Survey machine: each digit, invalid keys (noted, not a lost try), timeouts, the one retry,
hang-up mid-survey, the keys from the config."""

from __future__ import annotations

import pytest

from console.domain import (
    SURVEY_TABLE,
    DomainError,
    Satisfaction,
    Survey,
    SurveyAction,
    SurveyEvent,
    SurveyState,
    TransitionError,
)
from console.domain.prompt_names import PromptName
from console.domain.survey import survey_keys

A = SurveyAction
T = 8.0


def run(
    script: list[tuple[str, object]], keys: str = "123"
) -> tuple[Survey, list[SurveyAction]]:
    """Drive a survey with ("start"|"done"|"digit"|"tick"|"hangup", arg); ("at", t) sets now."""
    s = Survey(digit_timeout=T, keys=survey_keys(keys))
    actions: list[SurveyAction] = []
    now = 0.0
    for kind, arg in script:
        if kind == "at":
            assert isinstance(arg, float)
            now = arg
            continue
        if kind == "start":
            actions += s.start(now)
        elif kind == "done":
            actions += s.prompt_finished(now)
        elif kind == "digit":
            assert isinstance(arg, str)
            actions += s.digit(arg, now)
        elif kind == "tick":
            actions += s.tick(now)
        elif kind == "hangup":
            actions += s.hang_up(now)
    return s, actions


@pytest.mark.parametrize(
    ("digit", "score", "extra"),
    [
        ("1", Satisfaction.SATISFIED, []),
        ("2", Satisfaction.AVERAGE, []),
        ("3", Satisfaction.DISSATISFIED, [A.ALERT_SUPERVISOR, A.OPEN_FOLLOW_UP]),
    ],
)
def test_each_digit_after_prompt(digit: str, score: Satisfaction, extra: list[SurveyAction]):
    s, actions = run([("start", None), ("done", None), ("at", 3.0), ("digit", digit)])
    assert s.state is SurveyState.RATED and s.score is score
    assert actions == [A.PLAY_PROMPT, A.RECORD_SCORE, *extra, A.PLAY_THANKS]
    assert s.prompts_played == 1


def test_digit_barges_in_during_prompt() -> None:
    s, actions = run([("start", None), ("digit", "1")])
    assert s.score is Satisfaction.SATISFIED
    assert actions == [A.PLAY_PROMPT, A.STOP_PLAYBACK, A.RECORD_SCORE, A.PLAY_THANKS]
    # the prompt's own "finished" arriving late changes nothing
    assert s.prompt_finished(1.0) == ()
    assert s.state is SurveyState.RATED


@pytest.mark.parametrize("bad", ["0", "4", "9", "*", "#", "A", "", "11", "１"])
def test_invalid_then_valid_in_the_same_wait_rates(bad: str) -> None:
    """First valid key wins; the invalid one is noted and does not use up the try."""
    s, actions = run(
        [("start", None), ("done", None), ("at", 1.0), ("digit", bad), ("at", 2.0),
         ("digit", "2")]
    )
    assert s.state is SurveyState.RATED and s.score is Satisfaction.AVERAGE
    assert s.invalid_digits == [bad] and s.prompts_played == 1 and s.rated_key == "2"
    assert actions == [A.PLAY_PROMPT, A.RECORD_SCORE, A.PLAY_THANKS]


def test_star_then_two_during_the_prompt_rates_two() -> None:
    """The bug seen on the line: `*` then `2` while the prompt plays got "no rating"."""
    s, actions = run([("start", None), ("digit", "*"), ("digit", "2")])
    assert s.state is SurveyState.RATED and s.score is Satisfaction.AVERAGE
    assert s.invalid_digits == ["*"] and s.prompts_played == 1
    assert actions == [A.PLAY_PROMPT, A.STOP_PLAYBACK, A.RECORD_SCORE, A.PLAY_THANKS]


def test_an_invalid_key_keeps_the_wait_and_its_deadline() -> None:
    s, _ = run([("start", None), ("done", None), ("at", 7.0), ("digit", "9")])
    assert s.state is SurveyState.WAITING and s.deadline == T  # not extended by the key
    assert s.tick(7.999) == ()
    assert s.tick(T) == (A.PLAY_PROMPT,)  # the timeout, not the key, brings the retry
    assert s.state is SurveyState.RETRY_PROMPTING and s.prompt is PromptName.SURVEY_RETRY


def test_only_invalid_keys_no_rating_after_the_retry() -> None:
    s, actions = run(
        [("start", None), ("done", None), ("digit", "7"), ("at", T), ("tick", None),
         ("at", 10.0), ("done", None), ("digit", "#"), ("at", 10.0 + T), ("tick", None)]
    )
    assert s.state is SurveyState.NO_RATING and s.score is None
    assert s.invalid_digits == ["7", "#"]
    assert actions == [A.PLAY_PROMPT, A.PLAY_PROMPT, A.RECORD_SCORE, A.PLAY_THANKS]


def test_timeout_retry_then_digit() -> None:
    s, _ = run([("start", None), ("at", 2.0), ("done", None), ("at", 9.999), ("tick", None)])
    assert s.state is SurveyState.WAITING  # 7.999 s after the prompt: not yet
    assert s.prompt is PromptName.SURVEY
    assert s.tick(10.0) == (A.PLAY_PROMPT,)  # exactly 8 s: retry
    assert s.state is SurveyState.RETRY_PROMPTING
    s.prompt_finished(13.0)
    assert s.deadline == 13.0 + T
    s.digit("3", 14.0)
    assert s.score is Satisfaction.DISSATISFIED


def test_timeout_twice_no_rating() -> None:
    s, actions = run(
        [
            ("start", None),
            ("done", None),
            ("at", 8.0),
            ("tick", None),
            ("at", 10.0),
            ("done", None),
            ("at", 18.0),
            ("tick", None),
        ]
    )
    assert s.state is SurveyState.NO_RATING and s.score is None
    assert actions == [A.PLAY_PROMPT, A.PLAY_PROMPT, A.RECORD_SCORE, A.PLAY_THANKS]
    assert [st.target for st in s.history] == [
        SurveyState.WAITING,
        SurveyState.RETRY_PROMPTING,
        SurveyState.RETRY_WAITING,
        SurveyState.NO_RATING,
    ]


def test_no_timeout_while_prompt_plays() -> None:
    s, actions = run([("start", None), ("at", 100.0), ("tick", None)])
    assert s.state is SurveyState.PROMPTING and actions == [A.PLAY_PROMPT]


@pytest.mark.parametrize(
    "before",
    [
        [],
        [("done", None)],
        [("done", None), ("digit", "5")],
        [("done", None), ("digit", "5"), ("done", None)],
    ],
)
def test_hang_up_mid_survey(before: list[tuple[str, object]]) -> None:
    s, _ = run([("start", None), *before])
    step = s.state
    assert s.hang_up(5.0) == (A.RECORD_SCORE,)
    assert s.state is SurveyState.HUNG_UP and s.score is None and s.hung_up
    assert s.history[-1].source is step
    # a digit or tick after the hang-up is ignored, not an error
    assert s.digit("1", 6.0) == () and s.tick(99.0) == ()
    assert s.score is None


def test_hang_up_after_rating_keeps_score() -> None:
    s, _ = run([("start", None), ("done", None), ("digit", "1")])
    assert s.hang_up(4.0) == ()
    assert s.state is SurveyState.RATED and s.score is Satisfaction.SATISFIED


def test_digits_after_rating_ignored() -> None:
    s, _ = run([("start", None), ("done", None), ("digit", "1")])
    assert s.digit("3", 5.0) == ()
    assert s.score is Satisfaction.SATISFIED


def test_event_before_start_is_refused() -> None:
    with pytest.raises(TransitionError):
        Survey().digit("1", 0.0)
    s = Survey()
    s.start(0.0)
    with pytest.raises(TransitionError):
        s.start(1.0)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "8"])
def test_bad_timeout_refused(bad: object) -> None:
    with pytest.raises(DomainError):
        Survey(digit_timeout=bad)  # type: ignore[arg-type]


def test_table_is_complete_for_hang_up_and_prints() -> None:
    live = [s for s in SurveyState if s not in SURVEY_TABLE.terminal]
    for state in live:
        assert (
            SURVEY_TABLE.next(
                state, next(e for e in SURVEY_TABLE.events_from(state) if e.name == "HANG_UP")
            )
            is SurveyState.HUNG_UP
        )
    text = SURVEY_TABLE.describe()
    assert text.count("-->") == len(SURVEY_TABLE.rows)
    assert "RETRY_WAITING" in text and "terminal:" in text


def test_invalid_keys_stay_in_every_live_state() -> None:
    for state in SurveyState:
        if state in SURVEY_TABLE.terminal:
            continue
        assert SURVEY_TABLE.next(state, SurveyEvent.INVALID_DIGIT) is state


def test_keys_from_the_config_swap_the_answers() -> None:
    assert survey_keys() == {
        "1": Satisfaction.SATISFIED, "2": Satisfaction.AVERAGE, "3": Satisfaction.DISSATISFIED,
    }
    s, actions = run([("start", None), ("done", None), ("digit", "1")], keys="321")
    assert s.score is Satisfaction.DISSATISFIED and s.score.score == 3
    assert A.ALERT_SUPERVISOR in actions
    s, _ = run([("start", None), ("done", None), ("digit", "1"), ("digit", "9")], keys="921")
    assert s.score is Satisfaction.DISSATISFIED and s.invalid_digits == []  # 9 came too late
    s, _ = run([("start", None), ("done", None), ("digit", "3")], keys="921")
    assert s.state is SurveyState.WAITING and s.invalid_digits == ["3"]


@pytest.mark.parametrize("bad", ["", "12", "1234", "112", "12*", "1 2", "一二三", 123])
def test_bad_survey_keys_refused(bad: object) -> None:
    with pytest.raises(DomainError, match="three different keys"):
        survey_keys(bad)  # type: ignore[arg-type]
