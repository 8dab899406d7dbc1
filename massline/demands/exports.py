"""Demands to Excel (台账), for every list page that offers "导出 Excel" (the handler's desk, search, …).

Usage from any view::

    from massline.demands import exports
    return exports.demand_xlsx(request.user, qs, "承办工作台-待签收")

``qs`` may be any ``Demand`` queryset (filtered and ordered as the page shows it); the export

- keeps only what the user may see (``policy.visible_q`` is applied again here, so a list built carelessly
  still cannot leak a demand; whistle-blowing reports appear only for discipline inspection);
- shows the person as the user may know them: anonymous → "匿名"; confidential → "（保密）" unless the user
  may see the identity (``policy.may_see_identity``); the phone number is given in full only to those who
  hold an identity role over the demand (intake, supervision, discipline — the people who call back) and to
  the person themselves, masked (138****1234) for everyone else, including handlers of a named demand:
  a spreadsheet travels further than a screen;
- writes Chinese headers (``HEADERS``) and Chinese values, dates in Beijing time, through
  ``massline.core.excel`` (write-only, streaming rows from the database in chunks).

``demand_rows(user, qs)`` yields the rows alone (for a sheet of one's own, or for tests).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpResponse

from massline.core.excel import xlsx_response

from . import policy
from .models import Channel, Demand, DemandType, Identity, Satisfaction, State, Urgency
from .queries import mask_phone

HEADERS = ["编号", "渠道", "类型", "分类", "标题", "诉求人", "电话", "地点", "地址", "主办单位", "状态", "紧急程度",
           "受理时间", "办结时限", "答复时间", "办结时间", "是否超期", "督办级别", "是否解决", "满意度"]
WIDTHS = [18, 10, 8, 30, 36, 12, 15, 20, 30, 24, 10, 8, 18, 18, 18, 18, 8, 10, 8, 10]
SUPERVISION = {0: "", 1: "督办", 2: "挂牌督办"}
_CHANNELS = dict(Channel.choices)
_TYPES = dict(DemandType.choices)
_STATES = dict(State.choices)
_URGENCY = dict(Urgency.choices)
_SATISFACTION = dict(Satisfaction.choices)


def person_cells(user, d: Demand) -> tuple[str, str]:
    """(诉求人, 电话) as ``user`` may see them; ``d`` must be a demand the user sees."""
    if d.identity == Identity.ANONYMOUS or d.person is None:
        return "匿名", ""
    caller_role = bool(policy.roles_over(user, d, "area") & policy.IDENTITY_ROLES) or policy.is_own(user, d)
    if d.identity != Identity.NAMED and not caller_role:
        return "（保密）", ""
    phone = d.person.phone or ""
    return d.person.name, (phone if caller_role else mask_phone(phone))


def demand_rows(user, qs: QuerySet[Demand]) -> Iterator[list]:
    """One row per demand of ``qs`` that ``user`` may see, in ``HEADERS`` order."""
    qs = qs.filter(policy.visible_q(user)).select_related("category", "place", "lead_unit", "person")
    for d in qs.iterator(chunk_size=1000):
        name, phone = person_cells(user, d)
        yield [
            d.code, _CHANNELS.get(d.channel, d.channel), _TYPES.get(d.type, d.type),
            d.category.full_name if d.category else "", d.title, name, phone,
            d.place.name if d.place else "", d.address,
            d.lead_unit.name if d.lead_unit else "", _STATES.get(d.state, d.state), _URGENCY.get(d.urgency, d.urgency),
            d.created_at, d.due_at, d.replied_at, d.closed_at, d.overdue, SUPERVISION.get(d.supervision, ""),
            "" if d.resolved is None else d.resolved, _SATISFACTION.get(d.satisfaction, ""),
        ]


def demand_xlsx(user, qs: QuerySet[Demand], filename: str, *, title: str = "诉求台账") -> HttpResponse:
    """An ``.xlsx`` download of ``qs`` as ``user`` may see it (see the module's notes)."""
    return xlsx_response(filename, HEADERS, demand_rows(user, qs), title=title, widths=WIDTHS)
