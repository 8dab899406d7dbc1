"""Who may see and do what: the role × operation matrix with scopes, the whistle-blowing rule (举报 only for
discipline inspection), and confidential identities.

The demands here reach their state through the services (no shortcuts). The jurisdiction is built once per
module; every test runs in a savepoint rolled back after it.
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client

from conftest import at
from massline.core import auth, clock, events
from massline.core.errors import DomainError, NotFound
from massline.core.models import Event, Notification
from massline.demands import policy, queries, services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, DemandType, DemandUnit, State

pytestmark = pytest.mark.django_db

NOW = at(2026, 11, 4, 10, 0)
REPLY = "经现场核查，施工单位夜间违规作业属实，已责令其停止夜间施工并处罚款，今后将加强巡查，欢迎继续监督。"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def city(module_city):
    """The small jurisdiction, built once for the module (overrides the per-test fixture of conftest)."""
    return module_city


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(NOW):
        yield


def receive(city, by: str | None = "intake", **kw) -> tuple[Demand, str]:
    data = dict(channel="hotline", type="complaint", title="工地夜间施工噪音扰民",
                content="花园社区旁边工地每天夜里十二点以后还在施工，噪音很大，无法休息。",
                category_id=city.categories["施工噪音"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    return services.receive(IntakeData(**data), city.users[by] if by else None)


def dispatched(city, lead: str = "city", co: tuple[str, ...] = (), **kw) -> Demand:
    d, _ = receive(city, **kw)
    return services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units[lead].pk,
                             co_unit_ids=[city.units[c].pk for c in co])


def in_progress(city, lead: str = "city", handler: str = "handler_city", **kw) -> Demand:
    d = dispatched(city, lead, **kw)
    services.sign(d.pk, city.users[handler])
    return services.start(d.pk, city.users[handler])


def outcome(fn) -> str:
    """Run ``fn`` in a savepoint that is always rolled back; "ok" or the refusal's code."""
    class Undo(Exception):
        pass

    try:
        with transaction.atomic():
            fn()
            raise Undo
    except Undo:
        return "ok"
    except DomainError as exc:
        return exc.code


