"""Each SIPp scenario of the lab parses and does what its comment says, against baresip.

baresip stands in for the duty line here only to prove the scenario files themselves;
the console's own behaviour (488 for no SDP, REFER, 302) is tested by the sip/ tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import labctl
import labpcap
import pytest


def _statuses(result: labctl.SippResult) -> list[str]:
    return [ln.split(" ", 2)[1] for ln in result.messages.splitlines() if ln.startswith("SIP/2.0 ")]


@pytest.fixture
def manual_ua(lab: labctl.Lab) -> Iterator[labctl.BaresipUA]:
    """A UA (201) that rings and never answers."""
    ua = lab.start_ua("201", mode="manual")
    try:
        yield ua
    finally:
        lab.stop_ua("201")


def test_every_listed_scenario_exists() -> None:
    on_disk = {p.stem for p in labctl.SCENARIO_DIR.glob("*.xml")}
    assert on_disk == set(labctl.SCENARIOS)


def test_options_gets_200_with_allow(lab: labctl.Lab) -> None:
    result = lab.sipp("uac_options", service="200", timeout=5)
    assert result.ok, result.describe()
    assert "Allow: " in result.logs and "INVITE" in result.logs


def test_g729_only_offer_gets_488(lab: labctl.Lab) -> None:
    result = lab.sipp("uac_invite_g729", service="200", timeout=5)
    assert result.ok, result.describe()
    assert _statuses(result)[-1] == "488"


def test_cancel_while_ringing_gets_487(lab: labctl.Lab, manual_ua: labctl.BaresipUA) -> None:
    result = lab.sipp("uac_cancel", service="201", duration_ms=300, timeout=10)
    assert result.ok, result.describe()
    # Kamailio's two workers may send the CANCEL's 200 and the 487 in either order, and
    # a retransmitted 200 may follow them: both are there, nothing answered the INVITE.
    tail = _statuses(result)[-3:]
    assert "487" in tail and "200" in tail
    assert "CALL_INCOMING" in manual_ua.event_types()
    assert manual_ua.calls() == 0


def test_reinvite_moves_media(lab: labctl.Lab) -> None:
    with lab.capture(lab.gate.rtp_ports) as cap:
        result = lab.sipp("uac_reinvite", service="200", duration_ms=600, timeout=15)
    assert result.ok, result.describe()
    gate_targets = {p.dst[1] for p in cap.packets if p.src[1] in lab.gate.rtp_ports}
    assert {result.media_port, result.media_port + 2} <= gate_targets


def test_info_dtmf_each_answered(lab: labctl.Lab) -> None:
    result = lab.sipp("uac_info_dtmf", service="200", duration_ms=0, timeout=15)
    assert result.ok, result.describe()
    assert result.messages.count("Content-Type: application/dtmf-relay") == 5
    assert [f"Signal={d}" in result.messages for d in "1234#"] == [True] * 5


def test_bye_for_unknown_dialog_gets_481(lab: labctl.Lab) -> None:
    result = lab.sipp(
        "uac_bye_unknown", service="200", target=("127.0.0.1", lab.gate.sip_port), timeout=5
    )
    assert result.ok, result.describe()
    assert _statuses(result) == ["481"]


def test_pcma_caller_sends_alaw(lab: labctl.Lab) -> None:
    with lab.capture(lab.gate.rtp_ports) as cap:
        result = lab.sipp("uac_pcma_dtmf", service="200", duration_ms=0, timeout=15)
    assert result.ok, result.describe()
    to_gate = [p for p in cap.packets if p.dst[1] in lab.gate.rtp_ports]
    audio = [p for p in to_gate if p.payload_type == labpcap.PT_PCMA]
    assert len(audio) > 100
    pcm = b"".join(labpcap.decode_g711(p.payload_type, p.payload) for p in audio)
    assert abs(labpcap.dominant_frequency(pcm) - 600) < 15
    back = {p.payload_type for p in cap.packets if p.src[1] in lab.gate.rtp_ports}
    assert back == {labpcap.PT_PCMA}


def test_odd_dtmf_pcap_is_odd_on_the_wire(lab: labctl.Lab) -> None:
    with lab.capture(lab.gate.rtp_ports) as cap:
        result = lab.sipp("uac_dtmf_odd", service="200", duration_ms=1800, timeout=20)
    assert result.ok, result.describe()
    events = [p for p in cap.packets if p.payload_type == labpcap.PT_EVENT]
    marked = [p.digit for p in events if p.marker]
    assert marked == ["3", "3", "3", "7", "7", "7"]  # 1 and 5 have no marker
    assert {p.digit for p in events} == set("1357")


def test_answer_wait_measures_ring_time(lab: labctl.Lab) -> None:
    result = lab.sipp("uac_answer_wait", service="200", duration_ms=200, timeout=15)
    assert result.ok, result.describe()
    stats = result.stats()
    assert stats.get("SuccessfulCall(C)") == "1"
    assert any(key.startswith("ResponseTimeanswer") for key in stats), sorted(stats)


def test_async_run_and_hangup_all(lab: labctl.Lab) -> None:
    since = len(lab.gate.events)
    run = lab.sipp_start("uac_wait_bye", service="200", timeout=20)
    lab.gate.wait_event("CALL_ESTABLISHED", timeout=10, since=since)
    assert run.running()
    lab.gate.hangup_all()
    result = run.wait(timeout=10)
    assert result.ok, result.describe()  # the caller got the gate's BYE and answered it
    assert lab.gate.calls() == 0


def _redirecting_callee(variant: labctl.Lab, user: str = "100") -> labctl.SippRun:
    keys = ["-key", "redirect_to", "200", "-key", "proxy_port", str(variant.proxy_port)]
    run = variant.sipp_start("uas_redirect", service=user, extra=keys)
    assert variant.register_contact(user, run.sip_port) == 200
    return run


def test_caller_follows_302_itself(lab_factory: Callable[..., labctl.Lab]) -> None:
    variant = lab_factory(auth=True, follow_3xx=False)
    callee = _redirecting_callee(variant)
    try:
        result = variant.sipp("uac_follow_302", service="100", timeout=15)
        assert result.ok, result.describe()
        assert "302 received: Contact=sip:200@127.0.0.1" in result.logs
        assert callee.wait(timeout=5).ok
    finally:
        variant.register_contact("100", callee.sip_port, expires=0)


def test_proxy_follows_302_in_follow_3xx_lab(lab_factory: Callable[..., labctl.Lab]) -> None:
    variant = lab_factory(auth=False, follow_3xx=True)
    callee = _redirecting_callee(variant)
    since = len(variant.gate.events)
    result = variant.sipp("uac_pcmu_dtmf", service="100", duration_ms=0, timeout=15)
    assert result.ok, result.describe()  # plain caller, connected to the gate by the proxy
    assert "302" not in _statuses(result)
    variant.gate.wait_event("CALL_ESTABLISHED", timeout=5, since=since)
    assert callee.wait(timeout=5).ok
    assert "following redirect to sip:200@127.0.0.1" in variant.proxy.process.log_text()


def test_register_contact_bad_password(lab: labctl.Lab, free_udp_port: Callable[[], int]) -> None:
    assert lab.register_contact("201", free_udp_port(), password="wrong") == 401
