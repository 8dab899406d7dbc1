"""The append-only, hash-chained record of every change.

Each event's hash is SHA-256 over the previous hash and a canonical JSON of the event's fields, so
editing or removing any event breaks every later link of its chain. ``verify`` recomputes the chains
and names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Max

from . import clock
from .models import Event

GENESIS = "0" * 64


@dataclass
class Actor:
    """Who did something: a user (id, name) acting in a role, or the system."""

    id: int | None
    name: str
    role: str

    @classmethod
    def system(cls, name: str = "系统") -> Actor:
        return cls(None, name, "system")


def _canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def compute_hash(prev_hash: str, *, chain: str, seq: int, at: datetime, actor_id: int | None, actor_name: str,
                 actor_role: str, action: str, from_state: str, to_state: str, reason: str,
                 data: dict[str, Any]) -> str:
    body = json.dumps(
        [chain, seq, _canonical_time(at), actor_id, actor_name, actor_role, action, from_state, to_state, reason, data],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass
class Entry:
    chain: str
    action: str
    actor: Actor
    from_state: str = ""
    to_state: str = ""
    reason: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    # what goes in must be what comes back out of the JSON column, or the hash would not verify
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def _build(entry: Entry, seq: int, prev_hash: str) -> Event:
    at = entry.at or clock.now()
    at = at.replace(microsecond=at.microsecond)  # keep microseconds; both databases store them
    data = _normalise(entry.data)
    ev = Event(
        chain=entry.chain, seq=seq, at=at, actor_id=entry.actor.id, actor_name=entry.actor.name[:150],
        actor_role=entry.actor.role, action=entry.action, from_state=entry.from_state, to_state=entry.to_state,
        reason=entry.reason, data=data, prev_hash=prev_hash,
    )
    ev.hash = compute_hash(
        prev_hash, chain=ev.chain, seq=seq, at=at, actor_id=ev.actor_id, actor_name=ev.actor_name,
        actor_role=ev.actor_role, action=ev.action, from_state=ev.from_state, to_state=ev.to_state,
        reason=ev.reason, data=data,
    )
    return ev


def record(chain: str, action: str, actor: Actor, *, from_state: str = "", to_state: str = "", reason: str = "",
           data: dict[str, Any] | None = None, at: datetime | None = None, new_chain: bool = False) -> Event:
    """Append one event to ``chain``. Call inside the transaction of the change it records.

    ``new_chain``: the caller has just created the subject, so the chain starts here (no lookup; the unique
    (chain, seq) constraint still refuses a second first event)."""
    last = None if new_chain else Event.objects.filter(chain=chain).order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ev = _build(Entry(chain, action, actor, from_state, to_state, reason, data or {}, at), seq, prev)
    ev.save(force_insert=True)
    return ev


def _heads(chains: set[str]) -> dict[str, tuple[int, str]]:
    """The last (seq, hash) of each chain that has events."""
    if connection.vendor == "postgresql":
        # one index walk per chain (DISTINCT ON over the (chain, seq) index), not every event of every chain
        rows = Event.objects.filter(chain__in=chains).order_by("chain", "-seq").distinct("chain")
        return {chain: (seq, h) for chain, seq, h in rows.values_list("chain", "seq", "hash")}
    heads: dict[str, tuple[int, str]] = {}
    tops = Event.objects.filter(chain__in=chains).values("chain").annotate(top=Max("seq"))
    wanted = {(row["chain"], row["top"]) for row in tops}
    if wanted:
        for chain, seq, h in Event.objects.filter(chain__in=[c for c, _ in wanted]).values_list("chain", "seq", "hash"):
            if (chain, seq) in wanted:
                heads[chain] = (seq, h)
    return heads


def _insert(built: list[Event]) -> None:
    """Insert the events, setting their ids. On PostgreSQL one ``INSERT … SELECT FROM unnest(arrays)`` with
    one array per column, instead of a statement with a parameter per value."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(built, batch_size=1000)
        return
    meta, qn = Event._meta, connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    cols = [qn(f.column) for f in fields]
    arrays: list[list[Any]] = []
    types: list[str] = []
    select: list[str] = []
    for f, col in zip(fields, cols, strict=True):
        if f.get_internal_type() == "JSONField":  # sent as JSON text, cast to jsonb in the query
            arrays.append([json.dumps(getattr(ev, f.attname), ensure_ascii=False) for ev in built])
            types.append("text")
            select.append(f"v.{col}::jsonb")
        else:
            arrays.append([f.get_db_prep_save(getattr(ev, f.attname), connection) for ev in built])
            types.append(f.db_type(connection))
            select.append(f"v.{col}")
    sql = (f"INSERT INTO {qn(meta.db_table)} ({', '.join(cols)}) SELECT {', '.join(select)} "
           f"FROM unnest({', '.join(f'%s::{t}[]' for t in types)}) AS v({', '.join(cols)}) "
           f"RETURNING {qn(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, arrays)
        ids = [row[0] for row in cursor.fetchall()]
    if len(ids) != len(built):
        raise RuntimeError(f"inserted {len(ids)} events of {len(built)}")
    for ev, pk in zip(built, ids, strict=True):
        ev.pk = pk
        ev._state.adding = False
        ev._state.db = connection.alias


def record_many(entries: Iterable[Entry]) -> list[Event]:
    """Append many events at once (the sweep): one read for the chain heads, one bulk insert."""
    entries = list(entries)
    if not entries:
        return []
    heads = _heads({e.chain for e in entries})
    built: list[Event] = []
    for entry in entries:
        seq, prev = heads.get(entry.chain, (0, GENESIS))
        ev = _build(entry, seq + 1, prev)
        heads[entry.chain] = (ev.seq, ev.hash)
        built.append(ev)
    for start in range(0, len(built), 5000):
        _insert(built[start:start + 5000])
    return built


@dataclass
class Break:
    chain: str
    seq: int
    event_id: int
    problem: str

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} (event id {self.event_id}): {self.problem}"


def verify(chains: Iterable[str] | None = None, batch: int = 5000) -> Iterator[Break]:
    """Recompute every chain (or the named ones); yield the first broken link of each broken chain."""
    qs = Event.objects.order_by("chain", "seq")
    if chains is not None:
        qs = qs.filter(chain__in=list(chains))
    current: str | None = None
    expected_seq = 1
    prev = GENESIS
    broken: set[str] = set()
    for ev in qs.iterator(chunk_size=batch):
        if ev.chain != current:
            current, expected_seq, prev = ev.chain, 1, GENESIS
        if ev.chain in broken:
            continue
        problem = ""
        if ev.seq != expected_seq:
            problem = f"序号不连续：应为 {expected_seq}，实为 {ev.seq}（有事件被删除）"
        elif ev.prev_hash != prev:
            problem = "前一哈希不符（前一事件被改动或删除）"
        else:
            h = compute_hash(
                prev, chain=ev.chain, seq=ev.seq, at=ev.at, actor_id=ev.actor_id, actor_name=ev.actor_name,
                actor_role=ev.actor_role, action=ev.action, from_state=ev.from_state, to_state=ev.to_state,
                reason=ev.reason, data=ev.data,
            )
            if h != ev.hash:
                problem = "内容与哈希不符（事件被改动）"
        if problem:
            broken.add(ev.chain)
            yield Break(ev.chain, ev.seq, ev.pk, problem)
            continue
        expected_seq += 1
        prev = ev.hash
