"""The relationship index: good contacts raise it, bad ones lower it, both fade; the trend follows; the command
and the page."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from conftest import at
from massline.insight import relationship

from .safety_fixtures import dissatisfied, make

START = at(2026, 9, 1, 10)


@pytest.fixture
def contacts(city):
    good, bad = city.communities[0], city.communities[2]
    for day in range(0, 40, 2):  # the first community: door visits and satisfied closures
        created = START + timedelta(days=day)
        make(city, city.grids[0], "物业管理", created, created + timedelta(days=1), satisfaction="satisfied",
             resolved=True)
        make(city, city.grids[1], "市政设施", created, created + timedelta(days=1), channel="door", type="help",
             satisfaction="basic", resolved=True)
    for day in range(20, 40, 2):  # the third: from day 20, dissatisfied callbacks and an overdue backlog
        created = START + timedelta(days=day)
        d = make(city, city.grids[4], "物业管理", created, START + timedelta(days=45), due_days=3,
                 phone="13900001111", satisfaction="satisfied", resolved=True)  # at last resolved on 10-16
        dissatisfied(d, created + timedelta(days=2))
    return good, bad


@pytest.mark.django_db
def test_good_and_bad_contacts_move_the_index(city, contacts):
    good, bad = contacts
    end = date(2026, 10, 10)
    result = relationship.series([good, bad, city.communities[1]], date(2026, 9, 1), end)
    assert result[good.pk][-1].index > 50
    assert result[bad.pk][-1].index < -50
    assert result[city.communities[1].pk][-1].index == 0  # nothing happened there
    assert result[bad.pk][-1].trend < 0
    # before the trouble started the third community was at 0, and it fell afterwards
    before = next(p for p in result[bad.pk] if p.day == date(2026, 9, 20))
    assert before.index == 0 and before.bad == 0
    assert relationship.trend_label(result[bad.pk][-1].trend) == "趋紧"
    # contacts fade: months after the backlog was cleared the index has come back toward 0
    later = relationship.series([bad], date(2026, 12, 20), date(2026, 12, 31))[bad.pk]
    assert later[-1].index > result[bad.pk][-1].index


@pytest.mark.django_db
def test_a_report_is_not_counted(city):
    make(city, city.grids[0], "物业管理", START, START + timedelta(days=1), satisfaction="satisfied", resolved=True,
         type="report")
    points = relationship.series([city.communities[0]], date(2026, 9, 1), date(2026, 9, 5))[city.communities[0].pk]
    assert all(p.good == 0 and p.bad == 0 for p in points)


@pytest.mark.django_db
def test_command_and_page(client, city, contacts):
    good, bad = contacts
    out = io.StringIO()
    call_command("insight", "relationship", "--community", str(bad.pk), "--from", "2026-09-01", "--to", "2026-10-10",
                 "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["communities"][0]["points"][-1]["index"] < -50 and len(data["communities"][0]["points"]) == 40
    out = io.StringIO()
    call_command("insight", "relationship", "--all", "--to", "2026-10-10", stdout=out)
    assert good.name in out.getvalue() and bad.name in out.getvalue()
    client.force_login(city.users["leader"])
    r = client.get(f"/insight/relationship/?community={good.pk}&from=2026-09-01&to=2026-10-10")
    assert r.status_code == 200 and "2026-10-10" in r.content.decode()
    assert good.name in client.get("/insight/relationship/?to=2026-10-10").content.decode()
    client.force_login(city.users["supervisor_street2"])  # street 2 holds communities 2 and 3, not 0
    assert client.get(f"/insight/relationship/?community={good.pk}").status_code == 403
    assert client.get(f"/insight/relationship/?community={bad.pk}").status_code == 200
