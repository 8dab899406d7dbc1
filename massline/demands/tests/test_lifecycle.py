"""The branches of a demand's life, each driven through the services: answered at intake, rejected,
returned (upheld or overruled), extended, suspended, reopened after a dissatisfied callback, merged,
withdrawn; what a reply must be; how dispatch routes and when the clock starts; who may file on which
channel. Every test ends with the event record intact (``events.verify()`` finds no broken link).

Dates are in November 2026 (no public holidays): Monday 2 … Friday 6, Monday 9 … Friday 13, Monday 16.
Working hours are 09:00–12:00 and 13:30–17:30; a complaint has 7 working days, an enquiry 3.
"""

from __future__ import annotations

import itertools
import re

import pytest
from django.test import Client

from conftest import at
from massline.core import auth, clock, events
from massline.core.errors import DomainError
from massline.core.models import Event
from massline.demands import policy, queries, services
from massline.demands.intake import IntakeData
from massline.demands.models import (
    Callback,
    Demand,
    DemandUnit,
    ExtensionRequest,
    Reply,
    ReturnRequest,
    State,
)
from massline.directory import services as directory
from massline.directory.models import Person, Responsibility

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
MON = at(2026, 11, 2, 9, 30)
ANSWER = "经核实，北门路灯因线路老化损坏，维修人员已于今日下午更换线路和灯具，现已恢复正常照明。"


@pytest.fixture(scope="module")
def city(module_city):
    """The small jurisdiction, built once for the module (overrides the per-test fixture of conftest)."""
    return module_city


def receive(city, by: str | None = "intake", **kw) -> tuple[Demand, str]:
    data = dict(channel="hotline", type="complaint", title="小区门口路灯不亮",
                content="花园社区北门路灯已经坏了一周，晚上很黑。", category_id=city.categories["市政设施"].pk,
                place_id=city.grids[0].pk, name="陈女士", phone="13800001234")
    data.update(kw)
    return services.receive(IntakeData(**data), city.users[by] if by else None)


def refused(code: str, fn, status: int | None = None) -> DomainError:
    with pytest.raises(DomainError) as exc:
        fn()
    assert exc.value.code == code, exc.value.as_dict()
    assert CJK.search(exc.value.message), exc.value.message
    if status is not None:
        assert exc.value.status == status
    return exc.value


def intact() -> None:
    assert list(events.verify()) == []


def actions(d: Demand) -> list[str]:
    return list(Event.objects.filter(chain=d.chain).order_by("seq").values_list("action", flat=True))


def to_unit(city, lead: str = "city", at_=MON, **kw) -> Demand:
    with clock.frozen(at_):
        d, _ = receive(city, **kw)
        return services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units[lead].pk)


def working(city, lead: str = "city", handler: str = "handler_city", at_=MON, **kw) -> Demand:
    d = to_unit(city, lead, at_, **kw)
    with clock.frozen(at_):
        services.sign(d.pk, city.users[handler])
        return services.start(d.pk, city.users[handler])


# --- intake ---------------------------------------------------------------------------------------

def test_an_enquiry_is_answered_at_intake_and_a_complaint_is_not(city):
    u = city.users
    with clock.frozen(MON):
        q, secret = receive(city, type="enquiry", title="办理居住证需要什么材料", content="想问一下办理居住证需要带哪些材料？",
                            category_id=None)
        refused("role_not_allowed", lambda: services.answer_directly(q.pk, u["dispatcher"], text=ANSWER), 403)
        refused("restate_first", lambda: services.answer_directly(q.pk, u["intake"], text=ANSWER))
        services.answer_directly(q.pk, u["intake"], text="办理居住证需携带身份证原件、租房合同或房产证明以及近期一寸照片两张。",
                                 restatement="询问办理居住证需要带哪些材料")
        q = services.load(q.pk)
        assert q.state == State.REPLIED and q.replied_at == MON and q.lead_unit is None
        assert Reply.objects.get(demand=q).text.startswith("办理居住证需携带")
        q = services.callback_by_person(q.code, secret, resolved=True, satisfaction="satisfied")
        assert q.state == State.CLOSED

        c, _ = receive(city)
        e = refused("not_answerable_at_intake", lambda: services.answer_directly(c.pk, u["intake"], text=ANSWER))
        assert "派单" in e.message
        assert services.load(c.pk).state == State.RECEIVED and not Reply.objects.filter(demand=c).exists()
    assert actions(q) == ["receive", "answer_directly", "callback"]
    intact()