def client_for(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {auth.issue(user)}")


# --- the role × operation matrix ------------------------------------------------------------------

# a complaint in 东城街道, lead unit 城管委 (handler_city), co-handling unit 自来水公司 (handler_water), filed by
# an intake operator on the hotline. "see": may open it; the rest are services ("sign" on the dispatched
# demand, the others on one in progress). ok / 403 role_not_allowed / 404 not_found.
MATRIX = """
user                see   sign  co_note  reply  urge  supervise  certify_close  withdraw
citizen             404   404   404      404    404   404        404            404
intake              ok    403   403      403    403   403        403            ok
dispatcher          ok    403   403      403    403   403        403            403
handler_city        ok    ok    403      ok     403   403        403            403
handler_water       ok    403   ok       403    403   403        403            403
handler_power       404   404   404      404    404   404        404            404
handler_street1     404   404   404      404    404   404        404            404
supervisor          ok    403   403      403    ok    ok         ok             403
supervisor_street2  404   404   404      404    404   404        404            404
leader              ok    403   403      403    ok    ok         403            403
discipline          404   404   404      404    404   404        404            404
admin               ok    403   403      403    403   403        403            403
nobody              404   404   404      404    404   404        404            404
"""
CODES = {"ok": "ok", "403": "role_not_allowed", "404": "not_found"}


def _matrix() -> list[tuple[str, str, str]]:
    lines = [line.split() for line in MATRIX.strip().splitlines()]
    ops = lines[0][1:]
    return [(row[0], op, CODES[cell]) for row in lines[1:] for op, cell in zip(ops, row[1:], strict=True)]


def test_permission_matrix(city):
    users = city.users
    fresh = dispatched(city, co=("water",))
    working = in_progress(city, co=("water",))

    def see(user) -> None:
        if not policy.can_see(user, services.load(working.pk)):
            raise NotFound()

    ops = {
        "see": see,
        "sign": lambda u: services.sign(fresh.pk, u),
        "co_note": lambda u: services.co_opinion(working.pk, u, text="同意主办单位的处理方案"),
        "reply": lambda u: services.reply(working.pk, u, text=REPLY),
        "urge": lambda u: services.urge(working.pk, u, note="请抓紧办理"),
        "supervise": lambda u: services.supervise(working.pk, u, note="请三日内办结"),
        "certify_close": lambda u: services.certify_close(working.pk, u, reason="已依法依规处理到位"),
        "withdraw": lambda u: services.withdraw(working.pk, u, reason="诉求人来电撤回"),
    }
    wrong = []
    cells = _matrix()
    for name, op, want in cells:
        got = outcome(lambda op=op, name=name: ops[op](users[name]))
        if got != want:
            wrong.append(f"{name} × {op}: expected {want}, got {got}")
        if op == "see":
            listed = policy.visible(users[name]).filter(pk=working.pk).exists()
            if listed != (want == "ok"):
                wrong.append(f"{name}: policy.visible disagrees with can_see ({listed})")
    assert len(cells) == 13 * 8
    assert not wrong, "\n".join(wrong)


def test_handler_of_one_unit_cannot_sign_a_demand_dispatched_to_another(city):
    u = city.users
    to_water = dispatched(city, lead="water", title="小区停水三天", content="幸福小区已经停水三天了，一直没有通知。")
    to_city = dispatched(city, lead="city")
    with pytest.raises(DomainError) as exc:
        services.sign(to_water.pk, u["handler_city"])
    assert (exc.value.code, exc.value.status) == ("not_found", 404)
    with pytest.raises(DomainError) as exc:
        services.sign(to_city.pk, u["handler_water"])
    assert exc.value.code == "not_found"
    assert services.sign(to_water.pk, u["handler_water"]).state == State.SIGNED
    assert services.sign(to_city.pk, u["handler_city"]).state == State.SIGNED
    # after a re-dispatch the old unit loses it: the return is upheld and the demand goes to 住建委
    services.request_return(to_city.pk, u["handler_city"], reason="该事项属于物业监管", cited_item="物业服务监管")
    services.uphold_return(to_city.pk, u["dispatcher"], lead_unit_id=city.units["housing"].pk)
    assert not policy.can_see(u["handler_city"], services.load(to_city.pk))
    with pytest.raises(DomainError) as exc:
        services.sign(to_city.pk, u["handler_city"])
    assert exc.value.code == "not_found"
    assert services.sign(to_city.pk, u["handler_housing"]).lead_unit == city.units["housing"]


def test_a_handler_acts_for_the_unit_where_the_role_is_held_not_the_units_below_it(city):
    """The district's own handler (the backstop office) is not every department's handler."""
    u = city.users
    to_city = dispatched(city, lead="city")
    assert not policy.can_see(u["handler_district"], to_city)
    assert to_city.pk not in set(policy.visible(u["handler_district"]).values_list("pk", flat=True))
    with pytest.raises(DomainError) as exc:
        services.sign(to_city.pk, u["handler_district"])
    assert exc.value.code == "not_found"
    d, _ = receive(city)
    to_district = services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.district.pk)
    assert services.sign(to_district.pk, u["handler_district"]).state == State.SIGNED


