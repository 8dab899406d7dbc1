"""The living demo city: the plan is deterministic and varied, a tiny city builds through the services with an
intact event record, whistle-blowing stays with discipline inspection, and bulk rows are consistent."""

from __future__ import annotations

import dataclasses
import math
import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from conftest import at
from massline.core import calendar as workcalendar
from massline.core import events
from massline.demands import democity, policy
from massline.demands import democity_texts as tx
from massline.demands.demo import LOGINS
from massline.demands.models import Callback, Demand, DemandUnit, GroupVisit, Reply, State
from massline.directory.models import Category, Org, Responsibility

NOW = at(2026, 6, 12, 15, 0)  # a Friday afternoon
TINY = democity.Spec(seed=11, streets=2, communities=2, grids=2, demands=30, days=14, shared_taxonomy=False)


def _calendar():
    workcalendar.invalidate()
    return workcalendar.get_calendar()


def _bigrams(text: str) -> list[str]:
    return [text[i:i + 2] for i in range(len(text) - 1)]


@pytest.mark.django_db
def test_the_plan_is_deterministic_and_depends_on_the_seed():
    cal = _calendar()
    spec = democity.Spec(seed=3, demands=400)
    a, b = democity.make_plan(spec, NOW, cal), democity.make_plan(spec, NOW, cal)
    assert a.fingerprint() == b.fingerprint()
    assert [p.title for p in a.demands] == [p.title for p in b.demands]
    other = democity.make_plan(democity.Spec(seed=4, demands=400), NOW, cal)
    assert other.fingerprint() != a.fingerprint()
    assert len(a.demands) == 400
    assert all(p.at <= NOW for p in a.demands)
    assert [p.at for p in a.demands] == sorted(p.at for p in a.demands)


@pytest.mark.django_db
def test_the_plan_covers_every_channel_type_and_fate():
    plan = democity.make_plan(democity.Spec(seed=7, demands=3000), NOW, _calendar())
    ds = plan.demands
    assert {p.channel for p in ds} == {"hotline", "web", "mobile", "board", "api", "letter", "visit", "reception",
                                       "door", "box", "agent", "group"}
    assert {p.type for p in ds} == {"enquiry", "help", "complaint", "report", "suggestion", "praise"}
    assert {p.urgency for p in ds} == {"normal", "urgent", "emergency"}
    assert {p.identity for p in ds} == {"named", "confidential", "anonymous"}
    assert {p.topic for p in ds} == {t.key for t in tx.TOPICS}
    fates = Counter()
    for p in ds:
        f = p.fate
        fates.update(k for k, v in {"answer": f.intake == "answer", "reject": f.intake == "reject",
                                    "withdraw": f.intake == "withdraw", "dup": f.dup_of is not None,
                                    "misroute": bool(f.misroute), "push_back": f.push_back,
                                    "extension": bool(f.extension), "suspend": f.suspend, "urge": f.urge,
                                    "reopen": len(f.rounds) > 1, "never_answered": any(r.f is None for r in f.rounds
                                                                                       if f.intake != "answer"),
                                    "certify": f.certify}.items() if v)
    for fate in ("answer", "reject", "withdraw", "dup", "misroute", "push_back", "extension", "suspend", "urge",
                 "reopen", "never_answered", "certify"):
        assert fates[fate] > 0, fate
    # staff-only channels are recorded on working days, in working hours
    cal = _calendar()
    for p in ds:
        if p.channel in ("letter", "visit", "reception", "door", "box", "agent", "group"):
            assert cal.is_workday(p.at.date()) and 9 <= p.at.hour < 18, p
    # groups: at most five representatives each, every group yields demands
    assert plan.groups and all(1 <= len(g.reps) <= 5 for g in plan.groups)
    assert {p.group for p in ds if p.channel == "group"} == {g.i for g in plan.groups}
    # a few people call again and again; most call once
    repeats = Counter(p.phone for p in ds if p.phone)
    assert repeats.most_common(1)[0][1] >= 5
    # every unit of the responsibility list is somebody's destination
    assert {p.unit for p in ds} >= {"city", "housing", "water", "power", "heat", "police", "market", "discipline"}


