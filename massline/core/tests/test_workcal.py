"""Tests of the pure working-time arithmetic (no database, no Django).

Expected deadlines are derived by hand from the 2026 arrangements as chinese-calendar 1.11.0 has them:
  春节 2026-02-15 (Sun) – 02-23 (Mon) rest, make-up working Saturdays 02-14 and 02-28;
  中秋 2026-09-25 (Fri) – 09-27 (Sun) rest;
  国庆 2026-10-01 (Thu) – 10-07 (Wed) rest, make-up working days 09-20 (Sun) and 10-10 (Sat).
``test_2026_arrangements_as_assumed`` fails first if the package data ever disagrees with that.
The property tests compare against an independent minute-by-minute oracle built straight from
``chinese_calendar.is_workday``.
"""

from __future__ import annotations

import bisect
import pickle
import timeit
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from massline.core.workcal import (
    UNITS,
    CalendarNotCovered,
    WorkCalendar,
    WorkingHours,
    chinese_calendar_days,
    chinese_calendar_years,
    holiday_names,
)

SH = ZoneInfo("Asia/Shanghai")
HOURS_TEXT = "09:00-12:00,13:30-17:30"
HOURS = WorkingHours.parse(HOURS_TEXT)
PERIOD_MINUTES = ((9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30))  # same periods, for the oracle
WORKING_UNITS = ("working_hours", "working_days")

# Property tests: hypothesis with no example database (writes nothing to the working tree).
PROPERTY = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, tz: ZoneInfo = SH) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    """The 2026 table as massline.core.calendar would load it: only 2026 is covered."""
    return WorkCalendar(chinese_calendar_days(2026), {2026}, HOURS, "Asia/Shanghai")


# A calendar whose 2027 is covered by the plain weekday rule, so 2026 deadlines near December can finish.
CAL_26_27 = WorkCalendar(chinese_calendar_days(2026), {2026, 2027}, HOURS, SH)


# --------------------------------------------------------------------------- the package's 2026 data


def test_2026_arrangements_as_assumed() -> None:
    rest = [date(2026, 2, d) for d in range(15, 24)] + [date(2026, 9, d) for d in (25, 26, 27)]
    rest += [date(2026, 10, d) for d in range(1, 8)]
    makeup = [date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20), date(2026, 10, 10)]
    for d in rest:
        assert chinese_calendar.is_holiday(d), d
    for d in makeup:
        assert d.weekday() >= 5 and chinese_calendar.is_workday(d), d
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 1)) == (True, "National Day")
    assert chinese_calendar.get_holiday_detail(date(2026, 9, 25)) == (True, "Mid-autumn Festival")
    assert chinese_calendar.get_holiday_detail(date(2026, 2, 17)) == (True, "Spring Festival")
    assert chinese_calendar.get_holiday_detail(date(2026, 10, 10)) == (False, "National Day")
    assert chinese_calendar.get_holiday_detail(date(2026, 2, 28)) == (False, "Spring Festival")


def test_chinese_calendar_days_2026_are_exactly_the_exceptions() -> None:
    days = chinese_calendar_days(2026)
    assert days[date(2026, 10, 1)] is False  # Thursday holiday
    assert days[date(2026, 10, 10)] is True  # Saturday make-up
    assert days[date(2026, 9, 20)] is True  # Sunday make-up
    assert days[date(2026, 2, 14)] is True
    assert date(2026, 10, 3) not in days  # a Saturday holiday is a rest day anyway
    assert date(2026, 3, 10) not in days  # an ordinary Tuesday
    d = date(2026, 1, 1)
    while d.year == 2026:
        expected = chinese_calendar.is_workday(d)
        assert days.get(d, d.weekday() < 5) == expected, d
        d += timedelta(days=1)