def test_co_handling_unit_adds_an_opinion_but_cannot_sign_or_reply(city):
    u = city.users
    d = dispatched(city, co=("water",))
    for fn in (lambda: services.sign(d.pk, u["handler_water"]),):
        with pytest.raises(DomainError) as exc:
            fn()
        assert (exc.value.code, exc.value.status) == ("role_not_allowed", 403)
        assert "签收" in exc.value.message
    services.co_opinion(d.pk, u["handler_water"], text="需先关闭该路段供水阀门再施工，我司可配合")
    opinion = DemandUnit.objects.get(demand=d, unit=city.units["water"], active=True)
    assert opinion.role == DemandUnit.Role.CO and opinion.opinion.startswith("需先关闭")
    services.sign(d.pk, u["handler_city"])
    services.start(d.pk, u["handler_city"])
    with pytest.raises(DomainError) as exc:
        services.reply(d.pk, u["handler_water"], text=REPLY)
    assert exc.value.code == "role_not_allowed" and "答复" in exc.value.message
    with pytest.raises(DomainError) as exc:
        services.co_opinion(d.pk, u["handler_city"], text="主办单位不是协办单位")
    assert exc.value.code == "role_not_allowed"
    assert services.reply(d.pk, u["handler_city"], text=REPLY).demand.state == State.REPLIED


def test_street_scoped_supervisor_sees_its_street_only(city):
    u = city.users
    east, _ = receive(city, place_id=city.grids[0].pk, title="东城街道路面破损")  # 东城街道
    west, _ = receive(city, place_id=city.grids[4].pk, title="西城街道路面破损")  # 西城街道
    assert city.grids[4].path.startswith(city.streets[1].path)
    mine = policy.visible(u["supervisor_street2"])
    assert mine.filter(pk=west.pk).exists() and not mine.filter(pk=east.pk).exists()
    assert policy.can_see(u["supervisor_street2"], services.load(west.pk))
    assert not policy.can_see(u["supervisor_street2"], services.load(east.pk))
    found = queries.search(u["supervisor_street2"], queries.Filters(q="路面破损"))
    assert list(found.values_list("pk", flat=True)) == [west.pk]
    # dispatched to a district department, the demand stays in the street's view (its place is there)
    services.dispatch(west.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk)
    services.dispatch(east.pk, u["dispatcher"], lead_unit_id=city.units["city"].pk)
    assert services.urge(west.pk, u["supervisor_street2"], note="请抓紧办理").pk == west.pk
    with pytest.raises(DomainError) as exc:
        services.urge(east.pk, u["supervisor_street2"], note="请抓紧办理")
    assert exc.value.code == "not_found"
    # the district's supervisor sees both
    both = queries.search(u["supervisor"], queries.Filters(q="路面破损"))
    assert set(both.values_list("pk", flat=True)) == {east.pk, west.pk}


def test_admin_sees_ordinary_demands_but_not_reports_and_acts_on_none(city):
    u = city.users
    d, _ = receive(city)
    report, _ = receive(city, by="citizen", channel="web", type="report", category_id=None,
                        title="举报城管队员收受好处", content="城管执法队员收受摊贩好处费。",
                        reported_unit_id=city.units["city"].pk)
    admin = u["admin"]
    assert policy.visible(admin).filter(pk=d.pk).exists()
    assert not policy.visible(admin).filter(pk=report.pk).exists()
    assert policy.visible(admin).filter(type=DemandType.REPORT).count() == 0
    with pytest.raises(DomainError) as exc:
        services.accept(d.pk, admin)
    assert exc.value.code == "role_not_allowed"
    resp = client_for(admin).get(f"/api/v1/demands/{d.pk}")
    assert resp.status_code == 200 and resp.json()["actions"] == []


# --- the whistle-blowing rule ---------------------------------------------------------------------

REPORT_PHONE = "13700009999"
REPORT_WORDS = "吃拿卡要"
NOT_DISCIPLINE = ["intake", "dispatcher", "supervisor", "supervisor_street2", "leader", "admin", "handler_city",
                  "handler_district", "handler_street1", "nobody"]


def file_report(city) -> tuple[Demand, str]:
    """A citizen reports a cadre of 城管委 (the reported unit) from the website, under their own name."""
    return receive(city, by="citizen", channel="web", type="report", category_id=None,
                   title="举报城管执法人员吃拿卡要", content=f"城管委执法队某队员长期对沿街商户{REPORT_WORDS}，索要好处费。",
                   name="举报人周先生", phone=REPORT_PHONE, reported_unit_id=city.units["city"].pk,
                   reported_person="执法队某队员")


