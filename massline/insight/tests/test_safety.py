"""The safety line on the record: a planted build-up is warned and a busy but ordinary place is not; warnings
replayed as of a past moment; raising is idempotent and tells the leaders once; handled warnings wait for a new
crossing; the page and its refusals."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from conftest import at
from massline.core.errors import NotFound, PermissionDenied
from massline.core.models import Notification
from massline.demands.models import State
from massline.insight import safety
from massline.insight.models import SafetyWarning

from .safety_fixtures import bulk, dissatisfied, make

START = at(2026, 8, 1, 9)
AS_OF = START + timedelta(days=70, hours=9)  # 2026-10-10 18:00
CLOSED_LATER = START + timedelta(days=75)


@pytest.fixture
def record(city):
    """70 days of a small district: ordinary demands resolved within days everywhere, a busy grid with three
    property-management demands a day (all resolved in one to three days), and in grid 0 a build-up of
    construction-noise complaints over four weeks, none resolved by 2026-10-10 (all closed on 10-15)."""
    rng = random.Random(5)
    rows = []
    busy = city.grids[1]
    for day in range(70):
        base = START + timedelta(days=day)
        for _ in range(3):
            created = base + timedelta(hours=rng.uniform(0, 9))
            rows.append(make(city, busy, "物业管理", created, created + timedelta(days=rng.uniform(1, 3)),
                             satisfaction="satisfied", resolved=True, save=False))
        for grid in city.grids[2:]:
            for cat in ("物业管理", "市政设施"):
                if rng.random() < 0.3:
                    created = base + timedelta(hours=rng.uniform(0, 9))
                    rows.append(make(city, grid, cat, created, created + timedelta(days=rng.uniform(1, 4)),
                                     satisfaction="satisfied", resolved=True, save=False))
    bulk(rows)
    build = []
    for i, day in enumerate((42, 47, 51, 54, 57, 59, 61, 63, 65, 67)):
        d = make(city, city.grids[0], "施工噪音", START + timedelta(days=day, hours=10), CLOSED_LATER,
                 satisfaction="basic", resolved=True, phone=f"1390000000{i % 3}", title=f"工地夜间施工噪音扰民{i}")
        build.append(d)
    dissatisfied(build[0], START + timedelta(days=50))
    return {"build": build, "busy": busy}


def _keys(standing):
    return {(s.score.level, s.org.pk, s.category.full_name) for s in standing}


@pytest.mark.django_db
def test_a_build_up_is_warned_and_a_busy_ordinary_place_is_not(city, record):
    standing = safety.evaluate(AS_OF)
    keys = _keys(standing)
    noise = city.categories["施工噪音"].full_name
    assert ("grid", city.grids[0].pk, noise) in keys
    # the community is over its line too, but only because of this grid: one warning, at the grid
    above = next(s for s in safety.scores(AS_OF) if s.key == ("community", city.communities[0].pk,
                                                              city.categories["施工噪音"].pk))
    assert above.score >= above.line
    assert {(level, org) for level, org, cat in keys if cat == noise} == {("grid", city.grids[0].pk)}
    busy = [s for s in safety.scores(AS_OF) if s.org == record["busy"].pk and s.level == "grid"]
    assert busy and all(s.score < s.line for s in busy)
    assert not any(s.org.pk == record["busy"].pk for s in standing)
    grid_warning = next(s for s in standing if s.score.level == "grid" and s.org.pk == city.grids[0].pk)
    assert grid_warning.score.open_count == 10
    behind = {d.pk for d, _ in grid_warning.demands}
    assert behind == {d.pk for d in record["build"]}
    # the dissatisfied one weighs more than another complaint of the same age
    w = dict((d.pk, weight) for d, weight in grid_warning.demands)
    assert w[record["build"][0].pk] > w[record["build"][1].pk]


@pytest.mark.django_db
def test_as_of_replay_counts_what_was_open_then(city, record):
    # closed on 10-15, but open on 10-10: replaying 10-10 still warns
    assert any(s.org.pk == city.grids[0].pk for s in safety.evaluate(AS_OF))
    # two weeks after they were closed (satisfactorily) the accumulation has decayed out
    later = CLOSED_LATER + timedelta(days=14)
    assert not any(s.org.pk == city.grids[0].pk for s in safety.evaluate(later))
    # before the build-up began there was nothing
    assert safety.evaluate(START + timedelta(days=40)) == []


@pytest.mark.django_db
def test_raising_is_idempotent_and_tells_the_leader_once(city, record, django_capture_on_commit_callbacks):
    leader = city.users["leader"]
    with django_capture_on_commit_callbacks(execute=True):
        first = safety.raise_warnings(AS_OF)
    assert first.raised
    raised = SafetyWarning.objects.filter(org=city.grids[0], level="grid").get()
    assert raised.state == SafetyWarning.State.OPEN and raised.links.count() == 10
    told = Notification.objects.filter(recipient=leader, kind="safety_warning").count()
    assert told == len(first.raised)
    with django_capture_on_commit_callbacks(execute=True):
        again = safety.raise_warnings(AS_OF + timedelta(hours=1))
    assert again.raised == []
    assert Notification.objects.filter(recipient=leader, kind="safety_warning").count() == told
    # one open warning per place, enforced by the database
    with pytest.raises(IntegrityError), transaction.atomic():
        SafetyWarning.objects.create(level=raised.level, org=raised.org, category=raised.category, score=9, line=6,
                                     raised_at=AS_OF)


@pytest.mark.django_db
def test_a_handled_warning_waits_for_a_new_crossing(city, record):
    safety.raise_warnings(AS_OF)
    w = SafetyWarning.objects.get(org=city.grids[0], level="grid")
    safety.handle(w.pk, city.users["leader"], "已约谈施工单位，夜间停工")
    assert SafetyWarning.objects.get(pk=w.pk).state == SafetyWarning.State.HANDLED
    # still over the line an hour later: handled, not raised again
    report = safety.raise_warnings(AS_OF + timedelta(hours=1))
    assert report.suppressed >= 1
    assert SafetyWarning.objects.count() == 1  # nor at the community or street above it
    # the place falls back below the line (the complaints were resolved)…
    safety.raise_warnings(CLOSED_LATER + timedelta(days=14))
    assert SafetyWarning.objects.get(pk=w.pk).cleared_at is not None
    # …so a new crossing is a new warning (replayed here with the earlier record)
    safety.raise_warnings(AS_OF + timedelta(hours=2))
    assert SafetyWarning.objects.filter(org=city.grids[0], level="grid").count() == 2
    # and the evaluation as of the first moment names the warning that stood then
    standing = next(s for s in safety.evaluate(AS_OF) if s.score.level == "grid" and s.org.pk == city.grids[0].pk)
    assert standing.warning is not None and standing.warning.pk == w.pk


@pytest.mark.django_db
def test_handling_is_refused_outside_the_roles_and_the_scope(city, record):
    safety.raise_warnings(AS_OF)
    w = SafetyWarning.objects.get(org=city.grids[0], level="grid")
    with pytest.raises(PermissionDenied):
        safety.handle(w.pk, city.users["handler_city"], "我来处置一下")
    with pytest.raises(NotFound):  # a supervisor of the other street does not learn of it
        safety.handle(w.pk, city.users["supervisor_street2"], "我来处置一下")
    with pytest.raises(Exception, match="至少"):
        safety.handle(w.pk, city.users["supervisor"], "好")
    safety.handle(w.pk, city.users["supervisor"], "已督促城管约谈施工方")
    with pytest.raises(Exception, match="已被处置"):
        safety.handle(w.pk, city.users["leader"], "再处置一次")


@pytest.mark.django_db
def test_merged_and_reported_demands(city, record):
    # a whistle-blowing report never counts (and is never shown to the area's leaders)
    report = make(city, city.grids[0], "施工噪音", START + timedelta(days=60), type="report")
    standing = next(s for s in safety.evaluate(AS_OF) if s.score.level == "grid" and s.org.pk == city.grids[0].pk)
    assert report.pk not in {d.pk for d, _ in standing.demands}
    # a merged demand follows the demand it joined: open while that is open
    master = record["build"][-1]
    child = make(city, city.grids[0], "施工噪音", START + timedelta(days=66), state=State.MERGED)
    child.merged_into = master
    child.save()
    standing = next(s for s in safety.evaluate(AS_OF) if s.score.level == "grid" and s.org.pk == city.grids[0].pk)
    assert child.pk in {d.pk for d, _ in standing.demands}


@pytest.mark.django_db
def test_cli_replays_the_warnings_as_of_a_moment(city, record):
    out = io.StringIO()
    call_command("insight", "warnings", "--as-of", "2026-10-10T18:00", "--json", stdout=out)
    data = json.loads(out.getvalue())
    grid = [w for w in data["warnings"] if w["level"] == "grid" and w["org_id"] == city.grids[0].pk]
    assert grid and len(grid[0]["demands"]) == 10 and grid[0]["warning"] is None
    out = io.StringIO()
    call_command("insight", "warnings", "--as-of", "2026-09-01T18:00", stdout=out)
    assert "0 条" in out.getvalue()
    out = io.StringIO()
    call_command("insight", "warnings", "--raise", "--as-of", "2026-10-10T18:00", "--json", stdout=out)
    assert json.loads(out.getvalue())["raised"] >= 1


# --- pages ----------------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_warning_pages_refuse_the_wrong_people(client, city):
    for url in ("/insight/warnings/", "/insight/relationship/"):
        assert client.get(url).status_code == 302
        client.force_login(city.users["nobody"])
        assert client.get(url).status_code == 403
        client.force_login(city.users["handler_city"])
        assert client.get(url).status_code == 403
        client.logout()
    client.force_login(city.users["handler_city"])
    assert client.post("/insight/warnings/1/handle/", {"note": "处置处置"}).status_code == 403


@pytest.mark.django_db
def test_warning_page_shows_scope_and_handles_with_htmx(client, city, record):
    safety.raise_warnings(AS_OF)
    w = SafetyWarning.objects.get(org=city.grids[0], level="grid")
    client.force_login(city.users["supervisor_street2"])
    page = client.get("/insight/warnings/").content.decode()
    assert f"warning-{w.pk}" not in page
    r = client.post(f"/insight/warnings/{w.pk}/handle/", {"note": "越权处置"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 404
    client.force_login(city.users["leader"])
    page = client.get("/insight/warnings/").content.decode()
    assert f"warning-{w.pk}" in page and record["build"][0].code in page and f"/work/d/{record['build'][0].pk}/" in page
    r = client.post(f"/insight/warnings/{w.pk}/handle/", {"note": "已召开协调会"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "已处置" in r.content.decode()
    assert SafetyWarning.objects.get(pk=w.pk).handled_by == city.users["leader"]
    r = client.post(f"/insight/warnings/{w.pk}/handle/", {"note": "再来一次"})
    assert r.status_code == 302
    assert "已处置" in client.get("/insight/warnings/?state=handled").content.decode()


@pytest.mark.postgres
@pytest.mark.skipif("not __import__('conftest').on_postgres()",
                    reason="two connections racing on the unique open-warning index needs PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_raisers_at_once_make_one_warning_and_one_message(city, record):
    import threading

    from django.db import connection

    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def raiser():
        try:
            barrier.wait(timeout=10)
            safety.raise_warnings(AS_OF)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=raiser) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert SafetyWarning.objects.filter(state="open").count() == 1
    assert Notification.objects.filter(recipient=city.users["leader"], kind="safety_warning").count() == 1
