"""Idempotent requests: the first answer to a key is stored and replayed; a key reused for another request
is refused. (The API tests check ``POST /api/v1/demands`` with the header, and two concurrent retries.)"""

from __future__ import annotations

import pytest

from massline.core import idempotency
from massline.core.errors import DomainError
from massline.core.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

KEY = "retry-2026-11-02:abc.123"


class Handler:
    """Counts how often the real work runs."""

    def __init__(self, status: int = 201) -> None:
        self.calls = 0
        self.status = status

    def __call__(self) -> tuple[int, dict]:
        self.calls += 1
        return self.status, {"id": self.calls, "code": f"C{self.calls}"}


def test_the_first_answer_is_replayed():
    work = Handler()
    first = idempotency.run(KEY, "public", {"title": "路灯不亮"}, work)
    again = idempotency.run(KEY, "public", {"title": "路灯不亮"}, work)
    assert first == (201, {"id": 1, "code": "C1"}, False)
    assert again == (201, {"id": 1, "code": "C1"}, True)
    assert work.calls == 1
    record = IdempotencyRecord.objects.get()
    assert (record.key, record.principal, record.status_code) == (KEY, "public", 201)
    assert record.request_hash == idempotency.request_hash({"title": "路灯不亮"})


def test_the_payload_hash_ignores_key_order():
    assert idempotency.request_hash({"a": 1, "b": "二"}) == idempotency.request_hash({"b": "二", "a": 1})
    assert idempotency.request_hash({"a": 1}) != idempotency.request_hash({"a": 2})


def test_the_same_key_with_another_request_is_refused():
    work = Handler()
    idempotency.run(KEY, "public", {"title": "路灯不亮"}, work)
    with pytest.raises(DomainError) as caught:
        idempotency.run(KEY, "public", {"title": "路灯坏了"}, work)
    assert caught.value.code == "idempotency_key_reused" and caught.value.status == 422
    assert "Idempotency-Key" in caught.value.message
    assert work.calls == 1


def test_keys_belong_to_their_principal():
    work = Handler()
    idempotency.run(KEY, "user:1", {"x": 1}, work)
    _, body, replayed = idempotency.run(KEY, "user:2", {"x": 1}, work)
    assert not replayed and body["id"] == 2
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.parametrize("key", ["short", "x" * 121, "has space in it", "斜杠/不行/的键值", "semi;colon;key", "   "])
def test_a_bad_key_is_refused(key):
    work = Handler()
    with pytest.raises(DomainError) as caught:
        idempotency.run(key, "public", {}, work)
    assert caught.value.code == "invalid_idempotency_key" and caught.value.status == 400
    assert work.calls == 0
    assert not IdempotencyRecord.objects.exists()


def test_a_key_is_trimmed():
    work = Handler()
    idempotency.run(f"  {KEY} ", "public", {}, work)
    assert idempotency.run(KEY, "public", {}, work)[2] is True
    assert work.calls == 1


def test_a_failed_request_leaves_no_record_so_a_retry_runs_again():
    def fails() -> tuple[int, dict]:
        raise DomainError("invalid_field", "内容太短", field="content")

    with pytest.raises(DomainError):
        idempotency.run(KEY, "public", {"x": 1}, fails)
    assert not IdempotencyRecord.objects.exists()
    assert idempotency.run(KEY, "public", {"x": 1}, Handler())[:2] == (201, {"id": 1, "code": "C1"})


def test_a_request_still_running_elsewhere_is_a_conflict():
    # the other request's record is there (committed first) but has no answer yet
    IdempotencyRecord.objects.create(key=KEY, principal="public", request_hash=idempotency.request_hash({"x": 1}),
                                     created_at="2026-11-02T10:00:00+08:00")
    with pytest.raises(DomainError) as caught:
        idempotency.run(KEY, "public", {"x": 1}, Handler())
    assert caught.value.code == "idempotency_in_progress" and caught.value.status == 409
