"""The satisfaction survey at the end of a call (duty rules §3 step 8) as a state machine.

prompt → wait for a key → (timeout) prompt once more → wait → no rating. The first key that
rates wins, pressed during the prompt (barge-in) or after it; a key that does not rate is
noted (`Survey.invalid_digits`) and the wait goes on, so a caller who presses `*` and then
`2` is rated 2 without hearing the prompt again. The keys for satisfied / average /
dissatisfied are 1 / 2 / 3 unless the config says otherwise (`survey_keys`). A rating of
dissatisfied asks for a supervisor alert and a follow-up. Events drive it and time is passed
in (no threads, no sleeping): the call flow feeds it every key, the prompt's end, the
caller's hang-up and clock ticks, and carries out the actions it returns.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.domain.errors import DomainError, TransitionError
from console.domain.labels import Satisfaction
from console.domain.machine import Step, TransitionTable
from console.domain.prompt_names import PromptName

log = logging.getLogger("console.domain.survey")

DEFAULT_SURVEY_DIGITS = "123"
"""The keys for satisfied, average and dissatisfied, in that order (满意请按1 …)."""

_KEYS = frozenset("0123456789")


def survey_keys(digits: str = DEFAULT_SURVEY_DIGITS) -> Mapping[str, Satisfaction]:
    """Key → answer from three distinct digits naming satisfied, average, dissatisfied.

    "123" is the rule's default; "321" would make 1 mean dissatisfied. DomainError otherwise.
    """
    if (
        not isinstance(digits, str)
        or len(digits) != 3
        or not set(digits) <= _KEYS
        or len(set(digits)) != 3
    ):
        raise DomainError(
            f"survey digits {digits!r}: expected three different keys 0-9 for satisfied, "
            "average and dissatisfied, in that order (e.g. \"123\")",
            "Survey",
        )
    order = (Satisfaction.SATISFIED, Satisfaction.AVERAGE, Satisfaction.DISSATISFIED)
    return dict(zip(digits, order, strict=True))


class SurveyState(enum.Enum):
    PROMPTING = "prompting"
    """The survey prompt is playing (a digit now barges in)."""
    WAITING = "waiting"
    RETRY_PROMPTING = "retry_prompting"
    """The prompt plays a second (and last) time."""
    RETRY_WAITING = "retry_waiting"
    RATED = "rated"
    NO_RATING = "no_rating"
    """No valid digit after the retry."""
    HUNG_UP = "hung_up"
    """The caller hung up before rating."""


class SurveyEvent(enum.Enum):
    PROMPT_DONE = "prompt_done"
    VALID_DIGIT = "valid_digit"
    """A key that rates (first one wins)."""
    INVALID_DIGIT = "invalid_digit"
    """A key that does not rate: noted, and the wait goes on (the try is not used up)."""
    TIMEOUT = "timeout"
    HANG_UP = "hang_up"


class SurveyAction(enum.Enum):
    """What the call flow must do after a transition, in order."""

    PLAY_PROMPT = "play_prompt"
    STOP_PLAYBACK = "stop_playback"
    """A digit barged in while the prompt was playing."""
    RECORD_SCORE = "record_score"
    """Write `Survey.score` (None = no rating) into the record."""
    ALERT_SUPERVISOR = "alert_supervisor"
    OPEN_FOLLOW_UP = "open_follow_up"
    PLAY_THANKS = "play_thanks"


_P, _W, _RP, _RW = (
    SurveyState.PROMPTING,
    SurveyState.WAITING,
    SurveyState.RETRY_PROMPTING,
    SurveyState.RETRY_WAITING,
)
_RATED, _NONE, _GONE = SurveyState.RATED, SurveyState.NO_RATING, SurveyState.HUNG_UP
_E = SurveyEvent

SURVEY_TABLE: TransitionTable[SurveyState, SurveyEvent] = TransitionTable(
    name="survey",
    rows={
        (_P, _E.PROMPT_DONE): _W,
        (_P, _E.VALID_DIGIT): _RATED,
        (_P, _E.INVALID_DIGIT): _P,
        (_P, _E.HANG_UP): _GONE,
        (_W, _E.VALID_DIGIT): _RATED,
        (_W, _E.INVALID_DIGIT): _W,
        (_W, _E.TIMEOUT): _RP,
        (_W, _E.HANG_UP): _GONE,
        (_RP, _E.PROMPT_DONE): _RW,
        (_RP, _E.VALID_DIGIT): _RATED,
        (_RP, _E.INVALID_DIGIT): _RP,
        (_RP, _E.HANG_UP): _GONE,
        (_RW, _E.VALID_DIGIT): _RATED,
        (_RW, _E.INVALID_DIGIT): _RW,
        (_RW, _E.TIMEOUT): _NONE,
        (_RW, _E.HANG_UP): _GONE,
    },
    terminal=frozenset({_RATED, _NONE, _GONE}),
)
"""The survey's rules; an invalid key stays in its state (noted; a waiting deadline is kept),
terminal states ignore whatever the caller still sends."""


@dataclass
class Survey:
    """One call's survey. Call `start`, then feed events; each returns the actions to do."""

    digit_timeout: float = 8.0
    """Seconds to wait for a digit after the prompt finished."""
    keys: Mapping[str, Satisfaction] = field(default_factory=survey_keys)
    """Which key means which answer (`survey_keys`; default 1/2/3)."""
    state: SurveyState = SurveyState.PROMPTING
    score: Satisfaction | None = None
    rated_key: str | None = None
    """The key that rated (None until one did)."""
    deadline: float | None = None
    """When waiting, the (injected) time at which `tick` fires the timeout."""
    started: bool = False
    prompts_played: int = 0
    invalid_digits: list[str] = field(default_factory=list)
    """Keys that did not rate, in the order pressed (for the log and the record)."""
    history: list[Step[SurveyState, SurveyEvent]] = field(default_factory=list)

    def __post_init__(self) -> None:
        t = self.digit_timeout
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t <= 0:
            raise DomainError(f"digit_timeout: {t!r} must be seconds > 0", "Survey")

    @property
    def finished(self) -> bool:
        return self.state in SURVEY_TABLE.terminal

    @property
    def hung_up(self) -> bool:
        return self.state is SurveyState.HUNG_UP

    @property
    def prompting(self) -> bool:
        """A survey prompt is playing (a key now barges in)."""
        return self.state in (SurveyState.PROMPTING, SurveyState.RETRY_PROMPTING)

    @property
    def prompt(self) -> PromptName:
        """The prompt `PLAY_PROMPT` means now: the survey, or its retry the second time."""
        return PromptName.SURVEY if self.prompts_played <= 1 else PromptName.SURVEY_RETRY

    def start(self, now: float) -> tuple[SurveyAction, ...]:
        """Begin: play the survey prompt."""
        if self.started:
            raise TransitionError("survey: already started")
        self.started = True
        self.prompts_played = 1
        return (SurveyAction.PLAY_PROMPT,)

    def prompt_finished(self, now: float) -> tuple[SurveyAction, ...]:
        """The survey prompt has been played out; the digit timer starts now."""
        return self._fire(SurveyEvent.PROMPT_DONE, now)

    def digit(self, digit: str, now: float) -> tuple[SurveyAction, ...]:
        """A DTMF key from the caller (any string; only the three of `keys` rate)."""
        if self.finished:
            log.debug("survey finished (%s): digit %r ignored", self.state.name, digit)
            return ()
        score = self.keys.get(digit) if isinstance(digit, str) else None
        if score is None:
            self.invalid_digits.append(str(digit))
            return self._fire(SurveyEvent.INVALID_DIGIT, now)
        barge: tuple[SurveyAction, ...] = ()
        if self.prompting:
            barge = (SurveyAction.STOP_PLAYBACK,)
        if not self.started:
            raise TransitionError("survey: VALID_DIGIT before start")
        self.score, self.rated_key = score, digit
        return barge + self._fire(SurveyEvent.VALID_DIGIT, now)

    def tick(self, now: float) -> tuple[SurveyAction, ...]:
        """Clock tick: fires the timeout once `now` reaches the deadline."""
        if self.deadline is not None and now >= self.deadline and not self.finished:
            return self._fire(SurveyEvent.TIMEOUT, now)
        return ()

    def hang_up(self, now: float) -> tuple[SurveyAction, ...]:
        """The caller hung up (before rating: no rating, and the record says so)."""
        return self._fire(SurveyEvent.HANG_UP, now)

    def _fire(self, event: SurveyEvent, now: float) -> tuple[SurveyAction, ...]:
        if not self.started:
            raise TransitionError(f"survey: {event.name} before start")
        if not SURVEY_TABLE.allows(self.state, event):
            # Late or duplicate events (a stale timer, PROMPT_DONE after barge-in, digits after
            # the end) are the caller's or the network's doing, never an error of the call.
            log.debug("survey %s: %s ignored", self.state.name, event.name)
            return ()
        source = self.state
        self.state = SURVEY_TABLE.next(source, event)
        self.history.append(Step(now, source, event, self.state))
        if self.state is source:  # an invalid key: noted, the wait (and its deadline) goes on
            log.debug("survey %s: %s noted", source.name, event.name)
            return ()
        self.deadline = None
        log.debug("survey %s --%s--> %s", source.name, event.name, self.state.name)
        return self._enter(self.state, now)

    def _enter(self, state: SurveyState, now: float) -> tuple[SurveyAction, ...]:
        if state in (SurveyState.WAITING, SurveyState.RETRY_WAITING):
            self.deadline = now + self.digit_timeout
            return ()
        if state is SurveyState.RETRY_PROMPTING:
            self.prompts_played += 1
            return (SurveyAction.PLAY_PROMPT,)
        if state is SurveyState.RATED:
            actions = [SurveyAction.RECORD_SCORE]
            if self.score is Satisfaction.DISSATISFIED:
                actions += [SurveyAction.ALERT_SUPERVISOR, SurveyAction.OPEN_FOLLOW_UP]
            return (*actions, SurveyAction.PLAY_THANKS)
        if state is SurveyState.NO_RATING:
            return (SurveyAction.RECORD_SCORE, SurveyAction.PLAY_THANKS)
        if state is SurveyState.HUNG_UP:
            self.score = None
            return (SurveyAction.RECORD_SCORE,)
        return ()