def test_a_rejection_needs_a_reason_and_ends_the_demand(city):
    u = city.users
    with clock.frozen(MON):
        d, _ = receive(city)
        services.accept(d.pk, u["intake"], restatement="北门路灯坏了")
        refused("invalid_field", lambda: services.reject(d.pk, u["intake"], reason="  "))
        d = services.reject(d.pk, u["intake"], reason="属于小区物业自有设施，请联系物业")
    assert d.state == State.REJECTED and d.closed_at == MON
    ev = Event.objects.filter(chain=d.chain, action="reject").get()
    assert ev.reason == "属于小区物业自有设施，请联系物业" and ev.from_state == State.ACCEPTED
    refused("invalid_transition", lambda: services.dispatch(d.pk, u["dispatcher"]), 409)
    intact()


def test_public_channels_need_no_login_and_staff_channels_need_an_intake_operator(city):
    u = city.users
    with clock.frozen(MON):
        d, secret = receive(city, by=None, channel="web")
        assert d.created_by is None and len(secret) == 10
        ev = Event.objects.get(chain=d.chain, action="receive")
        assert ev.actor_role == "citizen" and ev.actor_id is None
        for channel in ("hotline", "letter", "visit", "reception", "door", "box"):
            for who in (None, "citizen", "handler_city", "supervisor", "admin"):
                e = refused("channel_needs_intake", lambda ch=channel, w=who: receive(city, by=w, channel=ch), 403)
                assert "受理员" in e.message
            d, _ = receive(city, channel=channel)
            assert d.channel == channel
    # and through the API: no token for the public, an intake operator's token for the hotline
    body = {"channel": "web", "type": "help", "title": "楼道灯坏了", "content": "三单元楼道灯坏了很久没人修。",
            "place_id": city.grids[0].pk, "name": "吴先生", "phone": "13500001111"}
    resp = Client().post("/api/v1/demands", body, content_type="application/json")
    assert resp.status_code == 201 and resp.json()["state"] == State.RECEIVED and resp.json()["secret"]
    resp = Client().post("/api/v1/demands", {**body, "channel": "hotline"}, content_type="application/json")
    assert resp.status_code == 403 and resp.json()["code"] == "channel_needs_intake"
    intake = Client(HTTP_AUTHORIZATION=f"Bearer {auth.issue(u['intake'])}")
    resp = intake.post("/api/v1/demands", {**body, "channel": "hotline"}, content_type="application/json")
    assert resp.status_code == 201
    intact()


def test_filing_on_someones_behalf_records_both_agent_and_person(city):
    u = city.users
    with clock.frozen(MON):
        refused("invalid_field", lambda: receive(city, channel="agent"))
        d, _ = receive(city, channel="agent", name="独居老人刘大爷", phone="13300002222", agent_name="社区代办员小赵",
                       agent_phone="13300003333")
    d = services.load(d.pk)
    assert d.person.name == "独居老人刘大爷" and d.person.phone == "13300002222"
    assert d.agent.name == "社区代办员小赵" and d.agent.phone == "13300003333"
    assert d.person_id != d.agent_id
    ev = Event.objects.get(chain=d.chain, action="receive")
    assert ev.data["person_id"] == d.person_id and ev.data["agent_id"] == d.agent_id
    assert ev.data["channel"] == "agent"
    # the agent's phone finds it too (an agent who calls back about it)
    assert list(queries.search(u["intake"], queries.Filters(phone="13300003333")).values_list("pk", flat=True)) == [
        d.pk]
    refused("channel_needs_intake", lambda: receive(city, by="citizen", channel="agent", agent_name="代办员"))
    intact()


def test_a_logged_in_citizen_may_file_with_other_contact_details(city):
    """A signed-in citizen who files a second demand under another phone (say, for a parent) is not refused;
    the account stays linked to its first person."""
    u = city.users
    with clock.frozen(MON):
        first, _ = receive(city, by="citizen", channel="web", name="居民陈女士", phone="13800009999")
        second, _ = receive(city, by="citizen", channel="mobile", name="陈女士的母亲", phone="13800008888")
    assert Person.objects.get(pk=first.person_id).user_id == u["citizen"].pk
    assert Person.objects.get(pk=second.person_id).user_id is None
    assert policy.visible(u["citizen"]).filter(pk=first.pk).exists()
    intact()


