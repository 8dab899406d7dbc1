"""Group visits (集体访) in the seed's five steps — invite in (请进门), choose representatives (选代表, at most
five), fill in the form (填表格: the demands, filed with channel "group"), sit and talk (坐下谈), sort out the
goals (理目标) — through the services and through the API (``/api/v1/group-visits…``)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from conftest import at
from massline.core import auth, clock, events
from massline.core.errors import DomainError
from massline.core.models import Event
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, GroupRepresentative, GroupVisit

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
NOW = at(2026, 11, 4, 10, 0)
PEOPLE = [{"name": f"代表{i}", "phone": f"1380000100{i}"} for i in range(1, 7)]


@pytest.fixture(scope="module")
def city(module_city):
    """The small jurisdiction, built once for the module (overrides the per-test fixture of conftest)."""
    return module_city


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def refused(code: str, fn, status: int | None = None) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn()
    assert exc.value.code == code, exc.value.as_dict()
    assert CJK.search(exc.value.message), exc.value.message
    if status is not None:
        assert exc.value.status == status
    return exc.value


def file_for(city, visit_id: int | None, by: str = "intake", **kw) -> Demand:
    data = dict(channel="group", type="complaint", title="小区停车位被占用",
                content="和平社区二十多户居民反映小区停车位被外来车辆长期占用。", group_visit_id=visit_id,
                name="代表1", phone="13800001001")
    data.update(kw)
    d, _ = services.receive(IntakeData(**data), city.users[by])
    return d


def client_for(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {auth.issue(user)}")


def test_the_five_steps_through_the_services(city):
    u = city.users
    community = city.communities[1]
    gv = services.open_group_visit(u["intake"], topic="和平社区停车难", headcount=23, place_id=community.pk)
    assert gv.step == GroupVisit.Step.INVITED and gv.received_by == u["intake"]

    gv = services.choose_representatives(gv.pk, u["intake"], PEOPLE[:3])
    assert gv.step == GroupVisit.Step.REPRESENTED
    reps = GroupRepresentative.objects.filter(visit=gv).select_related("person")
    assert [(r.position, r.person.name) for r in reps] == [(1, "代表1"), (2, "代表2"), (3, "代表3")]

    # fill in the form: the demands they bring, linked to the visit, placed where the visit is
    a = file_for(city, gv.pk)
    b = file_for(city, gv.pk, type="suggestion", title="建议增设立体停车库", content="建议在社区空地建设立体停车库。",
                 name="代表2", phone="13800001002")
    assert set(gv.demands.values_list("pk", flat=True)) == {a.pk, b.pk}
    gv.refresh_from_db()
    assert gv.step == GroupVisit.Step.FORM  # the first demand filed is step 3, 填表格
    assert a.place == community and a.area_path == community.path and a.channel == "group"
    assert Event.objects.get(chain=a.chain, action="receive").data["group_visit_id"] == gv.pk

    refused("invalid_transition", lambda: services.settle_group_goals(gv.pk, u["intake"], goals="先定目标"), 409)
    gv = services.record_group_talk(gv.pk, u["leader"], minutes="街道领导与三位代表座谈一小时，代表陈述了停车难的情况。")
    assert gv.step == GroupVisit.Step.TALKED and gv.minutes.startswith("街道领导")

    gv = services.settle_group_goals(gv.pk, u["intake"], goals="一个月内清理僵尸车；三个月内研究立体车库方案。")
    assert gv.step == GroupVisit.Step.GOALS and "僵尸车" in gv.goals

    evs = list(Event.objects.filter(chain=f"group:{gv.pk}").order_by("seq"))
    assert [e.action for e in evs] == ["group_invited", "group_representatives", "group_form", "group_talked",
                                       "group_goals"]
    assert [e.to_state for e in evs] == ["invited", "represented", "form", "talked", "goals"]
    assert set(evs[-1].data["demands"]) == {a.code, b.code}
    # the demands go on through the normal flow
    d = services.dispatch(a.pk, u["dispatcher"], lead_unit_id=city.units["traffic"].pk)
    assert d.state == "dispatched"
    assert list(events.verify()) == []


def test_at_most_five_representatives(city):
    u = city.users
    gv = services.open_group_visit(u["intake"], topic="拖欠工资", headcount=40)
    e = refused("too_many_representatives", lambda: services.choose_representatives(gv.pk, u["intake"], PEOPLE))
    assert "5" in e.message and "代表" in e.message
    assert e.detail == {"limit": 5, "given": 6}
    assert not GroupRepresentative.objects.filter(visit=gv).exists()
    assert GroupVisit.objects.get(pk=gv.pk).step == GroupVisit.Step.INVITED
    gv = services.choose_representatives(gv.pk, u["intake"], PEOPLE[:5])
    assert gv.representatives.count() == 5
    # nor more representatives than people who came
    small = services.open_group_visit(u["intake"], topic="楼道堆物", headcount=2)
    refused("too_many_representatives", lambda: services.choose_representatives(small.pk, u["intake"], PEOPLE[:3]))
    refused("no_representatives", lambda: services.choose_representatives(small.pk, u["intake"], []))


def test_goals_only_after_the_talk_and_the_talk_only_with_representatives(city):
    u = city.users
    gv = services.open_group_visit(u["intake"], topic="噪音扰民", headcount=5)
    refused("no_representatives", lambda: services.record_group_talk(gv.pk, u["intake"], minutes="座谈记录内容"))
    refused("invalid_transition", lambda: services.settle_group_goals(gv.pk, u["intake"], goals="商定的目标"), 409)
    services.choose_representatives(gv.pk, u["intake"], PEOPLE[:2])
    refused("invalid_transition", lambda: services.settle_group_goals(gv.pk, u["intake"], goals="商定的目标"), 409)
    refused("invalid_field", lambda: services.record_group_talk(gv.pk, u["intake"], minutes=""))
    services.record_group_talk(gv.pk, u["intake"], minutes="座谈记录内容")
    refused("invalid_field", lambda: services.settle_group_goals(gv.pk, u["intake"], goals=""))
    assert services.settle_group_goals(gv.pk, u["intake"], goals="商定的目标").step == GroupVisit.Step.GOALS


def test_only_intake_and_leaders_receive_a_group_visit(city):
    u = city.users
    for name in ("handler_city", "dispatcher", "supervisor", "citizen", "nobody"):
        e = refused("forbidden", lambda n=name: services.open_group_visit(u[n], topic="来访", headcount=3), 403)
        assert "集体访" in e.message
    gv = services.open_group_visit(u["leader"], topic="领导接访日集体来访", headcount=6)
    refused("forbidden", lambda: services.choose_representatives(gv.pk, u["supervisor"], PEOPLE[:2]), 403)


def test_group_demands_need_a_visit_and_an_intake_operator(city):
    u = city.users
    e = refused("invalid_field", lambda: file_for(city, None))
    assert e.detail["field"] == "group_visit_id"
    refused("invalid_field", lambda: file_for(city, 999999))
    gv = services.open_group_visit(u["intake"], topic="停车难", headcount=3)
    refused("channel_needs_intake", lambda: file_for(city, gv.pk, by="citizen"), 403)
    refused("channel_needs_intake", lambda: file_for(city, gv.pk, by="handler_city"), 403)


def test_the_five_steps_through_the_api(city):
    u = city.users
    intake = client_for(u["intake"])
    resp = intake.post("/api/v1/group-visits", {"topic": "和平社区停车难", "headcount": 23,
                                                "place_id": city.communities[1].pk}, content_type="application/json")
    assert resp.status_code == 201, resp.content
    gv = resp.json()
    assert gv["step"] == "invited" and gv["representatives"] == [] and gv["demands"] == []
    base = f"/api/v1/group-visits/{gv['id']}"

    resp = intake.post(f"{base}/representatives", {"representatives": PEOPLE}, content_type="application/json")
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "too_many_representatives" and "5" in body["message"] and CJK.search(body["message"])
    assert intake.get(base).json()["step"] == "invited"

    resp = intake.post(f"{base}/representatives", {"representatives": PEOPLE[:3]}, content_type="application/json")
    assert resp.status_code == 200
    reps = resp.json()["representatives"]
    assert [r["name"] for r in reps] == ["代表1", "代表2", "代表3"]
    assert all("*" in r["phone"] for r in reps)  # phones are masked

    demand = {"channel": "group", "type": "complaint", "title": "停车位被占", "content": "小区停车位被外来车辆长期占用。",
              "group_visit_id": gv["id"], "name": "代表1", "phone": "13800001001"}
    resp = intake.post("/api/v1/demands", demand, content_type="application/json")
    assert resp.status_code == 201
    code = resp.json()["code"]
    resp = Client().post("/api/v1/demands", demand, content_type="application/json")  # the public may not
    assert resp.status_code == 403 and resp.json()["code"] == "channel_needs_intake"

    resp = intake.post(f"{base}/goals", {"goals": "先定目标"}, content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "invalid_transition"
    resp = intake.post(f"{base}/talk", {"minutes": "与代表座谈，听取意见。"}, content_type="application/json")
    assert resp.status_code == 200 and resp.json()["step"] == "talked"
    resp = intake.post(f"{base}/goals", {"goals": "一个月内清理僵尸车。"}, content_type="application/json")
    assert resp.status_code == 200
    out = resp.json()
    assert out["step"] == "goals" and out["demands"] == [code] and out["goals"] == "一个月内清理僵尸车。"

    # who may look: intake, leaders, supervisors; not a handler (not found), not without a token
    assert client_for(u["supervisor"]).get(base).status_code == 200
    resp = client_for(u["handler_city"]).get(base)
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    assert Client().get(base).status_code == 401
    resp = client_for(u["handler_city"]).post("/api/v1/group-visits", {"topic": "来访", "headcount": 3},
                                              content_type="application/json")
    assert resp.status_code == 403
    assert list(events.verify()) == []


def test_a_report_filed_in_a_group_visit_stays_with_discipline_inspection(city):
    """A group may bring a report about a cadre: the visit's record shows its ordinary demands, not the report."""
    u = city.users
    gv = services.open_group_visit(u["intake"], topic="集体反映社区干部问题", headcount=8)
    ordinary = file_for(city, gv.pk)
    report = file_for(city, gv.pk, type="report", title="举报社区主任挪用补贴", content="社区主任挪用困难补助资金。",
                      reported_unit_id=city.streets[0].pk)
    out = client_for(u["intake"]).get(f"/api/v1/group-visits/{gv.pk}").json()
    assert out["demands"] == [ordinary.code]
    assert report.code not in client_for(u["leader"]).get(f"/api/v1/group-visits/{gv.pk}").content.decode()
    assert client_for(u["discipline"]).get(f"/api/v1/demands/{report.pk}").status_code == 200
