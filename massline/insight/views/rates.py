"""Pages of insight: rates — the dashboard, the monthly rankings and how one figure was computed.

Who sees what (docs/rates.md): supervisors, leaders and administrators see the figures of the orgs inside the
scope where they hold the role (ranks are always among all orgs of the level); a handler sees only the figure
of the unit where they hold the handler role, with its rank, and its drill-down. The demands listed behind a
figure are filtered by ``demands.policy`` (a figure may count demands the viewer may not open: they are
counted, not listed, and the page says how many).
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse

from massline.core.excel import xlsx_response
from massline.core.pages import paginate, query_without_page, refused
from massline.directory.access import grants
from massline.directory.models import Org, Role
from massline.directory.pages import staff_page

from .. import rates, rollups
from ..models.rollups import Level, Period

VIEW_ROLES = (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
LEVELS = [(str(v), str(label)) for v, label in Level.choices if v != Level.DISTRICT] + [
    (str(Level.DISTRICT), str(Level.DISTRICT.label))]
LEVEL_KINDS = {Level.DISTRICT: ("district",), Level.STREET: ("street", "township"),
               Level.COMMUNITY: ("community", "village"), Level.GRID: ("grid",)}


def _scopes(user) -> list[str]:
    """Paths where the user may see every org's figure ("" = everywhere)."""
    return [g.scope_path for g in grants(user) if g.role in VIEW_ROLES]


def _own_units(user) -> set[int]:
    return {g.scope_id for g in grants(user) if g.role == Role.HANDLER and g.scope_id}


def _may_see(user, level: str, org: Org) -> bool:
    if any(p == "" or org.path.startswith(p) for p in _scopes(user)):
        return True
    return level == Level.UNIT and org.pk in _own_units(user)


def _level(request: HttpRequest, default: str = Level.UNIT) -> str:
    value = request.GET.get("level") or default
    return value if value in Level.values else default


def _month(request: HttpRequest) -> date:
    return rates.parse_month(request.GET.get("month"))


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}%"


@staff_page(*VIEW_ROLES)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The index of insight: links to the rankings and the trend of the three rates over twelve months for the
    viewer's scope (the whole jurisdiction, or the org where the role is held)."""
    month = _month(request)
    scopes = [g for g in grants(request.user) if g.role in VIEW_ROLES]
    scope_org = None if any(g.scope_id is None for g in scopes) else Org.objects.filter(pk=scopes[0].scope_id).first()
    if scope_org is None:
        level, org_ids, where = Level.DISTRICT, None, "全辖区"
    else:
        level = next((lv for lv, kinds in LEVEL_KINDS.items() if scope_org.kind in kinds), Level.UNIT)
        org_ids, where = [scope_org.pk], scope_org.name
    series = rates.trend(level, org_ids, 12, month)
    chart = {"months": [p["label"] for p in series],
             "series": [{"name": name, "data": [getattr(p["figure"], attr) for p in series]}
                        for name, attr in zip(rates.RATE_NAMES, ("response", "resolution", "satisfaction"),
                                              strict=True)]}
    return render(request, "insight/dashboard.html", {
        "month": month, "where": where, "series": series, "chart": chart, "levels": LEVELS,
        "definition": rates.definition(),
        "show_leader": any(g.role in (Role.LEADER, Role.ADMIN) for g in scopes),
    })


def _ranking_rows(request: HttpRequest, month: date, level: str) -> tuple[list[rates.Figure], bool]:
    """The rows the viewer may see, and whether they see the whole level (False: only their own unit)."""
    user = request.user
    rows = rates.ranking(month, level)
    scopes = _scopes(user)
    if scopes:
        if "" not in scopes:
            rows = [f for f in rows if any(f.org.path.startswith(p) for p in scopes)]
        return rows, True
    own = _own_units(user)
    return [f for f in rows if level == Level.UNIT and f.org.pk in own], False


HEADERS = ["名次", "单位或区域", "签收件次", "按时签收件次", "响应率(%)", "回访评价件次", "解决件次", "解决率(%)", "满意件次",
           "基本满意件次", "满意率(%)", "综合得分", "上月得分", "得分变化", "上月名次", "名次变化"]


@staff_page(*VIEW_ROLES, Role.HANDLER)
def rankings(request: HttpRequest) -> HttpResponse:
    month = _month(request)
    if not _scopes(request.user):
        level = Level.UNIT  # a handler sees their own unit's figure only
    else:
        level = _level(request)
    rows, whole = _ranking_rows(request, month, level)
    if request.GET.get("format") == "xlsx":
        return xlsx_response(
            f"三率排名-{month:%Y-%m}-{Level(level).label}.xlsx", HEADERS,
            [[f.rank, f.org.name, f.signed, f.signed_on_time, f.response, f.rated, f.resolved, f.resolution,
              f.satisfied, f.basic, f.satisfaction, f.score, f.prev_score, f.score_change, f.prev_rank,
              f.rank_change] for f in rows])
    return render(request, "insight/rates/rankings.html", {
        "month": month, "prev_month": rates.previous_start(Period.MONTH, month),
        "next_month": rates.period_end(Period.MONTH, month), "level": level, "level_label": Level(level).label,
        "levels": LEVELS if whole else [(str(Level.UNIT), str(Level.UNIT.label))], "rows": rows, "whole": whole,
        "definition": rates.definition(), "qs": query_without_page(request),
    })