def test_a_demand_without_a_place_is_not_lost(city):
    """A web submission need not name a place; it then belongs to the district, so the district's operators
    (and, for a report, discipline inspection) see it and can route it."""
    u = city.users
    with clock.frozen(MON):
        d, _ = receive(city, by=None, channel="web", place_id=None)
        report, _ = receive(city, by=None, channel="web", place_id=None, type="report", category_id=None,
                            title="举报某科长收受礼金", content="区城管委某科长逢年过节收受商户礼金。",
                            reported_unit_id=city.units["city"].pk)
        assert d.place == city.district and d.area_path == city.district.path
        for name in ("intake", "dispatcher", "supervisor"):
            assert policy.visible(u[name]).filter(pk=d.pk).exists(), name
        d = services.dispatch(d.pk, u["dispatcher"])  # the district-wide entry for the category
        assert d.lead_unit == city.units["city"]
        assert policy.visible(u["discipline"]).filter(pk=report.pk).exists()
        assert services.dispatch(report.pk, u["discipline"]).lead_unit == city.units["discipline"]
    intact()


# --- routing and the clock --------------------------------------------------------------------------

def test_dispatch_without_a_unit_follows_the_responsibility_list(city):
    u = city.users
    s1_grid, s2_grid = city.grids[0], city.grids[4]
    street_entry = Responsibility.objects.get(category=city.categories["市政设施"], area=city.streets[0])
    district_entry = Responsibility.objects.get(category=city.categories["市政设施"].parent, area=None)
    cases = [
        # the street's own entry beats the district-wide one; its co-handling unit comes along
        (dict(place_id=s1_grid.pk), city.streets[0], [city.units["city"]], street_entry),
        # the other street has no entry of its own: the district-wide entry of the parent category
        (dict(place_id=s2_grid.pk), city.units["city"], [], district_entry),
        (dict(category_id=city.categories["停水停电"].pk, title="停水", content="幸福小区停水一整天了。"),
         city.units["water"], [city.units["power"]], None),
    ]
    with clock.frozen(MON):
        for kw, lead, co, entry in cases:
            d, _ = receive(city, **kw)
            d = services.dispatch(d.pk, u["dispatcher"])
            assert d.lead_unit == lead, kw
            assert set(DemandUnit.objects.filter(demand=d, active=True, role="co").values_list("unit_id", flat=True)) \
                == {c.pk for c in co}, kw
            ev = Event.objects.get(chain=d.chain, action="dispatch")
            assert ev.data["lead"] == lead.code
            if entry is not None:
                assert ev.data["entry"] == entry.pk
        # a category no entry covers at any level, and no category at all: the district is the backstop (兜底)
        orphan = directory.ensure_category(["民政", "社会救助", "低保申请"], events.Actor.system())
        for kw in (dict(category_id=orphan.pk), dict(category_id=None)):
            d, _ = receive(city, title="低保申请", content="申请低保一直没有答复，想问问进度。", **kw)
            d = services.dispatch(d.pk, u["dispatcher"])
            assert d.lead_unit == city.district, kw
            assert Event.objects.get(chain=d.chain, action="dispatch").data["entry"] is None
        # and the district's backstop handler is the one who signs it
        assert services.sign(d.pk, u["handler_district"]).state == State.SIGNED
    intact()


def test_the_clock_starts_at_dispatch_not_at_signing(city):
    u = city.users
    with clock.frozen(MON):
        d, _ = receive(city)
    with clock.frozen(at(2026, 11, 3, 14, 0)):  # Tuesday 14:00
        d = services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk)
    assert d.dispatched_at == at(2026, 11, 3, 14, 0)
    assert d.due_at == at(2026, 11, 12, 14, 0)  # 7 working days from dispatch, not from receipt
    assert d.sign_due_at == at(2026, 11, 3, 16, 0)  # 2 working hours
    with clock.frozen(at(2026, 11, 5, 10, 0)):  # signed two days later: late, and the deadline does not move
        d = services.sign(d.pk, u["handler_city"])
    d = services.load(d.pk)
    assert d.due_at == at(2026, 11, 12, 14, 0) and d.signed_late is True
    assert Event.objects.get(chain=d.chain, action="sign").data == {"late": True}
    intact()


# --- returns ---------------------------------------------------------------------------------------

