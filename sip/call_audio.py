"""The audio side of a call, the same for a call we answered and one we placed.

`DutyCall` (sip/line.py) and `DutyOutgoingCall` (sip/originate.py) both carry an RTP session
once answered (RFC 3264 offer/answer done); the console reads the caller's audio, writes the
agent's and taps both through these, whichever side set the call up.
"""

from __future__ import annotations

from typing import Any

from sip.api import AudioTap, CallState, CallStateError


class CallAudio:
    """Mixin: `read_audio`, `write_audio` and `tap_audio` over `self.session` while the call
    is answered (its owner sets `_state`, `call_id` and `session`)."""

    _state: CallState
    session: Any
    call_id: Any

    def read_audio(self, max_frames: int) -> bytes:
        if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 0:
            raise CallStateError(f"read_audio: max_frames must be an int >= 0, not {max_frames!r}")
        state = self._state
        if state is CallState.ENDED:
            raise CallStateError(f"read_audio: call {self.call_id} has ended")
        if state is not CallState.ANSWERED:
            return b""
        return bytes(self.session.read_audio(max_frames))

    def write_audio(self, pcm16: bytes) -> None:
        if not isinstance(pcm16, (bytes, bytearray, memoryview)):
            raise CallStateError(f"write_audio needs s16le PCM bytes, not {type(pcm16).__name__}")
        state = self._state
        if state is CallState.ENDED:
            raise CallStateError(f"write_audio: call {self.call_id} has ended")
        if state is CallState.ANSWERED:
            self.session.write_audio(pcm16)

    def tap_audio(self, tap: AudioTap | None) -> None:
        if tap is not None and not callable(tap):
            raise CallStateError(f"tap_audio needs a callable, not {type(tap).__name__}")
        if self._state is not CallState.ENDED:
            self.session.set_tap(tap)