def test_supported_years_match_the_package() -> None:
    years = chinese_calendar_years()
    assert isinstance(years, range) and 2026 in years and 2004 in years
    assert chinese_calendar.is_workday(date(years.start, 6, 1)) in (True, False)
    assert chinese_calendar.is_workday(date(years.stop - 1, 6, 1)) in (True, False)
    for outside in (years.start - 1, years.stop):
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(date(outside, 6, 1))
        with pytest.raises(CalendarNotCovered) as err:
            chinese_calendar_days(outside)
        assert err.value.year == outside and str(outside) in str(err.value)
        with pytest.raises(CalendarNotCovered):
            holiday_names(outside)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 10, 1), "国庆节"),
        (date(2026, 10, 3), "国庆节"),
        (date(2026, 2, 17), "春节"),
        (date(2026, 9, 25), "中秋节"),
        (date(2026, 1, 1), "元旦"),
        (date(2026, 4, 6), "清明节"),
        (date(2026, 6, 19), "端午节"),
        (date(2026, 5, 1), "劳动节"),
    ],
)
def test_holiday_names(day: date, name: str) -> None:
    assert holiday_names(2026)[day] == name


def test_holiday_names_leave_out_working_days() -> None:
    names = holiday_names(2026)
    assert date(2026, 10, 10) not in names  # make-up working day
    assert date(2026, 3, 10) not in names
    assert all(d.year == 2026 for d in names)


