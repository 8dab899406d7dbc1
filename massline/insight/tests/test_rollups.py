"""The rate rollups: what each change adds, what an exclusion takes back, which period a fact goes to, and
exactness — after random sequences of operations through the services the kept rollups equal a full
recomputation from the event record (and the comparison does catch a wrong row or a missed change)."""

from __future__ import annotations

import io
import json
import random
import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from conftest import at, on_postgres
from massline.core import clock
from massline.core.errors import DomainError
from massline.demands import hooks, services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State
from massline.demands.sweep import sweep
from massline.insight import rates, rollups
from massline.insight.models import Level, Period, RateRollup

pytestmark = pytest.mark.django_db

COUNTS = ("signed", "signed_on_time", "rated", "resolved", "satisfied", "basic")
GOOD_REPLY = "已安排维修人员于今日下午到现场处理完毕，经检查已恢复正常，如仍有问题请再次来电。"


def _row(period, start, level, org) -> tuple[int, ...]:
    r = RateRollup.objects.filter(period=period, start=start, level=level, org=org).first()
    return tuple(getattr(r, c) for c in COUNTS) if r else (0,) * 6


def _raise(city, category="市政设施", grid=0, type="complaint", **kw):
    data = dict(channel="hotline", type=type, title="小区门口路灯不亮", content="北门路灯已经坏了一周，晚上很黑，请尽快修理。",
                category_id=city.categories[category].pk, place_id=city.grids[grid].pk, name="陈女士",
                phone="13800001234", restatement="北门路灯坏了一周")
    data.update(kw)
    return services.receive(IntakeData(**data), city.users["intake"])


def _to_replied(city, when, late=False, grid=0):
    """A demand of street 1 (lead: the street) dispatched at ``when``, signed (late or not), replied."""
    u = city.users
    with clock.frozen(when):
        d, secret = _raise(city, grid=grid)
        d = services.dispatch(d.pk, u["dispatcher"])
    with clock.frozen(when + (timedelta(days=1) if late else timedelta(minutes=30))):
        services.sign(d.pk, u["handler_street1"])
        services.reply(d.pk, u["handler_street1"], text=GOOD_REPLY)
    return d, secret


def test_a_sign_and_a_callback_count_for_the_unit_and_every_area(city):
    d, secret = _to_replied(city, at(2026, 10, 12, 9, 30))
    with clock.frozen(at(2026, 10, 13, 10)):
        services.callback_by_person(d.code, secret, resolved=True, satisfaction="basic")
    street = city.streets[0]
    oct1 = date(2026, 10, 1)
    assert _row(Period.MONTH, oct1, Level.UNIT, street) == (1, 1, 1, 1, 0, 1)
    for level, org in [(Level.STREET, street), (Level.COMMUNITY, city.communities[0]), (Level.GRID, city.grids[0]),
                       (Level.DISTRICT, city.district)]:
        assert _row(Period.MONTH, oct1, level, org) == (1, 1, 1, 1, 0, 1), level
    assert _row(Period.DAY, date(2026, 10, 12), Level.UNIT, street) == (1, 1, 0, 0, 0, 0)
    assert _row(Period.DAY, date(2026, 10, 13), Level.UNIT, street) == (0, 0, 1, 1, 0, 1)
    assert _row(Period.QUARTER, oct1, Level.UNIT, street) == (1, 1, 1, 1, 0, 1)
    assert _row(Period.YEAR, date(2026, 1, 1), Level.UNIT, street) == (1, 1, 1, 1, 0, 1)
    f = rates.figure(Period.MONTH, oct1, Level.UNIT, street)
    assert (f.response, f.resolution, f.satisfaction, f.rank) == (100.0, 100.0, 100.0, 1)
    assert rollups.check() == []


