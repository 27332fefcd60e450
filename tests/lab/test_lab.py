"""The loopback lab itself: it comes up, isolates instances, routes calls with media, cleans up.

If these fail, every end-to-end test of the console would fail for reasons that are not the
console's; so they check the lab's promises one by one, against the real programs.
"""

from __future__ import annotations

from collections.abc import Callable

import labctl
import labpcap
import pytest


def _freq(packets: list[labpcap.RtpPacket]) -> float:
    audio = [p for p in packets if p.payload_type in (labpcap.PT_PCMU, labpcap.PT_PCMA)]
    return labpcap.dominant_frequency(
        b"".join(labpcap.decode_g711(p.payload_type, p.payload) for p in audio)
    )


def test_lab_comes_up_with_registered_gate(lab: labctl.Lab) -> None:
    status = labctl.sip_options_ping(lab.proxy_port)
    assert status is not None and status.startswith("SIP/2.0 200"), status
    assert lab.gate.registered()
    state = lab.state()
    assert state["proxy"]["port"] == lab.proxy_port
    assert state["uas"]["200"]["mode"] == "auto"
    assert (lab.run_dir / "lab.json").exists()


def test_sipp_call_to_gate_has_rtp_both_ways(lab: labctl.Lab) -> None:
    since = len(lab.gate.events)
    with lab.capture(lab.gate.rtp_ports) as cap:
        result = lab.sipp("uac_pcmu_dtmf", service="200", duration_ms=2000, timeout=20)
    assert result.ok, result.describe()
    from_gate = [p for p in cap.packets if p.src[1] in lab.gate.rtp_ports]
    to_gate = [p for p in cap.packets if p.dst[1] in lab.gate.rtp_ports]
    assert len(from_gate) > 100 and len(to_gate) > 100, (len(from_gate), len(to_gate))
    assert {p.dst[1] for p in from_gate} == {result.media_port}
    assert abs(_freq(from_gate) - 440) < 15  # the gate's tone
    assert abs(_freq(to_gate) - 600) < 15  # SIPp's caller pcap
    digits = {p.digit for p in to_gate if p.payload_type == labpcap.PT_EVENT}
    assert digits == set("1234#")
    lab.gate.wait_event("CALL_CLOSED", timeout=5, since=since)
    assert "CALL_ESTABLISHED" in lab.gate.event_types()[since:]
    assert result.stats().get("SuccessfulCall(C)") == "1"


def test_auth_rejects_wrong_password(lab: labctl.Lab) -> None:
    good = lab.sipp("uac_register", service="100", extra=["-au", "100", "-ap", "secret100"])
    assert good.ok, good.describe()
    bad = lab.sipp("uac_register", service="100", extra=["-au", "100", "-ap", "wrong"], timeout=5)
    assert bad.rc == 1
    statuses = [ln for ln in bad.messages.splitlines() if ln.startswith("SIP/2.0 ")]
    assert statuses[:2] == ["SIP/2.0 401 Unauthorized"] * 2, statuses


def test_caller_dials_gate_and_hangs_up(lab: labctl.Lab) -> None:
    caller = lab.start_caller("300")
    try:
        gate_since = len(lab.gate.events)
        caller.dial(lab.uri("200"))
        caller.wait_event("CALL_ESTABLISHED", timeout=10)
        lab.gate.wait_event("CALL_ESTABLISHED", timeout=5, since=gate_since)
        caller.hangup()
        lab.gate.wait_event("CALL_CLOSED", timeout=5, since=gate_since)
    finally:
        lab.stop_ua("300")
    assert "300" not in lab.uas


def test_refusing_gate_rejects_calls(lab_factory: Callable[..., labctl.Lab]) -> None:
    variant = lab_factory(auth=False, gate=False)
    refusing = variant.start_gate("201", mode="refuse")
    result = variant.sipp("uac_wait_bye", service="201", timeout=10)
    assert result.rc == 1
    assert "SIP/2.0 486" in result.messages, result.describe()
    assert "CALL_INCOMING" in refusing.event_types()
    nobody = variant.sipp("uac_wait_bye", service="200", timeout=10)
    assert "SIP/2.0 404 Not Found" in nobody.messages  # no gate registered at all


