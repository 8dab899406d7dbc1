"""The dispatcher's desk: the queue with the suggested unit, one-key confirmation, a change of units, who may
open it, and refusals shown in Chinese next to the control (htmx) or as a message (plain).

Suggestions are deterministic: a fake model (``adapter.active`` replaced) names a fixed label and score.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from conftest import at
from massline.core import clock
from massline.core.models import Event
from massline.demands import services as demand_services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State
from massline.routing import adapter
from massline.routing.models import RoutingExample, Suggestion

pytestmark = pytest.mark.django_db

T0 = at(2026, 11, 2, 9, 30)  # a Monday, working hours
URL = "/work/dispatch/"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


class FakeModel:
    """Stands in for the trained classifier: always the same label and score."""

    version = "fake-desk-1"

    def __init__(self, label: str, score: float) -> None:
        self.label, self.score = label, score

    def predict(self, title: str, detail: str) -> adapter.Guess:
        others = [lab for lab in ("城乡建设", "环境保护", "交通运输") if lab != self.label][:2]
        return adapter.Guess(self.label, self.score, [(self.label, self.score), (others[0], 0.1), (others[1], 0.05)])


@pytest.fixture
def fake_model(monkeypatch):
    model = FakeModel("劳动和社会保障", 0.7)
    monkeypatch.setattr(adapter, "active", lambda: model)
    return model


def receive(city, title="工地拖欠工资三个月", content="我在工地干了三个月，老板一直拖欠工资不给。",
            category="拖欠工资", **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title=title, content=content,
                category_id=city.categories[category].pk if category else None, place_id=city.grids[0].pk,
                name="陈女士", phone="13800001234")
    data.update(kw)
    with clock.frozen(T0):
        d, _ = demand_services.receive(IntakeData(**data), city.users["intake"])
    return d


def login(client, city, name: str):
    client.force_login(city.users[name])
    return client


# --- who may open it ------------------------------------------------------------------------------------------

def test_anonymous_goes_to_login_and_other_roles_are_refused(client, city):
    d = receive(city)
    for url in (URL, f"{URL}{d.pk}/change/"):
        r = client.get(url)
        assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    r = client.post(f"{URL}{d.pk}/", {"lead_unit": city.units["labour"].pk, "source": "change"})
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    for name in ("handler_city", "nobody", "supervisor", "discipline"):
        login(client, city, name)
        for url in (URL, f"{URL}{d.pk}/change/"):
            r = client.get(url)
            assert r.status_code == 403 and "没有权限" in r.content.decode()
        r = client.post(f"{URL}{d.pk}/", {"lead_unit": city.units["labour"].pk, "source": "change"})
        assert r.status_code == 403
    assert Demand.objects.get(pk=d.pk).state == State.RECEIVED


# --- the queue ------------------------------------------------------------------------------------------------

def test_queue_shows_waiting_demands_with_the_models_suggestion(client, city, fake_model):
    d = receive(city)
    done = receive(city, title="路灯不亮", content="北门路灯坏了一周。", category="市政设施")
    with clock.frozen(T0):
        demand_services.dispatch(done.pk, city.users["dispatcher"])
    urgent = receive(city, title="水管爆裂", content="楼下水管爆裂，水流到马路上。", category="停水停电",
                     urgency="emergency")
    report = receive(city, title="举报某科长吃拿卡要", content="某科长办事要好处费。", category=None, type="report")
    login(client, city, "dispatcher")
    r = client.get(URL)
    html = r.content.decode()
    assert r.status_code == 200
    assert d.code in html and urgent.code in html
    assert done.code not in html  # already dispatched
    assert report.code not in html  # reports go to discipline inspection only
    assert html.index(urgent.code) < html.index(d.code)  # emergencies first
    assert "区人力资源和社会保障局" in html and "置信度 70%" in html and "低于阈值" in html
    # the suggestion is stored for the rows shown, so the dispatcher's decision can be recorded
    assert Suggestion.objects.filter(demand=d, model_version=fake_model.version, label="劳动和社会保障").exists()
    assert 'tabindex="0"' in html and "<kbd>Enter</kbd>" in html


def test_queue_without_a_model_suggests_the_responsibility_list(client, city):
    d = receive(city, title="路灯不亮", content="北门路灯坏了一周。", category="市政设施")
    login(client, city, "dispatcher")
    html = client.get(URL).content.decode()
    assert d.code in html and "依据：权责清单" in html
    assert city.streets[0].name in html  # the street's own entry for street lights in its area
    assert not Suggestion.objects.filter(demand=d).exists()


def test_a_model_that_disagrees_with_the_category_gives_way_to_the_list(client, city, fake_model):
    d = receive(city, title="楼下水管爆裂", content="楼下水管爆裂，水流到马路上。", category="停水停电")
    login(client, city, "dispatcher")
    r = client.get(URL)
    row = next(row for row in r.context["rows"] if row.demand.pk == d.pk)
    assert row.suggested["source"] == "list" and row.suggested["lead"]["id"] == city.units["water"].pk
    assert [u["id"] for u in row.suggested["co"]] == [city.units["power"].pk]
    html = r.content.decode()
    assert "模型判断为“劳动和社会保障”（置信度 70%），与登记分类或权责清单不一致" in html
    assert "劳动和社会保障（70%） → 示范区（兜底）" in html  # the model's choice stays among the others


def test_queue_paginates_25_and_computes_suggestions_only_for_the_page(client, city, fake_model):
    demands = [receive(city, title=f"工地拖欠工资第{i}件") for i in range(27)]
    login(client, city, "dispatcher")
    r = client.get(URL)
    assert "第 1 / 2 页" in r.content.decode()
    assert Suggestion.objects.filter(demand__in=demands).count() == 25
    r = client.get(URL + "?page=2")
    assert r.status_code == 200 and Suggestion.objects.filter(demand__in=demands).count() == 27


def test_the_queue_reads_the_same_few_times_for_5_rows_as_for_25(client, city, fake_model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, city, "dispatcher")
    counts = []
    for n in (5, 20):  # 5 waiting, then 25
        for i in range(n):
            receive(city, title=f"工地拖欠工资第{len(counts)}-{i}件", place_id=city.grids[i % len(city.grids)].pk)
        for _ in range(2):  # computing the new suggestions, then reading them
            with CaptureQueriesContext(connection) as c:
                assert client.get(URL).status_code == 200
            counts.append(len(c.captured_queries))
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
    assert max(counts) <= 15, counts
    assert Suggestion.objects.filter(demand__state="received").count() == 25


# --- one key: confirm the suggestion --------------------------------------------------------------------------

def test_confirm_dispatches_to_the_suggested_unit_and_records_it_followed(client, city, fake_model,
                                                                          django_capture_on_commit_callbacks):
    d = receive(city)
    login(client, city, "dispatcher")
    client.get(URL)  # the page shows (and stores) the suggestion
    labour = city.units["labour"]
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"{URL}{d.pk}/", {"source": "model", "lead_unit": labour.pk}, HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200
    assert f'id="row-{d.pk}"' in html and "已派给 区人力资源和社会保障局" in html and 'role="status"' in html
    d.refresh_from_db()
    assert d.state == State.DISPATCHED and d.lead_unit == labour
    ev = Event.objects.get(chain=d.chain, action="dispatch")
    assert ev.actor_role == "dispatcher" and "确认模型建议" in ev.reason
    s = Suggestion.objects.get(demand=d)
    assert (s.decided, s.chosen_label, s.chosen_unit) == ("dispatcher", "劳动和社会保障", labour.code)
    assert not RoutingExample.objects.filter(demand=d).exists()  # followed: no correction


def test_confirm_of_the_list_route_lets_the_list_decide(client, city, django_capture_on_commit_callbacks):
    d = receive(city, title="施工噪音扰民", content="夜里工地还在施工，噪音很大。", category="施工噪音")
    login(client, city, "dispatcher")
    with clock.frozen(T0):
        r = client.post(f"{URL}{d.pk}/", {"source": "list", "lead_unit": city.units["env"].pk,
                                          "co_units": [city.units["city"].pk]})
    assert r.status_code == 302 and r["Location"] == URL
    d.refresh_from_db()
    assert d.state == State.DISPATCHED and d.lead_unit == city.units["env"]
    assert set(d.units.filter(active=True, role="co").values_list("unit_id", flat=True)) == {city.units["city"].pk}
    ev = Event.objects.get(chain=d.chain, action="dispatch")
    assert ev.data["entry"] is not None and ev.reason == "按权责清单派单"  # the list's entry is on the record
    msgs = [m.message for m in r.wsgi_request._messages]
    assert any("已派给 区生态环境局" in m for m in msgs)


# --- change: another lead and co-handling units --------------------------------------------------------------

def test_change_form_and_dispatch_to_other_units_records_a_correction(client, city, fake_model,
                                                                     django_capture_on_commit_callbacks):
    d = receive(city)
    login(client, city, "dispatcher")
    r = client.get(f"{URL}{d.pk}/change/", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 200 and "<html" not in html and 'name="lead_unit"' in html
    assert "区纪委监委" not in html  # discipline inspection takes reports only
    assert "<html" in client.get(f"{URL}{d.pk}/change/").content.decode()  # a page without htmx
    client.get(URL)
    housing, water = city.units["housing"], city.units["water"]
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"{URL}{d.pk}/", {"source": "change", "lead_unit": housing.pk,
                                          "co_units": [water.pk, housing.pk], "note": "属于物业管理问题"},
                        HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "协办：区自来水公司" in r.content.decode()
    d.refresh_from_db()
    assert d.lead_unit == housing
    assert list(d.units.filter(active=True, role="co").values_list("unit_id", flat=True)) == [water.pk]
    assert Event.objects.get(chain=d.chain, action="dispatch").reason == "属于物业管理问题"
    s = Suggestion.objects.get(demand=d)
    assert s.decided == "dispatcher" and s.chosen_unit == housing.code
    assert RoutingExample.objects.filter(demand=d, source="dispatcher_correction").exists()


# --- refusals, in Chinese, next to the control ----------------------------------------------------------------

def test_refusals_are_shown_in_chinese(client, city):
    d = receive(city)
    login(client, city, "dispatcher")
    # no unit chosen: the change form comes back with the reason
    r = client.post(f"{URL}{d.pk}/", {"source": "change", "lead_unit": ""}, HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "请选择主办单位" in r.content.decode() and 'role="alert"' in r.content.decode()
    # discipline inspection as lead: the service refuses; the row stays with the reason
    r = client.post(f"{URL}{d.pk}/", {"source": "model", "lead_unit": city.units["discipline"].pk},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "所选主办单位不存在或不能承办" in r.content.decode()
    # someone was quicker: the row says so (409) and shows the demand's state
    with clock.frozen(T0):
        demand_services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units["labour"].pk)
    r = client.post(f"{URL}{d.pk}/", {"source": "change", "lead_unit": city.units["housing"].pk},
                    HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert r.status_code == 409 and "不能派单" in html and "已派单" in html and CJK.search(html)
    # plain request: a message on the queue page
    r = client.post(f"{URL}{d.pk}/", {"source": "change", "lead_unit": city.units["housing"].pk}, follow=True)
    assert r.status_code == 200 and "不能派单" in r.content.decode()
    # a demand out of sight is not found
    r = client.post(f"{URL}999999/", {"source": "change", "lead_unit": city.units["housing"].pk},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 404 and "诉求不存在" in r.content.decode()
    assert Demand.objects.get(pk=d.pk).lead_unit == city.units["labour"]


def test_admin_sees_the_desk_but_the_workflow_refuses_dispatch(client, city):
    d = receive(city)
    login(client, city, "admin")
    page = client.get(URL)
    html = page.content.decode()
    assert page.status_code == 200 and d.code in html
    assert "只读" in html and "data-confirm aria-label" not in html and "data-change href" not in html  # no controls
    login(client, city, "dispatcher")
    html = client.get(URL).content.decode()
    assert "只读" not in html and "data-confirm aria-label" in html and "data-change href" in html
    login(client, city, "admin")
    r = client.post(f"{URL}{d.pk}/", {"source": "change", "lead_unit": city.units["labour"].pk},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 403 and "只有" in r.content.decode() and "可以派单" in r.content.decode()
    assert Demand.objects.get(pk=d.pk).state == State.RECEIVED


def test_url_names(city):
    assert reverse("routing:dispatch_queue") == URL