def what_user_finds(user, d: Demand) -> dict[str, object]:
    """Every read path, for one user and one demand."""
    c = client_for(user)
    listing = {key: c.get("/api/v1/demands", {key: value}).json()
               for key, value in (("code", d.code), ("q", REPORT_WORDS), ("phone", REPORT_PHONE), ("type", "report"))}
    return {
        "visible": policy.visible(user).filter(pk=d.pk).exists(),
        "visible_count": policy.visible(user).filter(type=DemandType.REPORT).count(),
        "by_code": queries.search(user, queries.Filters(code=d.code)).count(),
        "by_text": queries.search(user, queries.Filters(q=REPORT_WORDS)).count(),
        "by_phone": queries.search(user, queries.Filters(phone=REPORT_PHONE)).count(),
        "by_type": queries.search(user, queries.Filters(type="report")).count(),
        "earlier_by_phone": len(list(queries.earlier_by_phone(user, REPORT_PHONE))),
        "can_see": policy.can_see(user, services.load(d.pk)),
        "api_list": [listing[k]["count"] for k in listing] + [len(listing[k]["items"]) for k in listing],
        "api_detail": c.get(f"/api/v1/demands/{d.pk}").status_code,
        "api_events": c.get(f"/api/v1/demands/{d.pk}/events").status_code,
    }


HIDDEN = {"visible": False, "visible_count": 0, "by_code": 0, "by_text": 0, "by_phone": 0, "by_type": 0,
          "earlier_by_phone": 0, "can_see": False, "api_list": [0] * 8, "api_detail": 404, "api_events": 404}
SEEN = {"visible": True, "visible_count": 1, "by_code": 1, "by_text": 1, "by_phone": 1, "by_type": 1,
        "earlier_by_phone": 1, "can_see": True, "api_list": [1] * 8, "api_detail": 200, "api_events": 200}


def test_a_report_is_seen_by_discipline_inspection_only(city):
    u = city.users
    d, _ = file_report(city)
    stages = {"received": d}
    services.dispatch(d.pk, u["discipline"])
    services.sign(d.pk, u["discipline"])
    stages["signed"] = services.load(d.pk)
    assert stages["signed"].lead_unit == city.units["discipline"]
    for stage in stages:
        # the positive control: the very same searches find it for discipline inspection
        assert what_user_finds(u["discipline"], d) == SEEN, stage
        for name in NOT_DISCIPLINE:
            assert what_user_finds(u[name], d) == HIDDEN, (stage, name)
        # nor can any of them act on it
        for name in NOT_DISCIPLINE:
            for fn in (lambda n=name: services.urge(d.pk, u[n], note="请抓紧"),
                       lambda n=name: services.withdraw(d.pk, u[n], reason="撤回"),
                       lambda n=name: services.merge(d.pk, u[n], into_id=d.pk + 999999)):
                assert outcome(fn) == "not_found", (stage, name)


def test_the_person_follows_their_report_by_code_and_secret(city):
    u = city.users
    d, secret = file_report(city)
    assert services.by_code(d.code, secret).pk == d.pk
    with pytest.raises(DomainError) as exc:
        services.by_code(d.code, "WRONGSECRT")
    assert exc.value.code == "bad_code_or_secret"
    services.dispatch(d.pk, u["discipline"])
    resp = Client().post("/api/v1/demands/track", {"code": d.code, "secret": secret}, content_type="application/json")
    assert resp.status_code == 200
    body = resp.json()
    assert body["code"] == d.code and body["state"] == State.DISPATCHED
    assert body["lead_unit"] is None  # the tracking page does not name the handling office of a report
    # logged in, the citizen who filed it sees it too (it is their own)
    assert policy.visible(u["citizen"]).filter(pk=d.pk).exists()


