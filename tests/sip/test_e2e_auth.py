"""The gate-post probe through a Kamailio that challenges it, as stock Kamailio does (issue 15).

Stock `route[AUTH]` answers an out-of-dialog OPTIONS from one of its users with 407. The line
answered a challenge to its REGISTER only and took the 407 for the gate post answering, so
night mode's check said "gate post reachable" for an extension nobody had registered. Now
the probe answers the challenge with the line's credentials and judges the real answer: the
gate post's own 200, or Kamailio's 404 for nobody there. Everything is on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable

import labctl

from sip.api import LineConfig, LineStatus
from sip.line import DutyLine
from tests.sip.fakes import Events


def test_a_challenged_probe_tells_a_registered_gate_post_from_nobody(
        lab_factory: Callable[..., labctl.Lab]) -> None:
    lab = lab_factory(auth=True, proxy_auth=True, gate=True)
    rtp = labctl.free_port_range(4, align=2)
    line = DutyLine(LineConfig(registrar_host="127.0.0.1", registrar_port=lab.proxy_port,
                               extension="100", secret=lab.users["100"], rtp_port_low=rtp,
                               rtp_port_high=rtp + 3), Events())
    try:
        line.start(timeout=5)
        assert line.status is LineStatus.REGISTERED
        assert line.probe("sip:200@127.0.0.1", timeout=3) is True  # baresip answers, after auth
        assert line.probe("sip:201@127.0.0.1", timeout=3) is False  # 404: nobody registered
        kamailio = (lab.run_dir / "kamailio" / "kamailio.log").read_text(errors="replace")
        assert kamailio.count("REQ OPTIONS sip:201@127.0.0.1") == 2  # challenged, then answered
    finally:
        line.stop()
        labctl.release_ports(range(rtp, rtp + 4))
