"""The API keeps its published contract: schemathesis drives every operation of ``/api/v1/`` in-process (the
WSGI app, a real database) and every answer must be documented: no 5xx, no status, content type or body the
OpenAPI description does not list.

Generated ids would almost never name a real object, so each case is steered (deterministically, from its
own generated values) onto the objects of a small world: demands in many states, a group visit, an
attachment, tracking codes with their secrets. A generated id is kept as it is now and then, so "not
found" is still exercised. Staff calls use the token of a user holding every staff role over the district.

Ninja's own refusals (malformed JSON, wrong content type, a path parameter of the wrong type) are checked
explicitly at the end: they must come back as ``{code, message}`` with a documented status.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import at

# schemathesis' runs commit for real, so that the notifications sent on commit are written and read back;
# ``serialized_rollback`` restores what the migrations seed (working calendar, deadline policies) afterwards
fuzzed = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED = 20261102
MOMENT = at(2026, 11, 2, 10, 0)  # a Monday, a working day
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HYPOTHESIS = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))

# operations that need no login (the anonymous run covers exactly these)
PUBLIC = ["ping", "categories", "orgs", "issue_token", "submit_demand", "track_demand", "rate_demand",
          "withdraw_own"]


class World:
    """The objects the fuzzed calls are steered onto, and a way to make more demands in a given state."""

    def __init__(self, city) -> None:
        from massline.core import auth
        from massline.core.events import Actor
        from massline.demands import attachments, services
        from massline.directory import services as directory
        from massline.directory.models import Category, Org, Responsibility, Role

        self.city = city
        self.secrets: dict[str, str] = {}
        district = city.district
        self.omni = directory.create_staff(
            "omni", "massline-demo", "全角色工作人员", Actor.system("测试"),
            roles=[(r, district) for r in (Role.INTAKE, Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER,
                                           Role.DISCIPLINE)] + [(Role.ADMIN, None)]
            # a handler acts for the unit where the role is held: one grant per handling unit
            + [(Role.HANDLER, o) for o in Org.objects.all() if o.can_handle],
        )
        self.token = auth.issue(self.omni, "contract")
        self.usernames = [*sorted(u.get_username() for u in city.users.values()), "omni"]
        self.orgs = list(Org.objects.order_by("pk").values_list("pk", flat=True))
        self.categories = list(Category.objects.order_by("pk").values_list("pk", flat=True))
        self.entries = list(Responsibility.objects.order_by("pk").values_list("pk", flat=True))
        for state in BUILDERS:
            self.make(state)
        self.make("received", channel="web", type="report", identity="anonymous", name="", phone="",
                  title="某单位违规收费", reported_unit_id=city.units["housing"].pk)
        self.make("received", channel="web", type="help", title="楼道堆放杂物")
        u = city.users
        self.visits = [services.open_group_visit(u["intake"], topic="小区停车难", headcount=30,
                                                 place_id=city.streets[0].pk).pk]
        d = self.make("in_progress")
        self.attachments = [attachments.store(d, u["handler_street1"], name="现场.png", chunks=[PNG],
                                              size=len(PNG)).pk]

    def make(self, state: str, **kw):
        """A new demand brought to ``state`` through the services, by the city's own staff."""
        from massline.demands import services
        from massline.demands.intake import IntakeData

        c, u = self.city, self.city.users
        data = dict(channel="hotline", type="complaint", title="小区门口路灯不亮",
                    content="花园社区北门路灯已经坏了一周，晚上很黑。", category_id=c.categories["市政设施"].pk,
                    place_id=c.grids[0].pk, name="陈女士", phone="13800001234")
        data.update(kw)
        d, secret = services.receive(IntakeData(**data), u["intake"] if data["channel"] == "hotline" else None)
        self.secrets[d.code] = secret
        for step in BUILDERS[state]:
            step(services, d, u, secret)
        return services.load(d.pk)

    def demands(self, states=None, *, known: bool = False, **filters) -> list[int]:
        """Demands (in one of ``states``); ``known``: only those whose secret we hold."""
        from massline.demands.models import Demand

        qs = Demand.objects.filter(**filters).order_by("pk")
        if states is not None:
            qs = qs.filter(state__in=states)
        if known:
            qs = qs.filter(code__in=list(self.secrets))
        return list(qs.values_list("pk", flat=True))