@pytest.mark.django_db
def test_texts_are_specific_enough_to_learn_the_category():
    """A naive Bayes over character bigrams, trained on half the plan, names the topic of the other half."""
    plan = democity.make_plan(democity.Spec(seed=5, demands=2400), NOW, _calendar())
    docs = [(p.topic, p.title + p.content) for p in plan.demands if p.type != "praise"]
    random.Random(1).shuffle(docs)
    train, test = docs[: len(docs) // 2], docs[len(docs) // 2:]
    counts: dict[str, Counter] = defaultdict(Counter)
    priors = Counter()
    for topic, text in train:
        counts[topic].update(_bigrams(text))
        priors[topic] += 1
    vocab = set().union(*counts.values())
    totals = {t: sum(c.values()) for t, c in counts.items()}

    def guess(text: str) -> str:
        grams = _bigrams(text)
        return max(counts, key=lambda t: math.log(priors[t]) + sum(
            math.log((counts[t][g] + 1) / (totals[t] + len(vocab))) for g in grams))

    right = sum(guess(text) == topic for topic, text in test)
    assert right / len(test) > 0.8
    # and the words are Chinese, with every slot filled
    assert all("{" not in text and "}" not in text for _, text in docs)


@pytest.mark.django_db
def test_a_tiny_city_builds_through_the_services():
    city, report = democity.make(TINY, now=NOW)
    assert not report.failures, report.failures
    assert Demand.objects.count() == TINY.demands == report.demands
    assert Org.objects.filter(kind=Org.Kind.STREET).count() == 2
    assert Org.objects.filter(kind=Org.Kind.GRID).count() == 8
    assert Org.objects.filter(kind__in=[Org.Kind.DEPARTMENT, Org.Kind.UTILITY]).count() == len(democity.UNITS)
    assert Org.objects.filter(kind=Org.Kind.DISCIPLINE).count() == 1 and Org.objects.filter(kind=Org.Kind.CENTRE).exists()
    # the built-in tree, a responsibility list with street entries and the district as backstop
    assert Category.objects.filter(level=3).count() == len(tx.TOPICS)
    assert Responsibility.objects.filter(area__kind=Org.Kind.STREET).count() >= 2
    states = Counter(Demand.objects.values_list("state", flat=True))
    assert len(states) >= 4, states
    assert states[State.CLOSED] > 0
    assert set(Demand.objects.values_list("channel", flat=True)) >= {"hotline", "group"}
    assert GroupVisit.objects.filter(step=GroupVisit.Step.GOALS).exists()
    assert all(gv.representatives.count() <= 5 for gv in GroupVisit.objects.all())
    # every step is a real event, and the record verifies
    assert report.events > 5 * TINY.demands
    assert list(events.verify()) == []
    # the short demo logins work with the demo password, each in its role
    User = get_user_model()
    for username, _label in LOGINS:
        assert User.objects.get(username=username).check_password(democity.PASSWORD), username
    assert city.users["handler_city"].roles.get().scope == city.units["city"]
    assert city.users["handler_street1"].roles.get().scope == city.streets[0]


@pytest.mark.django_db
def test_whistle_blowing_is_seen_by_discipline_inspection_only():
    city, _ = democity.make(TINY, now=NOW)
    reports = set(Demand.objects.filter(type="report").values_list("pk", flat=True))
    assert reports
    assert all(d.lead_unit_id in (None, city.units["discipline"].pk) for d in Demand.objects.filter(type="report"))
    for username in ("intake", "dispatcher", "supervisor", "leader", "admin", "handler_city", "handler_street1",
                     "handler_district", "intake01"):
        seen = set(policy.visible(city.users[username]).values_list("pk", flat=True))
        assert not seen & reports, username
    assert reports <= set(policy.visible(city.users["discipline"]).values_list("pk", flat=True))


@pytest.mark.django_db
def test_two_builds_with_the_same_seed_give_the_same_city():
    spec = democity.Spec(seed=2, streets=1, communities=2, grids=2, demands=24, days=10, shared_taxonomy=False)
    outcomes = []
    for _ in range(2):
        sid = transaction.savepoint()
        democity.make(spec, now=NOW)
        outcomes.append((
            sorted(Demand.objects.values_list("title", "state", "channel", "type", "round")),
            sorted(Org.objects.values_list("code", "name")),
            sorted(get_user_model().objects.values_list("username", "first_name")),
        ))
        transaction.savepoint_rollback(sid)
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][0]) == 24


