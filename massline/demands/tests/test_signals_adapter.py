"""The Django side of the signals: urgency raised at intake (so the shorter deadline applies at dispatch) and
escalation risk flagged for the supervisors, each on the event record."""

from __future__ import annotations

import types

import pytest

from conftest import at
from massline.core import clock, events
from massline.core.models import Event, Notification
from massline.demands import services, signals
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State

pytestmark = pytest.mark.django_db

GAS = ("楼道里煤气味很重", "花园社区3栋2单元楼道里一股很浓的煤气味，好像是502家燃气管道泄漏了，请赶快派人来处理！")
WATER = ("小区停水两天了", "花园社区从前天早上开始停水，到现在还没有恢复，家里有老人孩子，请尽快抢修。")
LAMP = ("小区门口路灯不亮", "花园社区北门路灯已经坏了一周，晚上很黑，请维修。")
THREAT = ("拖欠工资再不给就跳楼", "包工头拖欠我们二十多名农民工半年工资，再不解决我们只能去跳楼了。")


def _receive(city, text, *, type="help", urgency="normal", place=0, category="市政设施", **kw) -> Demand:
    title, content = text
    data = dict(channel="hotline", type=type, title=title, content=content, urgency=urgency,
                category_id=city.categories[category].pk if category else None, place_id=city.grids[place].pk,
                name="陈女士", phone="13800001234")
    data.update(kw)
    d, _ = services.receive(IntakeData(**data), city.users["intake"])
    return d


@pytest.fixture
def standalone(monkeypatch):
    """Intake without the wired-in assessment, to exercise ``apply_on_intake`` on its own."""
    monkeypatch.setattr(services, "signals", types.SimpleNamespace(apply_on_intake=lambda d: None))


def _actions(d: Demand) -> list[str]:
    return list(Event.objects.filter(chain=d.chain).order_by("seq").values_list("action", flat=True))


def test_a_gas_leak_is_raised_to_emergency_at_intake_and_gets_the_two_hour_deadline(city):
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d = _receive(city, GAS)  # receiving it reads the text (services.receive calls apply_on_intake)
        assert d.urgency == "emergency"
        stored = Demand.objects.get(pk=d.pk)
        assert stored.urgency == "emergency" and stored.version == d.version
        ev = Event.objects.get(chain=d.chain, action=signals.URGENCY_RAISED)
        assert ev.data["from"] == "normal" and ev.data["to"] == "emergency"
        assert "燃气泄漏" in ev.data["reasons"] and "燃气泄漏" in ev.reason
        assert ev.actor_role == "system"
        d = services.dispatch(d.pk, city.users["dispatcher"])
    assert d.policy.urgency == "emergency"
    assert d.due_at == at(2026, 11, 2, 11, 30)  # 2 calendar hours, not 7 working days
    assert _actions(d) == ["receive", signals.URGENCY_RAISED, "dispatch"]
    assert list(events.verify()) == []


def test_water_out_for_two_days_is_urgent_with_the_24_hour_policy(city):
    with clock.frozen(at(2026, 11, 6, 16, 0)):  # a Friday afternoon: 24 calendar hours, not working hours
        d = _receive(city, WATER, category="停水停电")
        signals.apply_on_intake(d)
        d = services.dispatch(d.pk, city.users["dispatcher"])
    assert d.urgency == "urgent"
    assert d.due_at == at(2026, 11, 7, 16, 0)


def test_an_ordinary_demand_is_left_alone(city):
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d = _receive(city, LAMP)
        result = signals.apply_on_intake(d)
    assert result["urgency"] == "normal" and not result["urgency_raised"] and not result["risk_flagged"]
    assert Demand.objects.get(pk=d.pk).version == d.version
    assert _actions(d) == ["receive"]


def test_what_intake_chose_is_never_lowered(city):
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d = _receive(city, WATER, urgency="emergency")
        result = signals.apply_on_intake(d)
    assert result["urgency"] == "urgent" and not result["urgency_raised"]
    assert Demand.objects.get(pk=d.pk).urgency == "emergency"


def test_after_dispatch_the_urgency_is_not_changed(city, standalone):
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d = _receive(city, GAS)
        d = services.dispatch(d.pk, city.users["dispatcher"])
        due = d.due_at
        result = signals.apply_on_intake(d)
    assert result["urgency"] == "emergency" and not result["urgency_raised"]
    d.refresh_from_db()
    assert d.urgency == "normal" and d.due_at == due
    assert signals.URGENCY_RAISED not in _actions(d)


