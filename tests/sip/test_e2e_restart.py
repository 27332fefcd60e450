"""A line killed with SIGKILL and started again registers at its first attempt (issue 10).

Seen before: the restarted line's REGISTER reused the dead one's Call-ID (pyVoIP's
`gen_call_id` hashes a counter that restarts with the process) with a lower CSeq; the lab's
Kamailio answered 400 "invalid cseq for aor" and the line retried 10 s later, so calls in
that gap got 404. The first line refreshes once before it is killed (as a line that has run
a while has), so the registrar's CSeq for that Call-ID is above the new line's first. The
first line runs in a child process killed by pid; everything is on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import labctl

from sip.api import LineConfig, LineStatus
from sip.line import DutyLine
from sip.pyvoip_client import DutySipClient
from tests.sip.fakes import Events

CHILD = textwrap.dedent("""
    import sys, time
    from sip.api import LineConfig
    from sip.line import DutyLine
    cfg = LineConfig(registrar_host="127.0.0.1", registrar_port=int(sys.argv[1]),
                     extension="100", secret=sys.argv[2], sip_port=int(sys.argv[3]),
                     rtp_port_low=int(sys.argv[4]), rtp_port_high=int(sys.argv[4]) + 3,
                     register_expires=10)
    line = DutyLine(cfg, lambda event: None)
    line.start(timeout=5)
    deadline = time.monotonic() + 15
    while line.registration.granted and time.monotonic() < deadline:
        if line.registration._cseq >= 4 and line.status.value == "registered":
            break  # refreshed once (401 + 200, twice): the registrar's CSeq is at 4
        time.sleep(0.05)
    print(line.status.value, line.registration._cseq, flush=True)
    time.sleep(60)
""")


def test_call_ids_differ_between_runs() -> None:
    first = DutySipClient("127.0.0.1", 5060, "100", "pw", "127.0.0.1", 5099, "t")
    again = DutySipClient("127.0.0.1", 5060, "100", "pw", "127.0.0.1", 5099, "t")
    assert first.gen_call_id() != again.gen_call_id()
    ids = {first.gen_call_id() for _ in range(100)}
    assert len(ids) == 100 and all(i.endswith("@127.0.0.1") for i in ids)


def test_a_line_restarted_after_kill_9_registers_at_once(lab: labctl.Lab) -> None:
    sip_port = labctl.free_udp_port()
    rtp = labctl.free_port_range(8, align=2)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(lab.proxy_port), lab.users["100"], str(sip_port),
         str(rtp)], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().split() == [LineStatus.REGISTERED.value, "4"]
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # a crash: no un-REGISTER
        child.wait(10)
    events = Events()
    line = DutyLine(LineConfig(registrar_host="127.0.0.1", registrar_port=lab.proxy_port,
                               extension="100", secret=lab.users["100"], sip_port=sip_port,
                               rtp_port_low=rtp + 4, rtp_port_high=rtp + 7,
                               retry_seconds=10.0), events)
    try:
        line.start(timeout=5)
        assert line.status is LineStatus.REGISTERED
        assert line.registration is not None and line.registration.first_outcome == "ok"
    finally:
        line.stop()
        labctl.release_ports([sip_port, *range(rtp, rtp + 8)])