# --------------------------------------------------------------------------- deadlines across holidays


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        # National Day / Mid-Autumn 2026
        (at(2026, 9, 30, 10), 1, "working_days", at(2026, 10, 8, 10)),
        (at(2026, 9, 29, 10), 3, "working_days", at(2026, 10, 9, 10)),
        (at(2026, 9, 29, 10), 4, "working_days", at(2026, 10, 10, 10)),  # Saturday make-up day counts
        (at(2026, 9, 29, 10), 5, "working_days", at(2026, 10, 12, 10)),  # Sunday 10-11 does not
        (at(2026, 9, 23, 10), 7, "working_days", at(2026, 10, 10, 10)),  # Wed → 7th working day
        (at(2026, 9, 23, 10), 15, "working_days", at(2026, 10, 21, 10)),
        (at(2026, 9, 18, 10), 1, "working_days", at(2026, 9, 20, 10)),  # Sunday make-up day 09-20
        (at(2026, 9, 24, 10), 1, "working_days", at(2026, 9, 28, 10)),  # over Mid-Autumn + weekend
        (at(2026, 9, 30, 16), 3, "working_hours", at(2026, 10, 8, 10, 30)),  # 1.5 h + 1.5 h after the holiday
        (at(2026, 9, 30, 16), 9, "working_hours", at(2026, 10, 9, 9, 30)),  # 1.5 + 7 + 0.5
        (at(2026, 10, 9, 16), 2.5, "working_hours", at(2026, 10, 10, 10)),  # into the make-up Saturday
        (at(2026, 10, 9, 16), 9.5, "working_hours", at(2026, 10, 12, 10)),
        # Spring Festival 2026
        (at(2026, 2, 13, 10), 1, "working_days", at(2026, 2, 14, 10)),  # Saturday make-up 02-14
        (at(2026, 2, 13, 10), 2, "working_days", at(2026, 2, 24, 10)),  # over the nine days of rest
        (at(2026, 2, 12, 10), 3, "working_days", at(2026, 2, 24, 10)),
        (at(2026, 2, 13, 16), 10, "working_hours", at(2026, 2, 24, 10, 30)),  # 1.5 + 7 (Sat) + 1.5
        (at(2026, 2, 26, 10), 2, "working_days", at(2026, 2, 28, 10)),  # Saturday make-up 02-28
        (at(2026, 2, 26, 10), 3, "working_days", at(2026, 3, 2, 10)),
        (at(2026, 2, 11, 10), 0.5, "working_days", at(2026, 2, 11, 15)),  # 210 min: 2 h + lunch + 1.5 h
    ],
)
def test_deadlines_across_2026_holidays(
    cal: WorkCalendar, start: datetime, amount: float, unit: str, expected: datetime
) -> None:
    due = cal.add(start, amount, unit)
    assert due == expected
    assert due.tzinfo == SH and due.utcoffset() == timedelta(hours=8)
    assert cal.elapsed(start, due, unit) == pytest.approx(amount, abs=1e-9)


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        # start on a holiday → counting starts at the first working period after it
        (at(2026, 2, 18, 10), 1, "working_hours", at(2026, 2, 24, 10)),
        (at(2026, 10, 3, 15), 2, "working_hours", at(2026, 10, 8, 11)),
        (at(2026, 10, 4, 9), 1, "working_days", at(2026, 10, 8, 17, 30)),  # whole day, ends at 17:30
        (at(2026, 10, 11, 10), 1, "working_hours", at(2026, 10, 12, 10)),  # ordinary Sunday
        # night / early morning
        (at(2026, 3, 10, 22), 2, "working_hours", at(2026, 3, 11, 11)),
        (at(2026, 3, 11, 0), 2, "working_hours", at(2026, 3, 11, 11)),
        (at(2026, 3, 11, 7), 3, "working_hours", at(2026, 3, 11, 12)),  # ends exactly at end of morning
        (at(2026, 3, 13, 20), 1, "working_hours", at(2026, 3, 16, 10)),  # Friday night → Monday
        # lunch break
        (at(2026, 3, 11, 11), 2, "working_hours", at(2026, 3, 11, 14, 30)),
        (at(2026, 3, 11, 12, 30), 1, "working_hours", at(2026, 3, 11, 14, 30)),
        (at(2026, 3, 11, 12), 0.25, "working_hours", at(2026, 3, 11, 13, 45)),
        (at(2026, 3, 11, 11, 45), 0.25, "working_hours", at(2026, 3, 11, 12)),  # stays at 12:00
        # exact end of period
        (at(2026, 3, 11, 17), 0.5, "working_hours", at(2026, 3, 11, 17, 30)),
        (at(2026, 3, 11, 17, 30), 0.5, "working_hours", at(2026, 3, 12, 9, 30)),
        (at(2026, 3, 11, 9), 1, "working_days", at(2026, 3, 11, 17, 30)),
        (at(2026, 3, 13, 9), 1, "working_days", at(2026, 3, 13, 17, 30)),  # Friday: not Monday 09:00
        (at(2026, 3, 11, 9), 2, "working_days", at(2026, 3, 12, 17, 30)),
        (at(2026, 9, 30, 17), 0.5, "working_hours", at(2026, 9, 30, 17, 30)),  # eve of National Day
        (at(2026, 3, 11, 10, 7), 1, "working_days", at(2026, 3, 12, 10, 7)),
    ],
)
def test_start_outside_working_time_and_period_ends(
    cal: WorkCalendar, start: datetime, amount: float, unit: str, expected: datetime
) -> None:
    assert cal.add(start, amount, unit) == expected


@pytest.mark.parametrize(
    ("start", "amount", "unit", "expected"),
    [
        (at(2026, 10, 1, 23), 2, "calendar_hours", at(2026, 10, 2, 1)),  # emergency at night on a holiday
        (at(2026, 2, 17, 10), 48, "calendar_hours", at(2026, 2, 19, 10)),
        (at(2026, 2, 17, 10), 3, "calendar_days", at(2026, 2, 20, 10)),
        (at(2026, 12, 31, 23), 2, "calendar_hours", at(2027, 1, 1, 1)),  # uncovered year: no calendar needed
        (at(2030, 5, 1, 8), 1.5, "calendar_days", at(2030, 5, 2, 20)),
    ],
)
def test_calendar_units_ignore_the_calendar(
    cal: WorkCalendar, start: datetime, amount: float, unit: str, expected: datetime
) -> None:
    assert cal.add(start, amount, unit) == expected
    assert cal.elapsed(start, expected, unit) == pytest.approx(amount)