def test_a_late_sign_and_a_dissatisfied_callback(city):
    d, secret = _to_replied(city, at(2026, 10, 12, 9, 30), late=True)
    with clock.frozen(at(2026, 10, 14, 10)):
        services.callback_by_person(d.code, secret, resolved=False, satisfaction="dissatisfied")
    assert Demand.objects.get(pk=d.pk).state == State.REOPENED
    f = rates.figure(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0])
    assert (f.signed, f.signed_on_time, f.rated, f.resolved, f.satisfied_count) == (1, 0, 1, 0, 0)
    assert (f.response, f.resolution, f.satisfaction, f.score) == (0.0, 0.0, 0.0, 0.0)
    # the second round is signed on time and satisfies: both rounds count
    with clock.frozen(at(2026, 10, 14, 10, 30)):
        services.sign(d.pk, city.users["handler_street1"])
        services.reply(d.pk, city.users["handler_street1"], text=GOOD_REPLY)
    with clock.frozen(at(2026, 10, 15, 10)):
        services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    f = rates.figure(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0])
    assert (f.signed, f.signed_on_time, f.rated, f.resolved, f.satisfied_count) == (2, 1, 2, 1, 1)
    assert rollups.check() == []


def test_a_fact_goes_to_the_period_where_it_became_final(city):
    d, secret = _to_replied(city, at(2026, 9, 30, 15))  # signed 15:30 on 30 September
    with clock.frozen(at(2026, 10, 9, 10)):  # rated in October (after the National Day holiday)
        services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    street = city.streets[0]
    assert _row(Period.MONTH, date(2026, 9, 1), Level.UNIT, street) == (1, 1, 0, 0, 0, 0)
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, street) == (0, 0, 1, 1, 1, 0)
    assert _row(Period.QUARTER, date(2026, 7, 1), Level.UNIT, street) == (1, 1, 0, 0, 0, 0)
    assert _row(Period.QUARTER, date(2026, 10, 1), Level.UNIT, street) == (0, 0, 1, 1, 1, 0)
    assert _row(Period.YEAR, date(2026, 1, 1), Level.UNIT, street) == (1, 1, 1, 1, 1, 0)


def test_a_certified_unreasonable_demand_is_taken_back_from_its_periods(city):
    d, secret = _to_replied(city, at(2026, 9, 29, 10))
    with clock.frozen(at(2026, 10, 9, 10)):
        services.callback_by_person(d.code, secret, resolved=False, satisfaction="dissatisfied")
    with clock.frozen(at(2026, 10, 12, 10)):
        services.certify_close(d.pk, city.users["supervisor"], reason="诉求超出政策范围，已依法解释", exclude=True)
    street = city.streets[0]
    assert _row(Period.MONTH, date(2026, 9, 1), Level.UNIT, street) == (0,) * 6
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, street) == (0,) * 6
    assert _row(Period.YEAR, date(2026, 1, 1), Level.GRID, city.grids[0]) == (0,) * 6
    assert rates.ranking(date(2026, 10, 1)) == []
    assert rollups.check() == []


def test_certified_closure_without_exclusion_keeps_the_figures(city):
    d, secret = _to_replied(city, at(2026, 10, 12, 10))
    with clock.frozen(at(2026, 10, 13, 10)):
        services.callback_by_person(d.code, secret, resolved=False, satisfaction="dissatisfied")
        services.certify_close(d.pk, city.users["supervisor"], reason="已依法依规处理到位", exclude=False)
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0]) == (1, 1, 1, 0, 0, 0)


def test_the_definition_decides_what_is_excluded(city, settings):
    settings.MASSLINE_RATES = {"exclude": []}
    d, secret = _to_replied(city, at(2026, 10, 12, 10))
    with clock.frozen(at(2026, 10, 13, 10)):
        services.callback_by_person(d.code, secret, resolved=False, satisfaction="dissatisfied")
        services.certify_close(d.pk, city.users["supervisor"], reason="诉求超出政策范围，已依法解释", exclude=True)
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0]) == (1, 1, 1, 0, 0, 0)
    assert rollups.check() == []
    # a changed definition makes the kept rollups stale: the check says so, a rebuild puts it right
    settings.MASSLINE_RATES = {"exclude": ["certified"]}
    assert rollups.check() != []
    rollups.rebuild()
    assert rollups.check() == []
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0]) == (0,) * 6