def test_a_report_goes_to_discipline_inspection_only(city):
    u = city.users
    d, _ = file_report(city)
    with pytest.raises(DomainError) as exc:
        services.dispatch(d.pk, u["dispatcher"])
    assert exc.value.code == "not_found"  # the command centre does not even know it exists
    for unit in ("city", "housing", "centre"):
        with pytest.raises(DomainError) as exc:
            services.dispatch(d.pk, u["discipline"], lead_unit_id=city.units[unit].pk)
        assert exc.value.code == "report_to_discipline_only" and CJK.search(exc.value.message)
    d = services.dispatch(d.pk, u["discipline"], lead_unit_id=city.units["discipline"].pk)
    assert d.lead_unit == city.units["discipline"]
    assert list(DemandUnit.objects.filter(demand=d, active=True).values_list("unit_id", flat=True)) == [
        city.units["discipline"].pk]
    # and an ordinary demand is never given to discipline inspection
    other, _ = receive(city)
    with pytest.raises(DomainError) as exc:
        services.dispatch(other.pk, u["dispatcher"], lead_unit_id=city.units["discipline"].pk)
    assert exc.value.code == "discipline_for_reports"


def test_discipline_inspection_does_the_whole_flow_and_nobody_else_hears_of_it(city, django_capture_on_commit_callbacks):
    u = city.users
    notified_before = set(Notification.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        d, secret = file_report(city)
        services.accept(d.pk, u["discipline"], restatement="举报城管执法队员索要好处费")
        services.dispatch(d.pk, u["discipline"])  # no unit given: discipline inspection, not the responsibility list
        services.sign(d.pk, u["discipline"])
        services.start(d.pk, u["discipline"])
        services.add_note(d.pk, u["discipline"], text="已约谈被举报人并调取相关记录")
        services.reply(d.pk, u["discipline"], text="经核查，被举报人确有违规收受财物的行为，已给予党内警告处分并责令退还，感谢您的监督。")
        d = services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    assert d.state == State.CLOSED
    staff_steps = Event.objects.filter(chain=d.chain).exclude(action__in=("receive", "callback"))
    assert {e.actor_role for e in staff_steps} == {"discipline"}
    assert [e.action for e in staff_steps.order_by("seq")] == ["accept", "dispatch", "sign", "start", "note", "reply"]
    new = Notification.objects.exclude(pk__in=notified_before)
    assert new.exists(), "discipline inspection should have been told"
    assert set(new.values_list("recipient_id", flat=True)) == {u["discipline"].pk}
    assert list(events.verify()) == []


def test_a_report_recorded_by_an_intake_operator_leaves_their_view(city):
    """On the report line an operator may take it down, but from then on it is discipline inspection's."""
    u = city.users
    d, _ = receive(city, type="report", category_id=None, title="举报社区主任优亲厚友",
                   content="和平社区主任把低保名额给了自己亲戚。", reported_unit_id=city.streets[0].pk)
    assert not policy.can_see(u["intake"], services.load(d.pk))
    assert policy.can_see(u["discipline"], services.load(d.pk))


# --- confidential and anonymous identities --------------------------------------------------------

SECRET_NAME, SECRET_PHONE = "保密人孙女士", "13647382915"


def _identity_seen(user, d: Demand) -> dict:
    return queries.person_view(user, services.load(d.pk), full=True)


@pytest.mark.parametrize("name, sees", [
    ("intake", True), ("supervisor", True),
    ("dispatcher", False), ("handler_city", False), ("handler_water", False), ("leader", False), ("admin", False),
])
def test_a_confidential_identity_is_seen_by_intake_and_supervision_only(city, name, sees):
    d = dispatched(city, co=("water",), identity="confidential", name=SECRET_NAME, phone=SECRET_PHONE)
    user = city.users[name]
    view = _identity_seen(user, d)
    resp = client_for(user).get(f"/api/v1/demands/{d.pk}")
    assert resp.status_code == 200
    person = resp.json()["person"]
    if sees:
        assert view == {"identity": "confidential", "name": SECRET_NAME, "phone": SECRET_PHONE}
        assert person == view
    else:
        assert view == {"identity": "confidential", "name": "（保密）", "phone": ""}
        assert person == view
        # nowhere in what they can read: not the detail, not the record of events
        for url in (f"/api/v1/demands/{d.pk}", f"/api/v1/demands/{d.pk}/events"):
            text = client_for(user).get(url).content.decode()
            assert SECRET_NAME not in text and SECRET_PHONE not in text and SECRET_PHONE[-4:] not in text, url


def test_a_confidential_reporter_is_known_to_discipline_inspection(city):
    u = city.users
    d, _ = receive(city, by="citizen", channel="web", type="report", category_id=None, identity="confidential",
                   title="举报城管执法人员吃拿卡要", content="城管委执法队某队员长期索要好处费。",
                   name=SECRET_NAME, phone=SECRET_PHONE, reported_unit_id=city.units["city"].pk)
    assert _identity_seen(u["discipline"], d)["name"] == SECRET_NAME
    resp = client_for(u["discipline"]).get(f"/api/v1/demands/{d.pk}")
    assert resp.json()["person"] == {"identity": "confidential", "name": SECRET_NAME, "phone": SECRET_PHONE}
    # discipline inspection does not see a confidential person on an ordinary demand: it cannot see the demand
    other = dispatched(city, identity="confidential", name=SECRET_NAME, phone=SECRET_PHONE)
    assert _identity_seen(u["discipline"], other)["name"] == "（保密）"
    assert client_for(u["discipline"]).get(f"/api/v1/demands/{other.pk}").status_code == 404


def test_a_confidential_person_cannot_be_found_by_phone_by_those_who_may_not_know_them(city):
    """Searching by phone would tell a handler whose demand it is: only those who may see the identity
    find a confidential demand by the person's phone."""
    u = city.users
    d = dispatched(city, identity="confidential", name=SECRET_NAME, phone=SECRET_PHONE)
    for name in ("handler_city", "dispatcher", "leader"):
        assert policy.visible(u[name]).filter(pk=d.pk).exists(), name  # they do see the demand itself
        assert not queries.search(u[name], queries.Filters(phone=SECRET_PHONE)).exists(), name
        assert not list(queries.earlier_by_phone(u[name], SECRET_PHONE)), name
        body = client_for(u[name]).get("/api/v1/demands", {"phone": SECRET_PHONE}).json()
        assert body["count"] == 0, name
    for name in ("intake", "supervisor"):
        assert list(queries.search(u[name], queries.Filters(phone=SECRET_PHONE)).values_list("pk", flat=True)) == [
            d.pk], name
        assert [x.pk for x in queries.earlier_by_phone(u[name], SECRET_PHONE)] == [d.pk], name
    # a named person is found by phone by anyone who sees the demand
    named = dispatched(city, name="实名人钱先生", phone="13633334444")
    assert queries.search(u["handler_city"], queries.Filters(phone="13633334444")).get().pk == named.pk


def test_an_anonymous_demand_has_no_person_at_all(city):
    u = city.users
    d, _ = receive(city, identity="anonymous", name="", phone="")
    assert d.person_id is None
    d2, _ = receive(city, identity="anonymous", name="不该留下的名字", phone="13655556666")
    assert d2.person_id is None  # even when a name was typed, anonymous means none is kept
    for name in ("intake", "supervisor", "dispatcher"):
        assert queries.person_view(u[name], services.load(d2.pk), full=True) == {
            "identity": "anonymous", "name": "匿名", "phone": ""}
        person = client_for(u[name]).get(f"/api/v1/demands/{d2.pk}").json()["person"]
        assert person == {"identity": "anonymous", "name": "匿名", "phone": ""}
    assert not Demand.objects.filter(pk=d2.pk, person__isnull=False).exists()