def test_timezone_of_input_and_result(cal: WorkCalendar) -> None:
    start_utc = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # = 10:00 in Shanghai
    due = cal.add(start_utc, 1, "working_days")
    assert due == at(2026, 10, 8, 10)
    assert due.tzinfo == SH and (due.hour, due.minute) == (10, 0)
    assert cal.add(at(2026, 10, 1, 23), 2, "calendar_hours").tzinfo == SH
    # 01:00 UTC on 2026-10-08 is 09:00 Beijing time: already inside working time.
    assert cal.add(datetime(2026, 10, 8, 1, 0, tzinfo=UTC), 1, "working_hours") == at(2026, 10, 8, 10)


@pytest.mark.parametrize("unit", UNITS)
def test_zero_amount_returns_start(cal: WorkCalendar, unit: str) -> None:
    for start in (at(2026, 10, 3, 3, 17), at(2026, 3, 11, 10, 1)):
        assert cal.add(start, 0, unit) == start
    assert cal.add_working_minutes(at(2026, 10, 3, 3, 17), 0) == at(2026, 10, 3, 3, 17)


def test_add_working_minutes(cal: WorkCalendar) -> None:
    assert cal.add_working_minutes(at(2026, 9, 30, 17), 30) == at(2026, 9, 30, 17, 30)
    assert cal.add_working_minutes(at(2026, 9, 30, 17), 31) == at(2026, 10, 8, 9, 1)
    assert cal.add_working_minutes(at(2026, 9, 30, 17), 30 + 420) == at(2026, 10, 8, 17, 30)
    with pytest.raises(ValueError):
        cal.add_working_minutes(at(2026, 9, 30, 17), -1)


def test_is_workday(cal: WorkCalendar) -> None:
    assert cal.is_workday(date(2026, 10, 10)) is True
    assert cal.is_workday(date(2026, 10, 1)) is False
    assert cal.is_workday(date(2026, 10, 11)) is False
    assert cal.is_workday(date(2026, 3, 11)) is True
    with pytest.raises(CalendarNotCovered) as err:
        cal.is_workday(date(2027, 3, 11))
    assert err.value.year == 2027


def test_days_without_entries_follow_the_weekday_rule() -> None:
    custom = WorkCalendar({date(2031, 3, 3): False, date(2031, 3, 8): True}, [2031], HOURS)
    assert custom.is_workday(date(2031, 3, 3)) is False  # Monday, explicit rest
    assert custom.is_workday(date(2031, 3, 4)) is True  # Tuesday, no entry
    assert custom.is_workday(date(2031, 3, 8)) is True  # Saturday, explicit work
    assert custom.is_workday(date(2031, 3, 9)) is False  # Sunday, no entry
    assert custom.add(datetime(2031, 3, 7, 10, tzinfo=SH), 1, "working_days") == datetime(
        2031, 3, 8, 10, tzinfo=SH
    )


# --------------------------------------------------------------------------- uncovered years


def test_deadline_into_uncovered_year_raises(cal: WorkCalendar) -> None:
    with pytest.raises(CalendarNotCovered) as err:
        cal.add(at(2026, 12, 25, 10), 15, "working_days")
    assert err.value.year == 2027
    assert "2027" in str(err.value) and "工作日历未包含" in str(err.value)
    with pytest.raises(CalendarNotCovered):
        cal.add(at(2026, 12, 31, 17), 1, "working_hours")
    with pytest.raises(CalendarNotCovered):
        cal.add(at(2027, 3, 1, 10), 1, "working_hours")
    # The same deadline is fine once 2027 is covered (here by the weekday rule).
    assert CAL_26_27.add(at(2026, 12, 25, 10), 15, "working_days") == at(2027, 1, 15, 10)


