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
           data: dict[str, Any] | None = None, at: datetime | None = None) -> Event:
    """Append one event to ``chain``. Call inside the transaction of the change it records."""
    last = Event.objects.filter(chain=chain).order_by("-seq").values_list("seq", "hash").first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ev = _build(Entry(chain, action, actor, from_state, to_state, reason, data or {}, at), seq, prev)
    ev.save(force_insert=True)
    return ev


def record_many(entries: Iterable[Entry]) -> list[Event]:
    """Append many events at once (the sweep): two reads for the chain heads, one bulk insert."""
    entries = list(entries)
    if not entries:
        return []
    chains = {e.chain for e in entries}
    heads: dict[str, tuple[int, str]] = {}
    tops = Event.objects.filter(chain__in=chains).values("chain").annotate(top=Max("seq"))
    wanted = {(row["chain"], row["top"]) for row in tops}
    if wanted:
        for chain, seq, h in Event.objects.filter(chain__in=[c for c, _ in wanted]).values_list("chain", "seq", "hash"):
            if (chain, seq) in wanted:
                heads[chain] = (seq, h)
    built: list[Event] = []
    for entry in entries:
        seq, prev = heads.get(entry.chain, (0, GENESIS))
        ev = _build(entry, seq + 1, prev)
        heads[entry.chain] = (ev.seq, ev.hash)
        built.append(ev)
    Event.objects.bulk_create(built, batch_size=1000)
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
