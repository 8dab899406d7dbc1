"""The supervisor, leader and discipline desks, the return rulings and the search with its Excel export:
who may open each page and action, what each lists (in scope only), and every action's result or refusal in
Chinese, for htmx (the row, next to the control) and plain requests (a redirect with a message).

Dates are in November 2026 (no public holidays); a complaint has 7 working days.
"""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from conftest import at
from massline.core import clock
from massline.core.models import Event
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, ExtensionRequest, ReturnRequest, State
from massline.demands.sweep import sweep
from massline.directory.models import Responsibility

pytestmark = pytest.mark.django_db

MON = at(2026, 11, 2, 9, 30)
LATER = at(2026, 11, 13, 10, 0)  # past a complaint's 7 working days from Monday 2
CJK = re.compile(r"[\u4e00-\u9fff]")
HX = {"HTTP_HX_REQUEST": "true"}
PAGES = {"returns": "/work/returns/", "supervisor": "/work/supervise/", "leader": "/work/leader/",
         "reports": "/work/reports/", "search": "/work/search/"}
ANSWER = "经核实，北门路灯因线路老化损坏，维修人员已于今日下午更换线路和灯具，现已恢复正常照明。"


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


def receive(city, *, at_=MON, grid=0, category="市政设施", by="intake", **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title="小区门口路灯不亮",
                content="花园社区北门路灯已经坏了一周，晚上很黑。",
                category_id=city.categories[category].pk if category else None,
                place_id=city.grids[grid].pk, name="陈女士", phone="13800001234")
    data.update(kw)
    with clock.frozen(at_):
        d, _ = services.receive(IntakeData(**data), city.users[by])
    return d


def dispatched(city, unit="housing", **kw) -> Demand:
    d = receive(city, **kw)
    with clock.frozen(kw.get("at_", MON)):
        return services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units[unit].pk)


def as_(client, city, name):
    client.force_login(city.users[name])
    return client


def text(r) -> str:
    return r.content.decode()


def workbook_rows(r) -> list[list]:
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content), read_only=True).active
    return [list(row) for row in ws.iter_rows(values_only=True)]


# --- who may open what ----------------------------------------------------------------------------------------

ALLOWED = {
    "returns": {"dispatcher", "admin"},
    "supervisor": {"supervisor", "supervisor_street2", "admin"},
    "leader": {"leader", "admin"},
    "reports": {"discipline"},
    "search": {"intake", "dispatcher", "handler_city", "supervisor", "leader", "discipline", "admin"},
}


def test_every_page_needs_a_login_and_the_role(client, city):
    for url in PAGES.values():
        r = client.get(url)
        assert r.status_code == 302 and r["Location"] == f"/login/?next={url}"
    for name in ("nobody", "citizen", "handler_city", "intake", "dispatcher", "supervisor", "leader", "discipline",
                 "admin"):
        as_(client, city, name)
        for page, url in PAGES.items():
            r = client.get(url)
            if name in ALLOWED[page]:
                assert r.status_code == 200, (name, page)
            else:
                assert r.status_code == 403, (name, page)
                assert "没有权限" in text(r)
        client.logout()


def test_every_action_needs_a_login_and_the_role(client, city):
    d = dispatched(city)
    actions = {
        f"/work/returns/{d.pk}/uphold/": {"dispatcher", "admin"},
        f"/work/returns/{d.pk}/overrule/": {"dispatcher", "admin"},
        f"/work/supervise/{d.pk}/urge/": {"supervisor", "leader", "admin"},
        f"/work/supervise/{d.pk}/supervise/": {"supervisor", "leader", "admin"},
        f"/work/supervise/{d.pk}/extension/": {"supervisor", "dispatcher", "admin"},
    }
    for url in actions:
        r = client.post(url, {"note": "请尽快办理"})
        assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    for name in ("nobody", "handler_housing", "discipline", "intake"):
        as_(client, city, name)
        for url, allowed in actions.items():
            assert name not in allowed
            r = client.post(url, {"note": "请尽快办理"}, **HX)
            assert r.status_code == 403 and "没有权限" in text(r), (name, url)
    assert not Event.objects.filter(chain=d.chain, action__in=["urge", "supervise"]).exists()