def test_withdrawn_and_merged_demands_are_taken_back(city):
    u = city.users
    with clock.frozen(at(2026, 10, 12, 10)):
        a, _ = _raise(city)
        b, _ = _raise(city, title="北门路灯又坏了")
        c, _ = _raise(city, title="路灯问题")
        for d in (a, b, c):
            services.dispatch(d.pk, u["dispatcher"])
            services.sign(d.pk, u["handler_street1"])
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0])[:2] == (3, 3)
    with clock.frozen(at(2026, 10, 13, 10)):
        services.withdraw(a.pk, u["intake"], reason="群众来电撤回")
        services.merge(b.pk, u["dispatcher"], into_id=c.pk, note="同一路灯")
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0])[:2] == (1, 1)
    # the merged demand gets the master's reply; its person's rating is not counted a second time
    with clock.frozen(at(2026, 10, 13, 11)):
        services.reply(c.pk, u["handler_street1"], text=GOOD_REPLY)
        services.callback(b.pk, u["intake"], resolved=True, satisfaction="satisfied")
        services.callback(c.pk, u["intake"], resolved=True, satisfaction="satisfied")
    assert _row(Period.MONTH, date(2026, 10, 1), Level.UNIT, city.streets[0]) == (1, 1, 1, 1, 1, 0)
    assert rollups.check() == []


def test_reports_are_not_in_the_rates(city):
    u = city.users
    with clock.frozen(at(2026, 10, 12, 10)):
        d, _ = _raise(city, type="report", title="举报某干部", reported_person="某科长",
                      reported_unit_id=city.units["housing"].pk, category="物业管理")
        services.dispatch(d.pk, u["discipline"])
        services.sign(d.pk, u["discipline"])
    assert not RateRollup.objects.exists()
    assert rollups.check() == []


def test_a_redispatched_demand_counts_for_the_unit_that_signed(city):
    u = city.users
    with clock.frozen(at(2026, 10, 12, 10)):
        d, _ = _raise(city, category="物业管理")
        services.dispatch(d.pk, u["dispatcher"], lead_unit_id=city.units["water"].pk)
        services.sign(d.pk, u["handler_water"])
        services.request_return(d.pk, u["handler_water"], reason="不属于供水职责范围", cited_item="供水供电抢修")
        services.uphold_return(d.pk, u["dispatcher"], lead_unit_id=city.units["housing"].pk, note="改派住建委")
    with clock.frozen(at(2026, 10, 14, 10)):
        services.sign(d.pk, u["handler_housing"])
    oct1 = date(2026, 10, 1)
    assert _row(Period.MONTH, oct1, Level.UNIT, city.units["water"])[:2] == (1, 1)
    assert _row(Period.MONTH, oct1, Level.UNIT, city.units["housing"])[:2] == (1, 0)
    assert _row(Period.MONTH, oct1, Level.STREET, city.streets[0])[:2] == (2, 1)
    assert rollups.check() == []


# --- exactness under random operations ------------------------------------------------------------------

HANDLER_OF = {"city": "handler_city", "water": "handler_water", "housing": "handler_housing",
              "power": "handler_power"}


def _handler_for(city, d: Demand):
    if d.lead_unit_id == city.streets[0].pk:
        return city.users["handler_street1"]
    if d.lead_unit_id == city.district.pk:
        return city.users["handler_district"]
    for key, name in HANDLER_OF.items():
        if d.lead_unit_id == city.units[key].pk:
            return city.users[name]
    return None


def _random_operations(city, seed: int, steps: int) -> dict[str, int]:
    rng = random.Random(seed)
    now = at(2026, 10, 26, 9)  # runs over the end of October, into November
    secrets: dict[int, str] = {}
    done: dict[str, int] = {}
    units = [city.units["city"], city.units["water"], city.units["housing"], city.streets[0]]
    for _ in range(steps):
        now += timedelta(minutes=rng.choice([5, 20, 90, 240, 60 * 20]))
        ids = list(Demand.objects.exclude(state__in=[State.CLOSED, State.WITHDRAWN, State.REJECTED])
                   .values_list("pk", flat=True))
        op = rng.choice(["receive", "receive", "act", "act", "act", "act", "act", "sweep"]) if ids else "receive"
        with clock.frozen(now):
            try:
                if op == "receive":
                    kind = rng.random()
                    d, secret = _raise(
                        city, category=rng.choice(["市政设施", "停水停电", "物业管理"]), grid=rng.randrange(8),
                        type="report" if kind < 0.05 else ("enquiry" if kind < 0.15 else "complaint"),
                        **({"reported_person": "某干部"} if kind < 0.05 else {}))
                    secrets[d.pk] = secret
                elif op == "sweep":
                    sweep(now)
                else:
                    d = Demand.objects.get(pk=rng.choice(ids))
                    op = _act(city, rng, d, secrets, units)
            except DomainError:
                op = f"{op}:refused"
        done[op] = done.get(op, 0) + 1
    return done