@pytest.mark.django_db
def test_bulk_rows_are_consistent():
    spec = democity.Spec(seed=9, streets=1, communities=1, grids=2, demands=0, days=30, shared_taxonomy=False)
    city, _ = democity.make(spec, now=NOW)
    assert Demand.objects.count() == 0
    made = democity.bulk(city, 400, seed=9, days=30, now=NOW, batch=150)
    assert made == 400 == Demand.objects.count()
    assert Demand.objects.values("code").distinct().count() == 400
    states = Counter(Demand.objects.values_list("state", flat=True))
    assert states[State.CLOSED] > 100 and len(states) >= 6, states
    for d in Demand.objects.all():
        if d.state in ("received", "accepted", "rejected"):
            assert d.lead_unit_id is None
        else:
            assert d.lead_unit_id and DemandUnit.objects.filter(demand=d, unit_id=d.lead_unit_id, role="lead").exists()
            assert d.dispatched_at and d.dispatched_at >= d.created_at
        if d.state == State.CLOSED:
            assert d.closed_at and Reply.objects.filter(demand=d).exists()
        if d.state == State.REOPENED:
            assert d.round == 2 and Callback.objects.filter(demand=d, satisfaction="dissatisfied").exists()
        if d.state in ("dispatched", "signed", "in_progress", "reopened") and d.due_at and d.due_at <= NOW:
            assert d.overdue and d.supervision >= 1
        if d.type == "report" and d.lead_unit_id:
            assert d.lead_unit_id == city.units["discipline"].pk
        assert d.updated_at <= NOW and "{" not in d.title
    # the sweep has nothing to catch up on: the flags are those of now
    from massline.demands.sweep import sweep

    assert sweep(now=NOW).as_dict()["overdue"] == 0


@pytest.mark.django_db
def test_the_demo_command_builds_the_city(capsys):
    call_command("demo", "--streets", "1", "--communities", "1", "--grids", "1", "--demands", "12", "--days", "7",
                 "--now", "2026-06-12T15:00+08:00")
    out = capsys.readouterr().out
    assert "演示城区已载入" in out and "intake" in out and "massline-demo" in out
    assert Demand.objects.count() == 12
    if democity.taxonomy_path() is not None:
        assert Category.objects.filter(level=3).count() > 400  # the real tree of the shared data
    call_command("demo")
    assert "跳过" in capsys.readouterr().out
    assert Demand.objects.count() == 12


BUILDUP = democity.Spec(seed=11, streets=2, communities=2, grids=2, demands=250, days=56, buildups=1,
                        shared_taxonomy=False)


@pytest.mark.django_db
def test_the_plan_plants_build_ups_only_where_they_fit_with_every_slot_filled():
    cal = _calendar()
    assert democity.make_plan(TINY, NOW, cal).buildups == []
    off = democity.make_plan(dataclasses.replace(BUILDUP, buildups=0), NOW, cal)
    assert off.buildups == [] and len(off.demands) == BUILDUP.demands
    assert len(democity.make_plan(dataclasses.replace(BUILDUP, buildups=2), NOW, cal).buildups) == 1  # small city
    big = dataclasses.replace(BUILDUP, demands=2400, buildups=2)
    two = democity.make_plan(big, NOW, cal)
    assert len(two.buildups) == 2 and len(two.demands) == big.demands
    streets = {two.world.communities[two.world.grids[b.grid].community].street for b in two.buildups}
    assert len(streets) == 2 and len({b.topic for b in two.buildups}) == 2
    for b in two.buildups:
        planted = [two.demands[i] for i in b.demands]
        assert 11 <= len(planted) <= 17 and {(p.grid, p.topic) for p in planted} == {(b.grid, b.topic)}
        assert Counter(p.phone for p in planted).most_common(1)[0][1] >= 3  # repeat callers
        assert [p.at for p in planted] == sorted(p.at for p in planted) and planted[0].at >= b.start - timedelta(1)
    # every slot of the build-ups' texts filled, over a few seeds (each draws its own themes and escalations)
    for seed in range(1, 7):
        plan = democity.make_plan(dataclasses.replace(big, seed=seed), NOW, cal)
        for b in plan.buildups:
            for p in (plan.demands[i] for i in b.demands):
                text = p.title + p.content + p.restatement + "".join(r.reply for r in p.fate.rounds)
                assert "{" not in text.replace("{date}", ""), text