def test_a_return_citing_the_catalogue_upheld_goes_to_another_unit_with_a_new_deadline(city):
    u = city.users
    d = to_unit(city)
    entry = Responsibility.objects.get(category=city.categories["物业管理"], area=None)
    with clock.frozen(at(2026, 11, 3, 10, 0)):
        services.sign(d.pk, u["handler_city"])
        refused("invalid_field", lambda: services.request_return(d.pk, u["handler_city"], reason="不归我们管",
                                                                  cited_item=""))
        d = services.request_return(d.pk, u["handler_city"], reason="路灯属小区物业自有设施，由物业负责维修",
                                    cited_item="物业服务监管", cited_entry_id=entry.pk,
                                    suggested_unit_id=city.units["housing"].pk)
    assert d.state == State.RETURN_REQUESTED
    rr = ReturnRequest.objects.get(demand=d)
    assert (rr.status, rr.cited_item, rr.cited_entry_id, rr.unit_id) == (
        "pending", "物业服务监管", entry.pk, city.units["city"].pk)
    refused("role_not_allowed", lambda: services.uphold_return(d.pk, u["handler_city"]), 403)
    with clock.frozen(at(2026, 11, 4, 10, 0)):  # Wednesday
        d = services.uphold_return(d.pk, u["dispatcher"], note="同意，改派住建委")  # to the suggested unit
    assert d.state == State.DISPATCHED and d.lead_unit == city.units["housing"]
    assert d.dispatched_at == at(2026, 11, 4, 10, 0) and d.due_at == at(2026, 11, 13, 10, 0)  # a new 7 days
    assert ReturnRequest.objects.get(pk=rr.pk).status == "upheld"
    assert not DemandUnit.objects.filter(demand=d, active=True, unit=city.units["city"]).exists()
    assert not policy.can_see(u["handler_city"], services.load(d.pk))
    with clock.frozen(at(2026, 11, 4, 11, 0)):
        assert services.sign(d.pk, u["handler_housing"]).state == State.SIGNED
    intact()


@pytest.mark.parametrize("signed", [False, True])
def test_an_overruled_return_goes_back_where_it_was_and_the_clock_ran_on(city, signed):
    u = city.users
    d = to_unit(city)
    due = d.due_at
    with clock.frozen(at(2026, 11, 3, 10, 0)):
        if signed:
            services.sign(d.pk, u["handler_city"])
        services.request_return(d.pk, u["handler_city"], reason="该路灯不在市政管养范围内", cited_item="市政设施维护")
        refused("invalid_field", lambda: services.overrule_return(d.pk, u["dispatcher"], note=""))
        d = services.overrule_return(d.pk, u["dispatcher"], note="经核实属市政管养路灯，请继续办理")
    assert d.state == (State.SIGNED if signed else State.DISPATCHED)
    assert d.lead_unit == city.units["city"] and d.due_at == due
    assert ReturnRequest.objects.get(demand=d).status == "overruled"
    refused("invalid_transition", lambda: services.overrule_return(d.pk, u["dispatcher"], note="再驳回一次"), 409)
    intact()


# --- extensions and suspension ---------------------------------------------------------------------

def test_an_extension_approved_moves_the_deadline_and_a_refusal_needs_a_reason(city):
    u = city.users
    d = working(city)
    assert d.due_at == at(2026, 11, 11, 9, 30)
    with clock.frozen(at(2026, 11, 5, 10, 0)):
        ext = services.request_extension(d.pk, u["handler_city"], working_days=3, reason="需协调供电公司停电后施工")
        assert ext.status == "pending"
        refused("extension_pending", lambda: services.request_extension(
            d.pk, u["handler_city"], working_days=2, reason="再申请一次延期"), 409)
        refused("role_not_allowed", lambda: services.decide_extension(d.pk, u["handler_city"], approve=True), 403)
        d = services.decide_extension(d.pk, u["supervisor"], approve=True, note="同意")
    assert d.due_at == at(2026, 11, 16, 9, 30)  # Wed 11 + 3 working days over the weekend
    assert ExtensionRequest.objects.get(pk=ext.pk).status == "approved"
    with clock.frozen(at(2026, 11, 6, 10, 0)):
        services.request_extension(d.pk, u["handler_city"], working_days=5, reason="还需要更长时间")
        refused("invalid_field", lambda: services.decide_extension(d.pk, u["dispatcher"], approve=False, note=""))
        d = services.decide_extension(d.pk, u["dispatcher"], approve=False, note="理由不充分，请按期办结")
    assert d.due_at == at(2026, 11, 16, 9, 30)
    assert list(ExtensionRequest.objects.filter(demand=d).order_by("pk").values_list("status", flat=True)) == [
        "approved", "refused"]
    refused("no_pending_extension", lambda: services.decide_extension(d.pk, u["supervisor"], approve=True), 409)
    intact()


