"""Unit tests of the UI's plain parts: headset choice, notes and drafts, texts, the seat model."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from console.callflow.events import (
    CallAnswered,
    CallArrived,
    CallFinished,
    CallStep,
    GatePostChecked,
    Mode,
    SeatRinging,
)
from console.domain.errors import WrapUpError
from console.headset import AudioDevice, Headset, HeadsetError, HeadsetState
from console.ui.model import Phase, SeatModel
from console.ui.notes import CallNotes, DraftBook, NotesError
from console.ui.texts import TEXTS, cell_width, pad
from tests.ui.fakes import FakeAudio

MIC_ONLY = AudioDevice(1, "Built-in Mic", inputs=2, outputs=0, default_samplerate=44100.0)
SPEAKER = AudioDevice(2, "HDMI", inputs=0, outputs=2, default_samplerate=48000.0)
HEADSET = AudioDevice(3, "Jabra USB Headset", inputs=1, outputs=2, default_samplerate=16000.0)


@pytest.mark.parametrize(
    ("devices", "default", "wanted", "state", "name"),
    [
        ([], None, None, HeadsetState.NO_HEADSET, None),
        ([MIC_ONLY, SPEAKER], 2, None, HeadsetState.NO_HEADSET, None),
        ([MIC_ONLY, HEADSET], None, None, HeadsetState.READY, "Jabra USB Headset"),
        ([MIC_ONLY, HEADSET], 3, "jabra", HeadsetState.READY, "Jabra USB Headset"),
        ([MIC_ONLY, HEADSET], 3, "3", HeadsetState.READY, "Jabra USB Headset"),
        ([MIC_ONLY, HEADSET], 3, "HDMI", HeadsetState.NO_HEADSET, None),  # not present
        ([MIC_ONLY, HEADSET], 3, "Built-in", HeadsetState.NO_HEADSET, "Built-in Mic"),  # no ear
    ],
)
def test_headset_choice(devices, default, wanted, state, name) -> None:
    status = Headset(FakeAudio(devices, default), wanted).probe()
    assert status.state is state
    assert (status.device.name if status.device else None) == name
    assert status.detail


def test_portaudio_failure_is_a_state_not_a_crash() -> None:
    class Broken:
        def devices(self) -> list[AudioDevice]:
            raise HeadsetError("PortAudio is not available: libportaudio.so.2 missing")

        def default_device(self) -> int | None:
            return None

    status = Headset(Broken()).probe()
    assert status.state is HeadsetState.ERROR and "libportaudio" in status.detail


def test_real_sounddevice_backend_answers_on_this_machine() -> None:
    """Whatever this machine has, the real backend yields a state (here: usually no device)."""
    status = Headset().probe()
    assert status.state in set(HeadsetState)


def test_drafts_keep_the_newest_version_and_survive_reload(tmp_path: Path) -> None:
    book = DraftBook(tmp_path / "drafts")
    assert book.save("a/b:c", CallNotes(content="v2"), 2)
    assert not book.save("a/b:c", CallNotes(content="v1"), 1)  # an older save loses
    assert DraftBook(tmp_path / "drafts").load("a/b:c") == CallNotes(content="v2")
    assert book.path("a/b:c").parent == tmp_path / "drafts"  # no path escape from a Call-ID
    assert book.path("../../etc/passwd").parent == tmp_path / "drafts"
    data = json.loads(book.path("a/b:c").read_text())
    assert data["version"] == 2


def test_unwritable_drafts_raise_a_titled_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(NotesError) as err:
        DraftBook(blocker).save("c1", CallNotes(content="x"), 1)
    assert err.value.title == "Call notes"


def test_corrupt_draft_is_ignored_with_a_log(tmp_path: Path) -> None:
    book = DraftBook(tmp_path)
    book.path("c1").write_text("{not json")
    assert book.load("c1") is None


@pytest.mark.parametrize("due", ["tomorrow", "2026-13-01 10:00", "2026-03-03", "10:00"])
def test_bad_follow_up_due(due: str) -> None:
    with pytest.raises(WrapUpError):  # the domain's rule (console.domain.wrap_up), coded
        CallNotes(follow_up_due=due).due_at(dt.UTC)


def test_notes_facts_use_record_names_and_skip_empty() -> None:
    notes = CallNotes(category="repair", caller_name="王", follow_up_due="2026-03-03 10:00")
    assert notes.record_facts() == {
        "category": "repair", "caller_name": "王", "follow_up": "2026-03-03 10:00"
    }
    assert notes.due_at(dt.UTC) == dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
    assert CallNotes.from_dict({"content": "x", "unknown": "y"}) == CallNotes(content="x")


def test_every_text_has_both_languages_and_cjk_pads_by_columns() -> None:
    for key, (zh, en) in TEXTS.items():
        assert zh.strip() and en.strip(), key
    assert cell_width("就绪") == 4 and cell_width("ready") == 5
    assert cell_width(pad("通话中", 10)) == 10 and cell_width(pad("Ready", 10)) == 10


def test_no_screen_uses_an_unknown_text_key() -> None:
    import re

    root = Path(__file__).resolve().parents[2] / "console"
    used: set[str] = set()
    for folder in ("screens", "widgets"):
        for path in (root / folder).glob("*.py"):
            used |= set(re.findall(r"""\bt(?:ext)?\(\s*["']([a-z_]+\.[a-z_]+)["']""",
                                   path.read_text()))
    assert used, "the scan found no keys"
    assert used <= set(TEXTS), used - set(TEXTS)


def test_model_follows_a_call_through_its_events() -> None:
    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    model = SeatModel()
    call = model.apply(CallArrived(at, "c1", "138", Mode.STAFFED))
    assert call is not None and call.phase is Phase.RINGING and model.ringing() == [call]
    model.apply(SeatRinging(at, "c1", 15.0))
    model.apply(CallAnswered(at, "c1", "auto", 3, 15.0))
    assert call.phase is Phase.HELD and call.takeable
    model.apply(CallFinished(at, "c1", CallStep.HOLD, "caller_hangup", "auto"))
    assert call.phase is Phase.ENDED and model.ringing() == []
    night = model.apply(CallArrived(at, "c2", "139", Mode.NIGHT))
    assert night is not None and night.phase is Phase.NIGHT and not night.takeable
    assert model.apply(CallAnswered(at, "unknown", "auto", 1, 1.0)) is None
    model.apply(GatePostChecked(at, "sip:gate@127.0.0.1", False))
    assert model.gate_ok is False


def test_ui_package_keeps_off_sip_internals() -> None:
    """The UI imports only `sip.api` (never the line, media or pyVoIP)."""
    root = Path(__file__).resolve().parents[2] / "console"
    files = [root / "app.py", root / "headset.py"]
    for folder in ("ui", "screens", "widgets"):
        files += list((root / folder).glob("*.py"))
    for path in files:
        for line in path.read_text().splitlines():
            if line.startswith(("import sip", "from sip")):
                assert line.startswith("from sip.api import"), f"{path.name}: {line}"
    assert len(files) > 10  # the scan really looked at the UI's modules