# --- return rulings (退单审核) ---------------------------------------------------------------------------------

def returned(city, suggested="city") -> Demand:
    d = dispatched(city)
    entry = Responsibility.objects.filter(category=city.categories["市政设施"], area=city.streets[0]).first()
    with clock.frozen(MON):
        services.request_return(d.pk, city.users["handler_housing"], reason="路灯属于市政设施，不归住建委管理",
                                cited_item="物业服务监管", cited_entry_id=entry.pk,
                                suggested_unit_id=city.units[suggested].pk if suggested else None)
    return d


def test_returns_lists_pending_requests_with_reason_and_cited_item(client, city):
    d = returned(city)
    other = dispatched(city, title="路面坑洼")
    as_(client, city, "dispatcher")
    html = text(client.get(PAGES["returns"]))
    assert d.code in html and other.code not in html
    assert "路灯属于市政设施，不归住建委管理" in html and "所引清单事项：物业服务监管" in html
    assert "权责清单条目：市政设施 → 东城街道" in html
    assert "区住房和城乡建设委员会" in html and "改派给区城市管理委员会" in html


def test_uphold_redispatches_to_the_suggested_unit(client, city):
    d = returned(city)
    as_(client, city, "dispatcher")
    with clock.frozen(MON):
        r = client.post(f"/work/returns/{d.pk}/uphold/", {}, **HX)
    assert r.status_code == 200
    assert f'id="ret-{d.pk}"' in text(r) and "已同意退单" in text(r) and "改派给 区城市管理委员会" in text(r)
    d.refresh_from_db()
    assert d.state == State.DISPATCHED and d.lead_unit == city.units["city"]
    assert ReturnRequest.objects.get(demand=d).status == ReturnRequest.Status.UPHELD
    assert d.code not in text(client.get(PAGES["returns"]))


def test_uphold_to_a_unit_of_the_dispatchers_choice(client, city):
    d = returned(city, suggested=None)
    as_(client, city, "dispatcher")
    form = client.get(f"/work/returns/{d.pk}/uphold/", **HX)
    assert form.status_code == 200 and "<html" not in text(form) and 'name="lead_unit"' in text(form)
    assert "<html" in text(client.get(f"/work/returns/{d.pk}/uphold/"))  # a page without htmx
    with clock.frozen(MON):
        r = client.post(f"/work/returns/{d.pk}/uphold/", {"lead_unit": city.units["water"].pk,
                                                          "co_units": [city.units["power"].pk], "note": "供水问题"})
    assert r.status_code == 302 and r["Location"] == PAGES["returns"]
    d.refresh_from_db()
    assert d.lead_unit == city.units["water"]
    assert list(d.units.filter(active=True, role="co").values_list("unit_id", flat=True)) == [city.units["power"].pk]
    msgs = [m.message for m in r.wsgi_request._messages]
    assert msgs == ["已同意退单，" + d.code + " 改派给 区自来水公司"]


def test_uphold_to_the_same_unit_and_overrule_without_a_reason_are_refused(client, city):
    d = returned(city)
    as_(client, city, "dispatcher")
    r = client.post(f"/work/returns/{d.pk}/uphold/", {"lead_unit": city.units["housing"].pk}, **HX)
    assert r.status_code == 400 and "须改派给其他单位" in text(r) and 'role="alert"' in text(r)
    r = client.post(f"/work/returns/{d.pk}/overrule/", {"note": ""}, **HX)
    assert r.status_code == 400 and "驳回退单须写明理由" in text(r)
    assert f'id="ret-{d.pk}"' in text(r)  # the row stays, with the reason next to its controls
    r = client.post(f"/work/returns/{d.pk}/overrule/", {"note": ""}, follow=True)
    assert "驳回退单须写明理由" in text(r)
    assert Demand.objects.get(pk=d.pk).state == State.RETURN_REQUESTED


