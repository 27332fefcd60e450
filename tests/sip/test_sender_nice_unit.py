"""The systemd unit lets the line's RTP sender reach its nice value as the unprivileged user.

Issue 14: pacing at 100 calls holds on a loaded 2-core PC only with the sender thread at
nice -10 (`sip.media.SENDER_NICE`). The unit runs the line as `User=duty`, who may not lower
a nice value: the sender stayed at 0 and logged it. `LimitNICE=` in the unit sets
RLIMIT_NICE, which allows exactly that much and no more. Here a child process drops to an
unprivileged user, takes the unit's limit as systemd would, starts a real `MediaEngine` on
loopback and reports the sender's nice value: with the limit it is SENDER_NICE, without it
the sender stays where it was.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sip.media import SENDER_NICE

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "duty-console.service"

CHILD = """
import os, resource, sys, time
from sip.media import MediaEngine  # before dropping: the interpreter lives under /root
limit = int(sys.argv[1])
if limit:
    try:
        resource.setrlimit(resource.RLIMIT_NICE, (limit, limit))
    except (ValueError, OSError):
        print("no-rlimit"); sys.exit(0)
os.setgid(int(sys.argv[3])); os.setuid(int(sys.argv[2]))
engine = MediaEngine("127.0.0.1", 47000, 47100, ["127.0.0.0/8"])
for _ in range(200):
    got = engine.stats()["sender_nice"]
    if got is not None:
        break
    time.sleep(0.01)
engine.close()
print(got)
"""


def unit_nice_limit() -> int:
    """RLIMIT_NICE as systemd sets it from `LimitNICE=-N`: 20 - (-N)."""
    match = re.search(r"^LimitNICE=(-?\d+)\s*$", UNIT.read_text(encoding="utf-8"), re.M)
    assert match, f"{UNIT.name} has no LimitNICE= line"
    return 20 - int(match.group(1))


def sender_nice_as_nobody(limit: int) -> int:
    if os.geteuid() != 0:
        pytest.skip("dropping to an unprivileged user needs root (CI runs as root)")
    nobody = pwd.getpwnam("nobody")
    done = subprocess.run([sys.executable, "-c", CHILD, str(limit), str(nobody.pw_uid),
                           str(nobody.pw_gid)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    if done.stdout.strip() == "no-rlimit":
        pytest.skip("this machine may not raise RLIMIT_NICE (no CAP_SYS_RESOURCE, a "
                    "container); systemd, as PID 1, sets LimitNICE= before it drops to User=")
    return int(done.stdout.strip().splitlines()[-1])


def test_the_units_limit_is_the_senders_nice_value() -> None:
    assert unit_nice_limit() == 20 - SENDER_NICE


def test_the_units_limit_gives_the_sender_its_nice_value() -> None:
    assert sender_nice_as_nobody(unit_nice_limit()) == SENDER_NICE


def test_without_the_limit_the_sender_stays_where_it_was() -> None:
    assert sender_nice_as_nobody(0) == os.getpriority(os.PRIO_PROCESS, 0)