def test_suspension_stops_the_clock(city):
    u = city.users
    d = working(city)
    assert d.due_at == at(2026, 11, 11, 9, 30)
    with clock.frozen(at(2026, 11, 4, 9, 30)):  # Wednesday: 5 working days left
        refused("invalid_field", lambda: services.suspend(d.pk, u["handler_city"], reason=""))
        d = services.suspend(d.pk, u["handler_city"], reason="等待诉求人提供路灯编号照片")
    assert d.state == State.SUSPENDED and d.paused_remaining == pytest.approx(5.0)
    refused("invalid_transition", lambda: services.reply(d.pk, u["handler_city"], text=ANSWER), 409)
    with clock.frozen(at(2026, 11, 9, 9, 30)):  # resumed the next Monday: suspended for 3 working days
        d = services.resume(d.pk, u["handler_city"], note="照片已收到")
    assert d.state == State.IN_PROGRESS
    assert d.due_at == at(2026, 11, 16, 9, 30)  # moved by the 3 working days it was suspended
    assert d.paused_at is None and d.paused_remaining is None
    # a supervisor may resume too
    with clock.frozen(at(2026, 11, 9, 10, 0)):
        services.suspend(d.pk, u["handler_city"], reason="等待诉求人补充材料")
    with clock.frozen(at(2026, 11, 10, 10, 0)):
        d = services.resume(d.pk, u["supervisor"], note="已催诉求人，恢复办理")
    assert d.state == State.IN_PROGRESS and d.due_at == at(2026, 11, 17, 9, 30)
    intact()


# --- replies, callbacks, rounds ---------------------------------------------------------------------

def test_a_reply_must_answer(city):
    u = city.users
    d = working(city)
    with clock.frozen(at(2026, 11, 3, 10, 0)):
        e = refused("empty_reply", lambda: services.reply(d.pk, u["handler_city"], text="   "), 400)
        assert "不能为空" in e.message
        for text in ("已转相关部门处理", "已转相关部门处理。", "您反映的问题已转相关部门处理，请耐心等待。"):
            e = refused("reply_not_an_answer", lambda t=text: services.reply(d.pk, u["handler_city"], text=t))
            assert "已转相关部门处理" in e.message
        refused("empty_reply", lambda: services.answer_directly(d.pk, u["intake"], text=""))
        assert services.load(d.pk).state == State.IN_PROGRESS and not Reply.objects.filter(demand=d).exists()
        r = services.reply(d.pk, u["handler_city"], text=ANSWER)
    assert r.demand.state == State.REPLIED and r.unit == city.units["city"] and r.round == 1
    intact()


def _reply(city, d: Demand, when) -> Demand:
    with clock.frozen(when):
        services.reply(d.pk, city.users["handler_city"], text=ANSWER)
    return services.load(d.pk)


def test_dissatisfied_callbacks_reopen_then_go_to_supervision(city, settings):
    settings.MASSLINE = {**settings.MASSLINE, "MAX_ROUNDS": 2}
    u = city.users
    with clock.frozen(MON):
        d, secret = receive(city)
    with clock.frozen(MON):
        services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk)
        services.sign(d.pk, u["handler_city"])
        services.start(d.pk, u["handler_city"])
    _reply(city, d, at(2026, 11, 3, 10, 0))
    with clock.frozen(at(2026, 11, 4, 10, 0)):  # the operator calls back: not resolved, dissatisfied
        d = services.callback(d.pk, u["intake"], resolved=False, satisfaction="dissatisfied", comment="灯还是不亮")
    assert d.state == State.REOPENED and d.round == 2 and d.supervision == 0
    assert d.dispatched_at == at(2026, 11, 4, 10, 0) and d.due_at == at(2026, 11, 13, 10, 0)  # a new round's time
    assert d.lead_unit == city.units["city"] and d.replied_at is None
    with clock.frozen(at(2026, 11, 5, 10, 0)):
        services.sign(d.pk, u["handler_city"])
        services.start(d.pk, u["handler_city"])
    d = _reply(city, d, at(2026, 11, 5, 15, 0))
    assert Reply.objects.filter(demand=d).count() == 2 and Reply.objects.filter(demand=d, round=2).exists()
    with clock.frozen(at(2026, 11, 6, 10, 0)):  # the person rates it online: still dissatisfied
        d = services.callback_by_person(d.code, secret, resolved=False, satisfaction="dissatisfied", comment="没修好")
    assert d.state == State.REOPENED and d.round == 3
    assert d.supervision == 1 and d.supervised_at == at(2026, 11, 6, 10, 0)  # beyond MAX_ROUNDS: supervised
    ev = Event.objects.filter(chain=d.chain, action="callback").order_by("seq")
    assert [e.data["supervised"] for e in ev] == [False, True]
    assert list(Callback.objects.filter(demand=d).order_by("pk").values_list("by", "round")) == [
        ("operator", 1), ("person", 2)]
    intact()