def test_deadline_ending_on_last_period_of_covered_year_does_not_need_next_year(cal: WorkCalendar) -> None:
    assert cal.add(at(2026, 12, 31, 9), 1, "working_days") == at(2026, 12, 31, 17, 30)
    assert cal.working_minutes_between(at(2026, 12, 31, 17), at(2027, 1, 1, 0)) == 30
    with pytest.raises(CalendarNotCovered):
        cal.working_minutes_between(at(2026, 12, 31, 17), at(2027, 1, 4, 10))


def test_evening_of_uncovered_year_needs_no_working_time_from_it() -> None:
    only_2027 = WorkCalendar({}, {2027}, HOURS)  # 2027 by the weekday rule: Fri 2027-01-01 works
    assert only_2027.add(at(2026, 12, 31, 20), 1, "working_hours") == at(2027, 1, 1, 10)
    assert only_2027.working_minutes_between(at(2026, 12, 31, 18), at(2027, 1, 1, 10)) == 60
    with pytest.raises(CalendarNotCovered) as err:
        only_2027.add(at(2026, 12, 31, 17), 1, "working_hours")
    assert err.value.year == 2026


@pytest.mark.parametrize("covered", [{2026}, {2026, 2028}])
def test_calendar_without_working_days_does_not_loop_forever(covered: set[int]) -> None:
    all_rest = {date(2026, 1, 1) + timedelta(days=i): False for i in range(365)}
    idle = WorkCalendar(all_rest, covered, HOURS)
    with pytest.raises(CalendarNotCovered) as err:
        idle.add(at(2026, 1, 5, 10), 1, "working_hours")
    assert err.value.year == 2027


def test_calendar_not_covered_pickles() -> None:
    err = pickle.loads(pickle.dumps(CalendarNotCovered(2027)))
    assert err.year == 2027 and str(err) == "工作日历未包含 2027 年的节假日安排，无法计算期限"


# --------------------------------------------------------------------------- measuring working time


@pytest.mark.parametrize(
    ("a", "b", "minutes"),
    [
        (at(2026, 9, 30, 10), at(2026, 10, 8, 10), 420),
        (at(2026, 9, 30, 10), at(2026, 10, 10, 10), 3 * 420),
        (at(2026, 3, 11, 11), at(2026, 3, 11, 14), 90),  # lunch not counted
        (at(2026, 10, 2, 0), at(2026, 10, 5, 0), 0),  # all holiday
        (at(2026, 3, 11, 10), at(2026, 3, 11, 10), 0),
        (at(2026, 3, 12, 10), at(2026, 3, 11, 10), 0),  # b before a
        (at(2026, 2, 13, 17), at(2026, 2, 24, 9, 1), 30 + 420 + 1),
    ],
)
def test_working_minutes_between(cal: WorkCalendar, a: datetime, b: datetime, minutes: int) -> None:
    assert cal.working_minutes_between(a, b) == minutes


def test_remaining_is_negative_when_overdue(cal: WorkCalendar) -> None:
    due = cal.add(at(2026, 9, 29, 10), 3, "working_days")  # 2026-10-09 10:00
    assert cal.remaining(at(2026, 9, 29, 10), due, "working_days") == pytest.approx(3)
    assert cal.remaining(at(2026, 10, 8, 10), due, "working_days") == pytest.approx(1)
    assert cal.remaining(at(2026, 10, 12, 10), due, "working_days") == pytest.approx(-2)  # Sat 10-10 + Mon
    assert cal.remaining(at(2026, 10, 12, 10), due, "working_hours") == pytest.approx(-14)
    assert cal.remaining(at(2026, 10, 9, 12), due, "calendar_hours") == pytest.approx(-2)
    assert cal.remaining(due, due, "working_hours") == 0
    assert cal.elapsed(at(2026, 10, 12, 10), due, "working_days") == 0  # elapsed never negative


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "不能为空"),
        ("   ", "不能为空"),
        ("09:00", "格式错误"),
        ("9-12", "格式错误"),
        ("09:00-12:00,", "分隔符"),
        ("09:00-08:00", "晚于"),
        ("09:00-09:00", "晚于"),
        ("13:30-17:30,09:00-12:00", "先后"),
        ("09:00-12:00,11:00-13:00", "重叠"),
        ("09:00-25:00", "无效"),
        ("09:60-12:00", "无效"),
        ("morning", "格式错误"),
    ],
)
def test_working_hours_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        WorkingHours.parse(text)


