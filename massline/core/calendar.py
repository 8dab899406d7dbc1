"""The working calendar as the application sees it: our own table, seeded from chinese-calendar.

``massline.core.workcal`` does the arithmetic; this module feeds it from the database, keeps the
table editable, and raises an alert when a deadline needs a year the table does not cover.
"""

from __future__ import annotations

import time
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction

from . import clock, events, workcal
from .events import Actor
from .models import CalendarDay, CalendarYear, SystemAlert

_TTL_SECONDS = 60.0
_cached: tuple[float, workcal.WorkCalendar] | None = None


def invalidate() -> None:
    global _cached
    _cached = None


def get_calendar() -> workcal.WorkCalendar:
    """The calendar from the table, cached for a minute in each process (edits invalidate it here)."""
    global _cached
    if _cached is not None and time.monotonic() - _cached[0] < _TTL_SECONDS:
        return _cached[1]
    days = dict(CalendarDay.objects.values_list("date", "is_workday"))
    years = set(CalendarYear.objects.values_list("year", flat=True))
    cal = workcal.WorkCalendar(
        days, years, workcal.WorkingHours.parse(settings.MASSLINE["WORKING_HOURS"]), settings.TIME_ZONE
    )
    _cached = (time.monotonic(), cal)
    return cal


def load_years(years: list[int], actor: Actor | None = None) -> list[int]:
    """Load the holidays and make-up workdays of ``years`` from chinese-calendar into the table.

    Years the package does not know are skipped and returned, so the caller can say so.
    """
    actor = actor or Actor.system()
    missing: list[int] = []
    for year in years:
        try:
            days = workcal.chinese_calendar_days(year)
        except workcal.CalendarNotCovered:
            missing.append(year)
            continue
        names = workcal.holiday_names(year)
        with transaction.atomic():
            CalendarDay.objects.filter(date__year=year).delete()
            CalendarDay.objects.bulk_create(
                CalendarDay(date=d, is_workday=w, name=names.get(d, "调休上班" if w else "")) for d, w in sorted(days.items())
            )
            CalendarYear.objects.update_or_create(year=year, defaults={"source": "chinese-calendar"})
            SystemAlert.objects.filter(key=f"calendar:{year}", resolved_at__isnull=True).update(resolved_at=clock.now())
            events.record(f"calendar:{year}", "calendar_loaded", actor, data={"year": year, "exceptions": len(days)})
    invalidate()
    return missing


def set_day(day: date, is_workday: bool, name: str, actor: Actor, *, reason: str = "") -> None:
    """Edit one day (the administrator's correction); the day's year becomes covered."""
    with transaction.atomic():
        weekday_rule = day.weekday() < 5
        if is_workday == weekday_rule and not name:
            CalendarDay.objects.filter(date=day).delete()
        else:
            CalendarDay.objects.update_or_create(date=day, defaults={"is_workday": is_workday, "name": name})
        CalendarYear.objects.get_or_create(year=day.year, defaults={"source": "manual"})
        # the year is covered now: a gap alert raised for it is settled (as ``load_years`` does)
        SystemAlert.objects.filter(key=f"calendar:{day.year}", resolved_at__isnull=True).update(resolved_at=clock.now())
        events.record(
            f"calendar:{day.year}", "calendar_day_set", actor, reason=reason,
            data={"date": day.isoformat(), "is_workday": is_workday, "name": name},
        )
    invalidate()


def raise_gap_alert(year: int) -> bool:
    """Record that a deadline needed ``year``; True when this is a new alert (so somebody is told once)."""
    key = f"calendar:{year}"
    if SystemAlert.objects.filter(key=key, resolved_at__isnull=True).exists():
        return False
    message = f"工作日历未包含 {year} 年的节假日与调休安排：落在该年的期限暂不计算。请管理员导入或录入 {year} 年日历。"
    try:
        with transaction.atomic():
            updated = SystemAlert.objects.filter(key=key).update(resolved_at=None, message=message, created_at=clock.now())
            if not updated:
                SystemAlert.objects.create(kind="calendar_gap", key=key, message=message, created_at=clock.now())
    except IntegrityError:
        return False
    return True