def test_overrule_sends_it_back_and_admin_may_not_rule(client, city):
    d = returned(city)
    as_(client, city, "admin")
    html = text(client.get(PAGES["returns"]))
    assert d.code in html and "只读" in html and "驳回理由" not in html  # looked over, no controls it would refuse
    r = client.post(f"/work/returns/{d.pk}/overrule/", {"note": "路灯在小区内，属物业管理"}, **HX)
    assert r.status_code == 403 and "只有派单员可以驳回退单" in text(r)
    as_(client, city, "dispatcher")
    with clock.frozen(MON):
        r = client.post(f"/work/returns/{d.pk}/overrule/", {"note": "路灯在小区内，属物业管理"}, **HX)
    assert r.status_code == 200 and "已驳回退单" in text(r) and "退回 区住房和城乡建设委员会" in text(r)
    d.refresh_from_db()
    assert d.state == State.DISPATCHED and d.lead_unit == city.units["housing"]
    r = client.post(f"/work/returns/{d.pk}/overrule/", {"note": "路灯在小区内，属物业管理"}, **HX)
    assert r.status_code == 409 and "不能驳回退单" in text(r)


# --- the supervisor's desk ------------------------------------------------------------------------------------

def test_supervisor_sees_overdue_and_supervised_in_scope_only(client, city):
    east = dispatched(city, grid=0)                      # street 1 (东城)
    west = dispatched(city, grid=4, unit="city")         # street 2 (西城)
    fresh = dispatched(city, grid=4, unit="city", at_=at(2026, 11, 12, 9, 30), title="新的路灯问题")
    with clock.frozen(LATER):
        sweep(LATER)
    for d in (east, west):
        d.refresh_from_db()
        assert d.overdue and d.supervision >= 1
    as_(client, city, "supervisor")
    with clock.frozen(LATER):
        html = text(client.get(PAGES["supervisor"]))
    assert east.code in html and west.code in html and fresh.code not in html
    assert "已超期" in html and 'aria-current="page"' in html
    as_(client, city, "supervisor_street2")
    with clock.frozen(LATER):
        html = text(client.get(PAGES["supervisor"]))
        assert west.code in html and east.code not in html
        html = text(client.get(PAGES["supervisor"] + "?tab=supervised"))
    assert east.code not in html
    # a street-2 supervisor cannot act on a street-1 demand either
    r = client.post(f"/work/supervise/{east.pk}/urge/", {"note": "请尽快办理"}, **HX)
    assert r.status_code == 404 and CJK.search(text(r))
    r = client.get(PAGES["supervisor"] + "?tab=overdue&format=xlsx")
    codes = [row[0] for row in workbook_rows(r)[1:]]
    assert codes == [west.code]


