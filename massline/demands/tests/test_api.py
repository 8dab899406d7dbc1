"""The JSON API as the thing under test: tokens, the one error body, the public path (submit → track → rate),
staff actions, rate limits and idempotent submission."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from conftest import at, on_postgres
from massline.core import auth, clock, events
from massline.core.models import ApiToken, Event, IdempotencyRecord, OutboundMessage
from massline.demands.models import Demand, State

T0 = at(2026, 11, 2, 9, 30)  # a Monday
REPLY = "已安排维修人员更换北门路灯灯泡并检修线路，当晚已恢复照明，请您查看。"


class DownGateway:
    """An SMS gateway that is down."""

    def send(self, address: str, body: str) -> None:
        raise ConnectionError("短信网关无响应")


@pytest.fixture
def frozen():
    # every request handled at a fixed moment (in every thread: the concurrent test's requests too)
    with clock.frozen(T0, all_threads=True):
        yield T0


@pytest.fixture
def api():
    return Api(Client())


class Api:
    def __init__(self, client: Client) -> None:
        self.client = client

    def post(self, path: str, body: Any = None, token: str | None = None, **headers: str):
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.post(f"/api/v1{path}", data=json.dumps(body if body is not None else {}),
                                content_type="application/json", headers=headers)

    def get(self, path: str, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(f"/api/v1{path}", headers=headers)


def _public_body(city, **kw) -> dict:
    body = {"channel": "web", "type": "complaint", "title": "北门路灯不亮",
            "content": "花园社区北门路灯坏了一周，晚上很黑，老人出门不方便。", "category_id": city.categories["市政设施"].pk,
            "place_id": city.grids[0].pk, "name": "陈女士", "phone": "13800001234"}
    body.update(kw)
    return body


def _token(user) -> str:
    return auth.issue(user, "test")


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["message"] and any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return body


# --- authentication ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_token_for_a_username_and_password(city, api):
    r = api.post("/auth/token", {"username": "dispatcher", "password": "massline-demo"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["token"].startswith("ml_") and body["username"] == "dispatcher" and body["roles"] == ["dispatcher"]
    stored = ApiToken.objects.get(user=city.users["dispatcher"])
    assert stored.key_hash != body["token"] and body["token"] not in stored.key_hash  # only its digest is kept
    me = api.get("/me", body["token"])
    assert me.status_code == 200 and me.json()["username"] == "dispatcher"
    _error(api.post("/auth/token", {"username": "dispatcher", "password": "wrong-password"}), 401, "bad_credentials")


@pytest.mark.django_db
def test_staff_endpoints_refuse_without_a_valid_token(city, api):
    d_id = 1
    for response in (api.get("/demands"), api.get(f"/demands/{d_id}"), api.post(f"/demands/{d_id}/sign"),
                     api.get("/demands", token="ml_not-a-real-token"), api.get("/me")):
        body = _error(response, 401, "unauthenticated")
        assert set(body) <= {"code", "message", "detail"}
    token = _token(city.users["dispatcher"])
    ApiToken.objects.update(revoked_at=T0)
    _error(api.get("/demands", token), 401, "unauthenticated")


@pytest.mark.django_db
def test_a_malformed_request_gets_the_validation_body(city, api):
    r = api.post("/demands", {"title": "没有类型也没有内容"})
    body = _error(r, 422, "invalid")
    locs = [".".join(e["loc"]) for e in body["detail"]["errors"]]
    assert any(loc.endswith("type") for loc in locs) and any(loc.endswith("content") for loc in locs)
    r = api.post("/demands", _public_body(city, urgency="extreme"))
    assert any("urgency" in e["loc"] for e in _error(r, 422, "invalid")["detail"]["errors"])
    assert not Demand.objects.exists()


# --- the public path and staff actions ----------------------------------------------------------------

@pytest.mark.django_db
def test_submit_handle_track_and_rate_dissatisfied(city, api, frozen):
    r = api.post("/demands", _public_body(city))
    assert r.status_code == 201, r.content
    receipt = r.json()
    code, secret, d_id = receipt["code"], receipt["secret"], receipt["id"]
    assert receipt["state"] == State.RECEIVED and len(secret) == 10
    dispatcher, handler = _token(city.users["dispatcher"]), _token(city.users["handler_street1"])

    r = api.post(f"/demands/{d_id}/dispatch", {"note": "按权责清单派单"}, dispatcher)
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["state"] == State.DISPATCHED and out["lead_unit"]["id"] == city.streets[0].pk
    assert datetime.fromisoformat(out["due_at"]) == at(2026, 11, 11, 9, 30)
    # the person's identity is there for the staff who may see it
    assert out["person"]["name"] == "陈女士"

    r = api.post(f"/demands/{d_id}/sign", token=handler)
    assert r.status_code == 200 and r.json()["state"] == State.SIGNED
    assert "reply" in r.json()["actions"]
    r = api.post(f"/demands/{d_id}/reply", {"text": REPLY}, handler)
    assert r.status_code == 200 and r.json()["state"] == State.REPLIED

    r = api.post("/demands/track", {"code": code, "secret": secret})
    assert r.status_code == 200, r.content
    track = r.json()
    assert track["state"] == State.REPLIED and track["can_rate"] is True
    assert [rep["text"] for rep in track["replies"]] == [REPLY]
    assert [step["state"] for step in track["timeline"]][-1] == "已答复"
    assert "person" not in track and "phone" not in json.dumps(track)

    r = api.post("/demands/track/callback", {"code": code.lower(), "secret": secret, "resolved": False,
                                             "satisfaction": "dissatisfied", "comment": "灯还是不亮"})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == State.REOPENED and r.json()["can_rate"] is False
    d = Demand.objects.get(pk=d_id)
    assert (d.state, d.round, d.satisfaction, d.resolved) == (State.REOPENED, 2, "dissatisfied", False)
    actions = list(Event.objects.filter(chain=d.chain).order_by("seq").values_list("action", flat=True))
    assert actions == ["receive", "dispatch", "sign", "reply", "callback"]
    assert list(events.verify()) == []

    # the same person cannot rate again until there is a new reply
    r = api.post("/demands/track/callback", {"code": code, "secret": secret, "resolved": True,
                                             "satisfaction": "satisfied"})
    _error(r, 409, "invalid_transition")


@pytest.mark.django_db
def test_a_wrong_secret_reveals_nothing(city, api, frozen):
    receipt = api.post("/demands", _public_body(city)).json()
    wrong = "A" * 10 if receipt["secret"] != "A" * 10 else "B" * 10
    body = _error(api.post("/demands/track", {"code": receipt["code"], "secret": wrong}), 404, "bad_code_or_secret")
    assert receipt["code"] not in json.dumps(body, ensure_ascii=False)
    _error(api.post("/demands/track", {"code": "261102ZZZZZZ", "secret": receipt["secret"]}), 404,
           "bad_code_or_secret")
    _error(api.post("/demands/track/callback", {"code": receipt["code"], "secret": wrong, "resolved": True,
                                                "satisfaction": "satisfied"}), 404, "bad_code_or_secret")
    assert Demand.objects.get(pk=receipt["id"]).state == State.RECEIVED


@pytest.mark.django_db
def test_staff_refusals(city, api, frozen):
    d_id = api.post("/demands", _public_body(city)).json()["id"]
    handler = _token(city.users["handler_street1"])
    # not yet dispatched to the handler's unit: the demand is not even visible to it
    _error(api.post(f"/demands/{d_id}/sign", token=handler), 404, "not_found")
    # a handler may not dispatch
    intake_only = _token(city.users["intake"])
    _error(api.post(f"/demands/{d_id}/dispatch", {}, intake_only), 403, "role_not_allowed")
    api.post(f"/demands/{d_id}/dispatch", {}, _token(city.users["dispatcher"]))
    _error(api.post(f"/demands/{d_id}/sign", token=_token(city.users["handler_water"])), 404, "not_found")
    assert api.post(f"/demands/{d_id}/sign", token=handler).status_code == 200
    body = _error(api.post(f"/demands/{d_id}/sign", token=handler), 409, "invalid_transition")
    assert "已签收" in body["message"]
    # a reply that only passes the matter on is not an answer
    _error(api.post(f"/demands/{d_id}/reply", {"text": "已转相关部门处理"}, handler), 400, "reply_not_an_answer")


@pytest.mark.django_db
def test_a_co_handler_is_offered_only_its_opinion_not_the_lead_units_actions(city, api, frozen):
    d_id = api.post("/demands", _public_body(city)).json()["id"]
    api.post(f"/demands/{d_id}/dispatch", {"lead_unit_id": city.units["water"].pk,
                                           "co_unit_ids": [city.units["power"].pk]}, _token(city.users["dispatcher"]))
    lead = api.get(f"/demands/{d_id}", _token(city.users["handler_water"])).json()
    assert {"sign", "request_return"} <= set(lead["actions"]) and "co_note" not in lead["actions"]
    co = _token(city.users["handler_power"])
    assert api.get(f"/demands/{d_id}", co).json()["actions"] == ["co_note"]
    _error(api.post(f"/demands/{d_id}/sign", token=co), 403, "role_not_allowed")


@pytest.mark.django_db
def test_a_reply_stands_when_the_sms_gateway_is_down(city, api, frozen, settings, django_capture_on_commit_callbacks):
    d_id = api.post("/demands", _public_body(city)).json()["id"]
    api.post(f"/demands/{d_id}/dispatch", {}, _token(city.users["dispatcher"]))
    handler = _token(city.users["handler_street1"])
    api.post(f"/demands/{d_id}/sign", token=handler)
    settings.MASSLINE = {**settings.MASSLINE, "SMS_BACKEND": f"{__name__}.DownGateway"}
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/demands/{d_id}/reply", {"text": REPLY}, handler)
    assert r.status_code == 200, r.content
    assert Demand.objects.get(pk=d_id).state == State.REPLIED
    msg = OutboundMessage.objects.get(body__contains="已答复")
    assert msg.address == "13800001234"
    assert (msg.status, msg.attempts) == (OutboundMessage.Status.PENDING, 1)
    assert "短信网关无响应" in msg.last_error and msg.next_attempt_at is not None


# --- rate limits --------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_public_calls_are_rate_limited(city, api, settings, frozen):
    settings.MASSLINE = {**settings.MASSLINE, "PUBLIC_RATE_PER_MINUTE": 2}
    # the limit counts per clock minute: 2 × limit + 1 calls overflow one window even if a minute turns over
    answers = [api.post("/demands/track", {"code": "261102ZZZZZZ", "secret": "ABCDEFGHJK"}) for _ in range(5)]
    assert [a.status_code for a in answers[:2]] == [404, 404]
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    _error(limited[0], 429, "rate_limited")
    assert limited[0]["Retry-After"] == "60"
    # submission has its own allowance; staff with a token are not limited
    assert api.post("/demands", _public_body(city)).status_code == 201
    intake = _token(city.users["intake"])
    codes = [api.post("/demands", _public_body(city, channel="hotline"), intake).status_code for _ in range(5)]
    assert codes == [201] * 5


# --- idempotent submission ------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_retried_submission_with_the_same_key_creates_one_demand(city, api, frozen):
    key = "app-7f3a9c2e-0001"
    first = api.post("/demands", _public_body(city), **{"Idempotency-Key": key})
    again = api.post("/demands", _public_body(city), **{"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # same code, same secret
    assert Demand.objects.count() == 1
    # the secret replayed is the real one
    assert api.post("/demands/track", {"code": first.json()["code"], "secret": first.json()["secret"]}).status_code == 200

    reused = api.post("/demands", _public_body(city, title="另一件事"), **{"Idempotency-Key": key})
    _error(reused, 422, "idempotency_key_reused")
    _error(api.post("/demands", _public_body(city), **{"Idempotency-Key": "bad key!"}), 400,
           "invalid_idempotency_key")
    assert Demand.objects.count() == 1

    # staff keys are their own: the same key from an intake operator is a new request
    staff = api.post("/demands", _public_body(city), _token(city.users["intake"]), **{"Idempotency-Key": key})
    assert staff.status_code == 201 and staff.json()["code"] != first.json()["code"]
    assert Demand.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="two requests racing on one key need two real connections "
                                               "(PostgreSQL); SQLite has a single writer")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_concurrent_retries_create_one_demand(city, frozen):
    key = "app-race-0000-0001"
    body = _public_body(city)
    barrier = threading.Barrier(2)
    answers: list[Any] = [None, None]

    def submit(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            answers[i] = Api(Client()).post("/demands", body, **{"Idempotency-Key": key})
        except Exception as exc:
            answers[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    statuses = [getattr(a, "status_code", a) for a in answers]
    assert Demand.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    # the loser waits for the winner's commit on the key's unique index, then replays its answer
    assert statuses == [201, 201], statuses
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["id"] == Demand.objects.get().pk