def _act(city, rng, d: Demand, secrets, units) -> str:
    u = city.users
    handler = _handler_for(city, d)
    s = d.state
    if d.is_report:
        if s in (State.RECEIVED, State.ACCEPTED):
            services.dispatch(d.pk, u["discipline"])
        elif s == State.DISPATCHED:
            services.sign(d.pk, u["discipline"])
        return f"report:{s}"
    if s in (State.RECEIVED, State.ACCEPTED):
        r = rng.random()
        if d.type == "enquiry" and r < 0.4:
            services.answer_directly(d.pk, u["intake"], text=GOOD_REPLY)
            return "answer_directly"
        if r < 0.1:
            services.withdraw(d.pk, u["intake"], reason="群众撤回")
            return "withdraw"
        lead = rng.choice([None, *units])
        services.dispatch(d.pk, u["dispatcher"], lead_unit_id=lead.pk if lead else None)
        return "dispatch"
    if s in (State.DISPATCHED, State.REOPENED):
        r = rng.random()
        if r < 0.1 and handler is not None and s == State.DISPATCHED:
            services.request_return(d.pk, handler, reason="不属于本单位职责", cited_item="职责清单")
            return "request_return"
        if r < 0.15:
            others = list(Demand.objects.filter(state__in=[State.DISPATCHED, State.SIGNED, State.IN_PROGRESS])
                          .exclude(pk=d.pk).exclude(type="report").values_list("pk", flat=True))
            if others and s == State.DISPATCHED:
                services.merge(d.pk, u["dispatcher"], into_id=rng.choice(others), note="重复诉求")
                return "merge"
        if r < 0.2 and s == State.REOPENED:
            services.certify_close(d.pk, u["supervisor"], reason="经审核属无理诉求", exclude=rng.random() < 0.7)
            return "certify_close"
        if handler is not None:
            services.sign(d.pk, handler)
            return "sign"
        return "no_handler"
    if s == State.RETURN_REQUESTED:
        if rng.random() < 0.6:
            lead = rng.choice([x for x in units if x.pk != d.lead_unit_id])
            services.uphold_return(d.pk, u["dispatcher"], lead_unit_id=lead.pk, note="改派")
            return "uphold_return"
        services.overrule_return(d.pk, u["dispatcher"], note="属于本单位职责，请办理")
        return "overrule_return"
    if s in (State.SIGNED, State.IN_PROGRESS):
        r = rng.random()
        if r < 0.08:
            services.certify_close(d.pk, u["supervisor"], reason="经审核属无理诉求", exclude=rng.random() < 0.5)
            return "certify_close"
        if handler is not None:
            services.reply(d.pk, handler, text=GOOD_REPLY)
            return "reply"
        return "no_handler"
    if s == State.REPLIED:
        sat = rng.choice(["satisfied", "basic", "dissatisfied"])
        resolved = sat != "dissatisfied" or rng.random() < 0.2
        if d.pk in secrets and rng.random() < 0.5:
            services.callback_by_person(d.code, secrets[d.pk], resolved=resolved, satisfaction=sat)
        else:
            services.callback(d.pk, u["intake"], resolved=resolved, satisfaction=sat)
        return f"callback:{sat}"
    return f"idle:{s}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_operations_keep_the_rollups_exact(city, seed):
    done = _random_operations(city, seed, 160)
    # the sequence really exercised the paths that move the figures
    assert done.get("sign", 0) >= 10 and sum(v for k, v in done.items() if k.startswith("callback")) >= 5, done
    assert done.get("certify_close", 0) + done.get("merge", 0) + done.get("withdraw", 0) >= 2, done
    assert RateRollup.objects.filter(level=Level.UNIT, signed__gt=0).exists()
    assert rollups.check() == []
    # ... and the comparison can fail: one wrong counter is found, with its key
    row = RateRollup.objects.filter(period=Period.MONTH, level=Level.UNIT, signed__gt=0).first()
    RateRollup.objects.filter(pk=row.pk).update(signed_on_time=row.signed_on_time + 1)
    diffs = rollups.check()
    assert [(d.period, d.start, d.level, d.org_id, d.delta[1]) for d in diffs] == [
        (Period.MONTH, row.start, Level.UNIT, row.org_id, 1)]
    rollups.rebuild()
    assert rollups.check() == []