def test_urge_and_supervise_from_the_supervisors_desk(client, city):
    d = dispatched(city)
    as_(client, city, "supervisor")
    with clock.frozen(MON):
        r = client.post(f"/work/supervise/{d.pk}/urge/", {"note": "", "desk": "supervisor"}, **HX)
        assert r.status_code == 400 and "催办须写明要求" in text(r) and f'id="sup-{d.pk}"' in text(r)
        r = client.post(f"/work/supervise/{d.pk}/urge/", {"note": "请明日答复群众", "desk": "supervisor"}, **HX)
        assert r.status_code == 200 and f"已催办 {d.code}" in text(r)
        assert Event.objects.get(chain=d.chain, action="urge").reason == "请明日答复群众"
        r = client.post(f"/work/supervise/{d.pk}/supervise/", {"note": "限期办结", "level": "1"}, **HX)
        assert r.status_code == 200 and f"已对 {d.code} 督办" in text(r) and "badge warn\">督办" in text(r)
        r = client.post(f"/work/supervise/{d.pk}/supervise/", {"note": "再督办", "level": "1"}, **HX)
        assert r.status_code == 409 and "已在该级别督办" in text(r)
        # listed supervision is a leader's
        r = client.post(f"/work/supervise/{d.pk}/supervise/", {"note": "挂牌", "level": "2"}, **HX)
        assert r.status_code == 403 and "挂牌督办" in text(r) and "只有" in text(r)
        # plain: back to the tab it came from, with the message
        r = client.post(f"/work/supervise/{d.pk}/urge/", {"note": "再次催办", "next": "/work/supervise/?tab=supervised"})
    assert r.status_code == 302 and r["Location"] == "/work/supervise/?tab=supervised"
    assert [m.message for m in r.wsgi_request._messages] == [f"已催办 {d.code}，已通知承办单位"]
    d.refresh_from_db()
    assert d.supervision == 1
    html = text(client.get(PAGES["supervisor"] + "?tab=supervised"))
    assert d.code in html


def test_extension_requests_are_decided_on_the_desk(client, city):
    d = dispatched(city)
    with clock.frozen(MON):
        services.sign(d.pk, city.users["handler_housing"])
        services.request_extension(d.pk, city.users["handler_housing"], working_days=3, reason="需要等待维修配件")
    as_(client, city, "supervisor")
    html = text(client.get(PAGES["supervisor"] + "?tab=extensions"))
    assert d.code in html and "需要等待维修配件" in html and "延期 3 个工作日" in html
    with clock.frozen(MON):
        r = client.post(f"/work/supervise/{d.pk}/extension/", {"approve": "0", "note": ""}, **HX)
        assert r.status_code == 400 and "不批准延期须写明理由" in text(r) and f'id="ext-{d.pk}"' in text(r)
        r = client.post(f"/work/supervise/{d.pk}/extension/", {"note": "同意"}, **HX)
        assert r.status_code == 400 and "请选择批准或不批准" in text(r)
        r = client.post(f"/work/supervise/{d.pk}/extension/", {"approve": "1", "note": "同意"}, **HX)
    assert r.status_code == 200 and "已批准" in text(r) and "新的办理时限" in text(r)
    assert ExtensionRequest.objects.get(demand=d).status == ExtensionRequest.Status.APPROVED
    assert d.code not in text(client.get(PAGES["supervisor"] + "?tab=extensions"))


def test_replied_demands_are_listed_for_review(client, city):
    d = dispatched(city)
    with clock.frozen(MON):
        services.sign(d.pk, city.users["handler_housing"])
        services.reply(d.pk, city.users["handler_housing"], text=ANSWER)
    as_(client, city, "supervisor")
    html = text(client.get(PAGES["supervisor"] + "?tab=replied"))
    assert d.code in html and "维修人员已于今日下午更换线路" in html
    assert d.code not in text(client.get(PAGES["supervisor"] + "?tab=overdue"))


# --- the leader's desk ------------------------------------------------------------------------------------------