@pytest.mark.parametrize(
    ("text", "minutes", "canonical"),
    [
        ("09:00-12:00,13:30-17:30", 420, "09:00-12:00,13:30-17:30"),
        (" 9:00-12:00 ， 13:30～17:30 ", 420, "09:00-12:00,13:30-17:30"),
        ("08:30-12:00", 210, "08:30-12:00"),
        ("08:00-12:00,12:00-16:00", 480, "08:00-12:00,12:00-16:00"),  # touching is not overlapping
    ],
)
def test_working_hours_parse(text: str, minutes: int, canonical: str) -> None:
    hours = WorkingHours.parse(text)
    assert hours.minutes_per_day == minutes
    assert str(hours) == canonical
    assert WorkingHours.parse(str(hours)) == hours


def test_working_hours_direct_construction_is_validated() -> None:
    with pytest.raises(ValueError):
        WorkingHours(())
    with pytest.raises(ValueError):
        WorkingHours(((time(9), time(9, 0, 30)),))
    assert HOURS.periods == ((time(9), time(12)), (time(13, 30), time(17, 30)))


@pytest.mark.parametrize("unit", UNITS)
def test_naive_datetimes_refused(cal: WorkCalendar, unit: str) -> None:
    naive = datetime(2026, 3, 11, 10)
    with pytest.raises(ValueError, match="时区"):
        cal.add(naive, 1, unit)
    with pytest.raises(ValueError, match="时区"):
        cal.elapsed(naive, at(2026, 3, 12), unit)
    with pytest.raises(ValueError, match="时区"):
        cal.remaining(at(2026, 3, 12), naive, unit)


def test_naive_datetimes_refused_by_minute_functions(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.working_minutes_between(datetime(2026, 3, 11, 10), at(2026, 3, 12))
    with pytest.raises(ValueError):
        cal.add_working_minutes(datetime(2026, 3, 11, 10), 5)


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("amount", [-1, -0.001, float("nan"), float("inf")])
def test_bad_amounts_refused(cal: WorkCalendar, unit: str, amount: float) -> None:
    with pytest.raises(ValueError):
        cal.add(at(2026, 3, 11, 10), amount, unit)


def test_unknown_unit_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="单位"):
        cal.add(at(2026, 3, 11, 10), 1, "fortnights")


# --------------------------------------------------------------------------- properties


def _oracle_working_minutes() -> list[int]:
    """Start (minutes since 2026-01-01 00:00 local) of every working minute of 2026, minute by minute."""
    out: list[int] = []
    for day in range(365):
        if chinese_calendar.is_workday(date(2026, 1, 1) + timedelta(days=day)):
            for lo, hi in PERIOD_MINUTES:
                out.extend(range(day * 1440 + lo, day * 1440 + hi))
    return out


ORACLE = _oracle_working_minutes()
EPOCH = datetime(2026, 1, 1, tzinfo=SH)


def _minute_index(value: datetime) -> int:
    return int((value - EPOCH) // timedelta(minutes=1))


minute_starts = st.integers(0, 334 * 1440).map(lambda m: EPOCH + timedelta(minutes=m))  # up to 2026-12-01
any_starts = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59, 59), timezones=st.just(SH)
)


