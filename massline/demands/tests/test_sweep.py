"""The deadline sweep: warning, overdue with supervision, listed supervision, closing an unrated reply —
each once, in order, idempotent, and cheap when nothing is due."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import at
from massline.core import clock, events
from massline.core.models import Event, Notification
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import DeadlinePolicy, Demand, State
from massline.demands.sweep import sweep

pytestmark = pytest.mark.django_db

DISPATCHED = at(2026, 11, 2, 9, 30)  # a Monday
WARN = at(2026, 11, 9, 15, 12)  # 5.6 of 7 working days (7 working hours each)
DUE = at(2026, 11, 11, 9, 30)  # 7 working days
LISTED = at(2026, 11, 16, 9, 30)  # 3 working days after the due date
STAGES = ("deadline_warning", "overdue", "listed_supervision", "auto_close", "deadline_computed")


def _dispatch(city, when=DISPATCHED, **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title="路灯不亮", content="花园社区北门路灯坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    with clock.frozen(when):
        d, _ = services.receive(IntakeData(**data), city.users["intake"])
        return services.dispatch(d.pk, city.users["dispatcher"])


def _stage_events(d: Demand) -> list[str]:
    return list(Event.objects.filter(chain=d.chain, action__in=STAGES).order_by("seq").values_list("action", flat=True))


def _inbox(user, kind: str) -> int:
    return Notification.objects.filter(recipient=user, kind=kind).count()


def test_the_schedule_of_a_general_demand(city):
    d = _dispatch(city)
    assert (d.warn_at, d.due_at) == (WARN, DUE)
    assert Demand.objects.get(pk=d.pk).sweep_at == WARN


def test_warning_at_eighty_percent(city):
    d = _dispatch(city)
    handler = city.users["handler_street1"]
    assert sweep(now=at(2026, 11, 9, 15, 11)).warned == 0
    assert not Demand.objects.get(pk=d.pk).warned
    report = sweep(now=WARN)
    assert report.warned == 1 and report.overdue == 0
    d = Demand.objects.get(pk=d.pk)
    assert d.warned and not d.overdue and d.supervision == 0
    assert d.sweep_at == DUE
    assert _stage_events(d) == ["deadline_warning"]
    assert _inbox(handler, "deadline_warning") == 1
    assert _inbox(city.users["handler_water"], "deadline_warning") == 0


def test_warning_share_is_set_per_policy(city):
    DeadlinePolicy.objects.filter(name="一般诉求").update(warn_share=Decimal("0.5"))
    d = _dispatch(city)
    # half of 7 working days: three days to Thu 09:30, then 210 working minutes across the lunch break
    assert d.warn_at == at(2026, 11, 5, 14, 30)
    assert sweep(now=at(2026, 11, 5, 14, 29)).warned == 0
    assert sweep(now=at(2026, 11, 5, 14, 30)).warned == 1
    assert Demand.objects.get(pk=d.pk).warned


def test_overdue_opens_supervision_and_tells_handlers_and_supervisors(city):
    d = _dispatch(city)
    sweep(now=WARN)
    assert sweep(now=at(2026, 11, 11, 9, 29)).overdue == 0
    report = sweep(now=DUE)
    assert report.overdue == 1 and report.warned == 0
    d = Demand.objects.get(pk=d.pk)
    assert d.overdue and d.supervision == 1 and d.supervised_at == DUE
    assert d.state == State.DISPATCHED  # the sweep flags, it does not move the demand
    assert d.sweep_at == LISTED
    assert _stage_events(d) == ["deadline_warning", "overdue"]
    ev = Event.objects.get(chain=d.chain, action="overdue")
    assert ev.actor_role == "system" and ev.at == DUE and ev.data["supervision"] == 1
    u = city.users
    assert _inbox(u["handler_street1"], "overdue") == 1
    assert _inbox(u["supervisor"], "overdue") == 1
    assert _inbox(u["supervisor_street2"], "overdue") == 0  # another street's supervisor is not told
    assert _inbox(u["leader"], "overdue") == 0


def test_listed_supervision_after_the_listing_time(city):
    d = _dispatch(city)
    sweep(now=WARN)
    sweep(now=DUE)
    assert sweep(now=at(2026, 11, 16, 9, 29)).listed == 0
    report = sweep(now=LISTED)
    assert report.listed == 1
    d = Demand.objects.get(pk=d.pk)
    assert d.supervision == 2 and d.listed_at == LISTED
    assert d.sweep_at is None  # nothing further for the sweep to do
    assert _stage_events(d) == ["deadline_warning", "overdue", "listed_supervision"]
    assert _inbox(city.users["leader"], "listed") == 1
    assert _inbox(city.users["supervisor"], "listed") == 1
    assert sweep(now=at(2026, 12, 31, 12)).examined == 0


def test_an_unrated_reply_closes_after_the_callback_window(city):
    d = _dispatch(city)
    h = city.users["handler_street1"]
    with clock.frozen(at(2026, 11, 3, 10)):
        services.sign(d.pk, h)
        services.reply(d.pk, h, text="已安排维修人员更换北门路灯灯泡并检修线路，当晚已恢复照明，请您查看。")
    # five working days to rate the reply
    assert Demand.objects.get(pk=d.pk).sweep_at == at(2026, 11, 10, 10)
    assert sweep(now=at(2026, 11, 10, 9, 59)).auto_closed == 0
    report = sweep(now=at(2026, 11, 10, 10))
    assert report.auto_closed == 1
    d = Demand.objects.get(pk=d.pk)
    assert d.state == State.CLOSED and d.closed_at == at(2026, 11, 10, 10)
    assert d.satisfaction == "" and d.sweep_at is None
    assert _stage_events(d) == ["auto_close"]
    ev = Event.objects.get(chain=d.chain, action="auto_close")
    assert (ev.from_state, ev.to_state) == (State.REPLIED, State.CLOSED)
    assert list(events.verify([d.chain])) == []


def test_a_second_pass_at_the_same_moment_changes_nothing(city):
    d = _dispatch(city)
    first = sweep(now=DUE)
    assert first.warned == 1 and first.overdue == 1
    before = Demand.objects.get(pk=d.pk)
    n_events, n_inbox = Event.objects.count(), Notification.objects.count()
    second = sweep(now=DUE)
    assert second.examined == 0
    assert second.warned == second.overdue == second.listed == 0
    after = Demand.objects.get(pk=d.pk)
    assert (after.version, after.updated_at, after.sweep_at) == (before.version, before.updated_at, before.sweep_at)
    assert (Event.objects.count(), Notification.objects.count()) == (n_events, n_inbox)


def test_a_demand_caught_up_after_an_outage_passes_every_stage_in_order(city):
    d = _dispatch(city)
    late = at(2026, 12, 1, 10)  # the sweep did not run for weeks
    report = sweep(now=late)
    assert (report.warned, report.overdue, report.listed) == (1, 1, 1)
    assert report.examined == 1
    d = Demand.objects.get(pk=d.pk)
    assert d.warned and d.overdue and d.supervision == 2
    stages = list(Event.objects.filter(chain=d.chain, action__in=STAGES).order_by("seq"))
    assert [e.action for e in stages] == ["deadline_warning", "overdue", "listed_supervision"]
    assert [e.seq for e in stages] == sorted(e.seq for e in stages)
    assert all(e.at == late for e in stages)
    assert list(events.verify([d.chain])) == []
    assert sweep(now=late).examined == 0


def test_many_demands_in_small_batches(city):
    demands = [_dispatch(city) for _ in range(5)]
    report = sweep(now=DUE, batch=2)
    assert report.overdue == 5 and report.batches == 3
    for d in demands:
        assert _stage_events(d) == ["deadline_warning", "overdue"]


def test_a_pass_with_nothing_due_only_reads(city):
    _dispatch(city)
    _dispatch(city, urgency="urgent")
    with CaptureQueriesContext(connection) as ctx:
        report = sweep(now=at(2026, 11, 2, 10))
    assert report.examined == 0
    sql = [q["sql"].lstrip().upper() for q in ctx.captured_queries]
    assert len(sql) <= 4, sql
    assert not [s for s in sql if s.startswith(("INSERT", "UPDATE", "DELETE"))]
