"""The demo city's planted build-up (琐事积累) is found by the safety line at "now", computed from the record by
the production code; the busiest ordinary place of the city is not; raising it (as ``make run`` does) records
one warning and a second run none."""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command

from conftest import at
from massline.core import calendar as workcalendar
from massline.core.models import Event, Notification
from massline.demands import democity
from massline.demands.models import Callback, Demand
from massline.demands.signals import RISK_FLAGGED
from massline.insight import safety
from massline.insight.models import SafetyWarning

NOW = at(2026, 6, 12, 15, 0)  # a Friday afternoon
# the smallest city whose ordinary demands give the line a usual level to compare with (about half a minute)
CITY = democity.Spec(seed=11, streets=2, communities=2, grids=2, demands=250, days=56, buildups=1,
                     shared_taxonomy=False)
OPEN = ("closed", "rejected", "withdrawn", "merged")


@pytest.mark.django_db
def test_the_demo_build_up_stands_over_the_line_and_the_busiest_place_does_not(django_capture_on_commit_callbacks):
    workcalendar.invalidate()
    plan = democity.make_plan(CITY, NOW, workcalendar.get_calendar())
    assert len(plan.demands) == CITY.demands and len(plan.buildups) == 1
    b = plan.buildups[0]
    planted = [plan.demands[i] for i in b.demands]
    assert len(planted) >= 11 and all(p.grid == b.grid and p.topic == b.topic for p in planted)
    assert all(NOW - timedelta(days=36) < p.at <= NOW for p in planted)
    assert Counter(p.phone for p in planted).most_common(1)[0][1] >= 3  # a repeat caller
    assert any(p.channel == "group" for p in planted)

    city, report = democity.make(CITY, now=NOW)
    assert not report.failures, report.failures
    assert report.buildups and city.grids[b.grid].name in report.buildups[0]
    grid, category = city.grids[b.grid], city.categories[b.topic]
    mine = Demand.objects.filter(place=grid, category=category)
    assert mine.exclude(state__in=OPEN).count() >= 8
    assert Callback.objects.filter(demand__in=mine, satisfaction="dissatisfied").count() >= 4
    flagged = Event.objects.filter(action=RISK_FLAGGED, chain__in=[f"demand:{pk}" for pk in mine.values_list("pk", flat=True)])
    assert 1 <= flagged.count() <= 3  # escalation words in one or two of the last texts, found at intake

    standing = {s.score.key: s for s in safety.evaluate(NOW)}
    key = ("grid", grid.pk, category.pk)
    assert key in standing, sorted((round(s.score.score, 2), k) for k, s in standing.items())
    s = standing[key]
    assert s.score.score >= s.score.line and s.score.open_count >= 3
    titles = {p.title for p in planted}
    assert sum(w for d, w in s.demands if d.title in titles) >= 0.8 * s.score.weight  # the planted ones carry it
    # one build-up, one warning: not again at its community or street, and nowhere else
    assert set(standing) == {key}

    # the busiest ordinary place (most arrivals per day, at any level, not above the build-up in its category) is
    # busier than the build-up's grid and stands well below its line
    scores = safety.scores(NOW)
    above = {("grid", grid.pk), ("community", grid.parent_id), ("street", grid.parent.parent_id)}
    ordinary = [x for x in scores if not (x.category == category.pk and (x.level, x.org) in above)]
    busiest = max(ordinary, key=lambda x: (x.rate, x.key))
    assert busiest.rate > standing[key].score.rate > 0
    assert busiest.score < 0.75 * busiest.line, busiest

    # raising records it once and tells the street's leader; a second run raises nothing
    runs = []
    for _ in range(2):
        out = io.StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("insight", "warnings", "--raise", "--json", "--as-of", NOW.isoformat(), stdout=out)
        runs.append(json.loads(out.getvalue())["raised"])
    assert runs == [1, 0]
    assert list(SafetyWarning.objects.values_list("level", "org_id", "category_id")) == [key]
    leader = city.users["leader"]
    assert Notification.objects.filter(recipient=leader, kind="safety_warning").count() == 1