H = "handler_street1"
_dispatch = [lambda s, d, u, _: s.dispatch(d.pk, u["dispatcher"])]
_handling = [*_dispatch, lambda s, d, u, _: s.sign(d.pk, u[H]), lambda s, d, u, _: s.start(d.pk, u[H])]
_replied = [*_handling, lambda s, d, u, _: s.reply(d.pk, u[H], text="已安排维修人员更换北门路灯灯泡并检修线路，现已恢复照明。")]
BUILDERS = {
    "received": [],
    "accepted": [lambda s, d, u, _: s.accept(d.pk, u["intake"])],
    "dispatched": _dispatch,
    "return_requested": [*_dispatch, lambda s, d, u, _: s.request_return(
        d.pk, u[H], reason="该路段不属于本街道管辖", cited_item="街巷市政设施属地管理")],
    "signed": _handling[:2],
    "in_progress": _handling,
    "extension": [*_handling, lambda s, d, u, _: s.request_extension(d.pk, u[H], working_days=3,
                                                                      reason="需要协调供电部门配合施工")],
    "suspended": [*_handling, lambda s, d, u, _: s.suspend(d.pk, u[H], reason="等待诉求人提供具体位置")],
    "replied": _replied,
    "reopened": [*_replied, lambda s, d, u, secret: s.callback_by_person(d.code, secret, resolved=False,
                                                                         satisfaction="dissatisfied")],
}


@pytest.fixture(autouse=True)
def _unlimited(settings):
    settings.MASSLINE = {**settings.MASSLINE, "PUBLIC_RATE_PER_MINUTE": 1_000_000}


@pytest.fixture
def world(city) -> World:
    from massline.core import clock

    with clock.frozen(MOMENT):
        return World(city)


@pytest.fixture
def api_schema():
    from massline.wsgi import application

    config = schemathesis.Config.from_dict({"seed": SEED, "generation": {"deterministic": True},
                                            "phases": {"coverage": {"generation": {"mode": "positive"}}}})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=config)


# --- steering ---------------------------------------------------------------------------------------

# the workflow action behind each demand operation: a case is steered onto a demand where it is allowed
ACTIONS = {"accept_demand": "accept", "reject_demand": "reject", "answer_directly": "answer_directly",
           "dispatch_demand": "dispatch", "sign_demand": "sign", "start_demand": "start", "add_note": "note",
           "co_opinion": "co_note", "request_return": "request_return", "uphold_return": "uphold_return",
           "overrule_return": "overrule_return", "request_extension": "request_extension",
           "decide_extension": "decide_extension", "suspend_demand": "suspend", "resume_demand": "resume",
           "reply_demand": "reply", "callback_demand": "callback", "merge_demand": "merge",
           "withdraw_demand": "withdraw", "urge_demand": "urge", "supervise_demand": "supervise",
           "certify_close": "certify_close", "rate_demand": "callback", "withdraw_own": "withdraw"}
BODY_POOLS = {"category_id": "categories", "place_id": "orgs", "lead_unit_id": "orgs", "co_unit_ids": "orgs",
              "reported_unit_id": "orgs", "suggested_unit_id": "orgs", "cited_entry_id": "entries",
              "into_id": "demands", "group_visit_id": "visits"}
TEXT_FIELDS = ("text", "note", "reason", "comment", "minutes", "goals", "cited_item", "restatement", "topic")
ANSWER = "。经现场核实，已于当日完成维修，设施恢复正常使用"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _keep(v: int) -> bool:
    """One generated value in eight is sent as it is (so "not found" and the like stay exercised)."""
    return v % 8 == 7


def _pick(pool: list, v: int):
    return v if not pool or _keep(v) else pool[v % len(pool)]


def _demand_for(world: World, op: str, v: int) -> int:
    """One of the world's demands on which ``op`` is allowed now (made on the spot when fewer than two are
    left). Demands submitted through the fuzzed calls are left out: their secrets are unknown, and most have no
    place, so only jurisdiction-wide staff may act on them."""
    from massline.core import clock
    from massline.demands import workflow

    action = ACTIONS.get(op)
    if op == "attach_file":
        return _pick(world.demands(sorted(workflow.OPEN_BEFORE_REPLY), known=True), v)
    if action is None:
        return _pick(world.demands(known=True), v)
    sources = sorted(workflow.transition(action).sources)
    if action == "decide_extension":
        pool = []  # a pending request is needed: always a fresh one
    else:
        pool = world.demands(sources, known=True)
    if action == "answer_directly":
        pool = world.demands(sources, known=True, type="enquiry")  # only an enquiry is answered at intake
    if len(pool) < 2:
        state = "extension" if action == "decide_extension" else sources[v % len(sources)]
        if state not in BUILDERS:
            state = next(s for s in sources if s in BUILDERS)
        kind = {"type": "enquiry"} if action == "answer_directly" else {}
        with clock.frozen(MOMENT):
            pool.append(world.make(state, **kind).pk)
    return pool[v % len(pool)]


