"""A SIP or flow thread that dies must not print its traceback over the TUI: it is logged
and shown as a titled notification, and the console goes on."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from console.app import DutyConsoleApp
from tests.ui.helpers import screen_text, until

Build = Callable[..., DutyConsoleApp]


async def test_a_dying_thread_becomes_a_notification_not_a_traceback(
    build: Build, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    before = threading.excepthook
    app = build()
    async with app.run_test(size=(150, 45)) as pilot:

        def die() -> None:
            raise ValueError("bad SDP from the proxy")

        worker = threading.Thread(target=die, name="sip-recv")
        worker.start()
        worker.join(5)
        await until(pilot, lambda: "sip-recv: bad SDP from the proxy" in screen_text(app),
                    "notification")
    err = capfd.readouterr().err
    assert "Traceback" not in err and "bad SDP" not in err
    assert any("thread sip-recv failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert threading.excepthook is before  # put back when the console closed