def test_a_change_missed_by_the_hook_is_caught(city):
    """Without the in-transaction hook the rollups fall behind, and the check says where."""
    d, secret = _to_replied(city, at(2026, 10, 12, 9, 30))
    hooks.unregister_in_txn("changed", rollups.on_changed)
    try:
        with clock.frozen(at(2026, 10, 13, 10)):
            services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    finally:
        hooks.register_in_txn("changed", rollups.on_changed)
    diffs = rollups.check()
    assert diffs and all(df.delta[2] == -1 for df in diffs)  # kept − recomputed: one rating missing everywhere
    assert {df.level for df in diffs} == {"unit", "district", "street", "community", "grid"}


def test_a_failing_rollup_fails_the_change(city, monkeypatch):
    """The rollup is part of the change: if it cannot be written, the change does not happen."""
    d, secret = _to_replied(city, at(2026, 10, 12, 9, 30))

    def broken(model, rows):
        raise RuntimeError("rollup table unavailable")

    monkeypatch.setattr(rollups, "upsert", broken)
    with clock.frozen(at(2026, 10, 13, 10)), pytest.raises(RuntimeError):
        services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
    assert Demand.objects.get(pk=d.pk).state == State.REPLIED


# --- definitions, ranking, command line ---------------------------------------------------------------

def test_weights_and_exclusions_come_from_the_environment(monkeypatch, settings):
    settings.MASSLINE_RATES = None
    monkeypatch.setenv("MASSLINE_RATE_WEIGHTS", "20,40,40")
    monkeypatch.setenv("MASSLINE_RATE_EXCLUDE", "certified,report")
    defn = rates.definition()
    assert defn.weights == (20.0, 40.0, 40.0) and defn.exclude == {"certified", "report"}
    monkeypatch.setenv("MASSLINE_RATE_EXCLUDE", "none")
    assert rates.definition().exclude == frozenset()
    monkeypatch.setenv("MASSLINE_RATE_WEIGHTS", "30,35")
    with pytest.raises(ImproperlyConfigured):
        rates.definition()
    monkeypatch.setenv("MASSLINE_RATE_WEIGHTS", "30,35,35")
    monkeypatch.setenv("MASSLINE_RATE_EXCLUDE", "certified,nonsense")
    with pytest.raises(ImproperlyConfigured):
        rates.definition()


def test_composite_score_weighs_the_rates_that_exist():
    assert rates.composite((100.0, 50.0, 0.0), (30, 35, 35)) == round((3000 + 1750) / 100, 2)
    assert rates.composite((80.0, None, None), (30, 35, 35)) == 80.0
    assert rates.composite((None, None, None), (30, 35, 35)) is None


