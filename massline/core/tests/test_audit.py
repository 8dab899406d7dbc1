"""The event record: intact after a flow, and any edit or deletion is found by ``verify`` (on PostgreSQL the
database refuses them outright).

These tests stay in the core layer (no import of the demand app); the demand tests verify the record of real
flows through the services and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction

from conftest import at, on_postgres
from massline.core import clock, events
from massline.core.events import Actor
from massline.core.models import Event

pytestmark = pytest.mark.django_db

# the steps of one demand from intake to closure, as its services record them (the demand services themselves
# live in a higher layer; the demand tests run the real flow and verify it too)
FLOW = [
    ("receive", Actor(None, "群众（网上提交）", "citizen"), "", "received", "", {"channel": "web", "type": "complaint"}),
    ("accept", Actor(1, "受理员小王", "intake"), "received", "accepted", "", {}),
    ("dispatch", Actor(2, "派单员小李", "dispatcher"), "accepted", "dispatched", "按权责清单派单",
     {"lead": "S1", "co": [], "due_at": "2026-11-11T09:30:00+08:00"}),
    ("sign", Actor(3, "东城街道承办人", "handler"), "dispatched", "signed", "", {"late": False}),
    ("start", Actor(3, "东城街道承办人", "handler"), "signed", "in_progress", "已派人查看", {}),
    ("reply", Actor(3, "东城街道承办人", "handler"), "in_progress", "replied", "", {"public": True, "on_time": True}),
    ("callback", Actor(None, "诉求人（凭查询码）", "person"), "replied", "closed", "修好了",
     {"resolved": True, "satisfaction": "satisfied", "round": 1}),
]


CHAIN = "demand:9001"


def _flow(city) -> str:
    """After the directory's own record (the city fixture), a demand's whole path on its chain, a few
    minutes apart (with microseconds, which both databases must keep for the hash to verify)."""
    with clock.frozen(at(2026, 11, 2, 9, 30)):
        for action, actor, before, after, reason, data in FLOW:
            events.record(CHAIN, action, actor, from_state=before, to_state=after, reason=reason, data=data)
            clock.advance(timedelta(minutes=7, microseconds=123))
    return CHAIN


def _event(chain: str, seq: int) -> Event:
    return Event.objects.get(chain=chain, seq=seq)


def _tamper(sql: str, params: list) -> None:
    """Raw SQL past the application, as someone with database access would; on PostgreSQL that needs the
    append-only trigger switched off first (and back on after)."""
    with connection.cursor() as cursor:
        if on_postgres():
            cursor.execute("ALTER TABLE core_event DISABLE TRIGGER core_event_append_only")
        try:
            cursor.execute(sql, params)
        finally:
            if on_postgres():
                cursor.execute("ALTER TABLE core_event ENABLE TRIGGER core_event_append_only")


def test_a_whole_flow_verifies(city):
    chain = _flow(city)
    actions = list(Event.objects.filter(chain=chain).order_by("seq").values_list("action", flat=True))
    assert actions == ["receive", "accept", "dispatch", "sign", "start", "reply", "callback"]
    seqs = list(Event.objects.filter(chain=chain).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 8))
    first = _event(chain, 1)
    assert first.prev_hash == events.GENESIS
    assert _event(chain, 2).prev_hash == first.hash
    assert Event.objects.filter(chain__startswith="org:").exists()  # the directory's record, from the fixture
    assert Event.objects.filter(chain__startswith="user:").exists()
    assert list(events.verify()) == []
    assert list(events.verify([chain])) == []


def test_an_edited_reason_names_the_first_broken_link(city):
    chain = _flow(city)
    other = Event.objects.exclude(chain=chain).values_list("chain", flat=True).first()
    target = _event(chain, 2)
    _tamper("UPDATE core_event SET reason = %s WHERE id = %s", ["此件已受理", target.pk])
    assert Event.objects.get(pk=target.pk).reason == "此件已受理"
    breaks = list(events.verify())
    assert len(breaks) == 1  # one broken chain, named once, at its first broken link
    b = breaks[0]
    assert (b.chain, b.seq, b.event_id) == (chain, 2, target.pk)
    assert "哈希" in b.problem
    assert f"{chain} #2" in str(b)
    assert list(events.verify([other])) == []  # the other chains are intact


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(city):
    chain = _flow(city)
    e = _event(chain, 3)
    forged = events.compute_hash(
        e.prev_hash, chain=e.chain, seq=e.seq, at=e.at, actor_id=e.actor_id, actor_name=e.actor_name,
        actor_role=e.actor_role, action=e.action, from_state=e.from_state, to_state=e.to_state,
        reason="改派说明", data=e.data,
    )
    _tamper("UPDATE core_event SET reason = %s, hash = %s WHERE id = %s", ["改派说明", forged, e.pk])
    breaks = list(events.verify([chain]))
    assert [(b.chain, b.seq) for b in breaks] == [(chain, 4)]
    assert "前一哈希" in breaks[0].problem


def test_a_changed_time_is_caught(city):
    chain = _flow(city)
    e = _event(chain, 4)
    _tamper("UPDATE core_event SET at = %s WHERE id = %s", [at(2026, 11, 2, 9, 0), e.pk])
    assert [(b.chain, b.seq) for b in events.verify()] == [(chain, 4)]


def test_a_deleted_event_is_a_sequence_gap(city):
    chain = _flow(city)
    gone = _event(chain, 3)
    _tamper("DELETE FROM core_event WHERE id = %s", [gone.pk])
    breaks = list(events.verify())
    assert [(b.chain, b.seq) for b in breaks] == [(chain, 4)]
    assert "序号不连续" in breaks[0].problem and "应为 3" in breaks[0].problem


def test_record_many_continues_the_chains(city):
    chain = _flow(city)
    system = Actor.system("测试")
    built = events.record_many([events.Entry(chain, "note", system, reason="甲"),
                                events.Entry("test:new", "note", system, reason="乙"),
                                events.Entry(chain, "note", system, reason="丙")])
    assert [(e.chain, e.seq) for e in built] == [(chain, 8), ("test:new", 1), (chain, 9)]
    assert list(events.verify()) == []


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="the append-only trigger exists only on PostgreSQL")
def test_postgres_refuses_update_and_delete(city):
    chain = _flow(city)
    e = _event(chain, 2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_event SET reason = %s WHERE id = %s", ["改", e.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_event WHERE id = %s", [e.pk])
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(pk=e.pk).update(reason="改")
    with pytest.raises(DatabaseError), transaction.atomic():
        Event.objects.filter(chain=chain).delete()
    assert Event.objects.get(pk=e.pk).reason == e.reason
    assert Event.objects.filter(chain=chain).count() == 7
    assert list(events.verify()) == []


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="the append-only trigger exists only on PostgreSQL")
def test_postgres_tamper_with_the_trigger_off_is_still_caught(city):
    chain = _flow(city)
    e = _event(chain, 5)
    _tamper("UPDATE core_event SET reason = %s WHERE id = %s", ["未开始办理", e.pk])
    # the trigger is back on afterwards
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_event SET reason = %s WHERE id = %s", ["再改", e.pk])
    assert [(b.chain, b.seq) for b in events.verify()] == [(chain, 5)]