def test_two_labs_in_parallel_do_not_collide(lab_factory: Callable[..., labctl.Lab]) -> None:
    first, second = lab_factory(auth=True), lab_factory(auth=False)
    ports_first = {first.proxy_port, *first.gate.ports}
    ports_second = {second.proxy_port, *second.gate.ports}
    assert not ports_first & ports_second
    assert first.run_dir != second.run_dir
    for instance in (first, second):
        result = instance.sipp("uac_pcmu_dtmf", service="200", duration_ms=0, timeout=20)
        assert result.ok, result.describe()
    # auth differs: only the first one challenges
    open_reg = second.sipp("uac_register", service="300", extra=["-au", "300", "-ap", "x"])
    assert open_reg.ok and "401" not in open_reg.messages


def test_restart_proxy_keeps_port(lab_factory: Callable[..., labctl.Lab]) -> None:
    variant = lab_factory(auth=False, gate=False)
    old_pid = variant.proxy.process.pid
    variant.stop_proxy()
    assert labctl.sip_options_ping(variant.proxy_port, timeout=0.3) is None
    variant.start_proxy()
    assert variant.proxy.process.pid != old_pid
    status = labctl.sip_options_ping(variant.proxy_port)
    assert status is not None and status.startswith("SIP/2.0 200")


def test_follow_3xx_variant_renders_and_runs(lab_factory: Callable[..., labctl.Lab]) -> None:
    variant = lab_factory(auth=False, follow_3xx=True)
    assert "-A" in variant.proxy.process.argv and "FOLLOW_3XX" in variant.proxy.process.argv
    variant.proxy.check_config()
    assert variant.gate.registered()


def test_stop_leaves_no_process(tmp_path_factory: pytest.TempPathFactory) -> None:
    instance = labctl.Lab(tmp_path_factory.mktemp("labstop"), auth=True)
    try:
        instance.start()
        instance.start_caller()
        cap = instance.capture(instance.gate.rtp_ports).start()
        run = instance.sipp_start("uac_wait_bye", service="200", timeout=30)
        instance.gate.wait_event("CALL_ESTABLISHED", timeout=10)
        pids = instance.pids()
        assert cap.process.running() and run.running()
        assert len(pids) >= 5
    finally:
        instance.stop()
    alive = [pid for pid in pids if labctl.pid_alive(pid)]
    assert alive == []
    assert not (instance.run_dir / "lab.json").exists()
    instance.stop()  # a second stop is harmless


def test_bad_inputs_are_refused_clearly(lab: labctl.Lab) -> None:
    with pytest.raises(labctl.LabError, match="no SIPp scenario"):
        lab.sipp("no_such_scenario")
    with pytest.raises(labctl.LabError, match=r"127\.0\.0\.0/8"):
        lab.sipp("uac_register", target=("192.0.2.10", 5060))
    with pytest.raises(labctl.LabError, match=r"127\.0\.0\.0/8"):
        lab.gate.dial("sip:200@example.com")
    with pytest.raises(labctl.LabError, match="calls must be"):
        lab.sipp("uac_register", calls=0)
    with pytest.raises(labctl.LabError, match="duration_ms"):
        lab.sipp("uac_register", duration_ms=-5)
    with pytest.raises(labctl.LabError, match="mode"):
        lab.start_ua("202", mode="sometimes")
    with pytest.raises(labctl.LabError, match="extension number"):
        lab.start_ua("gate;evil")
    with pytest.raises(labctl.LabError, match="already running"):
        lab.start_gate("200")
    assert lab.gate.registered()  # nothing above disturbed the running lab


def test_free_ports_are_distinct_and_bindable(free_udp_port: Callable[[], int]) -> None:
    ports = {free_udp_port() for _ in range(20)}
    assert len(ports) == 20
    import socket

    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", port))