def test_a_supervised_demand_stays_supervised_when_it_is_reopened(city, settings):
    settings.MASSLINE = {**settings.MASSLINE, "MAX_ROUNDS": 3}
    d = working(city)
    with clock.frozen(at(2026, 11, 3, 9, 0)):
        services.supervise(d.pk, city.users["leader"], note="群众反映强烈", level=2)
    d = _reply(city, d, at(2026, 11, 3, 10, 0))
    with clock.frozen(at(2026, 11, 4, 10, 0)):
        d = services.callback(d.pk, city.users["intake"], resolved=False, satisfaction="dissatisfied")
    assert d.state == State.REOPENED and d.round == 2
    assert d.supervision == 2 and d.supervised_at == at(2026, 11, 3, 9, 0)  # listed, and since then
    intact()


def test_max_rounds_is_configuration(city, settings):
    settings.MASSLINE = {**settings.MASSLINE, "MAX_ROUNDS": 3}
    u = city.users
    d = working(city)
    for round_ in (1, 2):
        d = _reply(city, d, at(2026, 11, 3 + round_, 10, 0))
        with clock.frozen(at(2026, 11, 3 + round_, 11, 0)):
            d = services.callback(d.pk, u["intake"], resolved=False, satisfaction="dissatisfied")
            services.sign(d.pk, u["handler_city"])
            d = services.start(d.pk, u["handler_city"])
    assert d.round == 3 and d.supervision == 0  # three rounds allowed before supervision
    intact()


def test_a_satisfied_callback_closes(city):
    d = working(city)
    d = _reply(city, d, at(2026, 11, 3, 10, 0))
    with clock.frozen(at(2026, 11, 4, 10, 0)):
        d = services.callback(d.pk, city.users["intake"], resolved=True, satisfaction="basic")
    assert d.state == State.CLOSED and d.satisfaction == "basic" and d.resolved is True
    assert d.closed_at == at(2026, 11, 4, 10, 0)
    intact()


# --- merge and withdraw ----------------------------------------------------------------------------

def test_a_merged_demand_gets_its_masters_reply_and_its_person_rates_it(city):
    u = city.users
    with clock.frozen(MON):
        master, _ = receive(city)
        dup, dup_secret = receive(city, name="李先生", phone="13900005678", content="北门那盏路灯坏了好多天了。")
        refused("merge_into_self", lambda: services.merge(dup.pk, u["dispatcher"], into_id=dup.pk))
        refused("role_not_allowed", lambda: services.merge(dup.pk, u["intake"], into_id=master.pk), 403)
        dup = services.merge(dup.pk, u["dispatcher"], into_id=master.pk, note="同一盏路灯")
        assert dup.state == State.MERGED and dup.merged_into_id == master.pk
        services.dispatch(master.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk)
        services.sign(master.pk, u["handler_city"])
        services.start(master.pk, u["handler_city"])
    _reply(city, master, at(2026, 11, 3, 10, 0))
    dup = services.load(dup.pk)
    assert dup.state == State.REPLIED and dup.replied_at == at(2026, 11, 3, 10, 0)
    copied = Reply.objects.get(demand=dup)
    assert copied.text == ANSWER and copied.copied_from.demand_id == master.pk
    ev = Event.objects.filter(chain=dup.chain).order_by("-seq").first()
    assert (ev.action, ev.from_state, ev.to_state, ev.data["copied_from_demand"]) == (
        "reply", State.MERGED, State.REPLIED, master.code)
    with clock.frozen(at(2026, 11, 4, 10, 0)):
        dup = services.callback_by_person(dup.code, dup_secret, resolved=True, satisfaction="satisfied")
    assert dup.state == State.CLOSED and services.load(master.pk).state == State.REPLIED
    # a replied or closed demand is no merge target
    with clock.frozen(at(2026, 11, 4, 10, 0)):
        late, _ = receive(city)
        refused("bad_merge_target", lambda: services.merge(late.pk, u["dispatcher"], into_id=master.pk))
    intact()