def test_ranking_with_change_from_last_month(city):
    u = city.users
    # September: the street signs late; October: on time, and the water company signs late
    _to_replied(city, at(2026, 9, 14, 10), late=True)
    _to_replied(city, at(2026, 10, 12, 10))
    with clock.frozen(at(2026, 10, 12, 10)):
        d, _ = _raise(city, category="停水停电")
        services.dispatch(d.pk, u["dispatcher"])
    with clock.frozen(at(2026, 10, 14, 10)):
        services.sign(d.pk, u["handler_water"])
    rows = rates.ranking(date(2026, 10, 1), Level.UNIT)
    assert [(f.org.pk, f.rank, f.score) for f in rows] == [(city.streets[0].pk, 1, 100.0),
                                                           (city.units["water"].pk, 2, 0.0)]
    street = rows[0]
    assert (street.prev_score, street.prev_rank, street.score_change, street.rank_change) == (0.0, 1, 100.0, 0)
    out = io.StringIO()
    call_command("insight", "rates", "--month", "2026-10", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [r["org_id"] for r in data["rows"]] == [city.streets[0].pk, city.units["water"].pk]
    assert data["rows"][0]["score_change"] == 100.0 and data["weights"] == [30.0, 35.0, 35.0]
    out = io.StringIO()
    call_command("insight", "rates", "--month", "2026-10", "--level", "street", stdout=out)
    assert "东城街道" in out.getvalue() and "响应率" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("insight", "rates", "--month", "2026-13", stdout=io.StringIO())


def test_rollup_command_rebuilds_and_checks(city):
    _to_replied(city, at(2026, 10, 12, 10))
    out = io.StringIO()
    call_command("insight", "rollup", "--check", stdout=out)
    assert "一致" in out.getvalue()
    RateRollup.objects.filter(level=Level.GRID).delete()
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("insight", "rollup", "--check", stdout=io.StringIO(), stderr=err)
    assert caught.value.returncode == 1 and "grid" in err.getvalue()
    call_command("insight", "rollup", "--rebuild", stdout=out)
    assert RateRollup.objects.filter(level=Level.GRID).exists()
    call_command("insight", "rollup", "--check", stdout=out)


# --- concurrency (PostgreSQL: real commits, one connection per thread) -----------------------------------------

@pytest.mark.postgres
@pytest.mark.skipif(not on_postgres(), reason="concurrent writers need PostgreSQL (SQLite serialises writers)")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_changes_to_one_unit_keep_the_rollups_exact(city):
    u = city.users
    made = [_to_replied(city, at(2026, 10, 12, 9, 30) + timedelta(minutes=i), late=i % 3 == 0) for i in range(8)]
    with clock.frozen(at(2026, 10, 12, 15)):
        signed = [services.dispatch(_raise(city, grid=i % 2)[0].pk, u["dispatcher"]) for i in range(4)]
    barrier = threading.Barrier(len(made) + len(signed))
    errors: list[BaseException] = []

    def rate(i: int) -> None:
        d, secret = made[i]
        try:
            barrier.wait(timeout=30)
            with clock.frozen(at(2026, 10, 31, 23, 59, 59) if i % 2 else at(2026, 11, 2, 10)):
                if i == 0:
                    services.certify_close(d.pk, u["supervisor"], reason="经审核属无理诉求", exclude=True)
                else:
                    services.callback_by_person(d.code, secret, resolved=i % 4 != 1,
                                                satisfaction=["satisfied", "basic", "dissatisfied"][i % 3])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def sign(d: Demand) -> None:
        try:
            barrier.wait(timeout=30)
            with clock.frozen(at(2026, 10, 12, 16)):
                services.sign(d.pk, u["handler_street1"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=rate, args=(i,)) for i in range(len(made))]
    threads += [threading.Thread(target=sign, args=(d,)) for d in signed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    street = city.streets[0]
    # 8 + 4 signs (3 of the 8 late), one late one taken back by the exclusion; 7 ratings over October and November
    assert _row(Period.YEAR, date(2026, 1, 1), Level.UNIT, street)[:3] == (11, 9, 7)
    assert rollups.check() == []


# --- the demo city: every path through the services, and the bulk loader ---------------------------------------

def test_the_demo_city_through_the_services_and_its_bulk_rows_keep_the_rollups_exact():
    from massline.demands import democity

    now = at(2026, 6, 12, 15, 0)
    spec = democity.Spec(seed=11, streets=1, communities=2, grids=2, demands=40, days=20, shared_taxonomy=False)
    city, report = democity.make(spec, now=now)
    assert not report.failures
    signed = RateRollup.objects.filter(period=Period.YEAR, level=Level.DISTRICT).values_list("signed", "rated")
    assert signed and signed[0][0] > 0 and signed[0][1] > 0
    assert rollups.check() == []
    made = democity.bulk(city, 300, seed=9, days=30, now=now, batch=120)
    assert made == 300
    after = RateRollup.objects.filter(period=Period.YEAR, level=Level.DISTRICT).values_list("signed", "rated")[0]
    assert after[0] > signed[0][0] + 100 and after[1] > signed[0][1] + 50
    assert rollups.check() == []
