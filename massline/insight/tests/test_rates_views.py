"""The rates pages: dashboard, rankings (with Excel export) and the drill-down, and who may open them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from conftest import at
from massline.core import clock
from massline.demands import services
from massline.demands.intake import IntakeData

pytestmark = pytest.mark.django_db

GOOD_REPLY = "已安排维修人员于今日下午到现场处理完毕，经检查已恢复正常，如仍有问题请再次来电。"


def _raise(city, category="市政设施", grid=0, title="北门路灯不亮"):
    return services.receive(IntakeData(
        channel="hotline", type="complaint", title=title, content="北门路灯已经坏了一周，晚上很黑，请尽快修理。",
        category_id=city.categories[category].pk, place_id=city.grids[grid].pk, name="陈女士", phone="13800001234",
        restatement="路灯坏了"), city.users["intake"])


@pytest.fixture
def data(city):
    """October 2026: street 1 signs one on time and one late and gets a satisfied and a dissatisfied rating; the
    water company signs one that is then re-dispatched to the housing committee (which signs it late); a demand
    in street 2 (community 光明) goes to the city management committee. September: street 1 signs one late."""
    u = city.users
    made = {}
    with clock.frozen(at(2026, 9, 14, 10)):
        d, _ = _raise(city, title="九月的路灯")
        services.dispatch(d.pk, u["dispatcher"])
    with clock.frozen(at(2026, 9, 15, 10)):
        services.sign(d.pk, u["handler_street1"])
    for i, late in enumerate([False, True]):
        with clock.frozen(at(2026, 10, 12, 9, 30)):
            d, secret = _raise(city, title=f"路灯{i}")
            services.dispatch(d.pk, u["dispatcher"])
        with clock.frozen(at(2026, 10, 13 if late else 12, 10)):
            services.sign(d.pk, u["handler_street1"])
            services.reply(d.pk, u["handler_street1"], text=GOOD_REPLY)
        with clock.frozen(at(2026, 10, 14, 10)):
            services.callback_by_person(d.code, secret, resolved=not late,
                                        satisfaction="dissatisfied" if late else "satisfied")
        made[f"street{i}"] = d
    with clock.frozen(at(2026, 10, 12, 10)):
        d, _ = _raise(city, category="物业管理", title="物业不管电梯")
        services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.units["water"].pk)
        services.sign(d.pk, u["handler_water"])
        services.request_return(d.pk, u["handler_water"], reason="不属于供水职责范围", cited_item="供水供电抢修")
        services.uphold_return(d.pk, u["dispatcher"], lead_unit_id=city.units["housing"].pk, note="改派住建委")
    with clock.frozen(at(2026, 10, 14, 10)):
        services.sign(d.pk, u["handler_housing"])
    made["moved"] = d
    with clock.frozen(at(2026, 10, 20, 10)):
        d, _ = _raise(city, grid=4, title="西城路灯")
        services.dispatch(d.pk, u["dispatcher"])
    with clock.frozen(at(2026, 10, 20, 10) + timedelta(minutes=20)):
        services.sign(d.pk, u["handler_city"])
    made["west"] = d
    return made


PAGES = [("insight:dashboard", []), ("insight:rankings", []), ("insight:rate_detail", ["unit", 0])]


def _url(city, name, args):
    if name == "insight:rate_detail":
        args = ["unit", city.streets[0].pk]
    return reverse(name, args=args)


@pytest.mark.parametrize("name,args", PAGES)
def test_anonymous_is_sent_to_login(client, city, name, args):
    r = client.get(_url(city, name, args))
    assert r.status_code == 302 and r.url.startswith("/login/")


@pytest.mark.parametrize("name,args", PAGES)
@pytest.mark.parametrize("who", ["nobody", "citizen", "intake", "dispatcher"])
def test_people_without_the_role_are_refused(client, city, name, args, who):
    client.force_login(city.users[who])
    r = client.get(_url(city, name, args))
    assert r.status_code == 403
    assert "权限" in r.content.decode()


def test_the_dashboard_is_not_for_handlers(client, city):
    client.force_login(city.users["handler_street1"])
    assert client.get(reverse("insight:dashboard")).status_code == 403


def test_rankings_for_the_district(client, city, data):
    client.force_login(city.users["leader"])
    r = client.get(reverse("insight:rankings"), {"month": "2026-10", "level": "unit"})
    assert r.status_code == 200
    rows = r.context["rows"]
    names = [f.org.name for f in rows]
    assert names[0] == "区城市管理委员会" and set(names) == {"区城市管理委员会", "区自来水公司", "东城街道", "区住房和城乡建设委员会"}
    street = next(f for f in rows if f.org == city.streets[0])
    assert (street.signed, street.signed_on_time, street.rated, street.resolved, street.satisfied_count) == (2, 1, 2, 1, 1)
    assert (street.response, street.resolution, street.satisfaction, street.score) == (50.0, 50.0, 50.0, 50.0)
    assert (street.prev_score, street.score_change) == (0.0, 50.0)
    html = r.content.decode()
    assert "东城街道" in html and "50.00%" in html and "↑ 50.00" in html
    r = client.get(reverse("insight:rankings"), {"month": "2026-10", "level": "community"})
    assert {f.org.name for f in r.context["rows"]} == {"花园社区", "光明社区"}


def test_rankings_export_to_excel(client, city, data):
    client.force_login(city.users["supervisor"])
    r = client.get(reverse("insight:rankings"), {"month": "2026-10", "level": "street", "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("名次", "单位或区域", "签收件次", "按时签收件次", "响应率(%)")
    by_name = {row[1]: row for row in rows[1:]}
    assert set(by_name) == {"东城街道", "西城街道"}
    assert by_name["东城街道"][2:5] == (4, 2, 50) and by_name["西城街道"][2:5] == (1, 1, 100)


def test_a_street_supervisor_sees_the_street_only(client, city, data):
    client.force_login(city.users["supervisor_street2"])
    r = client.get(reverse("insight:rankings"), {"month": "2026-10", "level": "grid"})
    assert [f.org for f in r.context["rows"]] == [city.grids[4]]
    # ranks stay those among every grid of the district
    assert r.context["rows"][0].rank == 1
    r = client.get(reverse("insight:rate_detail", args=["street", city.streets[0].pk]), {"month": "2026-10"})
    assert r.status_code == 403
    r = client.get(reverse("insight:rate_detail", args=["street", city.streets[1].pk]), {"month": "2026-10"})
    assert r.status_code == 200 and data["west"].code in r.content.decode()


def test_a_handler_sees_their_own_unit(client, city, data):
    client.force_login(city.users["handler_street1"])
    r = client.get(reverse("insight:rankings"), {"month": "2026-10", "level": "street"})
    assert r.status_code == 200 and r.context["level"] == "unit"
    assert [f.org for f in r.context["rows"]] == [city.streets[0]]
    assert r.context["rows"][0].rank is not None
    assert "区自来水公司" not in r.content.decode()
    assert client.get(reverse("insight:rate_detail", args=["unit", city.units["water"].pk]),
                      {"month": "2026-10"}).status_code == 403
    assert client.get(reverse("insight:rate_detail", args=["street", city.streets[0].pk]),
                      {"month": "2026-10"}).status_code == 403


def test_the_drill_down_lists_the_demands_behind_each_number(client, city, data):
    client.force_login(city.users["supervisor"])
    url = reverse("insight:rate_detail", args=["unit", city.streets[0].pk])
    r = client.get(url, {"month": "2026-10"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "按时签收 1 ÷ 签收 2" in html and "50.00%" in html
    assert {row["demand"].pk for row in r.context["page"].object_list} == {data["street0"].pk, data["street1"].pk}
    assert "九月的路灯" not in html  # September's sign is in September's figure
    r = client.get(url, {"month": "2026-10", "list": "response", "only": "late"})
    assert [row["demand"].pk for row in r.context["page"].object_list] == [data["street1"].pk]
    r = client.get(url, {"month": "2026-10", "list": "rating", "only": "satisfied"})
    assert [row["demand"].pk for row in r.context["page"].object_list] == [data["street0"].pk]
    r = client.get(url, {"month": "2026-10", "list": "rating", "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("查询码", "标题", "回访时间", "是否解决", "满意度") and len(rows) == 3


def test_the_drill_down_counts_what_the_viewer_may_not_open(client, city, data):
    """The water company signed a demand later re-dispatched: the sign stays in its figure, but its handler can
    no longer open the demand — it is counted, not listed."""
    client.force_login(city.users["handler_water"])
    r = client.get(reverse("insight:rate_detail", args=["unit", city.units["water"].pk]), {"month": "2026-10"})
    assert r.status_code == 200
    assert r.context["fig"].signed == 1 and r.context["hidden"] == 1
    assert list(r.context["page"].object_list) == []
    assert data["moved"].code not in r.content.decode()
    # the supervisor sees it listed
    client.force_login(city.users["supervisor"])
    r = client.get(reverse("insight:rate_detail", args=["unit", city.units["water"].pk]), {"month": "2026-10"})
    assert [row["demand"].pk for row in r.context["page"].object_list] == [data["moved"].pk]


def test_the_dashboard_draws_the_trend(client, city, data):
    client.force_login(city.users["leader"])
    r = client.get(reverse("insight:dashboard"), {"month": "2026-10"})
    assert r.status_code == 200
    html = r.content.decode()
    assert "echarts-5.6.0.min.js" in html and 'id="rates-trend-data"' in html
    chart = r.context["chart"]
    assert len(chart["months"]) == 12 and chart["months"][-1] == "2026-10"
    # October district-wide: 5 signs, 3 on time; 2 ratings, 1 resolved, 1 satisfied
    assert [s["data"][-1] for s in chart["series"]] == [60.0, 50.0, 50.0]
    assert chart["series"][0]["data"][-2] == 0.0  # September: one late sign
    assert reverse("insight:rankings") in html
    # a street supervisor's dashboard is their street's
    client.force_login(city.users["supervisor_street2"])
    r = client.get(reverse("insight:dashboard"), {"month": "2026-10"})
    assert r.context["where"] == "西城街道" and r.context["chart"]["series"][0]["data"][-1] == 100.0


def test_unknown_level_or_org_is_not_found(client, city):
    client.force_login(city.users["admin"])
    assert client.get(reverse("insight:rate_detail", args=["planet", city.streets[0].pk])).status_code == 404
    assert client.get(reverse("insight:rate_detail", args=["unit", 999999])).status_code == 404


def test_a_figure_with_too_many_demands_is_not_listed(client, city, data, monkeypatch):
    from massline.insight import rollups

    monkeypatch.setattr(rollups, "BEHIND_LIMIT", 2)
    client.force_login(city.users["leader"])
    r = client.get(reverse("insight:rate_detail", args=["district", city.district.pk]), {"month": "2026-10"})
    assert r.status_code == 200 and r.context["too_many"] == 5 and list(r.context["page"].object_list) == []
    assert r.context["fig"].signed == 5  # the numbers are still there
    assert "数量过多" in r.content.decode()
