"""Deadlines through the services: the working calendar (holidays, make-up workdays), the policies as data,
and a deadline that needs a year the calendar does not cover yet."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from conftest import at
from massline.core import calendar, clock
from massline.core.events import Actor
from massline.core.models import CalendarYear, Event, Notification, SystemAlert
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import DeadlinePolicy, Demand, State
from massline.demands.sweep import sweep

pytestmark = pytest.mark.django_db


def _dispatch(city, when, *, category="市政设施", **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title="路灯不亮", content="花园社区北门路灯坏了一周，晚上很黑。",
                category_id=city.categories[category].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    with clock.frozen(when):
        d, _ = services.receive(IntakeData(**data), city.users["intake"])
        return services.dispatch(d.pk, city.users["dispatcher"])


def test_the_seeded_calendar_knows_2026_and_not_2027(city):
    cal = calendar.get_calendar()
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, make-up workday after National Day
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, make-up workday before it
    assert not cal.is_workday(date(2026, 10, 5))
    assert CalendarYear.objects.filter(year=2026).exists()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_national_day_counts_the_make_up_saturday(city):
    # Wed 09-30 10:00 + 7 working days: 10-01..07 rest; 10-08, 09, 10 (Sat, make-up), 12, 13, 14, 15
    d = _dispatch(city, at(2026, 9, 30, 10))
    assert d.state == State.DISPATCHED and not d.deadline_pending
    assert d.policy.name == "一般诉求" and d.deadline_unit == "working_days"
    assert d.due_at == at(2026, 10, 15, 10)
    assert d.sign_due_at == at(2026, 9, 30, 12)  # two working hours
    # 80% of 7 days (7 h each) = 5.6 days: five days to 10-13 10:00, then 252 working minutes (lunch skipped)
    assert d.warn_at == at(2026, 10, 13, 15, 42)
    stored = Demand.objects.get(pk=d.pk)
    assert stored.due_at == d.due_at
    assert stored.sweep_at == d.warn_at


def test_make_up_sunday_before_national_day(city):
    # an enquiry (3 working days) dispatched Fri 09-18: Sun 09-20 is a working day
    d = _dispatch(city, at(2026, 9, 18, 10), type="enquiry")
    assert d.policy.name == "咨询"
    assert d.due_at == at(2026, 9, 22, 10)


def test_dispatched_on_a_holiday_starts_counting_at_the_next_working_morning(city):
    # 3 working days from the first working morning (10-08 09:00) end at the close of the third, the make-up Saturday
    d = _dispatch(city, at(2026, 10, 3, 10), type="enquiry")
    assert d.due_at == at(2026, 10, 10, 17, 30)


def test_spring_festival(city):
    # Thu 02-12 10:00 + 7 working days: 02-13, 02-14 (Sat, make-up), 02-15..23 rest, 02-24..27, 02-28 (Sat, make-up)
    d = _dispatch(city, at(2026, 2, 12, 10))
    assert d.due_at == at(2026, 2, 28, 10)


def test_emergency_at_night_on_a_holiday_is_due_two_clock_hours_later(city):
    d = _dispatch(city, at(2026, 10, 2, 23), urgency="emergency")
    assert d.policy.urgency == "emergency" and d.deadline_unit == "calendar_hours"
    assert d.due_at == at(2026, 10, 3, 1)
    assert d.sign_due_at == at(2026, 10, 2, 23, 30)


def test_category_beats_general_and_urgency_beats_category(city):
    leaf = city.categories["市政设施"]
    DeadlinePolicy.objects.create(name="市政建设类", category=leaf.parent, unit="working_days", amount=10)
    DeadlinePolicy.objects.create(name="市政设施专项", category=leaf, unit="working_days", amount=5)
    plain = _dispatch(city, at(2026, 11, 2, 9, 30))
    assert plain.policy.name == "市政设施专项"  # the deepest category wins
    assert plain.due_at == at(2026, 11, 9, 9, 30)
    sibling = _dispatch(city, at(2026, 11, 2, 9, 30), category="园林绿化环卫")
    assert sibling.policy.name == "市政建设类"  # the parent's policy covers its other subcategories
    assert sibling.due_at == at(2026, 11, 16, 9, 30)
    urgent = _dispatch(city, at(2026, 11, 2, 9, 30), urgency="urgent")
    assert urgent.policy.name == "加急"
    assert urgent.due_at == at(2026, 11, 3, 9, 30)  # 24 clock hours


def test_policies_are_data(city):
    before = _dispatch(city, at(2026, 11, 2, 9, 30), category="物业管理")
    assert before.due_at == at(2026, 11, 11, 9, 30)
    general = DeadlinePolicy.objects.get(name="一般诉求")
    general.amount = Decimal(10)
    general.save()
    after = _dispatch(city, at(2026, 11, 2, 9, 30), category="物业管理")
    assert after.due_at == at(2026, 11, 16, 9, 30)
    assert Demand.objects.get(pk=before.pk).due_at == at(2026, 11, 11, 9, 30)  # what was dispatched keeps its limit
    # a category policy switched off no longer applies
    special = DeadlinePolicy.objects.create(name="物业专项", category=city.categories["物业管理"], unit="working_days",
                                            amount=2)
    assert _dispatch(city, at(2026, 11, 2, 9, 30), category="物业管理").due_at == at(2026, 11, 4, 9, 30)
    special.active = False
    special.save()
    assert _dispatch(city, at(2026, 11, 2, 9, 30), category="物业管理").due_at == at(2026, 11, 16, 9, 30)


def test_a_year_without_calendar_data_waits_then_is_computed_from_the_dispatch_time(
        city, django_capture_on_commit_callbacks):
    admin = city.users["admin"]
    with django_capture_on_commit_callbacks(execute=True):
        # a suggestion has 15 working days: from Fri 2026-12-25 it runs into 2027, which nobody has loaded
        d = _dispatch(city, at(2026, 12, 25, 10), type="suggestion", category="物业管理")
    d = Demand.objects.get(pk=d.pk)
    assert d.state == State.DISPATCHED
    assert d.deadline_pending is True
    assert d.due_at is None and d.warn_at is None
    assert d.dispatched_at == at(2026, 12, 25, 10)
    alert = SystemAlert.objects.get(key="calendar:2027")
    assert alert.resolved_at is None and "2027" in alert.message
    gap = Notification.objects.filter(recipient=admin, kind="calendar_gap")
    assert gap.count() == 1 and "2027" in gap.get().title

    # a sweep before the year is loaded changes nothing and tells nobody again
    report = sweep(now=at(2026, 12, 26, 10))
    assert report.deadlines_computed == 0
    assert Demand.objects.get(pk=d.pk).deadline_pending
    assert not Event.objects.filter(chain=d.chain, action="deadline_computed").exists()
    assert Notification.objects.filter(kind="calendar_gap").count() == 1

    # the administrator enters 2027 (New Year's Day a holiday): the year is now covered
    calendar.set_day(date(2027, 1, 1), False, "元旦", Actor(admin.pk, "系统管理员", "admin"))
    assert CalendarYear.objects.filter(year=2027).exists()
    assert SystemAlert.objects.get(key="calendar:2027").resolved_at is not None

    report = sweep(now=at(2027, 1, 4, 12))
    assert report.deadlines_computed == 1
    d = Demand.objects.get(pk=d.pk)
    assert d.deadline_pending is False
    assert d.policy.name == "建议"
    # from the dispatch, not the sweep: 12-28..31, (01-01 holiday), 01-04..08, 01-11..15, 01-18
    assert d.due_at == at(2027, 1, 18, 10)
    assert d.warn_at is not None and d.warn_at < d.due_at
    assert d.sweep_at == d.warn_at
    computed = Event.objects.filter(chain=d.chain, action="deadline_computed")
    assert computed.count() == 1
    assert datetime.fromisoformat(computed.get().data["due_at"]) == d.due_at
    # the next pass at the same moment finds nothing more to do
    assert sweep(now=at(2027, 1, 4, 12)).deadlines_computed == 0
