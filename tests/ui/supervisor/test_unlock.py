"""A locked agent ID can be unlocked by a supervisor (issue 11, point 9): from the 考勤 tab
and from `duty-console agents unlock`, audited with the supervisor's ID; refusals in one
line (unknown ID, an ID that is not locked, a --by that is not a supervisor)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import DataTable

from console.app import DutyConsoleApp
from console.cli import main
from console.store import AgentLocked, AgentRole, AuthError, DutyRecord
from console.ui.texts import text
from console.widgets.review.attendance import AttendancePane
from tests.ui.conftest import SECRET, TZ
from tests.ui.helpers import press_button, screen_text, until
from tests.ui.supervisor.test_review_screens import open_review
from tests.ui.supervisor.test_review_tabs import show_tab

Build = Callable[..., DutyConsoleApp]


def lock_out(store: DutyRecord, agent_id: str) -> None:
    """Wrong secrets until the record locks the ID (the fixture's record: after 3)."""
    for _ in range(store.lockout_failures):
        with pytest.raises(AuthError):
            store.verify_secret(agent_id, "wrong secret")
    with pytest.raises(AgentLocked):
        store.verify_secret(agent_id, SECRET)


async def test_supervisor_unlocks_from_the_attendance_tab(build: Build, store: DutyRecord) -> None:
    lock_out(store, "1024")
    app = build()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_review(pilot, app)
        await show_tab(pilot, app, "tab-attendance")
        pane = app.screen.query_one(AttendancePane)
        await until(pilot, lambda: pane.view is not None, "attendance")
        assert pane.view is not None and "1024" in pane.view.locked
        table = app.screen.query_one("#a-table", DataTable)
        assert "锁定至" in str(table.get_row("1024")[-1])
        # Not locked: told in one line, nothing written.
        table.move_cursor(row=table.get_row_index("2048"))
        await press_button(pilot, "a-unlock")
        await until(pilot, lambda: text("rv.att.not_locked").format(who="2048")
                    in screen_text(app), "not-locked refusal")
        assert [a for a in store.audit_log() if a.action == "unlock"] == []
        table.move_cursor(row=table.get_row_index("1024"))
        await press_button(pilot, "a-unlock")
        await until(pilot, lambda: any(a.action == "unlock" for a in store.audit_log()),
                    "unlocked")
        entry = next(a for a in store.audit_log() if a.action == "unlock")
        assert entry.who == "9001" and "1024" in entry.detail
        assert store.verify_secret("1024", SECRET).agent_id == "1024"
        await until(pilot, lambda: pane.view is not None and not pane.view.locked, "reloaded")
        assert str(table.get_row("1024")[-1]) == ""


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def wall_store(tmp_path: Path) -> Iterator[DutyRecord]:
    """A record on the wall clock, as the command runs (the UI fixture's clock is frozen)."""
    record = DutyRecord(f"sqlite:///{tmp_path / 'cli.db'}", tz=TZ, lockout_failures=3)
    record.create_agent("1024", "王芳", AgentRole.AGENT, SECRET)
    record.create_agent("2048", "李强", AgentRole.AGENT, "s3cret-2048")
    record.create_agent("9001", "张主任", AgentRole.SUPERVISOR, "s3cret-9001")
    yield record
    record.close()


def test_cli_unlock_and_its_refusals(
    wall_store: DutyRecord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = wall_store
    lock_out(store, "1024")
    db = ["--db", str(tmp_path / "cli.db"), "--tz", "Asia/Shanghai"]
    code, out, _ = run_cli(capsys, "agents", "list", *db)
    assert code == 0 and "1024" in out and "locked until" in out
    for args, words in [
        (["7777", "--by", "9001"], "no agent '7777'"),
        (["1024", "--by", "2048"], "not an active supervisor"),
        (["2048", "--by", "9001"], "not locked"),
    ]:
        code, out, err = run_cli(capsys, "agents", "unlock", *args, *db)
        assert code == 2 and out == "", args
        assert len(err.strip().splitlines()) == 1 and words in err, err
    assert [a for a in store.audit_log() if a.action == "unlock"] == []
    code, out, err = run_cli(capsys, "agents", "unlock", "1024", "--by", "9001", *db)
    assert code == 0 and "unlocked 1024" in out and err == ""
    assert store.verify_secret("1024", SECRET).agent_id == "1024"
    (entry,) = [a for a in store.audit_log() if a.action == "unlock"]
    assert entry.who == "9001"
