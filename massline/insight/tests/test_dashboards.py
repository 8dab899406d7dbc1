"""The leader's and the supervisor's dashboards: the figures against the data, the tables and exports behind the
charts, who may open them, and a bounded number of queries."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from conftest import at
from massline.core import clock
from massline.demands import services
from massline.demands.models import Demand
from massline.demands.sweep import sweep
from massline.insight import dashboards as dash
from massline.insight.models import SafetyWarning
from massline.insight.tests.test_rates_views import _raise
from massline.insight.tests.test_rates_views import data as rates_data  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

NOW = at(2026, 10, 26, 10)
LEADER = reverse("insight:leader_dashboard")
SUPERVISOR = reverse("insight:supervisor_dashboard")


@pytest.fixture
def data(city, rates_data):  # noqa: F811
    """The rates' September and October (rates_data: one demand in September, four in October, all in
    花园社区第1网格 but the city management committee's 西城路灯 in 光明社区第1网格), and three demands dispatched
    on 10-13 and never signed: two for 东城街道 in 花园社区第1网格, one for the city management committee in
    光明社区第1网格 (due the next day). The sweep on 10-26 finds overdue: September's demand and the housing
    committee's re-dispatched one (both listed, 挂牌), the reopened 路灯1 and the two 井盖 (督办), and 光明路面塌陷
    (listed). 路灯0 is closed; 西城路灯 is open and within time. A warning stands on 花园社区第1网格."""
    u = city.users
    late = []
    with clock.frozen(at(2026, 10, 13, 9)):
        for i in range(2):
            d, _ = _raise(city, title=f"井盖松动{i}")
            late.append(services.dispatch(d.pk, u["dispatcher"]))
        d, _ = _raise(city, grid=4, title="光明路面塌陷")
        late.append(services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk))
    with clock.frozen(NOW):
        sweep()
    SafetyWarning.objects.create(level="grid", org=city.grids[0], category=city.categories["市政设施"], score=7.5,
                                 line=6.0, weight=9.0, expected=2.0, open_count=4, raised_at=NOW, peak_score=7.5,
                                 last_score=7.5)
    return {**rates_data, "late": late}


def _sheet(resp) -> list[tuple]:
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxmlformats")
    return list(load_workbook(io.BytesIO(resp.content)).active.iter_rows(values_only=True))


# --- who may open them --------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [LEADER, SUPERVISOR])
def test_anonymous_is_sent_to_login(client, city, url):
    r = client.get(url)
    assert r.status_code == 302 and r.url.startswith("/login/")


@pytest.mark.parametrize("url,who", [(LEADER, "handler_street1"), (LEADER, "intake"), (LEADER, "supervisor"),
                                     (SUPERVISOR, "handler_street1"), (SUPERVISOR, "intake"),
                                     (SUPERVISOR, "dispatcher")])
def test_people_without_the_role_are_refused(client, city, url, who):
    client.force_login(city.users[who])
    for params in ({}, {"format": "xlsx", "table": "counts"}):
        r = client.get(url, params)
        assert r.status_code == 403 and "无权访问" in r.content.decode()


def test_the_nav_links_the_dashboards_by_role(client, city):
    client.force_login(city.users["leader"])
    html = client.get(LEADER).content.decode()
    assert f'href="{LEADER}" aria-current="page"' in html and f'href="{SUPERVISOR}"' in html
    client.force_login(city.users["supervisor"])
    html = client.get(SUPERVISOR).content.decode()
    assert f'href="{SUPERVISOR}" aria-current="page"' in html and f'href="{LEADER}"' not in html


# --- the figures ------------------------------------------------------------------------------------------

def test_leader_figures_match_the_data(city, data):
    leader = city.users["leader"]
    scope = dash.scope_of(leader, dash.LEADER_ROLES)
    assert scope.org == city.district and scope.child_level == "street"
    month = at(2026, 10, 1).date()
    with clock.frozen(NOW):
        volume = dash.volume_trend(leader, month)
        # September: one demand; October: the rates' four and the three left undone; closed: the satisfied one
        assert volume.rows[-2:] == [["2026-09", 1, 0], ["2026-10", 7, 1]]
        assert len(volume.rows) == 12 and volume.rows[0][0] == "2025-11"
        trend = dash.rates_trend(scope, month)
        assert trend.rows[-1][1:5] == [60.0, 50.0, 50.0, 53.0]  # 3/5 signs on time, 1/2 resolved, 1/2 satisfied: (60·30 + 50·35 + 50·35) ÷ 100
        areas = dash.area_ranking(scope, month)
        assert areas.column("单位或区域") == ["西城街道", "东城街道"]
        assert areas.column("综合得分") == [100.0, 50.0]
        units = dash.unit_ranking(scope, month)
        assert set(units.column("单位或区域")) == {"区城市管理委员会", "区自来水公司", "东城街道", "区住房和城乡建设委员会"}
        assert units.rows[0][:3] == [1, "区城市管理委员会", 100.0]
        tiles, table = dash.area_tiles(leader, scope, month)
    assert [t.org for t in tiles] == city.streets
    east, west = tiles
    # open in street 1: everything but the closed 路灯0, all overdue; street 2: 西城路灯 (in time) and 光明路面塌陷
    assert (east.open, east.overdue, west.open, west.overdue) == (5, 5, 2, 1)
    garden = east.children[0]
    assert garden.org.name == "花园社区" and garden.open == 5 and east.children[1].open == 0
    grid = garden.children[0]
    assert (grid.org, grid.open, grid.overdue, grid.warnings, grid.short) == (city.grids[0], 5, 5, 1, "第1网格")
    assert grid.shade == 4 and garden.children[1].shade == 0
    light = west.children[0].children[0]
    assert (light.org, light.open, light.shade) == (city.grids[4], 2, 2)  # 2 of the busiest grid's 5: second shade
    assert table.rows[0] == ["东城街道", "街道（乡镇）", 5, 5, 0, "最多"]
    assert len(table.rows) == 2 + 4 + 8


def test_the_tiles_count_only_what_the_viewer_may_see(city, data):
    street_sup = city.users["supervisor_street2"]
    scope = dash.scope_of(street_sup, dash.SUPERVISOR_ROLES)
    assert scope.org == city.streets[1] and scope.child_level == "community"
    tiles, table = dash.area_tiles(street_sup, scope, at(2026, 10, 1).date())
    assert [t.org.name for t in tiles] == ["光明社区", "幸福社区"]
    assert tiles[0].open == 2 and tiles[0].overdue == 1 and "东城街道" not in str(table.rows)
    assert dash.standing_warnings(street_sup).rows == []  # the warning is in street 1


def test_a_viewer_with_several_scopes_sees_all_of_them(client, city, data):
    """Supervisor of 东城街道, of 光明社区 (in 西城街道) and of a grid inside 东城街道 (nothing more): both top-most
    places are on the dashboard, not just the widest one."""
    from massline.core.events import Actor
    from massline.directory import services as directory
    from massline.directory.models import Role

    user = directory.create_staff("multi", "massline-demo", "两地督办员", Actor.system("测试"), roles=[
        (Role.SUPERVISOR, city.streets[0]), (Role.SUPERVISOR, city.communities[2]), (Role.SUPERVISOR, city.grids[0])])
    scope = dash.scope_of(user, dash.SUPERVISOR_ROLES)
    assert scope.orgs == (city.streets[0], city.communities[2]) and scope.name == "东城街道、光明社区"
    assert scope.level == "street" and scope.org_ids == [city.streets[0].pk] and scope.org is None
    tiles, _ = dash.area_tiles(user, scope, at(2026, 10, 1).date())
    assert [(t.org, t.open) for t in tiles] == [(city.streets[0], 5), (city.communities[2], 2)]
    assert [t.org.name for t in tiles[1].children] == ["光明社区第1网格", "光明社区第2网格"]
    assert "幸福社区" not in str(dash.area_tiles(user, scope, at(2026, 10, 1).date())[1].rows)
    client.force_login(user)
    with clock.frozen(NOW):
        r = client.get(SUPERVISOR, {"month": "2026-10"})
    assert r.status_code == 200 and "东城街道、光明社区" in r.content.decode()


def test_supervisor_figures_match_the_data(city, data):
    sup = city.users["supervisor"]
    month = at(2026, 10, 1).date()
    with clock.frozen(NOW):
        counts = dict(dash.supervision_counts(sup).rows)
        assert (counts["已超期"], counts["督办中"], counts["挂牌督办"], counts["即将到期"], counts["在办"]) == (6, 3, 3, 0, 7)
        assert counts["在办"] == Demand.objects.filter(state__in=dash.OPEN_STATES).count()
        trend = dash.supervision_trend(sup, month)
        # by deadline: September's one, October's five; all put under supervision (and three listed) on 10-26
        assert trend.rows[-2:] == [["2026-09", 1, 0, 0], ["2026-10", 5, 6, 3]]
        units = dash.overdue_units(sup)
        assert units.rows == [["东城街道", 4, 1], ["区住房和城乡建设委员会", 1, 1], ["区城市管理委员会", 1, 1]]
        warnings = dash.standing_warnings(sup)
        assert warnings.rows[0][:4] == ["网格", "花园社区第1网格", "城乡建设/城市建设和市政管理/市政设施", 7.5]
    street_sup = city.users["supervisor_street2"]
    assert dash.overdue_units(street_sup).rows == [["区城市管理委员会", 1, 1]]


# --- the pages and their exports ------------------------------------------------------------------------

def test_the_leader_dashboard_page(client, city, data, django_assert_max_num_queries):
    client.force_login(city.users["leader"])
    with clock.frozen(NOW), django_assert_max_num_queries(25):
        r = client.get(LEADER, {"month": "2026-10"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "领导驾驶舱" in html and "echarts-5.6.0.min.js" in html and 'id="dash-charts"' in html
    charts = r.context["charts"]
    assert set(charts) == {"chart-volume", "chart-rates", "chart-rank-area", "chart-rank-unit", "chart-hot"}
    assert charts["chart-rank-area"]["yAxis"]["data"] == ["西城街道", "东城街道"]
    bars = charts["chart-rank-area"]["series"][0]["data"]
    assert [b["value"] for b in bars] == [100.0, 50.0]
    # September: 东城街道 was ranked alone (first, one late sign), 西城街道 had no figure
    assert [b["label"]["formatter"] for b in bars] == ["100 新", "50 ↓1"]
    assert charts["chart-volume"]["series"][0]["data"][-1] == 7
    for section in ("近十二个月诉求量", "近十二个月三率走势", "街道（乡镇）排名", "承办单位排名", "网格积压分布", "热点诉求",
                    "待处置的安全线预警"):
        assert section in html
    assert html.count("导出 Excel") == 7 and html.count("<table") == 7
    # every tile links to its drill-down; the standing warning is listed
    assert reverse("insight:rate_detail", args=["grid", city.grids[0].pk]) + "?month=2026-10" in html
    assert "花园社区第1网格" in html and "7.50" in html


def test_the_leader_exports(client, city, data):
    client.force_login(city.users["leader"])
    with clock.frozen(NOW):
        rows = _sheet(client.get(LEADER, {"month": "2026-10", "format": "xlsx", "table": "rank_area"}))
        assert rows[0][:3] == ("名次", "单位或区域", "综合得分") and [r[1] for r in rows[1:]] == ["西城街道", "东城街道"]
        rows = _sheet(client.get(LEADER, {"month": "2026-10", "format": "xlsx", "table": "volume"}))
        assert rows[-1] == ("2026-10", 7, 1)
        rows = _sheet(client.get(LEADER, {"month": "2026-10", "format": "xlsx", "table": "tiles"}))
        assert rows[1] == ("东城街道", "街道（乡镇）", 5, 5, 0, "最多")
        assert client.get(LEADER, {"format": "xlsx", "table": "nonsense"}).status_code == 404


def test_the_supervisor_dashboard_page_and_exports(client, city, data, django_assert_max_num_queries):
    client.force_login(city.users["supervisor"])
    with clock.frozen(NOW), django_assert_max_num_queries(15):
        r = client.get(SUPERVISOR, {"month": "2026-10"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "督办驾驶舱" in html and set(r.context["charts"]) == {"chart-trend", "chart-units"}
    assert r.context["charts"]["chart-units"]["series"][0]["data"] == [4, 1, 1]
    assert ("已超期", 6, reverse("demands:supervisor") + "?tab=overdue") in r.context["counts"]
    assert html.count("导出 Excel") == 5
    with clock.frozen(NOW):
        rows = _sheet(client.get(SUPERVISOR, {"month": "2026-10", "format": "xlsx", "table": "units"}))
    assert rows == [("承办单位", "超期在办件数", "其中挂牌督办"), ("东城街道", 4, 1), ("区住房和城乡建设委员会", 1, 1),
                    ("区城市管理委员会", 1, 1)]
    # a street's supervisor exports their street only
    client.force_login(city.users["supervisor_street2"])
    with clock.frozen(NOW):
        rows = _sheet(client.get(SUPERVISOR, {"format": "xlsx", "table": "units"}))
        assert rows[1:] == [("区城市管理委员会", 1, 1)]
        rows = _sheet(client.get(SUPERVISOR, {"format": "xlsx", "table": "warnings"}))
        assert rows[1:] == []
