"""Hot issues over the database, governance topics, the link hook, the effect, the pages and the command."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from conftest import at
from massline.core import clock
from massline.core.errors import DomainError, NotFound, PermissionDenied
from massline.core.models import Event
from massline.demands import hooks, services
from massline.demands.intake import IntakeData
from massline.insight import hot
from massline.insight.models.hot import GovernanceTopic, TopicLink

pytestmark = pytest.mark.django_db

SINCE, UNTIL = at(2026, 10, 1), at(2026, 11, 1)

NOISE = [("丽景花园搅拌站夜间施工噪音扰民", "丽景花园小区旁边的搅拌站每天夜里施工，运输车来回，噪音很大无法休息。"),
         ("丽景花园附近搅拌站噪音太大", "丽景花园小区附近搅拌站夜间施工，噪音扰民，请查处。"),
         ("投诉丽景花园搅拌站夜间施工", "搅拌站半夜还在施工，丽景花园的居民被噪音吵得睡不着。")]
PARKING = [("阳光新城开发商捆绑销售车位", "阳光新城开发商强制业主购买车位，不买车位不给交房。"),
           ("阳光新城车位捆绑销售问题", "阳光新城交房要求捆绑购买车位，侵害业主权益。")]
OTHER = [("路灯坏了没人修", "和平路的路灯已经坏了一个月，晚上出行很不方便。"),
         ("拖欠农民工工资", "某建筑工地拖欠二十多名农民工三个月工资。"),
         ("医保报销比例咨询", "想了解一下门诊慢特病的医保报销比例是多少。")]


def raise_demand(city, title, content, *, day, grid=0, category="施工噪音", phone="13800000000", type="complaint",
                 **kw):
    data = dict(channel="hotline", type=type, title=title, content=content, category_id=city.categories[category].pk,
                place_id=city.grids[grid].pk, name="居民", phone=phone)
    data.update(kw)
    with clock.frozen(at(2026, 10, day, 10)):
        d, _ = services.receive(IntakeData(**data), city.users["intake"])
    return d


@pytest.fixture
def seeded(city):
    """Six noise demands in street 1 (one person twice), four parking demands in street 2, three others, and a
    whistle-blowing report with the noise text."""
    out = {"noise": [], "parking": [], "other": []}
    for k in range(6):
        title, content = NOISE[k % 3]
        out["noise"].append(raise_demand(city, title, content, day=3 + 3 * k, grid=k % 2,
                                         phone="13800000001" if k < 2 else f"1390000000{k}"))
    for k in range(4):
        title, content = PARKING[k % 2]
        out["parking"].append(raise_demand(city, title, content, day=5 + k, grid=4 + k % 2, category="物业管理",
                                           phone=f"1370000000{k}"))
    for k, (title, content) in enumerate(OTHER):
        out["other"].append(raise_demand(city, title, content, day=10 + k, grid=k, category="市政设施",
                                         phone=f"1360000000{k}"))
    out["report"] = raise_demand(city, NOISE[0][0], NOISE[0][1], day=20, type="report",
                                 reported_unit_id=city.units["env"].pk)
    return out


def _ids(c):
    return {int(i) for i in c.cluster.ids}


def test_clusters_per_street_and_category_hottest_first(city, seeded):
    found = hot.clusters(city.users["leader"], SINCE, UNTIL)
    assert len(found) == 2
    noise, parking = found
    assert _ids(noise) == {d.pk for d in seeded["noise"]}  # the report is not in it
    assert _ids(parking) == {d.pk for d in seeded["parking"]}
    assert noise.cluster.heat > parking.cluster.heat
    assert noise.street == city.streets[0] and parking.street == city.streets[1]
    assert noise.category.name == "环境保护" and parking.category.name == "城乡建设"
    assert "搅拌站" in [t for t, _ in noise.key_terms[:4]]
    assert noise.cluster.people == 5 and noise.cluster.repeats == 1  # one person raised it twice
    assert noise.representative["id"] in _ids(noise)
    d = noise.as_dict()
    json.dumps(d, ensure_ascii=False, default=str)
    assert d["street"] == city.streets[0].name and len(d["members"]) == 6


def test_filters_and_window(city, seeded):
    leader = city.users["leader"]
    only = hot.clusters(leader, SINCE, UNTIL, street=city.streets[1])
    assert [_ids(c) for c in only] == [{d.pk for d in seeded["parking"]}]
    cat = seeded["noise"][0].category.parent.parent
    assert [_ids(c) for c in hot.clusters(leader, SINCE, UNTIL, category=cat)] == [{d.pk for d in seeded["noise"]}]
    early = hot.clusters(leader, SINCE, at(2026, 10, 8))  # noise on days 3 and 6 only, parking 5..7
    assert sorted(c.cluster.size for c in early) == [2, 3]
    with pytest.raises(DomainError) as e:
        hot.clusters(leader, UNTIL, SINCE)
    assert e.value.code == "invalid_window"
    with pytest.raises(DomainError) as e:
        hot.clusters(leader, SINCE, UNTIL, limit=5)
    assert e.value.code == "window_too_large"


def test_who_sees_which_clusters(city, seeded):
    street2 = hot.clusters(city.users["supervisor_street2"], SINCE, UNTIL)
    assert [_ids(c) for c in street2] == [{d.pk for d in seeded["parking"]}]
    assert len(hot.clusters(city.users["admin"], SINCE, UNTIL)) == 2
    for name in ("handler_city", "dispatcher", "discipline", "nobody"):
        with pytest.raises(PermissionDenied):
            hot.clusters(city.users[name], SINCE, UNTIL)


def _topic(city, seeded, user="leader", **kw):
    args = dict(since=SINCE, until=UNTIL, demand_id=seeded["noise"][2].pk, title="丽景花园搅拌站噪音治理",
                kind=GovernanceTopic.Kind.MONTHLY, owner_org=city.units["env"], plan="夜间施工许可复核，联合执法，每周巡查。",
                deadline=date(2026, 12, 31))
    args.update(kw)
    with clock.frozen(at(2026, 11, 1, 9)):
        return hot.create_topic(city.users[user], **args)


def test_a_leader_turns_a_cluster_into_a_topic(city, seeded):
    t = _topic(city, seeded)
    assert t.area == city.streets[0] and t.category.name == "环境保护" and t.state == GovernanceTopic.State.OPEN
    assert {lk.demand_id for lk in t.links.all()} == {d.pk for d in seeded["noise"]}
    assert all(lk.how == TopicLink.How.CLUSTER for lk in t.links.all())
    assert "搅拌站" in [k for k, _ in t.key_terms]
    ev = Event.objects.get(chain=t.chain)
    assert ev.action == "topic_created" and ev.data["demands"] == 6


def test_topic_refusals(city, seeded):
    for name in ("supervisor", "handler_city", "nobody"):
        with pytest.raises(PermissionDenied):
            _topic(city, seeded, user=name)
    for field, value in (("title", "短"), ("plan", "太短"), ("kind", "weekly"), ("deadline", date(2026, 10, 1)),
                         ("owner_org", city.units["discipline"])):
        with pytest.raises(DomainError) as e:
            _topic(city, seeded, **{field: value})
        assert e.value.code == "invalid_field" and e.value.detail["field"] == field
    with pytest.raises(DomainError) as e:
        _topic(city, seeded, demand_id=seeded["other"][0].pk)  # in no cluster
    assert e.value.code == "cluster_gone"
    assert not GovernanceTopic.objects.exists()


def test_new_matching_demands_are_linked_by_the_received_hook(city, seeded, django_capture_on_commit_callbacks):
    assert hot.on_received in hooks.registered("received")
    t = _topic(city, seeded)
    with django_capture_on_commit_callbacks(execute=True):
        same = raise_demand(city, "丽景花园搅拌站又在夜间施工", "搅拌站噪音还是很大", day=28, grid=1, phone="13500000001")
        other_street = raise_demand(city, "丽景花园搅拌站夜间施工", "搅拌站噪音很大", day=28, grid=4,
                                    phone="13500000002")
        unrelated = raise_demand(city, "路灯不亮", "和平路路灯坏了", day=28, grid=0, category="市政设施",
                                 phone="13500000003")
        report = raise_demand(city, "丽景花园搅拌站夜间施工", "搅拌站噪音很大，有人收了好处", day=28, type="report",
                              reported_unit_id=city.units["env"].pk)
    linked = set(TopicLink.objects.filter(topic=t, how=TopicLink.How.MATCHED).values_list("demand_id", flat=True))
    assert same.pk in linked
    assert not {other_street.pk, unrelated.pk, report.pk} & linked
    assert hot.on_received(same) == []  # linked once only
    hot.set_state(city.users["leader"], t.pk, GovernanceTopic.State.DONE)
    later = raise_demand(city, "丽景花园搅拌站夜间施工", "搅拌站噪音很大", day=29, grid=0, phone="13500000004")
    assert hot.on_received(later) == []  # a closed topic takes no more demands


def test_effect_before_and_after(city, seeded):
    with clock.frozen(at(2026, 10, 25, 9)):
        t = hot.create_topic(city.users["leader"], since=SINCE, until=at(2026, 10, 25), demand_id=seeded["noise"][0].pk,
                             title="丽景花园搅拌站噪音治理", kind=GovernanceTopic.Kind.PROACTIVE,
                             owner_org=city.streets[0], plan="夜间施工许可复核，联合执法，每周巡查。",
                             deadline=date(2026, 12, 31))
    raise_demand(city, "丽景花园搅拌站又在夜间施工", "搅拌站噪音还是很大", day=27, grid=1)
    with clock.frozen(at(2026, 11, 4, 12)):
        e = hot.effect(t)
    assert e["days"] == 10
    assert (e["before"], e["after"]) == (2, 1)  # Oct 15..25 before (noise on the 15th and 18th), the new one after
    assert e["change"] == -0.5
    assert e["linked_cluster"] == 6


def test_set_state(city, seeded):
    t = _topic(city, seeded)
    with pytest.raises(PermissionDenied):
        hot.set_state(city.users["supervisor"], t.pk, GovernanceTopic.State.DONE)
    with pytest.raises(NotFound):
        hot.set_state(city.users["supervisor_street2"], t.pk, GovernanceTopic.State.DONE)
    with pytest.raises(DomainError):
        hot.set_state(city.users["leader"], t.pk, GovernanceTopic.State.OPEN)
    t = hot.set_state(city.users["leader"], t.pk, GovernanceTopic.State.DONE, "已完成整治")
    assert t.state == GovernanceTopic.State.DONE and t.closed_at is not None
    assert Event.objects.filter(chain=t.chain, action="topic_state").count() == 1


def test_topics_visible_by_scope(city, seeded):
    t = _topic(city, seeded)
    assert list(hot.visible_topics(city.users["supervisor"])) == [t]
    assert list(hot.visible_topics(city.users["supervisor_street2"])) == []
    with pytest.raises(PermissionDenied):
        hot.visible_topics(city.users["handler_city"])


# --- pages ------------------------------------------------------------------------------------------


PAGES = ["insight:hot", "insight:topics"]


def test_pages_refuse_anonymous_and_other_roles(client, city, seeded):
    t = _topic(city, seeded)
    urls = [reverse(n) for n in PAGES] + [reverse("insight:topic_detail", args=[t.pk])]
    for url in urls:
        r = client.get(url)
        assert r.status_code == 302 and "/login/" in r["Location"]
    for name in ("handler_city", "dispatcher", "nobody"):
        client.force_login(city.users[name])
        for url in urls:
            assert client.get(url).status_code == 403
    client.force_login(city.users["supervisor"])
    r = client.post(reverse("insight:topic_create"), {})
    assert r.status_code == 403
    r = client.post(reverse("insight:topic_state", args=[t.pk]), {"state": "done"})
    assert r.status_code == 403
    client.force_login(city.users["supervisor_street2"])
    assert client.get(reverse("insight:topic_detail", args=[t.pk])).status_code == 404


def test_hot_page_shows_clusters_and_the_topic_form_to_leaders(client, city, seeded):
    client.force_login(city.users["leader"])
    r = client.get(reverse("insight:hot"), {"since": "2026-10-01", "until": "2026-10-31"})
    body = r.content.decode()
    assert r.status_code == 200
    assert "搅拌站" in body and "捆绑" in body and seeded["noise"][0].code in body
    assert "设为治理专题" in body
    client.force_login(city.users["supervisor"])
    body = client.get(reverse("insight:hot"), {"since": "2026-10-01", "until": "2026-10-31"}).content.decode()
    assert "搅拌站" in body and "设为治理专题" not in body
    r = client.get(reverse("insight:hot"), {"since": "2026-10-31", "until": "2026-10-01"})
    assert r.status_code == 200 and "起始日期不能晚于截止日期" in r.content.decode()


def _form(city, seeded, prefix="x", **kw):
    data = {"prefix": prefix, f"{prefix}-since": "2026-10-01", f"{prefix}-until": "2026-10-31",
            f"{prefix}-demand": seeded["noise"][1].pk, f"{prefix}-title": "丽景花园搅拌站噪音治理",
            f"{prefix}-kind": "monthly", f"{prefix}-owner_org": city.units["env"].pk,
            f"{prefix}-plan": "夜间施工许可复核，联合执法，每周巡查。", f"{prefix}-deadline": "2026-12-31"}
    data.update({f"{prefix}-{k}": v for k, v in kw.items()})
    return data


def test_topic_created_from_the_page(client, city, seeded):
    client.force_login(city.users["leader"])
    with clock.frozen(at(2026, 11, 1, 9)):
        r = client.post(reverse("insight:topic_create"), _form(city, seeded))
    t = GovernanceTopic.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("insight:topic_detail", args=[t.pk])
    assert t.owner_user is None and t.owner_org == city.units["env"]
    with clock.frozen(at(2026, 11, 1, 9)):
        r = client.post(reverse("insight:topic_create"), _form(city, seeded, plan="短"), HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and "工作方案" in r.content.decode()
    with clock.frozen(at(2026, 11, 1, 9)):
        r = client.post(reverse("insight:topic_create"), _form(city, seeded, demand=seeded["other"][0].pk),
                        HTTP_HX_REQUEST="true")
    assert r.status_code == 409 and "cluster_gone" in r.content.decode()
    with clock.frozen(at(2026, 11, 1, 9)):
        r = client.post(reverse("insight:topic_create"), _form(city, seeded, demand=seeded["parking"][0].pk,
                                                               owner_user=city.users["handler_housing"].pk),
                        HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已设为每月一题专题" in r.content.decode()
    assert GovernanceTopic.objects.count() == 2
    assert GovernanceTopic.objects.get(area=city.streets[1]).owner_user == city.users["handler_housing"]


def test_topic_pages(client, city, seeded):
    t = _topic(city, seeded)
    client.force_login(city.users["supervisor"])
    body = client.get(reverse("insight:topics")).content.decode()
    assert t.title in body
    body = client.get(reverse("insight:topic_detail", args=[t.pk])).content.decode()
    assert "设题前后对比" in body and seeded["noise"][0].code in body and "变更状态" not in body
    client.force_login(city.users["leader"])
    assert "变更状态" in client.get(reverse("insight:topic_detail", args=[t.pk])).content.decode()
    r = client.post(reverse("insight:topic_state", args=[t.pk]), {"state": "done", "note": "完成"})
    assert r.status_code == 302
    t.refresh_from_db()
    assert t.state == "done"
    assert "已完成" in client.get(reverse("insight:topics"), {"state": "done"}).content.decode()


# --- command line -------------------------------------------------------------------------------------


def test_command_from_the_database(city, seeded):
    out = StringIO()
    with clock.frozen(at(2026, 11, 1, 9)):
        call_command("insight", "hot", "--since", "2026-10-01", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["source"] == "database"
    assert [c["size"] for c in data["clusters"]] == [6, 4]
    out = StringIO()
    with clock.frozen(at(2026, 11, 1, 9)):
        call_command("insight", "hot", "--since", "2026-10-01", "--until", "2026-10-31", stdout=out)
    assert "搅拌站" in out.getvalue()


def test_command_on_a_messages_file(tmp_path):
    path = tmp_path / "m.jsonl"
    rows = [{"id": f"m{k}", "user": f"U{k}", "title": NOISE[k % 3][0], "detail": NOISE[k % 3][1],
             "time": f"2019/3/{k + 1} 10:00:00", "likes": k} for k in range(6)]
    rows += [{"id": "x", "user": "U9", "title": OTHER[0][0], "detail": OTHER[0][1], "time": "2019/3/2 10:00:00"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    out = StringIO()
    call_command("insight", "hot", "--since", "2019-03-01", "--data", str(path), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["items"] == 7 and len(data["clusters"]) == 1
    assert data["clusters"][0]["size"] == 6 and data["clusters"][0]["likes"] == 15
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("insight", "hot", "--since", "2019-3-x", "--data", str(path), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("insight", "hot", "--since", "2019-03-01", "--data", str(tmp_path / "none.jsonl"),
                     stdout=StringIO())
