"""Races: two handlers signing the same demand at once, and two sweeps over the same overdue demands.

These tests commit for real (``transaction=True``) so that each thread has its own connection and sees the
others' commits. ``serialized_rollback`` restores the data the migrations seed (calendar, policies) after the
flush that ends each of them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError, connection

from conftest import at, on_postgres
from massline.core import clock, events
from massline.core.errors import Conflict
from massline.core.events import Actor
from massline.core.models import Event
from massline.demands import services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State
from massline.demands.sweep import SweepReport, sweep
from massline.directory import services as directory
from massline.directory.models import Role

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _dispatch(city, when) -> Demand:
    data = dict(channel="hotline", type="complaint", title="路灯不亮", content="花园社区北门路灯坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    with clock.frozen(when):
        d, _ = services.receive(IntakeData(**data), city.users["intake"])
        return services.dispatch(d.pk, city.users["dispatcher"])


def _locked(exc: Exception) -> bool:
    return isinstance(exc, OperationalError) and "locked" in str(exc)


def _waiting(job: Callable[[], Any]) -> Any:
    """Run ``job``; on SQLite, wait for the other writer the way the busy timeout does.

    The test database on SQLite is in memory with a shared cache, where a second writer gets "database table
    is locked" at once instead of waiting (a database file — as in production — waits up to its busy timeout).
    Retrying the whole transaction is what that wait amounts to: the turn comes after the other one committed.
    """
    for _ in range(200):
        try:
            return job()
        except OperationalError as exc:
            if connection.vendor != "sqlite" or not _locked(exc):
                raise
            time.sleep(0.01)
    raise AssertionError("the database stayed locked")


def _race(jobs: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run ``jobs`` in threads released together by a barrier; each result is ("ok", value) or ("error", exc)."""
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[str, Any]] = [("missing", None)] * len(jobs)

    def run(i: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = ("ok", _waiting(job))
        except Exception as exc:
            results[i] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


def test_two_handlers_sign_the_same_demand_at_once(city):
    second = directory.create_staff("handler_street1_b", "massline-demo", "东城街道承办人乙", Actor.system("测试"),
                                    roles=[(Role.HANDLER, city.streets[0])])
    first = city.users["handler_street1"]
    d = _dispatch(city, at(2026, 11, 2, 9, 30))

    def sign(user) -> Callable[[], Demand]:
        def job() -> Demand:
            with clock.frozen(at(2026, 11, 2, 10)):
                return services.sign(d.pk, user)
        return job

    # on SQLite the database lock makes the two transactions take turns (the loser then finds the demand signed:
    # invalid_transition); on PostgreSQL both read "dispatched" and the compare-and-swap decides (concurrent_change)
    results = _race([sign(first), sign(second)])
    outcomes = Counter(kind for kind, _ in results)
    assert outcomes == {"ok": 1, "error": 1}, results
    error = next(value for kind, value in results if kind == "error")
    assert isinstance(error, Conflict), repr(error)
    assert error.code in ("concurrent_change", "invalid_transition")
    assert error.status == 409
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.message)  # told in Chinese
    winner = next(value for kind, value in results if kind == "ok")
    stored = Demand.objects.get(pk=d.pk)
    assert stored.state == State.SIGNED and stored.version == winner.version
    assert Event.objects.filter(chain=d.chain, action="sign").count() == 1
    assert list(events.verify([d.chain])) == []


@pytest.mark.django_db
def test_a_stale_read_loses_the_compare_and_swap(city, monkeypatch):
    """The interleaving PostgreSQL allows, made deterministic: the second handler read the demand before the
    first one's signature committed."""
    second = directory.create_staff("handler_street1_b", "massline-demo", "东城街道承办人乙", Actor.system("测试"),
                                    roles=[(Role.HANDLER, city.streets[0])])
    d = _dispatch(city, at(2026, 11, 2, 9, 30))
    stale = services.load(d.pk)
    with clock.frozen(at(2026, 11, 2, 10)):
        services.sign(d.pk, city.users["handler_street1"])
        monkeypatch.setattr(services, "load", lambda pk: stale)
        with pytest.raises(Conflict) as caught:
            services.sign(d.pk, second)
    assert caught.value.code == "concurrent_change"
    assert "刚被他人处理" in caught.value.message and "已签收" in caught.value.message
    assert Event.objects.filter(chain=d.chain, action="sign").count() == 1
    assert Demand.objects.get(pk=d.pk).version == stale.version + 1


@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="SKIP LOCKED between concurrent sweeps needs PostgreSQL; "
                                               "SQLite has one writer at a time, so sweeps cannot overlap there")
def test_two_concurrent_sweeps_escalate_each_demand_once(city):
    demands = [_dispatch(city, at(2026, 11, 2, 9, 30)) for _ in range(12)]
    now = at(2026, 11, 11, 10)  # past the due date of all of them

    def job() -> SweepReport:
        return sweep(now=now, batch=3)

    results = _race([job, job])
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    reports = [value for _, value in results]
    assert sum(r.overdue for r in reports) == len(demands)
    assert sum(r.warned for r in reports) == len(demands)
    for d in demands:
        stored = Demand.objects.get(pk=d.pk)
        assert stored.overdue and stored.supervision == 1
        assert Event.objects.filter(chain=d.chain, action="overdue").count() == 1
        assert Event.objects.filter(chain=d.chain, action="deadline_warning").count() == 1
    assert list(events.verify([d.chain for d in demands])) == []
