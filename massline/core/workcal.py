"""Working-time arithmetic: deadlines in working hours / working days over a holiday calendar.

A pure module (no Django): ``massline.core.calendar`` builds a :class:`WorkCalendar` from the
calendar table and this module does the counting.

Model
-----
* A *working day* is decided by the explicit entries of the table (``True`` = working day,
  ``False`` = rest day); a date of a covered year without an entry follows the weekday rule
  (Monday–Friday work, Saturday/Sunday rest). A date of a year that is not covered raises
  :class:`CalendarNotCovered` whenever its working status is needed — we never guess a year's
  holidays.
* *Working time* is the union of the working periods (e.g. ``09:00-12:00,13:30-17:30``, wall-clock
  time in the calendar's time zone) of the working days.
* ``working_hours``: ``amount * 60`` working minutes; ``working_days``: ``amount * minutes_per_day``
  working minutes, so 7 working days from Wednesday 10:00 end at 10:00 on the 7th working day after.
* Counting starts at ``start`` if it is inside working time, otherwise at the next working period
  start. A result that lands exactly on the end of a period stays there (17:30 — not next 09:00).
* ``calendar_hours`` is elapsed (absolute) time; ``calendar_days`` adds whole/fractional days to the
  local wall-clock time (identical for zones without daylight saving, such as Asia/Shanghai).

Internally everything is in integer microseconds and proleptic ordinals, stepping day by day with a
per-day working-status cache filled one year at a time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from types import ModuleType
from zoneinfo import ZoneInfo

__all__ = [
    "UNITS",
    "CalendarNotCovered",
    "WorkCalendar",
    "WorkingHours",
    "chinese_calendar_days",
    "chinese_calendar_years",
    "holiday_names",
]

UNITS = ("calendar_hours", "working_hours", "working_days", "calendar_days")

_US_PER_MINUTE = 60_000_000
_US_PER_HOUR = 3_600_000_000
_US_PER_DAY = 86_400_000_000


class CalendarNotCovered(Exception):
    """Working time is needed for a year the calendar table does not cover."""

    def __init__(self, year: int, message: str | None = None) -> None:
        self.year = year
        self.message = message or f"工作日历未包含 {year} 年的节假日安排，无法计算期限"
        super().__init__(self.message)

    def __reduce__(self) -> tuple[type[CalendarNotCovered], tuple[int, str]]:
        return (type(self), (self.year, self.message))


# --------------------------------------------------------------------------- working hours

_SEPARATORS = re.compile(r"[,，;；、]")
_PERIOD = re.compile(r"^\s*(\d{1,2})[:：](\d{2})\s*[-~～–—]\s*(\d{1,2})[:：](\d{2})\s*$")


def _fmt(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _us_of_day(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


@dataclass(frozen=True)
class WorkingHours:
    """The working periods of a working day, sorted and disjoint, in whole minutes."""

    periods: tuple[tuple[time, time], ...]

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("工作时间不能为空，例如 09:00-12:00,13:30-17:30")
        previous_end: time | None = None
        for period in self.periods:
            if len(period) != 2:
                raise ValueError(f"工作时间段必须是（开始, 结束）两个时间：{period!r}")
            start, end = period
            if not isinstance(start, time) or not isinstance(end, time):
                raise ValueError(f"工作时间段必须由 datetime.time 组成：{period!r}")
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("工作时间段使用日历所在时区的本地时间，不能带时区")
            if start.second or start.microsecond or end.second or end.microsecond:
                raise ValueError(f"工作时间段须精确到分钟：{_fmt(start)}-{_fmt(end)}")
            if end <= start:
                raise ValueError(f"工作时间段的结束时间必须晚于开始时间：{_fmt(start)}-{_fmt(end)}")
            if previous_end is not None and start < previous_end:
                raise ValueError(
                    f"工作时间段必须按时间先后排列且互不重叠：{_fmt(start)}-{_fmt(end)} 早于上一时间段的结束 {_fmt(previous_end)}"
                )
            previous_end = end

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """Parse ``"09:00-12:00,13:30-17:30"`` (full-width ``，`` ``：`` and ``~`` are accepted too)."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("工作时间不能为空，例如 09:00-12:00,13:30-17:30")
        periods: list[tuple[time, time]] = []
        for part in _SEPARATORS.split(text):
            if not part.strip():
                raise ValueError(f"工作时间格式错误（多余的分隔符）：{text!r}，应为 09:00-12:00,13:30-17:30")
            match = _PERIOD.match(part)
            if match is None:
                raise ValueError(f"工作时间段格式错误：{part.strip()!r}，应为 HH:MM-HH:MM，例如 09:00-12:00")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            for h, m in ((h1, m1), (h2, m2)):
                if h > 23 or m > 59:
                    raise ValueError(f"时间无效：{h:02d}:{m:02d}（小时 0–23，分钟 0–59）")
            periods.append((time(h1, m1), time(h2, m2)))
        return cls(tuple(periods))

    @property
    def minutes_per_day(self) -> int:
        return sum(_us_of_day(e) - _us_of_day(s) for s, e in self.periods) // _US_PER_MINUTE

    def __str__(self) -> str:
        return ",".join(f"{_fmt(s)}-{_fmt(e)}" for s, e in self.periods)


