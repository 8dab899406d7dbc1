"""Pages of insight: the leader's dashboard (领导驾驶舱) and the supervisor's dashboard (督办驾驶舱).

Thin views over ``massline.insight.dashboards``: every chart is drawn from a :class:`~massline.insight.dashboards.Table`
that is also printed under the chart and exported with ``?format=xlsx&table=<key>``, always for the viewer's
own scope and rights. Roles: the leader's dashboard for leaders and administrators, the supervisor's for
supervisors, leaders and administrators. See docs/dashboards.md.
"""

from __future__ import annotations

from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from massline.core import clock
from massline.core.excel import xlsx_response
from massline.directory.pages import staff_page

from .. import dashboards as dash
from .. import rates
from ..dashboards import Table
from ..models.rollups import Period

RATE_SERIES = (("响应率(%)", "响应率"), ("解决率(%)", "解决率"), ("满意率(%)", "满意率"))


def _month(request: HttpRequest) -> date:
    return rates.parse_month(request.GET.get("month"))


def _export(table: Table | None, month: date, where: str) -> HttpResponse:
    if table is None:
        raise Http404
    return xlsx_response(f"{table.title}-{where}-{month:%Y-%m}.xlsx", table.headers, table.rows, title=table.title)


# --- chart options (ECharts), drawn from the tables ---------------------------------------------------------

def _line(table: Table, series: list[tuple[str, str, str]], *, percent: bool = False) -> dict:
    """Months on the x axis; ``series`` (column, name, "line" | "bar")."""
    y: dict = {"type": "value", "minInterval": 1}
    if percent:
        y = {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": table.column("月份"), "axisLabel": {"hideOverlap": True}},
        "yAxis": y,
        "series": [{"name": name, "type": kind, "data": table.column(col), "connectNulls": False,
                    "showSymbol": True, "symbolSize": 7, "label": {"show": kind == "bar", "position": "top"}}
                   for col, name, kind in series],
    }


def _bars(table: Table, label_col: str, value_cols: list[tuple[str, str]], *, stack: bool = False,
          max_value: float | None = None, counts: bool = False) -> dict:
    """Horizontal bars, one per row (first row on top), the value printed at the end of each bar. The labels get
    a fixed margin (measuring CJK text in the canvas is not reliable enough for ``containLabel``)."""
    x: dict = {"type": "value"}
    if max_value is not None:
        x["max"] = max_value
    if counts:
        x["minInterval"] = 1
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "show": len(value_cols) > 1},
        "grid": {"left": 124, "right": 44, "top": 28 if len(value_cols) > 1 else 8, "bottom": 24},
        "xAxis": x,
        "yAxis": {"type": "category", "inverse": True, "data": table.column(label_col),
                  "axisLabel": {"width": 112, "overflow": "truncate"}},
        "series": [{"name": name, "type": "bar", "data": table.column(col),
                    "label": {"show": True, "position": "inside" if stack else "right"}, **({"stack": "s"} if stack else {})}
                   for col, name in value_cols],
    }


def _change(rank_change: int | None, prev_rank: int | None) -> str:
    """The change of place, short enough to stand beside a bar on a phone: ↑2 ↓1 = (same) 新 (not ranked)."""
    if prev_rank is None:
        return "新"
    if not rank_change:
        return "="
    return f"{'↑' if rank_change > 0 else '↓'}{abs(rank_change)}"


RANK_KEY = "条形旁：本月综合得分和名次变化（↑上升 ↓下降 =持平 新：上月无排名）"


def _ranking(table: Table) -> dict:
    """The ranking's bars: the score, and beside it the change of place since last month."""
    option = _bars(table, "单位或区域", [("综合得分", "综合得分")], max_value=100)
    option["grid"]["right"] = 72
    option["series"][0]["data"] = [
        {"value": score, "label": {"formatter": f"{'—' if score is None else f'{score:g}'} {_change(change, prev)}"}}
        for score, change, prev in zip(table.column("综合得分"), table.column("名次变化"), table.column("上月名次"),
                                       strict=True)]
    return option


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}%"