def steer(case, world: World) -> None:
    from massline.core.models import Notification

    op = case.operation.definition.raw.get("operationId")
    pools = {"demands": world.demands(), "orgs": world.orgs, "categories": world.categories,
             "entries": world.entries, "visits": world.visits, "attachments": world.attachments,
             "notifications": list(Notification.objects.filter(recipient=world.omni).order_by("pk")
                                   .values_list("pk", flat=True))}
    params = case.path_parameters or {}
    for name, value in params.items():
        if isinstance(value, str) and value.isdigit() and len(value) < 10:
            value = int(value)  # path parameters are sent as text; the boundary phase often writes them so
        if not _is_int(value) or _keep(value):
            continue
        if name == "demand_id":
            params[name] = _demand_for(world, op, value)
        elif name in ("visit_id", "attachment_id", "notification_id"):
            params[name] = _pick(pools[name.replace("_id", "s")], value)
    body = case.body
    if not isinstance(body, dict):
        return
    for name, pool in BODY_POOLS.items():
        value = body.get(name)
        if _is_int(value):
            body[name] = _pick(pools[pool], value)
        elif isinstance(value, list):
            body[name] = [_pick(pools[pool], x) if _is_int(x) else x for x in value]
    for name in TEXT_FIELDS:
        value = body.get(name)
        if isinstance(value, str) and len(value) % 3 != 2:
            body[name] = value[:100] + ANSWER  # long enough for the services' own minimums
    code, secret = body.get("code"), body.get("secret")
    if op in ("track_demand", "rate_demand", "withdraw_own") and isinstance(code, str) and isinstance(secret, str):
        n = len(code) + len(secret)
        if not _keep(n):
            from massline.demands.models import Demand

            d = Demand.objects.get(pk=_demand_for(world, op, n))
            body["code"], body["secret"] = d.code, world.secrets[d.code]
    if op == "issue_token" and isinstance(body.get("username"), str) and isinstance(body.get("password"), str):
        n = len(body["username"])
        if not _keep(n):
            body["username"] = world.usernames[n % len(world.usernames)]
        if len(body["password"]) % 2 == 0:
            body["password"] = "massline-demo"
    if op == "attach_file" and "file" in body and len(body) % 2:
        body["file"] = PNG
    if op == "submit_demand" and isinstance(body.get("content"), str) and isinstance(body.get("title"), str):
        # give a share of submissions a fair chance to pass the service's own checks
        if len(body["content"]) % 3 != 2:
            body["title"] = body["title"].strip()[:100] or "诉求"
            body["content"] = body["content"][:100] + ANSWER
            if isinstance(body.get("phone"), str):
                body["phone"] = "13800001234"


# --- the runs ---------------------------------------------------------------------------------------

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def reached():
    """The statuses each operation answered with. After the run, most operations must have succeeded at least
    once: otherwise the steering has rotted and the run only knocks on closed doors."""
    seen: dict[str, set[int]] = {}
    yield seen
    if not seen:
        return
    ok = {op for op, statuses in seen.items() if any(200 <= s < 300 for s in statuses)}
    assert len(ok) >= 0.9 * len(seen), f"operations that never succeeded: {sorted(set(seen) - ok)}"


def _call(case, world: World, reached: dict, headers: dict | None = None) -> None:
    from massline.core import clock

    steer(case, world)
    with clock.frozen(MOMENT):
        response = case.call(headers=headers)
    reached.setdefault(case.operation.label, set()).add(response.status_code)
    case.validate_response(response, checks=CHECKS, headers=headers)


@fuzzed
@HYPOTHESIS
@schema.include(operation_id=PUBLIC).parametrize()
def test_public_operations_called_anonymously(case, world, reached):
    _call(case, world, reached)


@fuzzed
@HYPOTHESIS
@schema.parametrize()
def test_every_operation_called_by_staff(case, world, reached):
    _call(case, world, reached, {"Authorization": f"Bearer {world.token}"})


# --- Ninja's own refusals ---------------------------------------------------------------------------

@pytest.fixture
def token(db) -> str:
    from massline.core import auth
    from massline.core.events import Actor
    from massline.directory import services as directory
    from massline.directory.models import Role

    user = directory.create_staff("admin", "massline-demo", "管理员", Actor.system("测试"), roles=[(Role.ADMIN, None)])
    return auth.issue(user)


@pytest.fixture
def spec():
    from massline.core.management.commands.openapi import spec_text

    return json.loads(spec_text())


def _documented(spec, method: str, path: str, status: int) -> bool:
    return str(status) in spec["paths"][path][method]["responses"]


def _error_body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = json.loads(response.content)
    assert isinstance(body.get("code"), str) and body["code"]
    assert isinstance(body.get("message"), str) and body["message"]
    return body


def test_malformed_json_body_is_refused_with_our_error_body(spec):
    r = Client().post("/api/v1/demands/track", data='{"code": "x", ', content_type="application/json")
    body = _error_body(r)
    assert r.status_code == 400 and body["code"] == "bad_request"
    assert _documented(spec, "post", "/api/v1/demands/track", r.status_code)