# --------------------------------------------------------------------------- the calendar


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} 必须是 datetime，而不是 {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} 必须带时区（aware datetime）：{value.isoformat()}")


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"未知的期限单位 {unit!r}，可选：{', '.join(UNITS)}")


class WorkCalendar:
    """Working days + working hours + time zone; adds and measures working time."""

    def __init__(
        self,
        days: Mapping[date, bool],
        covered_years: Iterable[int],
        hours: WorkingHours,
        tz: str | ZoneInfo = "Asia/Shanghai",
    ) -> None:
        self.hours = hours
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.covered_years: frozenset[int] = frozenset(int(y) for y in covered_years)
        self._overrides: dict[int, bool] = {d.toordinal(): bool(w) for d, w in days.items()}
        self._periods: tuple[tuple[int, int], ...] = tuple(
            (_us_of_day(s), _us_of_day(e)) for s, e in hours.periods
        )
        self._day_us: int = sum(e - s for s, e in self._periods)
        self._last_end: int = self._periods[-1][1]
        # ordinal -> is working day; filled a whole (covered) year at a time.
        self._status: dict[int, bool] = {}

    def __repr__(self) -> str:
        years = ",".join(str(y) for y in sorted(self.covered_years))
        return f"<WorkCalendar years=[{years}] hours={self.hours} tz={self.tz}>"

    # ---- working status of days

    def _fill(self, ordinal: int) -> bool:
        """Cache the status of every day of ``ordinal``'s year; raise if the year is not covered."""
        year = date.fromordinal(ordinal).year
        if year not in self.covered_years:
            raise CalendarNotCovered(year)
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        overrides = self._overrides
        # date.weekday() == (ordinal + 6) % 7; Monday..Friday are 0..4.
        self._status.update({o: overrides.get(o, (o + 6) % 7 < 5) for o in range(first, last + 1)})
        return self._status[ordinal]

    def _works(self, ordinal: int) -> bool:
        status = self._status.get(ordinal)
        return self._fill(ordinal) if status is None else status

    def is_workday(self, d: date) -> bool:
        """True when ``d`` is a working day; CalendarNotCovered when its year is not covered."""
        if isinstance(d, datetime):
            d = d.date()
        return self._works(d.toordinal())

    # ---- local wall-clock representation: (ordinal, microseconds since local midnight)

    def _local(self, value: datetime, name: str) -> tuple[int, int]:
        _require_aware(value, name)
        local = value.astimezone(self.tz)
        us = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
        return local.toordinal(), us

    def _at(self, ordinal: int, us: int) -> datetime:
        d = date.fromordinal(ordinal)
        seconds, micro = divmod(us, 1_000_000)  # us < one day: periods end by 23:59
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime(d.year, d.month, d.day, hour, minute, second, micro, tzinfo=self.tz)

    def _overlap(self, lo: int, hi: int) -> int:
        """Working microseconds of one working day inside [lo, hi) (local microseconds of day)."""
        total = 0
        for s, e in self._periods:
            a = s if s > lo else lo
            b = e if e < hi else hi
            if b > a:
                total += b - a
        return total

    # ---- core arithmetic

    def _add_us(self, start: datetime, amount_us: int) -> datetime:
        ordinal, t = self._local(start, "start")
        if amount_us <= 0:
            return start.astimezone(self.tz)
        remaining = amount_us
        periods = self._periods
        if t < self._last_end and self._works(ordinal):
            for s, e in periods:
                if t >= e:
                    continue
                begin = s if t < s else t
                available = e - begin
                if remaining <= available:
                    return self._at(ordinal, begin + remaining)
                remaining -= available
        status = self._status
        day_us = self._day_us
        while True:
            ordinal += 1
            works = status.get(ordinal)
            if works is None:
                works = self._fill(ordinal)
            if not works:
                continue
            if remaining > day_us:
                remaining -= day_us
                continue
            for s, e in periods:
                available = e - s
                if remaining <= available:
                    return self._at(ordinal, s + remaining)
                remaining -= available

    def _between_us(self, a: datetime, b: datetime) -> int:
        oa, ta = self._local(a, "a")
        ob, tb = self._local(b, "b")
        if b <= a:
            return 0
        if oa == ob:
            part = self._overlap(ta, tb)
            return part if part and self._works(oa) else 0
        total = 0
        part = self._overlap(ta, _US_PER_DAY)
        if part and self._works(oa):
            total += part
        status = self._status
        day_us = self._day_us
        for ordinal in range(oa + 1, ob):
            works = status.get(ordinal)
            if works is None:
                works = self._fill(ordinal)
            if works:
                total += day_us
        part = self._overlap(0, tb)
        if part and self._works(ob):
            total += part
        return total

    # ---- public API

    def add(self, start: datetime, amount: float, unit: str) -> datetime:
        """The deadline ``amount`` ``unit`` after ``start``, aware in the calendar's time zone."""
        _check_unit(unit)
        _require_aware(start, "start")
        value = float(amount)
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"期限数值无效：{amount!r}")
        if value < 0:
            raise ValueError(f"期限不能为负数：{amount!r}")
        if unit == "calendar_hours":
            return (start.astimezone(UTC) + timedelta(hours=value)).astimezone(self.tz)
        if unit == "calendar_days":
            local = start.astimezone(self.tz).replace(tzinfo=None) + timedelta(days=value)
            return local.replace(tzinfo=self.tz).astimezone(UTC).astimezone(self.tz)
        per_unit = _US_PER_HOUR if unit == "working_hours" else self._day_us
        return self._add_us(start, round(value * per_unit))

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """``start`` plus ``minutes`` working minutes."""
        _require_aware(start, "start")
        if minutes < 0:
            raise ValueError(f"工作分钟数不能为负数：{minutes!r}")
        return self._add_us(start, int(minutes) * _US_PER_MINUTE)

    def working_minutes_between(self, a: datetime, b: datetime) -> int:
        """Whole working minutes in [a, b); 0 when b <= a."""
        return self._between_us(a, b) // _US_PER_MINUTE

    def elapsed(self, a: datetime, b: datetime, unit: str) -> float:
        """How much of ``unit`` lies in [a, b) — the inverse of :meth:`add`; 0 when b <= a."""
        _check_unit(unit)
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b <= a:
            return 0.0
        if unit == "calendar_hours":
            return (b.astimezone(UTC) - a.astimezone(UTC)) / timedelta(hours=1)
        if unit == "calendar_days":
            la = a.astimezone(self.tz).replace(tzinfo=None)
            lb = b.astimezone(self.tz).replace(tzinfo=None)
            return max(0.0, (lb - la) / timedelta(days=1))
        per_unit = _US_PER_HOUR if unit == "working_hours" else self._day_us
        return self._between_us(a, b) / per_unit

    def remaining(self, now: datetime, due: datetime, unit: str) -> float:
        """Time left until ``due`` in ``unit``; negative (time overdue) once ``now`` is past ``due``."""
        _check_unit(unit)
        _require_aware(now, "now")
        _require_aware(due, "due")
        if due >= now:
            return self.elapsed(now, due, unit)
        return -self.elapsed(due, now, unit)