def test_risk_is_flagged_on_the_record_and_the_area_supervisors_are_told(city, standalone, django_capture_on_commit_callbacks):
    with clock.frozen(at(2026, 11, 2, 9, 30)), django_capture_on_commit_callbacks(execute=True):
        d = _receive(city, THREAT, type="complaint", category="拖欠工资")  # grid 0 is in the first street
        result = signals.apply_on_intake(d)
    assert result["risk"] and result["risk_flagged"]
    assert set(result["risk_kinds"]) == {"threat", "many"}
    ev = Event.objects.get(chain=d.chain, action=signals.RISK_FLAGGED)
    assert ev.data["kinds"] == result["risk_kinds"] and ev.data["score"] >= 0.8
    note = Notification.objects.get(kind=signals.RISK_FLAGGED)
    assert note.recipient == city.users["supervisor"] and d.code in note.title and "跳楼" in note.body
    # the second street's supervisor does not oversee the first street
    assert not Notification.objects.filter(kind=signals.RISK_FLAGGED, recipient=city.users["supervisor_street2"]).exists()


def test_a_flag_on_a_whistle_blowing_report_goes_to_discipline_inspection_only(city, standalone, django_capture_on_commit_callbacks):
    text = ("举报村干部私分补偿款", "全村村民联名举报村主任私分征地补偿款，再不查处我们就去省里上访。")
    with clock.frozen(at(2026, 11, 2, 9, 30)), django_capture_on_commit_callbacks(execute=True):
        d = _receive(city, text, type="report", category=None)
        result = signals.apply_on_intake(d)
    assert result["risk_flagged"] and "higher" in result["risk_kinds"]
    recipients = set(Notification.objects.filter(kind=signals.RISK_FLAGGED).values_list("recipient_id", flat=True))
    assert recipients == {city.users["discipline"].pk}


def test_applying_twice_changes_nothing_more(city, standalone, django_capture_on_commit_callbacks):
    threat_and_gas = (THREAT[0], THREAT[1] + "楼道里还有很重的煤气味。")
    with clock.frozen(at(2026, 11, 2, 9, 30)), django_capture_on_commit_callbacks(execute=True):
        d = _receive(city, threat_and_gas, type="complaint")
        first = signals.apply_on_intake(d)
        second = signals.apply_on_intake(d)
    assert first["urgency_raised"] and first["risk_flagged"]
    assert not second["urgency_raised"] and not second["risk_flagged"]
    assert _actions(d) == ["receive", signals.URGENCY_RAISED, signals.RISK_FLAGGED]
    assert Notification.objects.filter(kind=signals.RISK_FLAGGED).count() == 1


def test_the_restatement_counts_and_assess_only_reads(city, standalone):
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d = _receive(city, ("家里有情况", "请派人来看看。"), restatement="来电人称家中厨房天然气泄漏，闻到很大的气味。")
        before = _actions(d)
        result = signals.assess(d)
    assert result["urgency"] == "emergency" and result["type"] in ("help", "complaint")
    assert _actions(d) == before and Demand.objects.get(pk=d.pk).urgency == "normal"


def test_heating_counts_only_in_the_heating_season(city):
    heating = ("暖气不热", "家里暖气一直不热，老人冻得受不了，请供热公司尽快来检修。")
    with clock.frozen(at(2026, 12, 8, 9, 30)):
        winter = _receive(city, heating)
        assert signals.apply_on_intake(winter)["urgency"] == "urgent"
    with clock.frozen(at(2026, 7, 8, 9, 30)):
        summer = _receive(city, heating)
        assert signals.apply_on_intake(summer)["urgency"] == "normal"


def test_a_concurrent_change_is_refused_not_overwritten(city, standalone):
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        d = _receive(city, GAS)
        services.accept(d.pk, city.users["intake"], restatement="煤气泄漏")  # bumps the version behind our back
        with pytest.raises(Exception) as err:
            signals.apply_on_intake(d)
    assert getattr(err.value, "code", "") == "concurrent_change"
    stored = Demand.objects.get(pk=d.pk)
    assert stored.urgency == "normal" and stored.state == State.ACCEPTED


def test_receiving_a_threat_flags_it_without_a_separate_call(city, django_capture_on_commit_callbacks):
    with clock.frozen(at(2026, 11, 2, 9, 30)), django_capture_on_commit_callbacks(execute=True):
        d = _receive(city, THREAT, type="complaint", category="拖欠工资")
    assert signals.RISK_FLAGGED in _actions(d)
    assert Notification.objects.filter(kind=signals.RISK_FLAGGED, recipient=city.users["supervisor"]).exists()