def test_wrong_content_type_is_refused_with_our_error_body(spec):
    r = Client().post("/api/v1/demands/track", data="code=2611020ABCDE&secret=ABCDEFGHJK", content_type="text/plain")
    body = _error_body(r)
    assert r.status_code == 400 and body["code"] == "bad_request", (r.status_code, body)
    assert _documented(spec, "post", "/api/v1/demands/track", r.status_code)


def test_body_of_the_wrong_shape_is_refused_as_invalid(spec):
    r = Client().post("/api/v1/demands/track", data=json.dumps([1, 2]), content_type="application/json")
    body = _error_body(r)
    assert r.status_code == 422 and body["code"] == "invalid" and body["detail"]["errors"]
    assert _documented(spec, "post", "/api/v1/demands/track", 422)


@pytest.mark.parametrize("path", ["/api/v1/demands/abc", "/api/v1/demands/1.5/events", "/api/v1/group-visits/x"])
def test_path_parameter_of_the_wrong_type_is_refused_with_our_error_body(token, spec, path):
    r = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    body = _error_body(r)
    assert r.status_code == 422 and body["code"] == "invalid", (r.status_code, body)
    assert body["detail"]["errors"][0]["loc"][0] == "path"
    template = {"/api/v1/demands/abc": "/api/v1/demands/{demand_id}",
                "/api/v1/demands/1.5/events": "/api/v1/demands/{demand_id}/events",
                "/api/v1/group-visits/x": "/api/v1/group-visits/{visit_id}"}[path]
    assert _documented(spec, "get", template, r.status_code)


@pytest.mark.django_db
def test_a_bad_token_is_refused_with_our_error_body(spec):
    r = Client().get("/api/v1/me", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert r.status_code == 401 and _error_body(r)["code"] == "unauthenticated"
    assert _documented(spec, "get", "/api/v1/me", 401)


def test_a_nul_character_in_a_body_is_refused_not_a_server_error(spec):
    """PostgreSQL cannot store NUL: such text is refused at the door on every database."""
    r = Client().post("/api/v1/demands/track", data=json.dumps({"code": "26110\u0000", "secret": "x"}),
                      content_type="application/json")
    assert r.status_code == 400 and _error_body(r)["code"] == "bad_request"
    assert _documented(spec, "post", "/api/v1/demands/track", 400)


def test_a_nul_character_in_the_query_is_refused_as_invalid(spec):
    r = Client().get("/api/v1/orgs?kind=%00")
    body = _error_body(r)
    assert r.status_code == 422 and body["code"] == "invalid"
    assert body["detail"]["errors"][0]["loc"] == ["query", "kind"]
    assert _documented(spec, "get", "/api/v1/orgs", 422)


@pytest.mark.django_db
def test_every_staff_operation_refuses_an_anonymous_call_with_401(spec):
    """No token, no staff operation: 401 with the error body, before any body is even read."""
    refused = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            security = op.get("security") or []
            if not security or {} in security:
                continue
            url = path.replace("{demand_id}", "1").replace("{visit_id}", "1").replace("{attachment_id}", "1") \
                .replace("{notification_id}", "1")
            body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
            r = getattr(Client(), method)(url, **body)
            assert r.status_code == 401 and _error_body(r)["code"] == "unauthenticated", (method, path, r.status_code)
            assert _documented(spec, method, path, 401)
            refused += 1
    assert refused > 20


@pytest.mark.django_db
def test_public_calls_beyond_the_rate_are_refused_with_429(settings, spec):
    settings.MASSLINE = {**settings.MASSLINE, "PUBLIC_RATE_PER_MINUTE": 2}
    client = Client()
    statuses = [client.post("/api/v1/demands/track", data={"code": "2611020ABCDE", "secret": "ABCDEFGHJK"},
                            content_type="application/json") for _ in range(3)]
    assert [r.status_code for r in statuses] == [404, 404, 429]
    assert _error_body(statuses[-1])["code"] == "rate_limited" and statuses[-1]["Retry-After"] == "60"
    assert _documented(spec, "post", "/api/v1/demands/track", 429)


@pytest.mark.django_db
def test_unknown_paths_and_methods_under_the_api_answer_with_the_error_body(client):
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.delete("/api/v1/ping")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed" and "GET" in r["Allow"]


@pytest.mark.django_db
def test_an_integer_past_the_database_range_is_invalid_not_a_server_error(client):
    r = client.get("/api/v1/orgs", {"parent_id": str(2**70)})
    # SQLite cannot bind it (refused as invalid); PostgreSQL compares it and finds nothing
    assert (r.status_code, r.json()) in ((422, {"code": "invalid", "message": "数值超出范围"}), (200, []))