# --------------------------------------------------------------------------- chinese-calendar


def _chinese_calendar() -> ModuleType:
    """The only place that imports the chinese-calendar package (lazily)."""
    import chinese_calendar

    return chinese_calendar


def chinese_calendar_years() -> range:
    """The years the installed chinese-calendar package has holiday data for."""
    years = {d.year for d in _chinese_calendar().constants.holidays}
    return range(min(years), max(years) + 1)


def _package_not_covered(year: int) -> CalendarNotCovered:
    return CalendarNotCovered(
        year, f"chinese-calendar 软件包没有 {year} 年的节假日数据（支持 {_years_text()}），请手工录入该年日历"
    )


def _years_text() -> str:
    years = chinese_calendar_years()
    return f"{years.start}–{years.stop - 1} 年"


def _year_dates(year: int) -> list[date]:
    first = date(year, 1, 1).toordinal()
    return [date.fromordinal(o) for o in range(first, date(year, 12, 31).toordinal() + 1)]


def chinese_calendar_days(year: int) -> dict[date, bool]:
    """Every date of ``year`` whose status differs from the weekday rule, from chinese-calendar.

    Public holidays on weekdays map to False, make-up working days (调休) on weekends to True.
    """
    cc = _chinese_calendar()
    if year not in chinese_calendar_years():
        raise _package_not_covered(year)
    out: dict[date, bool] = {}
    try:
        for d in _year_dates(year):
            works = bool(cc.is_workday(d))
            if works != (d.weekday() < 5):
                out[d] = works
    except NotImplementedError:
        raise _package_not_covered(year) from None
    return out


# chinese-calendar's Chinese names are short ("中秋"); the State Council notices say "中秋节".
_OFFICIAL_NAMES = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}


def holiday_names(year: int) -> dict[date, str]:
    """Chinese names (元旦, 春节, 国庆节 …) of the holiday dates of ``year``, for display.

    Includes holiday dates that fall on weekends; make-up working days are not included.
    """
    cc = _chinese_calendar()
    if year not in chinese_calendar_years():
        raise _package_not_covered(year)
    chinese_of = {h.value: h.chinese for h in cc.Holiday}
    out: dict[date, str] = {}
    try:
        for d in _year_dates(year):
            is_holiday, name = cc.get_holiday_detail(d)
            if is_holiday and name:
                chinese = chinese_of.get(name, name)
                out[d] = _OFFICIAL_NAMES.get(chinese, chinese)
    except NotImplementedError:
        raise _package_not_covered(year) from None
    return out
