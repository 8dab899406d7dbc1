"""The administrator's figures per category, on a handcrafted set of demands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from massline.core import clock
from massline.demands import services as demand_services
from massline.demands.models import State
from massline.routing import queries
from massline.routing import services as routing
from massline.routing.models import CategoryThreshold, RoutingExample, Suggestion

from . import corpus
from .conftest import T0, receive

pytestmark = pytest.mark.django_db


def _suggestion(d, label: str, decided: str, chosen: str = "") -> Suggestion:
    return Suggestion.objects.create(demand=d, model_version="m1", label=label, score=0.95, top=[], threshold=0.9,
                                     decided=decided, chosen_label=chosen, created_at=T0, decided_at=T0)


def _auto(city, category: str | None, label: str, grid: int = 4):
    d = receive(city, *corpus.CLEAR_WATER, category=category, grid=grid)
    _suggestion(d, label, "auto", label)
    with clock.frozen(T0):
        return demand_services.dispatch(d.pk, None, auto=True, model_version="m1")


def test_the_figures_per_category(city, data_dir):
    u = city.users
    a1 = _auto(city, "市政设施", "城乡建设")
    a2 = _auto(city, "市政设施", "城乡建设")
    _auto(city, "市政设施", "城乡建设")
    _auto(city, None, "交通运输")  # uncategorised: counted under the label it was dispatched for
    with clock.frozen(T0):
        # a1: returned and re-dispatched (wrong); a2: returned, the return overruled (right after all)
        demand_services.request_return(a1.pk, u["handler_city"], reason="不属于本单位职责", cited_item="市政设施维护",
                                       suggested_unit_id=city.units["water"].pk)
        demand_services.uphold_return(a1.pk, u["dispatcher"])
        demand_services.request_return(a2.pk, u["handler_city"], reason="不属于本单位职责", cited_item="市政设施维护")
        demand_services.overrule_return(a2.pk, u["dispatcher"], note="属于市政设施维护")
        # two waited for the dispatcher: one followed the model, one corrected it
        m1 = receive(city, *corpus.CLEAR_WATER, category="停水停电")
        _suggestion(m1, "城乡建设", "dispatcher", "城乡建设")
        demand_services.dispatch(m1.pk, u["dispatcher"])
        m2 = receive(city, *corpus.VAGUE, category="物业管理")
        _suggestion(m2, "环境保护", "dispatcher", "城乡建设")
        demand_services.dispatch(m2.pk, u["dispatcher"])
        routing.record_correction(m2, "城乡建设", RoutingExample.Source.DISPATCHER_CORRECTION,
                                  Suggestion.objects.get(demand=m2), u["dispatcher"])
        e1 = receive(city, *corpus.CLEAR_NOISE, category="施工噪音")
        demand_services.dispatch(e1.pk, u["dispatcher"])
        receive(city, *corpus.CLEAR_NOISE, category="施工噪音")  # not dispatched: not counted
    CategoryThreshold.objects.create(category=city.categories["施工噪音"].parent.parent, threshold=0.8)
    assert a1.state == State.DISPATCHED

    rows = {r.category: r.as_dict() for r in queries.report()}
    assert set(rows) == {"城乡建设", "交通运输", "环境保护", "合计"}
    c = rows["城乡建设"]
    assert (c["dispatched"], c["auto"], c["auto_returned"], c["auto_redispatched"]) == (5, 3, 2, 1)
    assert c["auto_share"] == 0.6 and c["returned_share"] == round(2 / 3, 4)
    assert c["redispatched_share"] == round(1 / 3, 4) and c["auto_accuracy"] == round(2 / 3, 4)
    assert (c["waited"], c["followed"], c["followed_share"], c["corrections"]) == (2, 1, 0.5, 1)
    assert c["threshold"] == 0.9
    t = rows["交通运输"]
    assert (t["dispatched"], t["auto"], t["auto_accuracy"]) == (1, 1, 1.0)
    e = rows["环境保护"]
    assert (e["dispatched"], e["auto"], e["auto_share"], e["auto_accuracy"], e["threshold"]) == (1, 0, 0.0, None, 0.8)
    total = rows["合计"]
    assert (total["dispatched"], total["auto"], total["auto_redispatched"], total["corrections"]) == (7, 4, 1, 1)
    assert [r.category for r in queries.report()][:2] == ["城乡建设", "交通运输"]  # most dispatched first

    out = StringIO()
    call_command("classifier", "report", "--json", stdout=out)
    assert {r["category"]: r for r in json.loads(out.getvalue())} == rows
    out = StringIO()
    call_command("classifier", "report", stdout=out)
    assert "城乡建设\t5\t3\t60.0%\t2\t1\t66.7%" in out.getvalue()


def test_the_admin_report_page(city, data_dir, client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "root@example.org", "massline-demo")
    client.force_login(admin)
    _auto(city, "市政设施", "城乡建设")
    page = client.get("/admin/routing/classifiermodel/report/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "自动派单准确率" in text and "城乡建设" in text and "100%" in text
    assert client.get("/admin/routing/classifiermodel/").status_code == 200
    assert client.get("/admin/routing/categorythreshold/add/").status_code == 200