def test_leader_lists_supervision_and_summarises_the_area(client, city):
    late = dispatched(city)
    early = receive(city, at_=at(2026, 10, 28, 10))  # last month
    closed = dispatched(city, title="路面坑洼", at_=at(2026, 11, 3, 10))
    with clock.frozen(at(2026, 11, 3, 11)):
        services.sign(closed.pk, city.users["handler_housing"])
        services.reply(closed.pk, city.users["handler_housing"], text=ANSWER)
        services.callback(closed.pk, city.users["intake"], resolved=True, satisfaction="satisfied")
    report = receive(city, type="report", title="举报科长", content="某科长收受好处费。", category=None)
    with clock.frozen(LATER):
        sweep(LATER)
    as_(client, city, "leader")
    with clock.frozen(LATER):
        html = text(client.get(PAGES["leader"]))
        assert "2026年11月" in html
        summary = client.get(PAGES["leader"]).context["summary"]
        assert (summary.received_month, summary.closed_month, summary.overdue) == (2, 1, 1)
        assert (summary.rated_month, summary.satisfied_month, summary.satisfaction_rate) == (1, 1, 1.0)
        assert summary.total == 3 and report.code not in html  # reports are discipline's only
        assert dict((k, n) for k, _, n in summary.by_state) == {"received": 1, "dispatched": 1, "closed": 1}
        assert "100%" in html and early.code not in html
        # listed supervision: the sweep lists it only later; the leader lists it now
        html = text(client.get(PAGES["leader"] + "?tab=overdue"))
        assert late.code in html and "挂牌督办" in html
        r = client.post(f"/work/supervise/{late.pk}/supervise/",
                        {"note": "限三日内办结", "level": "2", "desk": "leader", "next": "/work/leader/?tab=overdue"})
    assert r.status_code == 302 and r["Location"] == "/work/leader/?tab=overdue"
    late.refresh_from_db()
    assert late.supervision == 2 and late.listed_at is not None
    html = text(client.get(PAGES["leader"] + "?tab=listed"))
    assert late.code in html
    rows = workbook_rows(client.get(PAGES["leader"] + "?tab=listed&format=xlsx"))
    assert [r[0] for r in rows[1:]] == [late.code] and rows[1][17] == "挂牌督办"


# --- whistle-blowing reports ------------------------------------------------------------------------------------

def test_reports_only_for_discipline_and_in_its_export_only(client, city):
    report = receive(city, type="report", title="举报某科长吃拿卡要", content="某科长办事要好处费。", category=None,
                     reported_person="王科长")
    plain = receive(city, title="路灯不亮二")
    as_(client, city, "discipline")
    html = text(client.get(PAGES["reports"]))
    assert report.code in html and "王科长" in html and plain.code not in html
    rows = workbook_rows(client.get(PAGES["reports"] + "?format=xlsx"))
    assert [r[0] for r in rows[1:]] == [report.code]
    rows = workbook_rows(client.get(PAGES["search"] + "?format=xlsx"))
    assert [r[0] for r in rows[1:]] == [report.code]  # discipline's search: reports only
    for name in ("supervisor", "leader", "dispatcher", "intake"):
        as_(client, city, name)
        assert client.get(PAGES["reports"]).status_code == 403
        codes = [r[0] for r in workbook_rows(client.get(PAGES["search"] + "?format=xlsx"))[1:]]
        assert plain.code in codes and report.code not in codes, name
        html = text(client.get(PAGES["search"] + "?q=好处费"))
        assert report.code not in html


# --- search and export --------------------------------------------------------------------------------------------

def test_search_by_each_filter(client, city):
    a = dispatched(city, title="北门路灯不亮", phone="13911112222", channel="web", at_=at(2026, 11, 2, 9, 30))
    b = receive(city, title="工地夜间施工噪音", content="夜里施工太吵", category="施工噪音", type="help",
                phone="13700003333", at_=at(2026, 11, 5, 10), grid=4)
    c = dispatched(city, unit="city", title="广场路灯闪烁", at_=at(2026, 11, 4, 10), grid=4)
    Demand.objects.filter(pk=c.pk).update(overdue=True, supervision=2)
    as_(client, city, "supervisor")

    def found(**params) -> set[str]:
        r = client.get(PAGES["search"], params)
        assert r.status_code == 200, text(r)
        return {d.code for d, _ in r.context["rows"]}

    assert found() == {a.code, b.code, c.code}
    assert found(code=b.code.lower()) == {b.code}
    assert found(phone="13911112222") == {a.code}
    assert found(q="噪音") == {b.code}
    assert found(q="路灯") == {a.code, c.code}
    assert found(unit=city.units["city"].pk) == {c.code}
    assert found(state="received") == {b.code}
    assert found(type="help") == {b.code}
    assert found(channel="web") == {a.code}
    assert found(date_from="2026-11-04") == {b.code, c.code}
    assert found(date_from="2026-11-03", date_to="2026-11-04") == {c.code}
    assert found(overdue="1") == {c.code}
    assert found(overdue="0") == {a.code, b.code}
    assert found(supervision="2") == {c.code}
    assert found(q="路灯", unit=city.units["housing"].pk) == {a.code}
    # the export holds the whole filtered result, not just the page
    rows = workbook_rows(client.get(PAGES["search"], {"q": "路灯", "format": "xlsx"}))
    assert rows[0][:3] == ["编号", "渠道", "类型"] and {r[0] for r in rows[1:]} == {a.code, c.code}
    # a street-2 supervisor finds street-2 demands only
    as_(client, city, "supervisor_street2")
    assert found() == {b.code, c.code}
    assert found(phone="13911112222") == set()


