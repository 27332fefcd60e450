"""The caller's voice in the agent's headset, end to end: the real console in tmux, a real
PulseAudio server (null sinks for earpiece and microphone), a baresip caller on the lab.

baresip says 600 Hz; the agent answers with Enter; the earpiece sink's monitor must carry
600 Hz (recorded with parec). A 1 kHz tone played into the microphone sink must reach the
caller: the console's RTP towards baresip, captured on loopback and decoded, carries it.
Everything on loopback; tmux by its session name, PulseAudio and baresip by pid.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path

import labctl
import labpcap
import pytest

from console.store import AgentRole
from tests.ui.soundserver import SoundServer, tone_power, tone_share
from tests.ui.tmux import console_config, skip_near_midnight, tmux_console

pytestmark = pytest.mark.lab


LINE = """rtp_port_low = {low}
rtp_port_high = {high}
max_calls = 2
"""
PROMPTS = """language = "en"  # the seat in English too: short prompts

[prompts.texts]
greeting = "Hello."
"""


def test_the_caller_is_heard_in_the_headset_and_the_agent_by_the_caller(
    lab: labctl.Lab, sound: SoundServer, tmp_path: Path
) -> None:
    skip_near_midnight()
    rtp_low = labctl.free_port_range(8, align=2, tcp=False)
    config = console_config(lab, LINE.format(low=rtp_low, high=rtp_low + 7), PROMPTS)
    agents = {"1024": ("王芳", AgentRole.AGENT, "s3cret-1024")}
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sound.env.items())
    with tmux_console(tmp_path, f"duty-headset-{os.getpid()}", config, agents, env) as pane:
        caller = lab.start_caller("300")
        mic: subprocess.Popen[bytes] | None = None
        try:
            pane.log_in("1024", "s3cret-1024", "Agent login")
            pane.wait_for(lambda s: "Line: registered" in s and "Headset: ready" in s,
                          "seat, registered, headset ready")
            caller.dial(lab.uri("100"))
            pane.wait_for(lambda s: "Rings" in s, "ring banner")
            pane.keys("Enter")
            pane.wait_for(lambda s: "On call" in s, "on-call screen")
            heard = sound.record_until_tone("earpiece.monitor", 600.0)
            mic = sound.play("mic", labpcap.tone_pcm16(1000.0, 20.0, amplitude=8000))
            time.sleep(1.0)  # greeting ("Hello.") over, the microphone flowing
            with lab.capture(ports=range(rtp_low, rtp_low + 8)) as cap:
                time.sleep(3.5)  # dumpcap may take a second to start on a loaded machine
            sent = [p for p in cap.rtp() if rtp_low <= p.src[1] < rtp_low + 8
                    and p.payload_type in (0, 8)]
            sent.sort(key=lambda p: p.time)
            to_caller = b"".join(labpcap.decode_g711(p.payload_type, p.payload) for p in sent)
        finally:
            if mic is not None:
                mic.kill()
                mic.wait(5)
            caller.hangup_all()
            lab.stop_ua("300")
    assert len(heard) >= 8000 * 2 * 1.0, f"parec recorded {len(heard)} bytes"
    assert tone_power(heard, 600.0) > 0.3, "the caller's 600 Hz is not in the earpiece"
    assert len(to_caller) >= 8000 * 2 * 1, f"{len(sent)} RTP packets to the caller"
    share = tone_share(to_caller, 1000.0)
    assert share >= 0.5, f"the microphone's 1 kHz did not reach the caller ({share:.0%} of blocks)"