def test_withdrawal_by_the_person_with_code_and_secret_and_by_intake_with_a_reason(city):
    u = city.users
    with clock.frozen(MON):
        mine, secret = receive(city)
        refused("bad_code_or_secret", lambda: services.withdraw_by_person(mine.code, "WRONGSECRT"), 404)
        mine = services.withdraw_by_person(mine.code, secret)
        assert mine.state == State.WITHDRAWN and mine.closed_at == MON
        assert Event.objects.get(chain=mine.chain, action="withdraw").actor_role == "person"
        refused("invalid_transition", lambda: services.withdraw_by_person(mine.code, secret), 409)

    d = to_unit(city)
    with clock.frozen(at(2026, 11, 3, 10, 0)):
        refused("invalid_field", lambda: services.withdraw(d.pk, u["intake"], reason=""))
        refused("role_not_allowed", lambda: services.withdraw(d.pk, u["handler_city"], reason="不想办了"), 403)
        d = services.withdraw(d.pk, u["intake"], reason="诉求人来电称已自行解决")
    assert d.state == State.WITHDRAWN
    ev = Event.objects.get(chain=d.chain, action="withdraw")
    assert (ev.actor_role, ev.reason, ev.from_state) == ("intake", "诉求人来电称已自行解决", State.DISPATCHED)

    # through the public API: with the right secret only, and never after the reply
    with clock.frozen(at(2026, 11, 3, 11, 0)):
        fresh, s3 = receive(city)
        other, s4 = receive(city)
    track = Client()
    resp = track.post("/api/v1/demands/track/withdraw", {"code": fresh.code, "secret": s4},
                      content_type="application/json")
    assert resp.status_code == 404 and resp.json()["code"] == "bad_code_or_secret"
    resp = track.post("/api/v1/demands/track/withdraw", {"code": fresh.code, "secret": s3, "reason": "已解决"},
                      content_type="application/json")
    assert resp.status_code == 200 and resp.json()["state"] == State.WITHDRAWN
    with clock.frozen(at(2026, 11, 3, 11, 0)):
        services.dispatch(other.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk)
        services.sign(other.pk, u["handler_city"])
        services.start(other.pk, u["handler_city"])
        services.reply(other.pk, u["handler_city"], text=ANSWER)
    resp = track.post("/api/v1/demands/track/withdraw", {"code": other.code, "secret": s4},
                      content_type="application/json")
    assert resp.status_code == 409 and resp.json()["code"] == "invalid_transition"
    assert "已答复" in resp.json()["message"] and "撤回" in resp.json()["message"]
    refused("invalid_transition", lambda: services.withdraw(other.pk, u["intake"], reason="撤回"), 409)
    intact()


def test_a_full_path_leaves_an_intact_record(city):
    """The record of one demand through accept, dispatch, sign, start, note, urge, supervise, reply and
    callback: one event per step, each from the state the previous one left."""
    u = city.users
    with clock.frozen(MON):
        d, secret = receive(city)
        services.accept(d.pk, u["intake"], restatement="北门路灯坏了一周")
        services.dispatch(d.pk, u["dispatcher"])
        services.sign(d.pk, u["handler_street1"])
        services.start(d.pk, u["handler_street1"])
        services.add_note(d.pk, u["handler_street1"], text="已联系维修班组")
        services.urge(d.pk, u["supervisor"], note="请今日内修复")
        services.supervise(d.pk, u["leader"], note="挂牌督办", level=2)
        services.reply(d.pk, u["handler_street1"], text=ANSWER)
        services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    evs = list(Event.objects.filter(chain=d.chain).order_by("seq"))
    assert [e.action for e in evs] == ["receive", "accept", "dispatch", "sign", "start", "note", "urge",
                                       "list_supervision", "reply", "callback"]
    for prev, ev in itertools.pairwise(evs):
        assert ev.from_state == prev.to_state, ev.action
        assert ev.prev_hash == prev.hash
    assert evs[-1].to_state == State.CLOSED
    intact()
