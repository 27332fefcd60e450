"""The callback dialler (回访) over a fake line and a real duty record: the domain's rule
decides, the number is the follow-up's call's, the callback is recorded whatever happens.

Bad inputs tried: the headless line's dialler (never dials), a follow-up with no number, an
unregistered line, a line that refuses the dial itself (DialError), a number the PBX
refuses (404), a busy callee (486), no answer (480), the record unreadable before dialling
(database away: one line, nothing dialled), the record refusing the open (hung up at once).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.callflow import ShiftedClock
from console.callflow.callback import CallbackDialer, CallbackError, CallbackProgress
from console.callflow.recording import Recorder
from console.domain.callback import CallbackRefused
from console.store import AgentRole, CallOutcome, DatabaseUnavailable, DutyRecord, FollowUpStatus
from sip.api import AudioDirection, CallState, DialError, DialResult, EndReason, LineStatus

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
OK_200 = DialResult(200, "OK")


@dataclass
class FakeOutgoing:
    """An outgoing call that answers as its script says."""

    number: str
    result: DialResult
    call_id: str = "out-1@127.0.0.1"
    state: CallState = CallState.RINGING
    ended_by: EndReason | None = None
    hung_up: int = 0
    ended: threading.Event = field(default_factory=threading.Event)

    def wait_final(self, timeout: float | None = None) -> DialResult | None:
        if self.result.answered:
            self.state = CallState.ANSWERED
        else:
            self.state, self.ended_by = CallState.ENDED, EndReason.REFUSED
            self.ended.set()
        return self.result

    def hangup(self) -> None:
        self.hung_up += 1
        if self.state is not CallState.ENDED:
            self.state, self.ended_by = CallState.ENDED, EndReason.LOCAL_HANGUP
            self.ended.set()

    def wait_ended(self, timeout: float | None = None) -> bool:
        return self.ended.wait(timeout)

    def remote_bye(self) -> None:
        self.state, self.ended_by = CallState.ENDED, EndReason.REMOTE_BYE
        self.ended.set()

    def read_audio(self, max_frames: int) -> bytes:
        return b""

    def write_audio(self, pcm16: bytes) -> None:
        return None

    def tap_audio(self, tap: object) -> None:
        if callable(tap):  # a second of conversation, both ways, as the line's threads would
            for _ in range(50):
                tap(AudioDirection.RECEIVED, b"\x01\x00" * 160)
                tap(AudioDirection.SENT, b"\x02\x00" * 160)


@dataclass
class FakeDialler:
    """A line that records every dial and never touches the network."""

    answer: DialResult = OK_200
    status: LineStatus = LineStatus.REGISTERED
    refuse: str = ""
    dialled: list[FakeOutgoing] = field(default_factory=list)

    def dial(self, number: str, ring_seconds: float = 30.0) -> FakeOutgoing:
        if self.refuse:
            raise DialError(self.refuse)
        call = FakeOutgoing(number, self.answer)
        self.dialled.append(call)
        if self.answer.answered:  # the callee hangs up a moment after answering
            threading.Timer(0.05, call.remote_bye).start()
        return call


@pytest.fixture
def record(tmp_path: Path) -> DutyRecord:
    store = DutyRecord(f"sqlite:///{tmp_path / 'duty.db'}", tz=UTC, clock=lambda: T0)
    store.create_agent("1024", "张三", AgentRole.AGENT, "pw-1024")
    return store


def follow_up(record: DutyRecord, number: str | None = "13800138000") -> str:
    call = record.open_call("hotline", T0, caller_number=number, sip_call_id="in-1", seat="s1")
    record.seal_call(call, CallOutcome.ANSWERED, ended_at=T0 + timedelta(minutes=1))
    return record.add_follow_up("1024", "回电", T0 + timedelta(hours=2), call_key=call).key


def dialler(record: object, line: FakeDialler, attended: bool = True) -> CallbackDialer:
    d = CallbackDialer(record, line, ShiftedClock(T0), seat="s1")  # type: ignore[arg-type]
    return d.for_seat() if attended else d


def test_a_reached_callback_dials_the_recorded_number_and_closes_the_follow_up(
    record: DutyRecord,
) -> None:
    fu = follow_up(record)
    line = FakeDialler()
    seen: list[CallbackProgress] = []
    bridged: list[object] = []
    result = dialler(record, line).place(
        fu, "1024", bridge=lambda call: bridged.append(call) or (lambda: bridged.append("off")),
        progress=seen.append)
    assert [c.number for c in line.dialled] == ["13800138000"]  # the record's number, only
    assert result.outcome is CallOutcome.REACHED and result.closed
    assert [p.stage for p in seen] == ["dialling", "connected", "ended"]
    assert bridged == [line.dialled[0], "off"]  # the headset was on while it was up
    [cb] = record.callbacks_of(fu)
    assert cb.key == result.key and cb.sip_call_id == "out-1@127.0.0.1"
    assert cb.outcome is CallOutcome.REACHED and cb.end_reason == "remote_bye"
    assert cb.sealed_at is not None and "callback to 13800138000 by 1024" in (cb.action or "")
    assert record.follow_ups(status=None)[0].status is FollowUpStatus.DONE
    assert record.verify().ok


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (DialResult(486, "Busy Here"), CallOutcome.BUSY),
        (DialResult(480, "Temporarily Unavailable"), CallOutcome.NO_ANSWER),
        (DialResult(404, "Not Found"), CallOutcome.FAILED),  # a number the PBX refuses
    ],
)
def test_a_callback_not_answered_is_recorded_and_the_follow_up_stays_open(
    record: DutyRecord, answer: DialResult, outcome: CallOutcome
) -> None:
    fu = follow_up(record)
    result = dialler(record, FakeDialler(answer=answer)).place(fu, "1024")
    assert result.outcome is outcome and not result.closed
    assert result.detail == f"{answer.code} {answer.reason}"
    [cb] = record.callbacks_of(fu)
    assert cb.outcome is outcome and cb.answered_at is None and cb.sealed_at is not None
    assert record.follow_ups()[0].status is FollowUpStatus.OPEN


def test_the_headless_line_never_dials(record: DutyRecord) -> None:
    fu = follow_up(record)
    line = FakeDialler()
    with pytest.raises(CallbackRefused, match="headless line never dials"):
        dialler(record, line, attended=False).place(fu, "1024")
    assert line.dialled == [] and record.callbacks_of(fu) == []


@pytest.mark.parametrize(
    ("number", "words"),
    [(None, "recorded no caller number"), ("anonymous", "not a number the line can dial"),
     ("300@127.0.0.9", "not a number the line can dial")],
)
def test_no_other_number_is_dialled(record: DutyRecord, number: str | None, words: str) -> None:
    fu = follow_up(record, number)
    line = FakeDialler()
    with pytest.raises(CallbackRefused, match=words):
        dialler(record, line).place(fu, "1024")
    assert line.dialled == [] and record.callbacks_of(fu) == []


def test_place_takes_no_number_at_all() -> None:
    import inspect

    params = inspect.signature(CallbackDialer.place).parameters
    assert set(params) == {"self", "follow_up_key", "agent_id", "bridge", "progress"}


def test_an_unregistered_line_refuses_in_one_line(record: DutyRecord) -> None:
    fu = follow_up(record)
    line = FakeDialler(status=LineStatus.FAILED)
    with pytest.raises(CallbackRefused, match=r"the line is not registered \(failed\)"):
        dialler(record, line).place(fu, "1024")
    # registered by the rule, but the line itself refuses as the INVITE would go out
    line = FakeDialler(refuse="the line is not registered (registering): nothing can be dialled")
    with pytest.raises(CallbackError, match="was not placed: the line is not registered"):
        dialler(record, line).place(fu, "1024")
    assert record.callbacks_of(fu) == [] and record.follow_ups()[0].status is FollowUpStatus.OPEN


def test_database_away_before_dialling_refuses_in_one_line(record: DutyRecord) -> None:
    fu = follow_up(record)

    class Away:
        def __getattr__(self, name: str) -> object:
            def fail(*args: object, **kwargs: object) -> object:
                raise DatabaseUnavailable("database unreachable (connection refused)")
            return fail

    line = FakeDialler()
    with pytest.raises(CallbackError) as refused:
        dialler(Away(), line).place(fu, "1024")
    assert "can't be read" in str(refused.value) and "no call placed" in str(refused.value)
    assert "\n" not in str(refused.value) and line.dialled == []


def test_a_record_that_refuses_the_open_hangs_the_callback_up(record: DutyRecord) -> None:
    fu = follow_up(record)

    class Refusing:
        def __init__(self, inner: DutyRecord) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def open_callback(self, *args: object, **kwargs: object) -> str:
            raise DatabaseUnavailable("outbox full and database away")

    line = FakeDialler(answer=DialResult(180, "Ringing"))
    with pytest.raises(CallbackError, match=r"could not be recorded .*; hung up"):
        dialler(Refusing(record), line).place(fu, "1024")
    assert line.dialled[0].hung_up == 1


def test_one_callback_at_a_time_and_not_while_a_call_is_up(record: DutyRecord) -> None:
    fu = follow_up(record)
    d = CallbackDialer(record, FakeDialler(), ShiftedClock(T0), seat="s1").for_seat(
        busy=lambda: True)
    with pytest.raises(CallbackRefused, match="a call is up on this seat"):
        d.place(fu, "1024")


def test_a_reached_callback_is_recorded_like_an_incoming_call(
    record: DutyRecord, tmp_path: Path
) -> None:
    import wave

    fu = follow_up(record)
    recorder = Recorder(tmp_path / "recordings")
    d = CallbackDialer(record, FakeDialler(), ShiftedClock(T0), seat="s1",
                       recorder=recorder).for_seat()
    result = d.place(fu, "1024")
    recorder.stop()
    [cb] = record.callbacks_of(fu)
    assert result.outcome is CallOutcome.REACHED and cb.recording is not None
    assert cb.recording.endswith("-callback.wav") and "13800138000" in cb.recording
    with wave.open(cb.recording) as wav:  # callee left, console right, 1 s
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, 8000, 8000)


def test_a_recording_that_cannot_be_made_is_an_alarm_and_the_callback_goes_on(
    record: DutyRecord, tmp_path: Path
) -> None:
    fu = follow_up(record)
    (tmp_path / "not-a-dir").write_text("a file where the recordings should go")
    alarms: list[tuple[str, str]] = []
    d = CallbackDialer(record, FakeDialler(), ShiftedClock(T0), seat="s1",
                       recorder=Recorder(tmp_path / "not-a-dir"),
                       on_alarm=lambda cid, what: alarms.append((cid, what))).for_seat()
    result = d.place(fu, "1024")
    assert result.outcome is CallOutcome.REACHED and result.closed
    assert alarms and "callback not recorded: cannot create" in alarms[0][1]
    assert record.callbacks_of(fu)[0].recording is None


def test_a_record_failing_mid_callback_hangs_nothing_up_and_says_so_in_one_line(
    record: DutyRecord,
) -> None:
    """The answer's write fails (the seal carries it again); then the seal fails too: one
    line saying the next start seals it, the call itself already ended normally."""
    fu = follow_up(record)

    class Failing:
        def __init__(self, inner: DutyRecord, seal_fails: bool) -> None:
            self.inner, self.seal_fails = inner, seal_fails

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        def callback_answered(self, *args: object, **kwargs: object) -> None:
            raise DatabaseUnavailable("outbox full and database away")

        def seal_callback(self, *args: object, **kwargs: object) -> None:
            if self.seal_fails:
                raise DatabaseUnavailable("outbox full and database away")
            self.inner.seal_callback(*args, **kwargs)  # type: ignore[arg-type]

    result = dialler(Failing(record, seal_fails=False), FakeDialler()).place(fu, "1024")
    [cb] = record.callbacks_of(fu)
    assert result.outcome is CallOutcome.REACHED and cb.answered_at is not None  # from the seal
    fu2 = follow_up(record)
    line = FakeDialler()
    with pytest.raises(CallbackError, match=r"ended \(reached\) but could not be sealed") as bad:
        dialler(Failing(record, seal_fails=True), line).place(fu2, "1024")
    assert "next start seals it as interrupted" in str(bad.value) and "\n" not in str(bad.value)
    assert line.dialled[0].state is CallState.ENDED
    assert record.callbacks_of(fu2)[0].sealed_at is None  # open: start-up recovery's


class SeatUseLog:
    """The flow's side of `SeatUse`: what it heard, and whether a callback was up then."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def outgoing_started(self) -> None:
        self.heard.append("started")

    def outgoing_ended(self) -> None:
        self.heard.append("ended")


def test_the_flow_hears_a_callback_hold_the_seat_and_let_it_go(record: DutyRecord) -> None:
    """While the callback is up the flow holds an arriving caller as a second call (the
    seat rang through to an agent on the callback before)."""
    fu = follow_up(record)
    use = SeatUseLog()
    line = FakeDialler()
    d = CallbackDialer(record, line, ShiftedClock(T0), seat="s1", seat_use=use).for_seat()
    heard_while_up: list[list[str]] = []
    d.place(fu, "1024", bridge=lambda call: heard_while_up.append(list(use.heard)) or None)
    assert heard_while_up == [["started"]] and use.heard == ["started", "ended"]
    failing = CallbackDialer(record, FakeDialler(refuse="not registered"), ShiftedClock(T0),
                             seat="s1", seat_use=use).for_seat()
    fu2 = follow_up(record)
    with pytest.raises(CallbackError):
        failing.place(fu2, "1024")
    assert use.heard == ["started", "ended", "started", "ended"]  # let go after a failure too
    refused = dialler(record, line, attended=False)
    refused.seat_use = use
    with pytest.raises(CallbackRefused):
        refused.place(fu, "1024")
    assert len(use.heard) == 4  # refused before dialling: the seat was never held