LIST_FILTERS = {
    "response": [("", "全部签收（分母）"), ("on_time", "按时签收（分子）"), ("late", "超时签收")],
    "rating": [("", "全部回访评价（分母）"), ("resolved", "已解决（解决率分子）"), ("satisfied", "满意与基本满意（满意率分子）"),
               ("dissatisfied", "不满意")],
}


def _keep(fact: rollups.Fact, only: str, basic_ok: bool) -> bool:
    if only == "on_time":
        return fact.on_time
    if only == "late":
        return not fact.on_time
    if only == "resolved":
        return fact.resolved
    if only == "satisfied":
        return fact.satisfaction == "satisfied" or (basic_ok and fact.satisfaction == "basic")
    if only == "dissatisfied":
        return fact.satisfaction == "dissatisfied"
    return True


SATISFACTION_LABELS = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意", "": "—"}


@staff_page(*VIEW_ROLES, Role.HANDLER)
def rate_detail(request: HttpRequest, level: str, org_id: int) -> HttpResponse:
    """How one org's figure in one month was computed: the counts, the formulas with the numbers, and the
    demands behind each numerator and denominator (paginated, visible ones only)."""
    if level not in Level.values:
        raise Http404
    org = Org.objects.filter(pk=org_id).first()
    if org is None:
        raise Http404
    if not _may_see(request.user, level, org):
        return refused(request, "您只能查看本人职责范围内单位或区域的三率。")
    month = _month(request)
    defn = rates.definition()
    fig = rates.figure(Period.MONTH, month, level, org, defn)
    which = request.GET.get("list") if request.GET.get("list") in LIST_FILTERS else "response"
    only = request.GET.get("only") or ""
    if only not in dict(LIST_FILTERS[which]):
        only = ""
    behind = rollups.facts_behind(request.user, Period.MONTH, month, level, org)
    items = [(d, f) for d, f in (behind.response if which == "response" else behind.rating)
             if _keep(f, only, defn.basic_is_satisfied)]
    rows = [{"demand": d, "fact": f, "satisfaction": SATISFACTION_LABELS.get(f.satisfaction, f.satisfaction)}
            for d, f in items]
    if request.GET.get("format") == "xlsx":
        if which == "response":
            headers = ["查询码", "标题", "签收时间", "是否按时"]
            data = [[r["demand"].code, r["demand"].title, r["fact"].at, r["fact"].on_time] for r in rows]
        else:
            headers = ["查询码", "标题", "回访时间", "是否解决", "满意度"]
            data = [[r["demand"].code, r["demand"].title, r["fact"].at, r["fact"].resolved, r["satisfaction"]]
                    for r in rows]
        return xlsx_response(f"三率明细-{org.name}-{month:%Y-%m}.xlsx", headers, data)
    formulas = [
        ("响应率", f"按时签收 {fig.signed_on_time} ÷ 签收 {fig.signed}", _pct(fig.response)),
        ("解决率", f"已解决 {fig.resolved} ÷ 回访评价 {fig.rated}", _pct(fig.resolution)),
        ("满意率", (f"（满意 {fig.satisfied} + 基本满意 {fig.basic}）÷ 回访评价 {fig.rated}" if defn.basic_is_satisfied
                 else f"满意 {fig.satisfied} ÷ 回访评价 {fig.rated}"), _pct(fig.satisfaction)),
    ]
    w = defn.weights
    score_text = (f"（{_pct(fig.response)}×{w[0]:g} + {_pct(fig.resolution)}×{w[1]:g} + "
                  f"{_pct(fig.satisfaction)}×{w[2]:g}）÷ 有数据的率的权重之和")
    base = reverse("insight:rate_detail", args=[level, org.pk])
    return render(request, "insight/rates/detail.html", {
        "org": org, "level": level, "level_label": Level(level).label, "month": month, "fig": fig,
        "formulas": formulas, "score_text": score_text, "definition": defn, "which": which, "only": only,
        "filters": LIST_FILTERS[which], "page": paginate(request, rows), "qs": query_without_page(request),
        "hidden": behind.hidden, "too_many": behind.too_many, "base": base,
        "tabs": [("response", f"签收（{len(behind.response)}）"), ("rating", f"回访评价（{len(behind.rating)}）")],
        "listed_total": len(behind.response) + len(behind.rating),
    })


urlpatterns = [
    path("", dashboard, name="dashboard"),
    path("rankings/", rankings, name="rankings"),
    path("rankings/<slug:level>/<int:org_id>/", rate_detail, name="rate_detail"),
]
