"""The demand page and its actions, and the handler's desk: who may open them (login, role, object-level
visibility as 404), every action through the page with htmx and without, refusals in Chinese with their
status, the queues per tab at chosen moments, working time left, one-key sign and the Excel export."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from conftest import at
from massline.core import clock
from massline.core.models import Event
from massline.demands import hooks, queries, services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, ExtensionRequest, ReturnRequest, State

pytestmark = pytest.mark.django_db

T0 = at(2026, 11, 2, 9, 30)  # a Monday; 7 working days (7 h a day) → due 2026-11-11 09:30, warning 11-09 15:12
CJK = re.compile(r"[\u4e00-\u9fff]")
HX = {"HTTP_HX_REQUEST": "true"}
GOOD_REPLY = "已安排维修人员于今日下午更换北门路灯灯泡并检修线路，现已恢复照明，欢迎继续监督。"


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(T0):
        yield


def raise_(city, **kw) -> Demand:
    data = dict(channel="hotline", type="complaint", title="小区门口路灯不亮", content="花园社区北门路灯已经坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    d, _ = services.receive(IntakeData(**data), city.users["intake"])
    return d


def dispatched(city, **kw) -> Demand:
    """Dispatched by the responsibility list: 市政设施 in street 1 → 东城街道 (handler_street1)."""
    d = raise_(city, **kw)
    return services.dispatch(d.pk, city.users["dispatcher"])


def signed(city, **kw) -> Demand:
    d = dispatched(city, **kw)
    return services.sign(d.pk, city.users["handler_street1"])


def url(d: Demand, action: str = "") -> str:
    return f"/work/d/{d.pk}/" + (f"{action}/" if action else "")


def state(d: Demand) -> str:
    return Demand.objects.values_list("state", flat=True).get(pk=d.pk)


def post(client, user, d, action, data=None, htmx=False):
    client.force_login(user)
    data = {f"{action}-{k}": v for k, v in (data or {}).items()}
    return client.post(url(d, action), data, **(HX if htmx else {}))


# --- who may open the page ----------------------------------------------------------------------------

def test_the_demand_page_needs_a_login_and_a_staff_role(client, city):
    d = dispatched(city)
    r = client.get(url(d))
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    for name in ("nobody", "citizen"):
        client.force_login(city.users[name])
        assert client.get(url(d)).status_code == 403
    r = client.post(url(d, "sign"))
    assert r.status_code == 403
    client.logout()
    r = client.post(url(d, "sign"))
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    assert state(d) == State.DISPATCHED


def test_a_demand_the_user_may_not_see_is_not_found(client, city):
    d = dispatched(city)
    client.force_login(city.users["handler_water"])  # another unit's handler
    assert client.get(url(d)).status_code == 404
    assert client.post(url(d, "sign")).status_code == 404
    r = client.post(url(d, "sign"), **HX)
    assert r.status_code == 404 and "诉求不存在或您无权查看" in r.content.decode() and "<html" not in r.content.decode()
    assert client.get("/work/d/99999999/").status_code == 404
    assert state(d) == State.DISPATCHED


def test_a_whistle_blowing_report_stays_invisible_to_everyone_but_discipline(client, city):
    rep = raise_(city, type="report", title="举报某科长收受好处", content="某科长在审批中收受好处，有转账记录为证。",
                 reported_person="某科长")
    for name in ("supervisor", "leader", "dispatcher", "handler_street1", "admin"):
        client.force_login(city.users[name])
        assert client.get(url(rep)).status_code == 404, name
    client.force_login(city.users["discipline"])
    r = client.get(url(rep))
    assert r.status_code == 200 and "举报某科长收受好处" in r.content.decode()


# --- the page -------------------------------------------------------------------------------------------

def test_the_page_shows_facts_timeline_and_only_the_allowed_actions(client, city):
    d = dispatched(city)
    client.force_login(city.users["handler_street1"])
    html = client.get(url(d)).content.decode()
    assert d.code in html and "状态：已派单" in html and "剩余 7 个工作日" in html
    assert "东城街道" in html and "城乡建设/城市建设和市政管理/市政设施" in html
    assert "陈女士" in html and "13800001234" in html  # a named person: the handler may call them back
    # the timeline in Chinese, with who did it
    assert "登记" in html and "派单" in html and "派单员小李" in html
    # the handler's panel: sign and return; no supervisor's or dispatcher's actions
    assert f'action="{url(d, "sign")}"' in html and f'action="{url(d, "request_return")}"' in html
    for other in ("urge", "supervise", "dispatch", "certify_close", "reply"):
        assert f'action="{url(d, other)}"' not in html, other
    # every field has its label
    assert 'for="id_request_return-reason"' in html and 'id="id_request_return-reason"' in html
    client.force_login(city.users["supervisor"])
    html = client.get(url(d)).content.decode()
    assert f'action="{url(d, "urge")}"' in html and f'action="{url(d, "sign")}"' not in html


def test_a_confidential_person_is_hidden_from_the_handler_but_not_from_the_supervisor(client, city):
    d = dispatched(city, identity="confidential", name="保密的李先生", phone="13900005678")
    client.force_login(city.users["handler_street1"])
    html = client.get(url(d)).content.decode()
    assert "保密的李先生" not in html and "13900005678" not in html and "（保密）" in html
    client.force_login(city.users["supervisor"])
    html = client.get(url(d)).content.decode()
    assert "保密的李先生" in html


def _person_fact(html: str) -> str:
    dd = re.search(r"<dt>诉求人</dt><dd>(.*?)</dd>", html, re.S).group(1)
    return re.sub(r"<[^>]+>", "", dd)


def test_the_person_is_named_once_with_what_the_viewer_may_know(client, city):
    """A hidden identity says so once, and how to reach the person; a visible one shows name, phone, identity."""
    hidden = dispatched(city, identity="confidential", name="保密的李先生", phone="13900005678")
    anonymous = dispatched(city, identity="anonymous", name="", phone="")
    client.force_login(city.users["handler_street1"])
    assert _person_fact(client.get(url(hidden)).content.decode()) == "（保密） （姓名和电话对您保密，需要联系时请受理员转达）"
    assert _person_fact(client.get(url(anonymous)).content.decode()) == "匿名 （未留姓名和电话）"
    client.force_login(city.users["supervisor"])
    assert _person_fact(client.get(url(hidden)).content.decode()) == "保密的李先生　13900005678 （保密）"


def test_the_timeline_names_a_web_submitter_without_repeating_the_role(client, city):
    data = dict(channel="web", type="complaint", title="小区门口路灯不亮", content="花园社区北门路灯已经坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, phone="13800001234")
    d, _ = services.receive(IntakeData(**data), None)  # from the public page, without a login
    d = services.dispatch(d.pk, city.users["dispatcher"])
    client.force_login(city.users["handler_street1"])
    html = client.get(url(d)).content.decode()
    assert "群众（网上提交）" in html and "群众（网上提交）（群众）" not in html
    assert "派单员小李（派单员）" in html  # a person's name and role are both said


# --- actions: htmx and plain, success and refusal ------------------------------------------------------

def test_sign_with_htmx_returns_the_panel_with_the_result_and_refreshed_facts(client, city):
    d = dispatched(city)
    r = post(client, city.users["handler_street1"], d, "sign", htmx=True)
    assert r.status_code == 200
    assert r["HX-Retarget"] == "#demand-actions" and r["HX-Reswap"] == "outerHTML"
    html = r.content.decode()
    assert "已签收。诉求当前状态：已签收" in html and 'class="result ok"' in html
    assert 'id="demand-facts"' in html and 'id="demand-timeline"' in html and html.count('hx-swap-oob="true"') == 2
    assert "状态：已签收" in html
    # the panel now offers the next steps, and sign no more
    assert f'action="{url(d, "start")}"' in html and f'action="{url(d, "sign")}"' not in html
    assert state(d) == State.SIGNED
    assert Event.objects.filter(chain=d.chain, action="sign").count() == 1


def test_sign_without_javascript_redirects_back_with_a_message(client, city):
    d = dispatched(city)
    r = post(client, city.users["handler_street1"], d, "sign")
    assert r.status_code == 302 and r["Location"] == url(d)
    html = client.get(r["Location"]).content.decode()
    assert "已签收" in html and 'class="msg' in html
    assert state(d) == State.SIGNED


def test_an_action_in_the_wrong_state_is_refused_in_chinese_with_409(client, city):
    d = signed(city)
    handler = city.users["handler_street1"]
    r = post(client, handler, d, "sign", htmx=True)
    assert r.status_code == 409
    html = r.content.decode()
    assert "不能签收" in html and 'data-code="invalid_transition"' in html and 'class="result err"' in html
    assert 'id="demand-actions"' not in html  # only the message, next to the control: typed text stays
    r = post(client, handler, d, "sign")
    assert r.status_code == 409
    html = r.content.decode()
    assert "诉求当前状态为“已签收”，不能签收" in html and 'id="demand-actions"' in html
    assert Event.objects.filter(chain=d.chain, action="sign").count() == 1


def test_an_action_the_role_does_not_allow_is_refused_with_403(client, city):
    d = dispatched(city)
    r = post(client, city.users["supervisor"], d, "sign", htmx=True)
    assert r.status_code == 403 and "只有承办人可以签收" in r.content.decode()
    assert state(d) == State.DISPATCHED


def test_a_reply_that_only_passes_the_matter_on_is_refused_and_the_text_kept(client, city):
    d = signed(city)
    handler = city.users["handler_street1"]
    post(client, handler, d, "start")
    r = post(client, handler, d, "reply", {"text": "已转相关部门处理", "public": "on"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "不能只写“已转相关部门处理”" in html
    assert "已转相关部门处理</textarea>" in html  # the form comes back with what was typed, open
    r = post(client, handler, d, "reply", {"text": ""}, htmx=True)
    assert r.status_code == 400 and "请按提示修改后再提交" in r.content.decode()
    assert "答复内容" in r.content.decode()  # the field named in the refusal
    assert state(d) == State.IN_PROGRESS


def test_the_handler_works_a_demand_through_the_page(client, city):
    d = signed(city)
    h = city.users["handler_street1"]
    assert post(client, h, d, "start", {"note": "已联系社区"}, htmx=True).status_code == 200
    r = post(client, h, d, "note", {"text": "现场查看，灯泡损坏"}, htmx=True)
    assert r.status_code == 200 and "办理记录已保存" in r.content.decode()
    r = post(client, h, d, "request_extension", {"working_days": "3", "reason": "需要采购灯具配件"}, htmx=True)
    assert r.status_code == 200 and ExtensionRequest.objects.filter(demand=d, status="pending").exists()
    assert post(client, h, d, "suspend", {"reason": "等待诉求人补充具体位置"}).status_code == 302
    assert state(d) == State.SUSPENDED
    html = client.get(url(d)).content.decode()
    assert "已挂起，时限暂停" in html
    assert post(client, h, d, "resume", {"note": "已补充"}).status_code == 302
    assert state(d) == State.IN_PROGRESS
    r = post(client, h, d, "reply", {"text": GOOD_REPLY, "public": "on"}, htmx=True)
    assert r.status_code == 200 and "答复已发送" in r.content.decode()
    assert state(d) == State.REPLIED
    html = client.get(url(d)).content.decode()
    assert GOOD_REPLY in html
    # the operator records the callback: dissatisfied → reopened
    r = post(client, city.users["intake"], d, "callback",
             {"resolved": "0", "satisfaction": "dissatisfied", "comment": "灯还是不亮"}, htmx=True)
    assert r.status_code == 200 and "诉求当前状态：重办" in r.content.decode()
    actions = list(Event.objects.filter(chain=d.chain).values_list("action", flat=True))
    assert actions[-7:] == ["start", "note", "request_extension", "suspend", "resume", "reply", "callback"]


def test_the_reply_says_whether_the_person_was_texted(client, city):
    """Only a person who left a phone number (and is not anonymous) gets the text message the result speaks of."""
    h = city.users["handler_street1"]
    named, anonymous = signed(city), signed(city, identity="anonymous", name="", phone="")
    html = post(client, h, named, "reply", {"text": GOOD_REPLY}, htmx=True).content.decode()
    assert "已短信告知群众" in html and "收不到短信" not in html
    html = post(client, h, anonymous, "reply", {"text": GOOD_REPLY}, htmx=True).content.decode()
    assert "收不到短信" in html and "已短信告知群众" not in html
    assert state(named) == state(anonymous) == State.REPLIED


def test_the_supervisor_urges_supervises_decides_an_extension_and_closes(client, city):
    d = signed(city)
    services.request_extension(d.pk, city.users["handler_street1"], working_days=2, reason="需要协调物业")
    s = city.users["supervisor"]
    client.force_login(s)
    html = client.get(url(d)).content.decode()
    assert "延期待审批" in html and f'action="{url(d, "decide_extension")}"' in html
    assert post(client, s, d, "urge", {"note": "请尽快办理"}, htmx=True).status_code == 200
    r = post(client, s, d, "supervise", {"note": "列入督办"}, htmx=True)
    assert r.status_code == 200 and "已督办" in r.content.decode()
    assert Demand.objects.get(pk=d.pk).supervision == 1
    r = post(client, s, d, "decide_extension", {"approve": "0", "note": ""}, htmx=True)
    assert r.status_code == 400 and "不批准延期须写明理由" in r.content.decode()
    r = post(client, s, d, "decide_extension", {"approve": "1", "note": "同意"}, htmx=True)
    assert r.status_code == 200
    assert ExtensionRequest.objects.get(demand=d).status == "approved"
    assert Demand.objects.get(pk=d.pk).due_at == at(2026, 11, 13, 9, 30)
    r = post(client, s, d, "certify_close", {"reason": "依法依规已办理到位", "exclude": "on"})
    assert r.status_code == 302 and state(d) == State.CLOSED
    assert Demand.objects.get(pk=d.pk).excluded


def test_the_dispatcher_accepts_dispatches_to_a_chosen_unit_and_rules_on_a_return(client, city):
    d = raise_(city)
    disp = city.users["dispatcher"]
    assert post(client, disp, d, "accept", {"restatement": "北门路灯坏了"}, htmx=True).status_code == 200
    assert state(d) == State.ACCEPTED
    r = post(client, disp, d, "dispatch", {"lead_unit": city.units["city"].pk, "note": "城管委负责"}, htmx=True)
    assert r.status_code == 200 and "已派单" in r.content.decode()
    d = Demand.objects.get(pk=d.pk)
    assert d.lead_unit == city.units["city"] and d.state == State.DISPATCHED
    r = post(client, city.users["handler_city"], d, "request_return",
             {"reason": "属于街道属地管理事项", "cited_item": "街巷市政设施属地管理",
              "suggested_unit": city.streets[0].pk}, htmx=True)
    assert r.status_code == 200 and state(d) == State.RETURN_REQUESTED
    r = post(client, disp, d, "overrule_return", {"note": "主干道路灯归城管委"}, htmx=True)
    assert r.status_code == 200 and state(d) == State.DISPATCHED
    services.request_return(d.pk, city.users["handler_city"], reason="属于街道属地管理事项", cited_item="街巷市政设施属地管理",
                            suggested_unit_id=city.streets[0].pk)
    r = post(client, disp, d, "uphold_return", {"note": "同意改派街道"})
    assert r.status_code == 302
    d = Demand.objects.get(pk=d.pk)
    assert d.lead_unit == city.streets[0] and d.state == State.DISPATCHED
    assert list(ReturnRequest.objects.filter(demand=d).values_list("status", flat=True).order_by("pk")) == [
        "overruled", "upheld"]


def test_reject_withdraw_and_merge(client, city):
    intake, disp = city.users["intake"], city.users["dispatcher"]
    a, b, c = raise_(city), raise_(city), raise_(city)
    r = post(client, intake, a, "reject", {"reason": "不属于受理范围"}, htmx=True)
    assert r.status_code == 200 and state(a) == State.REJECTED
    r = post(client, intake, b, "withdraw", {"reason": "群众来电撤回"}, htmx=True)
    assert r.status_code == 200 and state(b) == State.WITHDRAWN
    d = raise_(city)
    r = post(client, disp, c, "merge", {"into": "NOPE-CODE"}, htmx=True)
    assert r.status_code == 404 and "主诉求不存在或您无权查看" in r.content.decode()
    r = post(client, disp, c, "merge", {"into": d.code.lower(), "note": "同一路灯"}, htmx=True)
    assert r.status_code == 200 and state(c) == State.MERGED
    assert Demand.objects.get(pk=c.pk).merged_into_id == d.pk


def test_a_co_handling_unit_gives_its_opinion_and_may_not_reply(client, city):
    d = raise_(city, category_id=city.categories["停水停电"].pk, title="停水三天", content="幸福社区停水三天了，没有通知。")
    d = services.dispatch(d.pk, city.users["dispatcher"])  # water leads, power co-handles
    power = city.users["handler_power"]
    client.force_login(power)
    html = client.get(url(d)).content.decode()
    assert f'action="{url(d, "co_note")}"' in html
    assert f'action="{url(d, "sign")}"' not in html and f'action="{url(d, "request_return")}"' not in html
    r = post(client, power, d, "co_note", {"text": "供电线路正常，配合排查"}, htmx=True)
    assert r.status_code == 200 and "协办意见已提交" in r.content.decode()
    assert post(client, power, d, "sign", htmx=True).status_code == 403
    assert d in queries.handler_queue(power, "co")


def test_reply_checks_show_warnings_before_sending(client, city, monkeypatch):
    d = signed(city)
    client.force_login(city.users["handler_street1"])
    check = f"/work/d/{d.pk}/reply/check/"
    r = client.post(check, {"reply-text": "已转相关部门处理"}, **HX)
    assert r.status_code == 200 and "不能只写“已转相关部门处理”" in r.content.decode()
    monkeypatch.setattr(hooks, "reply_checks", lambda demand, text: ["答复未提及诉求中的“路灯”"]
                        + ([{"message": "答复缺少办理时间"}] if "今日" not in text else []), raising=False)
    r = client.post(check, {"reply-text": "已更换北门灯泡，线路检修完毕，照明已经恢复正常，欢迎监督。"}, **HX)
    html = r.content.decode()
    assert "答复未提及诉求中的“路灯”" in html and "答复缺少办理时间" in html
    services.start(d.pk, city.users["handler_street1"])
    html = client.get(url(d)).content.decode()
    assert f'hx-post="{check}"' in html and "检查答复" in html
    client.force_login(city.users["handler_water"])
    assert client.post(check, {"reply-text": "x"}, **HX).status_code == 404


# --- the handler's desk -------------------------------------------------------------------------------------

DESK = "/work/handle/"


def test_the_desk_needs_a_login_and_the_handler_role(client, city):
    r = client.get(DESK)
    assert r.status_code == 302 and r["Location"].startswith("/login/?next=")
    for name in ("nobody", "supervisor", "dispatcher"):
        client.force_login(city.users[name])
        assert client.get(DESK).status_code == 403, name


def _codes(client, tab: str) -> str:
    return client.get(DESK, {"tab": tab}).content.decode()


def test_the_queues_hold_the_right_demands_per_tab(client, city):
    h = city.users["handler_street1"]
    new = dispatched(city, title="新派来的")
    doing = signed(city, title="正在办的")
    services.start(doing.pk, h)
    soon = signed(city, title="快到期的")
    reopened = signed(city, title="要重办的")
    services.reply(reopened.pk, h, text=GOOD_REPLY)
    services.callback(reopened.pk, city.users["intake"], resolved=False, satisfaction="dissatisfied")
    other = raise_(city, category_id=city.categories["物业管理"].pk, title="别家单位的")
    services.dispatch(other.pk, city.users["dispatcher"])
    report = raise_(city, type="report", title="举报的", content="举报东城街道某干部吃拿卡要。", reported_unit_id=city.streets[0].pk)
    client.force_login(h)
    with clock.frozen(at(2026, 11, 3, 10, 30)):
        tabs = {t: _codes(client, t) for t in ("sign", "doing", "soon", "late", "reopened", "co")}
    for t, html in tabs.items():
        assert "别家单位的" not in html and "举报的" not in html and report.code not in html, t
    assert new.code in tabs["sign"] and reopened.code not in tabs["sign"] and doing.code not in tabs["sign"]
    assert doing.code in tabs["doing"] and soon.code in tabs["doing"] and new.code not in tabs["doing"]
    assert reopened.code in tabs["reopened"] and doing.code not in tabs["reopened"]
    assert "剩余 5 个工作日 6 小时" in tabs["doing"]
    assert 'aria-current="page">办理中' in tabs["doing"]
    assert tabs["soon"].count("<tr id=") == 0 and tabs["late"].count("<tr id=") == 0
    # 11-10 10:00: past the warning point (11-09 15:12), not due (11-11 09:30)
    with clock.frozen(at(2026, 11, 10, 10, 0)):
        html = _codes(client, "soon")
        assert doing.code in html and new.code in html and "剩余 6 小时 30 分钟" in html
        assert reopened.code in html  # its second round's clock started at the callback (11-02 09:30)
        assert doing.code not in _codes(client, "late")
    # 11-12 10:00: overdue (the sweep has not run: the deadline itself decides)
    with clock.frozen(at(2026, 11, 12, 10, 0)):
        html = _codes(client, "late")
        assert doing.code in html and new.code in html and "已超期 1 个工作日" in html
        assert doing.code not in _codes(client, "soon")
    # tabs are paginated
    assert 'class="pager' in tabs["sign"]


def test_working_time_left_in_words(city):
    d = signed(city)
    d = Demand.objects.get(pk=d.pk)
    assert queries.time_left(d, at(2026, 11, 9, 14, 30)) == {"text": "剩余 1 个工作日 3 小时", "level": "ok",
                                                             "minutes": 630}
    assert queries.time_left(d, at(2026, 11, 10, 17, 0))["level"] == "warn"
    late = queries.time_left(d, at(2026, 11, 11, 11, 0))
    assert late["text"] == "已超期 1 小时 30 分钟" and late["level"] == "late"
    # a Saturday does not count
    assert queries.time_left(d, at(2026, 11, 14, 12, 0))["text"] == queries.time_left(d, at(2026, 11, 16, 9, 0))["text"]
    with clock.frozen(at(2026, 11, 10, 9, 30)):
        services.suspend(d.pk, city.users["handler_street1"], reason="等待诉求人补充材料")
    paused = queries.time_left(Demand.objects.get(pk=d.pk), at(2026, 11, 20, 9, 0))
    assert paused == {"text": "已挂起，时限暂停（恢复后剩余 1 个工作日）", "level": "paused", "minutes": None}
    with clock.frozen(at(2026, 11, 10, 9, 30)):
        services.resume(d.pk, city.users["handler_street1"])
        services.reply(d.pk, city.users["handler_street1"], text=GOOD_REPLY)
    assert queries.time_left(Demand.objects.get(pk=d.pk))["level"] == "none"


def test_an_urgent_demands_time_left_runs_in_calendar_hours(city):
    d = dispatched(city, urgency="urgent")  # 24 calendar hours: due Tuesday 09:30
    d = Demand.objects.get(pk=d.pk)
    assert d.due_at == at(2026, 11, 3, 9, 30)
    assert queries.time_left(d, at(2026, 11, 2, 18, 0))["text"] == "剩余 15 小时 30 分钟"
    assert queries.time_left(d, at(2026, 11, 5, 10, 30))["text"] == "已超期 2 天 1 小时"


def test_one_key_sign_from_the_desk(client, city):
    d = dispatched(city)
    h = city.users["handler_street1"]
    client.force_login(h)
    html = client.get(DESK).content.decode()
    assert f'hx-post="{url(d, "sign")}"' in html and f'aria-label="签收 {d.code}"' in html
    r = client.post(url(d, "sign"), {"view": "row", "next": DESK + "?tab=sign"}, **HX)
    assert r.status_code == 200
    row = r.content.decode()
    assert row.strip().startswith(f'<tr id="demand-row-{d.pk}"') and "已签收" in row and 'class="result ok"' in row
    assert state(d) == State.SIGNED
    # again: refused in the row, with its status
    r = client.post(url(d, "sign"), {"view": "row", "next": DESK}, **HX)
    assert r.status_code == 409 and "不能签收" in r.content.decode() and "<tr" in r.content.decode()
    # without JavaScript: back to the desk with a message; an outside "next" is ignored
    d2 = dispatched(city)
    r = client.post(url(d2, "sign"), {"view": "row", "next": DESK + "?tab=sign"})
    assert r.status_code == 302 and r["Location"] == DESK + "?tab=sign"
    d3 = dispatched(city)
    r = client.post(url(d3, "sign"), {"view": "row", "next": "https://evil.example/"})
    assert r.status_code == 302 and r["Location"] == url(d3)


def test_the_desk_exports_the_current_tab_as_excel(client, city):
    mine = dispatched(city, phone="13800009876")
    other = raise_(city, category_id=city.categories["物业管理"].pk, phone="13800005555")
    services.dispatch(other.pk, city.users["dispatcher"])
    client.force_login(city.users["handler_street1"])
    r = client.get(DESK, {"tab": "sign", "format": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "渠道", "类型")
    codes = [row[0] for row in rows[1:]]
    assert mine.code in codes and other.code not in codes
    row = next(row for row in rows[1:] if row[0] == mine.code)
    assert row[6] == "138****9876" and row[10] == "已派单"
    assert client.get(DESK, {"tab": "doing", "format": "xlsx"}).status_code == 200


def test_the_desk_pages_in_chinese(client, city):
    for _ in range(27):
        dispatched(city)
    client.force_login(city.users["handler_street1"])
    html = client.get(DESK, {"tab": "sign"}).content.decode()
    assert "第 1 / 2 页" in html and "下一页" in html and "?tab=sign&page=2" in html
    html = client.get(DESK, {"tab": "sign", "page": "2"}).content.decode()
    assert "第 2 / 2 页" in html
    assert CJK.search(html)


# --- every action: the gate and the refusal in the wrong state ----------------------------------------------

VALID = {
    "accept": {}, "reject": {"reason": "不属于受理范围"}, "dispatch": {}, "sign": {}, "start": {},
    "answer_directly": {"text": GOOD_REPLY, "restatement": "询问路灯维修"}, "note": {"text": "现场查看"},
    "co_note": {"text": "配合排查"}, "request_return": {"reason": "不属于本单位职责", "cited_item": "市政设施维护"},
    "uphold_return": {}, "overrule_return": {"note": "属于本单位职责"},
    "request_extension": {"working_days": "3", "reason": "需要采购配件"}, "decide_extension": {"approve": "1"},
    "suspend": {"reason": "等待补充材料"}, "resume": {}, "reply": {"text": GOOD_REPLY},
    "callback": {"resolved": "1", "satisfaction": "satisfied"}, "merge": {"into": "SEE-BELOW"},
    "withdraw": {"reason": "群众撤回"}, "urge": {"note": "请尽快办理"}, "supervise": {"note": "列入督办"},
    "list_supervision": {"note": "挂牌督办"}, "certify_close": {"reason": "依法办理到位"},
}


def test_every_action_of_the_page_is_covered():
    from massline.demands.views.work import ACTIONS, EVENT_LABELS

    assert set(VALID) == set(ACTIONS)
    assert all(CJK.search(label) for label in EVENT_LABELS.values())


@pytest.mark.parametrize("action", sorted(VALID))
def test_every_action_needs_a_login_a_staff_role_and_a_visible_demand(client, city, action):
    d = dispatched(city)
    r = client.post(url(d, action))
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    client.force_login(city.users["nobody"])
    assert client.post(url(d, action)).status_code == 403
    client.force_login(city.users["handler_water"])
    assert client.post(url(d, action), **HX).status_code == 404
    assert client.get(url(d, action)).status_code in (403, 405)  # actions are POSTs
    assert Demand.objects.get(pk=d.pk).version == d.version


@pytest.mark.parametrize("action", sorted(VALID))
def test_every_action_in_the_wrong_state_is_refused_in_chinese_with_409(client, city, action):
    d, other = raise_(city), raise_(city)
    services.withdraw(d.pk, city.users["intake"], reason="群众撤回")
    data = dict(VALID[action], **({"into": other.code} if action == "merge" else {}))
    for htmx in (True, False):
        r = post(client, city.users["supervisor"], d, action, data, htmx=htmx)
        assert r.status_code == 409, (action, r.content.decode()[:300])
        html = r.content.decode()
        assert "诉求当前状态为“已撤回”，不能" in html and 'data-code="invalid_transition"' in html


def test_direct_answer_and_listed_supervision_through_the_page(client, city):
    q = raise_(city, type="enquiry", title="路灯报修电话", content="请问路灯坏了找哪个部门？")
    r = post(client, city.users["intake"], q, "answer_directly", VALID["answer_directly"], htmx=True)
    assert r.status_code == 200 and state(q) == State.REPLIED
    d = signed(city)
    r = post(client, city.users["leader"], d, "list_supervision", {"note": "领导挂牌督办"}, htmx=True)
    assert r.status_code == 200 and "已挂牌督办" in r.content.decode()
    assert Demand.objects.get(pk=d.pk).supervision == 2
    client.force_login(city.users["leader"])
    html = client.get(url(d)).content.decode()
    assert "挂牌督办" in html and f'action="{url(d, "list_supervision")}"' not in html


def test_attachments_are_listed_and_downloaded_only_by_who_may_see_the_demand(client, city):
    from massline.demands import attachments

    d = dispatched(city)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    att = attachments.store(d, city.users["intake"], name="现场照片.png", chunks=[png], size=len(png))
    link = f"/work/attachments/{att.pk}/"
    assert client.get(link).status_code == 302
    client.force_login(city.users["handler_street1"])
    assert f'href="{link}"' in client.get(url(d)).content.decode()
    r = client.get(link)
    assert r.status_code == 200 and b"".join(r.streaming_content) == png
    client.force_login(city.users["handler_water"])
    assert client.get(link).status_code == 404


def test_notifications_link_to_the_demand_page(client, city, django_capture_on_commit_callbacks):
    from massline.core.models import Notification

    with django_capture_on_commit_callbacks(execute=True):
        d = dispatched(city)
    n = Notification.objects.filter(recipient=city.users["handler_street1"], kind="dispatched").latest("pk")
    assert n.link == url(d)
    client.force_login(city.users["handler_street1"])
    assert client.get(n.link).status_code == 200
