"""Demands written straight into the record with historical dates (what a ledger import leaves), for the safety
line and relationship index tests."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from massline.demands.models import Callback, Demand, State

_seq = itertools.count(1)


def make(city, place, category: str, created: datetime, closed: datetime | None = None, *, satisfaction: str = "",
         resolved: bool | None = None, state: str | None = None, phone: str = "", due_days: float | None = 7,
         channel: str = "hotline", type: str = "complaint", title: str = "", save: bool = True) -> Demand:
    from massline.directory.models import Person

    n = next(_seq)
    person = Person.objects.create(name="居民", phone=phone) if phone else None
    d = Demand(
        code=f"T{n:08d}", secret_hash="x", channel=channel, type=type, category=city.categories[category],
        title=title or f"{category}问题{n}", content="测试诉求内容", place=place, area_path=place.path,
        person=person, created_at=created, updated_at=closed or created,
        state=state or (State.CLOSED if closed else State.IN_PROGRESS), closed_at=closed,
        satisfaction=satisfaction if closed else "", resolved=resolved,
        due_at=created + timedelta(days=due_days) if due_days else None,
    )
    if save:
        d.save()
    return d


def dissatisfied(d: Demand, when: datetime) -> Callback:
    return Callback.objects.create(demand=d, round=1, by=Callback.By.OPERATOR, resolved=False,
                                   satisfaction="dissatisfied", created_at=when)


def bulk(demands: list[Demand]) -> list[Demand]:
    return Demand.objects.bulk_create(demands)