def _height(rows: int) -> int:
    return max(160, 34 * rows + 60)


# --- the leader's dashboard -------------------------------------------------------------------------------

@staff_page(*dash.LEADER_ROLES)
def leader(request: HttpRequest) -> HttpResponse:
    month, now = _month(request), clock.now()
    scope = dash.scope_of(request.user, dash.LEADER_ROLES)
    if request.GET.get("format") == "xlsx":
        return _export(dash.leader_table(request.GET.get("table", ""), request.user, scope, month, now), month,
                       scope.name)
    tiles, tile_table = dash.area_tiles(request.user, scope, month)  # the tiles themselves, beside their table
    t = {key: tile_table if key == "tiles" else dash.leader_table(key, request.user, scope, month, now)
         for key in dash.LEADER_TABLES}
    charts = {
        "chart-volume": _line(t["volume"], [("受理件数", "受理", "bar"), ("办结件数", "办结", "line")]),
        "chart-rates": _line(t["rates"], [(col, name, "line") for col, name in RATE_SERIES], percent=True),
        "chart-rank-unit": _ranking(t["rank_unit"]),
        "chart-hot": _bars(t["hot"], "关键词", [("热度", "热度")]),
    }
    if t["rank_area"] is not None:
        charts["chart-rank-area"] = _ranking(t["rank_area"])
    vol, rate = t["volume"].rows[-1], t["rates"].rows[-1]
    kpi = [("本月受理", vol[1], "件", None), ("本月办结", vol[2], "件", None),
           ("响应率", _pct(rate[1]), "", None), ("解决率", _pct(rate[2]), "", None), ("满意率", _pct(rate[3]), "", None),
           ("待处置预警", t["warnings"].total, "条", "#h-warnings")]
    return render(request, "insight/dash/leader.html", {
        "kpi": kpi,
        "month": month, "prev_month": rates.previous_start(Period.MONTH, month),
        "next_month": rates.period_end(Period.MONTH, month), "scope": scope, "t": t, "tiles": tiles,
        "charts": charts, "shades": list(enumerate(dash.SHADE_LABELS)), "rank_key": RANK_KEY,
        "heights": {k: _height(len(v.rows)) for k, v in t.items() if v is not None},
        "now": now,
    })


# --- the supervisor's dashboard ---------------------------------------------------------------------------

@staff_page(*dash.SUPERVISOR_ROLES)
def supervisor(request: HttpRequest) -> HttpResponse:
    month, now = _month(request), clock.now()
    scope = dash.scope_of(request.user, dash.SUPERVISOR_ROLES)
    if request.GET.get("format") == "xlsx":
        return _export(dash.supervisor_table(request.GET.get("table", ""), request.user, month, now), month,
                       scope.name)
    t = {key: dash.supervisor_table(key, request.user, month, now) for key in dash.SUPERVISOR_TABLES}
    charts = {
        "chart-trend": _line(t["trend"], [("到期超期件数", "到期超期", "bar"), ("进入督办件数", "进入督办", "line"),
                                          ("挂牌督办件数", "挂牌督办", "line")]),
        "chart-units": _bars(t["units"], "承办单位", [("超期在办件数", "超期在办")], counts=True),
    }
    counts = dict(zip(t["counts"].column("类别"), t["counts"].column("件数"), strict=True))
    return render(request, "insight/dash/supervisor.html", {
        "month": month, "prev_month": rates.previous_start(Period.MONTH, month),
        "next_month": rates.period_end(Period.MONTH, month), "scope": scope, "t": t, "charts": charts,
        "counts": [(label, counts[label], t["counts"].link(i)) for i, label in enumerate(counts)],
        "heights": {k: _height(len(v.rows)) for k, v in t.items()}, "now": now,
    })


urlpatterns = [
    path("leader/", leader, name="leader_dashboard"),
    path("supervise/", supervisor, name="supervisor_dashboard"),
]