def test_search_refuses_bad_criteria_in_chinese_and_answers_htmx_with_the_results_only(client, city):
    d = receive(city)
    as_(client, city, "intake")
    r = client.get(PAGES["search"], {"date_from": "2026-11-05", "date_to": "2026-11-01"})
    assert r.status_code == 400 and "开始日期不能晚于结束日期" in text(r)
    r = client.get(PAGES["search"], {"date_from": "昨天"})
    assert r.status_code == 400 and "日期格式应为" in text(r)
    r = client.get(PAGES["search"], {"state": "nonsense"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-results")
    assert r.status_code == 400 and "<html" not in text(r) and "查询条件有误" in text(r) and 'role="alert"' in text(r)
    r = client.get(PAGES["search"], {"code": d.code}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="search-results")
    assert r.status_code == 200 and "<html" not in text(r) and d.code in text(r) and "导出 Excel（全部 1 件）" in text(r)


def test_search_paginates(client, city):
    for i in range(27):
        receive(city, title=f"路灯问题第{i}件", at_=at(2026, 11, 2, 9, i))
    as_(client, city, "intake")
    r = client.get(PAGES["search"], {"q": "路灯问题"})
    assert len(r.context["rows"]) == 25 and "第 1 / 2 页，共 27 条" in text(r)
    assert "?q=%E8%B7%AF%E7%81%AF%E9%97%AE%E9%A2%98&page=2" in text(r)
    r = client.get(PAGES["search"], {"q": "路灯问题", "page": "2"})
    assert len(r.context["rows"]) == 2
    assert len(workbook_rows(client.get(PAGES["search"], {"q": "路灯问题", "format": "xlsx"}))) == 28


def test_phones_are_masked_unless_the_role_may_see_identity(client, city):
    named = receive(city, phone="13911112222", title="路灯问题甲")
    secret = receive(city, phone="13622223333", identity="confidential", name="李先生", title="路灯问题乙")
    as_(client, city, "dispatcher")
    rows = {r[0]: r for r in workbook_rows(client.get(PAGES["search"], {"q": "路灯问题", "format": "xlsx"}))[1:]}
    assert rows[named.code][5:7] == ["陈女士", "139****2222"]
    assert rows[secret.code][5:7] == ["（保密）", None] or rows[secret.code][5:7] == ["（保密）", ""]
    html = text(client.get(PAGES["search"], {"q": "路灯问题"}))
    assert "139****2222" in html and "13911112222" not in html and "13622223333" not in html
    assert "李先生" not in html
    # a confidential person's phone does not find the demand for a role that may not know them
    assert client.get(PAGES["search"], {"phone": "13622223333"}).context["rows"] == []
    as_(client, city, "supervisor")
    rows = {r[0]: r for r in workbook_rows(client.get(PAGES["search"], {"q": "路灯问题", "format": "xlsx"}))[1:]}
    assert rows[named.code][6] == "13911112222" and rows[secret.code][5:7] == ["李先生", "13622223333"]
    assert [d.code for d, _ in client.get(PAGES["search"], {"phone": "13622223333"}).context["rows"]] == [secret.code]
