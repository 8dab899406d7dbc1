"""The intake operator's desk (/work/intake/), the repeat-caller partial and the group-visit pages
(/work/group-visits/…): who may open them, good and bad submissions (with and without htmx), the rules the
services keep (restate before answering, at most five representatives) shown next to the control."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from conftest import at
from massline.core import clock
from massline.core.models import Event
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, GroupVisit, Reply

pytestmark = pytest.mark.django_db

NOW = at(2026, 11, 4, 10, 0)
HX = {"HTTP_HX_REQUEST": "true"}
PHONE = "13912345678"
CALL = {
    "phone": PHONE, "name": "李大爷", "identity": "named", "type": "complaint", "channel": "hotline",
    "urgency": "normal", "content": "花园社区3号楼前的路灯坏了一个多月，晚上出门看不见路。希望尽快修好。",
    "restatement": "您反映花园社区3号楼前路灯坏了一个多月，希望尽快修复，对吗？",
}


@pytest.fixture(scope="module")
def city(module_city):
    return module_city


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def login(client, city, who: str = "intake"):
    client.force_login(city.users[who])
    return client


def text(resp) -> str:
    return resp.content.decode()


def field_error(html: str, name: str) -> str:
    m = re.search(rf'<p class="field-error" id="err_{name}"[^>]*>(.*?)</p>', html, re.S)
    return m.group(1) if m else ""


def earlier_demand(city, phone: str = PHONE, **kw) -> Demand:
    data = dict(channel="hotline", type="help", title="家里停水", content="家里从早上开始停水，请帮忙问问。", name="李大爷",
                phone=phone)
    data.update(kw)
    d, _ = services.receive(IntakeData(**data), city.users["intake"])
    return d


def open_visit(city, headcount: int = 12) -> GroupVisit:
    return services.open_group_visit(city.users["intake"], topic="和平社区停车难", headcount=headcount,
                                     place_id=city.communities[1].pk)


# --- who may open the pages ----------------------------------------------------------------------

def _urls(city) -> list[tuple[str, str]]:
    gv = open_visit(city)
    return [
        ("get", reverse("demands:intake")),
        ("post", reverse("demands:intake")),
        ("get", reverse("demands:intake_earlier") + f"?phone={PHONE}"),
        ("get", reverse("demands:group_visits")),
        ("post", reverse("demands:group_visits")),
        ("get", reverse("demands:group_visit", kwargs={"pk": gv.pk})),
        ("post", reverse("demands:group_visit_step", kwargs={"pk": gv.pk, "step": "talk"})),
    ]


def test_anonymous_visitors_are_sent_to_login(client, city):
    for method, url in _urls(city):
        resp = getattr(client, method)(url)
        assert resp.status_code == 302, url
        assert resp["Location"].startswith("/login/?next="), url


@pytest.mark.parametrize("who", ["handler_city", "nobody", "citizen"])
def test_users_without_the_role_are_refused(client, city, who):
    login(client, city, who)
    for method, url in _urls(city):
        resp = getattr(client, method)(url)
        assert resp.status_code == 403, (who, url)
        assert "无权访问" in text(resp)
    assert not Demand.objects.exists() and GroupVisit.objects.count() == 1


def test_the_dispatcher_has_no_group_visit_desk(client, city):
    login(client, city, "dispatcher")
    assert client.get(reverse("demands:group_visits")).status_code == 403
    assert client.get(reverse("demands:intake")).status_code == 200  # dispatchers may record staff channels


# --- the desk ---------------------------------------------------------------------------------------

def test_the_desk_is_chinese_labelled_keyboard_first_and_local(client, city):
    html = text(login(client, city).get(reverse("demands:intake")))
    for label in ("来电号码", "诉求人姓名", "身份公开方式", "诉求类型", "诉求内容", "受理复述", "所在区域（网格）", "受理渠道",
                  "代理人姓名", "当场答复内容"):
        assert label in html, label
    assert re.search(r'<input[^>]*name="phone"[^>]*autofocus', html)
    assert "<kbd>Ctrl</kbd>+<kbd>Enter</kbd>" in html and "demands/intake.js" in html
    assert 'hx-get="/work/intake/earlier/"' in html
    # every field has a label element pointing at it
    for field_id in re.findall(r'<(?:input|select|textarea)[^>]*\bid="(id_[a-z_]+)"', html):
        if field_id in ("id_group_visit",) or re.match(r"id_(type|identity)_\d", field_id):
            continue
        assert f'for="{field_id}"' in html, field_id
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from a CDN
    # the places offered are areas, grids included; the units are not
    assert city.grids[0].name in html and "区城市管理委员会" not in html


def test_a_phone_demand_without_js_is_received_accepted_and_the_code_shown_once(client, city):
    login(client, city)
    resp = client.post(reverse("demands:intake"), CALL)
    assert resp.status_code == 302 and resp["Location"] == reverse("demands:intake")
    d = Demand.objects.get()
    assert (d.state, d.channel, d.type, d.person.phone, d.person.name) == ("accepted", "hotline", "complaint", PHONE,
                                                                         "李大爷")
    assert d.restatement == CALL["restatement"] and d.title == "花园社区3号楼前的路灯坏了一个多月，晚上出门看不见路"
    assert list(Event.objects.filter(chain=d.chain).order_by("seq").values_list("action", flat=True)) == [
        "receive", "accept"]
    html = text(client.get(resp["Location"]))
    assert d.code in html and "已受理" in html and "查询密码" in html
    assert re.search(r'<input[^>]*name="phone"[^>]*autofocus', html)
    assert d.code not in text(client.get(reverse("demands:intake")))  # the secret was shown once


def test_with_htmx_the_result_comes_back_with_a_fresh_form(client, city):
    login(client, city)
    resp = client.post(reverse("demands:intake"), {**CALL, "channel": "letter", "title": "路灯坏了"}, **HX)
    assert resp.status_code == 200
    html = text(resp)
    d = Demand.objects.get()
    assert d.title == "路灯坏了" and d.channel == "letter"
    assert html.startswith('<div id="intake-desk"') and d.code in html and "✓" in html
    assert PHONE not in html.split('id="intake-form"')[1].split("</form>")[0]  # the form is empty again…
    assert re.search(r'<option value="letter" selected>', html)  # …but keeps the channel of the session
    url = None
    try:
        url = reverse("demands:detail", kwargs={"pk": d.pk})
    except Exception:  # the demand page is another desk's; until it exists the result says so
        assert "诉求详情页暂未开通" in html
    if url:
        assert f'href="{url}"' in html


def test_bad_input_keeps_what_was_typed_and_says_what_is_wrong_next_to_the_field(client, city):
    login(client, city)
    resp = client.post(reverse("demands:intake"), {**CALL, "type": "", "content": ""}, **HX)
    assert resp.status_code == 400
    html = text(resp)
    assert "请选择诉求类型" in field_error(html, "type")
    assert "请记录群众反映的诉求内容" in field_error(html, "content")
    assert f'value="{PHONE}"' in html and 'value="李大爷"' in html and CALL["restatement"] in html
    assert re.search(r'<textarea[^>]*aria-invalid="true"[^>]*name="content"|name="content"[^>]*aria-invalid="true"',
                     html)
    # the service's own rules come back the same way (here: too short a demand)
    resp = client.post(reverse("demands:intake"), {**CALL, "content": "路灯坏"})
    assert resp.status_code == 400
    assert "至少 5 个字" in field_error(text(resp), "content") and f'value="{PHONE}"' in text(resp)
    resp = client.post(reverse("demands:intake"), {**CALL, "name": "", "phone": ""})
    assert "请选择匿名" in field_error(text(resp), "name")
    assert not Demand.objects.exists()


def test_an_anonymous_caller_needs_no_name(client, city):
    login(client, city)
    resp = client.post(reverse("demands:intake"), {**CALL, "identity": "anonymous", "name": "", "phone": ""}, **HX)
    assert resp.status_code == 200
    d = Demand.objects.get()
    assert d.person is None and d.identity == "anonymous" and d.state == "accepted"


def test_agent_filing_records_both_people(client, city):
    login(client, city)
    resp = client.post(reverse("demands:intake"), {**CALL, "channel": "agent"}, **HX)
    assert resp.status_code == 400 and "代理人" in field_error(text(resp), "agent_name")
    resp = client.post(reverse("demands:intake"), {**CALL, "channel": "agent", "agent_name": "社区代办员小周",
                                                   "agent_phone": "13700000001"}, **HX)
    assert resp.status_code == 200
    d = Demand.objects.get()
    assert (d.person.name, d.agent.name, d.agent.phone, d.channel) == ("李大爷", "社区代办员小周", "13700000001", "agent")


def test_answered_at_intake_needs_the_restatement_first(client, city):
    login(client, city)
    enquiry = {**CALL, "type": "enquiry", "content": "请问办理居住证需要带哪些材料？在哪里办？",
               "answer": "办理居住证请携带身份证、租房合同或房产证明，到社区服务中心一楼窗口办理，工作日上午九点到下午五点。"}
    resp = client.post(reverse("demands:intake"), {**enquiry, "restatement": ""}, **HX)
    assert resp.status_code == 400
    assert "请先复述" in field_error(text(resp), "restatement")
    assert enquiry["answer"] in text(resp)  # the answer typed is kept
    assert not Demand.objects.exists() and not Reply.objects.exists()  # nothing half recorded

    # a complaint is not answered at the desk: it goes to a unit
    resp = client.post(reverse("demands:intake"), {**enquiry, "type": "complaint"}, **HX)
    assert resp.status_code == 400 and "只有咨询、建议和表扬可以直接办结" in text(resp)
    assert not Demand.objects.exists()

    resp = client.post(reverse("demands:intake"), {**enquiry, "restatement": "您想了解办理居住证的材料和地点。"}, **HX)
    assert resp.status_code == 200 and "已当场答复办结" in text(resp)
    d = Demand.objects.get()
    assert d.state == "replied" and d.restatement == "您想了解办理居住证的材料和地点。"
    assert d.replies.get().text == enquiry["answer"]


def test_an_administrator_without_the_intake_role_is_refused_by_the_service(client, city):
    login(client, city, "admin")
    resp = client.post(reverse("demands:intake"), CALL, **HX)
    assert resp.status_code == 403 and "须由受理员登记" in text(resp)
    assert 'value="李大爷"' in text(resp) and not Demand.objects.exists()


def test_a_whistle_blowing_report_is_received_for_discipline_inspection_only(client, city):
    login(client, city)
    resp = client.post(reverse("demands:intake"), {**CALL, "type": "report", "reported_person": "某科长",
                                                   "content": "举报某科长在拆迁补偿中收受好处费。"}, **HX)
    assert resp.status_code == 200
    d = Demand.objects.get()
    assert d.type == "report" and d.state == "received" and d.reported_person == "某科长"
    html = text(resp)
    assert "已转纪检监察机关" in html and d.code in html and "收受好处费" not in html


# --- repeat callers -------------------------------------------------------------------------------

def test_earlier_demands_by_phone_recognise_a_repeat_caller(client, city):
    with clock.frozen(at(2026, 10, 9, 9, 0)):
        a = earlier_demand(city)
    b = earlier_demand(city, title="楼道灯不亮", content="楼道灯坏了好几天没人修。")
    other = earlier_demand(city, phone="13800000000", title="别人的诉求")
    login(client, city)
    resp = client.get(reverse("demands:intake_earlier"), {"phone": PHONE}, **HX)
    assert resp.status_code == 200
    html = text(resp)
    assert a.code in html and b.code in html and other.code not in html
    assert "重复来电" in html and "以往 2 件" in html and 'id="earlier-summary"' in html and "hx-swap-oob" in html
    assert html.index(b.code) < html.index(a.code)  # newest first
    resp = client.get(reverse("demands:intake_earlier"), {"phone": "13700000009"})
    assert "没有以往诉求记录" in text(resp)
    assert "至少 6 位数字" in text(client.get(reverse("demands:intake_earlier"), {"phone": "139"}))


def test_whistle_blowing_reports_never_show_in_the_operators_repeat_caller_list(client, city):
    named = earlier_demand(city)
    report = earlier_demand(city, type="report", title="举报拆迁办干部", content="举报拆迁办干部收受好处费。")
    login(client, city)
    html = text(client.get(reverse("demands:intake_earlier"), {"phone": PHONE}))
    assert named.code in html and report.code not in html and "举报拆迁办" not in html
    assert "以往 1 件" in html
    # nor on the desk itself when the form is redisplayed with that number
    html = text(client.post(reverse("demands:intake"), {**CALL, "type": ""}))
    assert named.code in html and report.code not in html
    # discipline inspection, who handles reports, sees it (and only it)
    client.force_login(city.users["discipline"])
    html = text(client.get(reverse("demands:intake_earlier"), {"phone": PHONE}))
    assert report.code in html and named.code not in html


def test_without_js_the_lookup_button_shows_earlier_demands_and_keeps_the_form(client, city):
    a = earlier_demand(city)
    login(client, city)
    resp = client.post(reverse("demands:intake"), {"phone": PHONE, "content": "又停水了", "lookup": "1"})
    html = text(resp)
    assert resp.status_code == 200 and a.code in html and "又停水了" in html
    assert 'class="field-error"' not in html and Demand.objects.count() == 1
    # a number given in the address (e.g. from the telephone system) opens the desk with it
    html = text(client.get(reverse("demands:intake"), {"phone": PHONE}))
    assert a.code in html and f'value="{PHONE}"' in html


# --- group visits -------------------------------------------------------------------------------------

def test_opening_a_group_visit(client, city):
    login(client, city)
    url = reverse("demands:group_visits")
    assert "第 1 步 请进门" in text(client.get(url))
    resp = client.post(url, {"topic": "光明社区加装电梯", "headcount": "1"}, **HX)
    assert resp.status_code == 400 and "集体访至少两人" in field_error(text(resp), "headcount")
    assert "光明社区加装电梯" in text(resp) and not GroupVisit.objects.exists()
    resp = client.post(url, {"topic": "光明社区加装电梯", "headcount": "8", "place": city.communities[2].pk}, **HX)
    gv = GroupVisit.objects.get()
    assert resp.status_code == 200 and "进入第 2 步 选代表" in text(resp)
    assert 'id="group-list"' in text(resp) and "第 1/5 步 请进门" in text(resp)
    assert (gv.headcount, gv.place, gv.received_by) == (8, city.communities[2], city.users["intake"])
    resp = client.post(url, {"topic": "和平社区停车难", "headcount": "20"})  # without JS: straight to the visit
    assert resp.status_code == 302 and resp["Location"] == reverse("demands:group_visit",
                                                                  kwargs={"pk": GroupVisit.objects.latest("pk").pk})


def test_a_supervisor_reads_group_visits_but_the_service_refuses_the_steps(client, city):
    gv = open_visit(city)
    login(client, city, "supervisor")
    html = text(client.get(reverse("demands:group_visit", kwargs={"pk": gv.pk})))
    assert "只能由受理员或领导办理" in html and "确定代表" not in html
    resp = client.post(reverse("demands:group_visits"), {"topic": "某事", "headcount": "5"}, **HX)
    assert resp.status_code == 403 and "只有受理员或领导可以接待集体访" in text(resp)
    resp = client.post(reverse("demands:group_visit_step", kwargs={"pk": gv.pk, "step": "representatives"}),
                       {"people": "张三 13800001001"}, **HX)
    assert resp.status_code == 403 and "只有受理员或领导可以接待集体访" in text(resp)


def test_the_five_steps_of_a_group_visit(client, city):
    gv = open_visit(city)
    login(client, city)
    page = reverse("demands:group_visit", kwargs={"pk": gv.pk})

    def step(name: str, data: dict, **extra):
        return client.post(reverse("demands:group_visit_step", kwargs={"pk": gv.pk, "step": name}), data, **extra)

    html = text(client.get(page))
    assert '<li class="current" aria-current="step"><span class="no">1</span> 请进门' in html
    # the talk waits for representatives
    resp = step("talk", {"minutes": "先谈一谈停车的情况"}, **HX)
    assert resp.status_code == 400 and "请先推选代表" in text(resp)

    # 选代表: six are refused by the letters-and-visits rule, what was typed stays
    six = "\n".join(f"代表{i} 1380000100{i}" for i in range(1, 7))
    resp = step("representatives", {"people": six}, **HX)
    assert resp.status_code == 400
    assert "代表人数不超过 5 人" in text(resp) and "本次推选了 6 人" in text(resp) and "代表6 13800001006" in text(resp)
    gv.refresh_from_db()
    assert gv.step == "invited" and not gv.representatives.exists()
    resp = step("representatives", {"people": "代表1 13800001001\n代表2，13800001002\n代表3"}, **HX)
    assert resp.status_code == 200 and "已推选代表 3 人" in text(resp)
    assert [r.person.name for r in gv.representatives.all()] == ["代表1", "代表2", "代表3"]
    assert "138****1002" in text(resp) and "13800001002" not in text(resp)  # phones masked on the page

    # 填表格: the desk files the group's demand, linked to the visit and placed where it is
    html = text(client.get(reverse("demands:intake"), {"group_visit": gv.pk}))
    assert "第 3 步 填表格" in html and re.search(r'<option value="group" selected>', html)
    resp = client.post(reverse("demands:intake"), {**CALL, "channel": "group", "group_visit": gv.pk, "name": "代表1",
                                                   "phone": "13800001001", "place": ""})
    assert resp.status_code == 302 and resp["Location"].endswith(f"?group_visit={gv.pk}")
    d = Demand.objects.get()
    assert d.group_visit == gv and d.channel == "group" and d.place == city.communities[1]
    assert "返回集体访" in text(client.get(resp["Location"]))
    gv.refresh_from_db()
    assert gv.step == "form"
    assert d.code in text(client.get(page))

    # 坐下谈, then 理目标 (without JS: redirect and a message)
    resp = step("talk", {"minutes": "代表讲了外来车辆占位的情况，物业答应先加装道闸。"})
    assert resp.status_code == 302 and resp["Location"] == page
    assert "已记录谈话" in text(client.get(page))
    resp = step("goals", {"goals": ""}, **HX)
    assert resp.status_code == 400 and "请写明商定的目标" in field_error(text(resp), "goals")
    resp = step("goals", {"goals": "一个月内加装道闸，社区每周通报进度。"}, **HX)
    assert resp.status_code == 200 and "集体访五步完成" in text(resp)
    gv.refresh_from_db()
    assert gv.step == "goals" and gv.goals.startswith("一个月内")
    assert [e.action for e in Event.objects.filter(chain=f"group:{gv.pk}").order_by("seq")] == [
        "group_invited", "group_representatives", "group_form", "group_talked", "group_goals"]
    html = text(client.get(reverse("demands:group_visits")))
    assert "第 5/5 步 理目标" in html and "已完成" in html
    # once the goals are settled nothing is re-opened from the page
    resp = step("representatives", {"people": "代表9"}, **HX)
    assert resp.status_code == 409 and GroupVisit.objects.get(pk=gv.pk).step == "goals"


def test_a_report_brought_by_a_group_is_not_listed_with_the_visit(client, city):
    gv = open_visit(city)
    services.choose_representatives(gv.pk, city.users["intake"], [{"name": "代表1", "phone": "13800001001"}])
    d, _ = services.receive(IntakeData(channel="group", type="report", title="举报拆迁办干部", content="举报拆迁办干部收受好处费。",
                                       group_visit_id=gv.pk, name="代表1", phone="13800001001"), city.users["intake"])
    html = text(login(client, city).get(reverse("demands:group_visit", kwargs={"pk": gv.pk})))
    assert d.code not in html and "举报拆迁办干部" not in html
    assert "0 件" in text(client.get(reverse("demands:group_visits")))


def test_unknown_step_or_visit_is_not_found(client, city):
    gv = open_visit(city)
    login(client, city)
    assert client.post(reverse("demands:group_visit_step", kwargs={"pk": gv.pk, "step": "dance"})).status_code == 404
    assert client.get(reverse("demands:group_visit", kwargs={"pk": gv.pk + 999})).status_code == 404
    assert client.get(reverse("demands:intake"), {"group_visit": "x"}).status_code == 404