def _working_time(*, ends_included: bool) -> st.SearchStrategy[datetime]:
    """Datetimes in working time of a 2026 working day: [start, end) of a period, or (start, end]."""
    days = sorted({m // 1440 for m in ORACLE})

    @st.composite
    def draw_one(draw: st.DrawFn) -> datetime:
        day = draw(st.sampled_from(days))
        lo, hi = draw(st.sampled_from(PERIOD_MINUTES))
        shift = 1 if ends_included else 0
        micro = draw(st.integers(lo * 60_000_000 + shift, hi * 60_000_000 - 1 + shift))
        return EPOCH + timedelta(days=day, microseconds=micro)

    return draw_one()


working_time_starts = _working_time(ends_included=False)
working_time_targets = _working_time(ends_included=True)


@PROPERTY
@given(start=minute_starts, minutes=st.integers(1, 5 * 420))
def test_add_working_minutes_matches_minute_oracle(start: datetime, minutes: int) -> None:
    i = bisect.bisect_left(ORACLE, _minute_index(start))
    expected = EPOCH + timedelta(minutes=ORACLE[i + minutes - 1] + 1)  # end of the n-th working minute
    assert CAL_26_27.add_working_minutes(start, minutes) == expected
    assert CAL_26_27.add(start, minutes / 60, "working_hours") == expected


@PROPERTY
@given(a=minute_starts, b=minute_starts)
def test_working_minutes_between_matches_minute_oracle(a: datetime, b: datetime) -> None:
    expected = max(
        0, bisect.bisect_left(ORACLE, _minute_index(b)) - bisect.bisect_left(ORACLE, _minute_index(a))
    )
    assert CAL_26_27.working_minutes_between(a, b) == expected


@PROPERTY
@given(
    start=st.one_of(working_time_starts, any_starts),
    unit=st.sampled_from(WORKING_UNITS),
    amount=st.floats(0, 40, allow_nan=False, allow_infinity=False),
)
def test_elapsed_inverts_add(start: datetime, unit: str, amount: float) -> None:
    due = CAL_26_27.add(start, amount, unit)
    assert due >= start
    assert CAL_26_27.elapsed(start, due, unit) == pytest.approx(amount, abs=1e-6)
    assert CAL_26_27.remaining(start, due, unit) == pytest.approx(amount, abs=1e-6)
    assert CAL_26_27.remaining(due, start, unit) == pytest.approx(-amount, abs=1e-6)


@PROPERTY
@given(
    start=any_starts,
    unit=st.sampled_from(("calendar_hours", "calendar_days")),
    amount=st.floats(0, 400, allow_nan=False, allow_infinity=False),
)
def test_elapsed_inverts_add_for_calendar_units(start: datetime, unit: str, amount: float) -> None:
    due = CAL_26_27.add(start, amount, unit)
    assert CAL_26_27.elapsed(start, due, unit) == pytest.approx(amount, abs=1e-6)


@PROPERTY
@given(a=any_starts, b=working_time_targets, unit=st.sampled_from(WORKING_UNITS))
def test_add_inverts_elapsed_when_target_is_working_time(a: datetime, b: datetime, unit: str) -> None:
    assume(a < b)
    assert CAL_26_27.add(a, CAL_26_27.elapsed(a, b, unit), unit) == b


@PROPERTY
@given(a=any_starts, b=any_starts, c=any_starts)
def test_working_time_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = CAL_26_27.elapsed(a, c, "working_hours")
    parts = CAL_26_27.elapsed(a, b, "working_hours") + CAL_26_27.elapsed(b, c, "working_hours")
    assert whole == pytest.approx(parts, abs=1e-9)


# --------------------------------------------------------------------------- speed


def test_fifteen_working_days_is_fast(cal: WorkCalendar) -> None:
    start = at(2026, 9, 23, 10)
    cal.add(start, 15, "working_days")  # warm the per-day cache
    per_call = min(timeit.repeat(lambda: cal.add(start, 15, "working_days"), number=2000, repeat=3)) / 2000
    assert per_call < 200e-6, f"{per_call * 1e6:.1f} µs per add"
