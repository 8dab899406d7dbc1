"""Smart dispatch: suggestions, automatic dispatch above the category's threshold, corrections as examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from massline.core import clock
from massline.core.models import Event
from massline.demands import hooks
from massline.demands import services as demand_services
from massline.demands.models import Demand, State
from massline.routing import adapter
from massline.routing import services as routing
from massline.routing.models import CategoryThreshold, ClassifierModel, RoutingExample, Suggestion

from . import corpus
from .conftest import ACTOR, T0, receive

pytestmark = pytest.mark.django_db


def _dispatch_event(d: Demand) -> Event:
    return Event.objects.get(chain=d.chain, action="dispatch")


# --- no model ----------------------------------------------------------------------------------------------

def test_without_a_model_the_list_suggests_and_nothing_is_dispatched(city, data_dir,
                                                                    django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_WAGES, category="市政设施")
    d.refresh_from_db()
    assert d.state == State.RECEIVED and not d.auto_dispatched
    advice = routing.suggest(d)
    assert advice.model_version == "" and advice.choices == [] and advice.suggestion is None
    # the street's own entry for street lights in its area
    assert advice.list_route["lead"]["id"] == city.streets[0].pk
    assert not Suggestion.objects.exists()
    # an uncategorised demand: the district as backstop
    d2 = receive(city, *corpus.VAGUE)
    assert routing.suggest(d2).list_route == {
        "lead": {"id": city.district.pk, "code": city.district.code, "name": city.district.name},
        "co": [], "entry": None, "backstop": True}
    assert routing.auto_dispatch_if_confident(d2) == "no_model"


def test_a_model_that_cannot_be_read_counts_as_no_model(city, model, trained):
    Path(model.path, "arrays.npz").write_bytes(b"not a model")

    adapter.invalidate()
    d = receive(city, *corpus.CLEAR_WAGES)
    assert routing.suggest(d).model_version == ""
    assert routing.auto_dispatch_if_confident(d) == "no_model"


# --- with a model ------------------------------------------------------------------------------------------

def test_a_confident_demand_is_dispatched_automatically(city, model, django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_NOISE, category="施工噪音")
    d.refresh_from_db()
    assert d.state == State.DISPATCHED
    assert d.auto_dispatched and d.model_version == model.version
    assert d.lead_unit == city.units["env"]  # the list's entry for construction noise
    assert set(d.units.filter(active=True, role="co").values_list("unit_id", flat=True)) == {city.units["city"].pk}
    ev = _dispatch_event(d)
    assert ev.actor_role == "system" and ev.data["auto"] is True and ev.data["model_version"] == model.version
    assert ev.data["entry"] is not None  # the list decided, and its entry is on the record
    assert "自动派单" in ev.reason
    s = Suggestion.objects.get(demand=d)
    assert (s.decided, s.label, s.model_version) == ("auto", "环境保护", model.version)
    assert s.score >= s.threshold == 0.9
    assert len(s.top) == 3 and s.top[0]["route"]["lead"]["code"] == city.units["env"].code


def test_an_uncategorised_confident_demand_goes_where_its_class_leads(city, model, django_capture_on_commit_callbacks):
    from massline.directory import services as directory

    # the list has no entry for 劳动和社会保障 as a whole (only for 拖欠工资 below it): only the district as
    # backstop, which is no reason to skip the dispatcher
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        first = receive(city, *corpus.CLEAR_WAGES)
    first.refresh_from_db()
    assert first.state == State.RECEIVED
    s = Suggestion.objects.get(demand=first)
    assert (s.label, s.reason) == ("劳动和社会保障", routing.BACKSTOP) and s.top[0]["route"]["backstop"] is True
    # with an entry for the whole class, the model's class leads to its unit (and co-handling units)
    labour = city.categories["拖欠工资"].parent.parent
    directory.set_responsibility(labour, None, city.units["labour"], [city.units["health"]], ACTOR, item="劳动保障")
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_WAGES)
    d.refresh_from_db()
    assert d.state == State.DISPATCHED and d.auto_dispatched and d.category_id is None
    assert d.lead_unit == city.units["labour"]
    assert list(d.units.filter(active=True, role="co").values_list("unit_id", flat=True)) == [city.units["health"].pk]
    ev = _dispatch_event(d)
    assert ev.data["model_version"] == model.version and ev.data["lead"] == city.units["labour"].code
    assert ev.data["co"] == [city.units["health"].code]


def test_an_unconfident_demand_waits_with_the_top_three(city, model, django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.VAGUE)
    d.refresh_from_db()
    assert d.state == State.RECEIVED and not d.auto_dispatched and d.lead_unit_id is None
    s = Suggestion.objects.get(demand=d)
    assert s.decided == "" and s.reason == routing.BELOW_THRESHOLD and s.score < 0.9
    scores = [c["score"] for c in s.top]
    assert scores == sorted(scores, reverse=True) and s.top[0]["label"] == s.label
    assert len(s.top) == 3 and len({c["label"] for c in s.top}) == 3 and all(c["route"] is not None for c in s.top)
    assert sum(c["score"] for c in s.top) <= 1.0 + 1e-9
    assert not Event.objects.filter(chain=d.chain, action="dispatch").exists()


def test_a_model_category_that_disagrees_with_the_registered_one_waits(city, model,
                                                                      django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_WAGES, category="市政设施")  # the operator chose street lights
    d.refresh_from_db()
    assert d.state == State.RECEIVED
    assert Suggestion.objects.get(demand=d).reason == routing.CATEGORY_DISAGREES


def test_the_threshold_is_per_category(city, model, settings, django_capture_on_commit_callbacks):
    noise_score = routing.suggest(receive(city, *corpus.CLEAR_NOISE), store=False).choices[0]["score"]
    env = city.categories["施工噪音"].parent.parent
    assert env.name == "环境保护"
    # just above this message's score for its category: it waits …
    CategoryThreshold.objects.create(category=env, threshold=min(1.0, noise_score + 1e-9))
    # … while another category with a threshold below its score is dispatched; the default is not used
    labour = city.categories["拖欠工资"].parent.parent
    CategoryThreshold.objects.create(category=labour, threshold=0.5)
    settings.MASSLINE = {**settings.MASSLINE, "AUTODISPATCH_THRESHOLD": 1.0}
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        noisy = receive(city, *corpus.CLEAR_NOISE, category="施工噪音")
        wages = receive(city, *corpus.CLEAR_WAGES, category="拖欠工资")
        water = receive(city, *corpus.CLEAR_WATER, category="停水停电")
    assert Demand.objects.get(pk=noisy.pk).state == State.RECEIVED
    assert Suggestion.objects.get(demand=noisy).reason in (routing.BELOW_THRESHOLD, routing.DISABLED)
    assert Demand.objects.get(pk=wages.pk).state == State.DISPATCHED
    assert Suggestion.objects.get(demand=wages).threshold == 0.5
    # no row for 城乡建设: the default (1 here) applies, which turns automatic dispatch off
    assert Demand.objects.get(pk=water.pk).state == State.RECEIVED
    assert Suggestion.objects.get(demand=water).reason == routing.DISABLED


def test_reports_are_never_routed_by_the_model(city, model, django_capture_on_commit_callbacks):
    from massline.demands.intake import IntakeData

    data = IntakeData(channel="hotline", type="report", title="举报工地老板拖欠工资", content=corpus.CLEAR_WAGES[1],
                      place_id=city.grids[0].pk, reported_unit_id=city.units["labour"].pk, name="匿名者",
                      phone="13800009999")
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d, _ = demand_services.receive(data, city.users["intake"])
    d.refresh_from_db()
    assert d.state == State.RECEIVED and not Suggestion.objects.exists()
    assert routing.suggest(d).list_route is None and routing.auto_dispatch_if_confident(d) == "report"


def test_a_manual_dispatch_stores_the_active_model_version(city, model, django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.VAGUE, category="物业管理")
        d = demand_services.dispatch(d.pk, city.users["dispatcher"])
    assert d.model_version == model.version and not d.auto_dispatched
    assert _dispatch_event(d).data["model_version"] == model.version


# --- corrections -------------------------------------------------------------------------------------------

def test_a_dispatcher_correction_becomes_a_labelled_example(city, model, django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.VAGUE, category="拖欠工资")
    s = Suggestion.objects.get(demand=d)
    assert s.decided == ""
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = demand_services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units["labour"].pk)
    s.refresh_from_db()
    assert s.decided == "dispatcher" and s.chosen_label == "劳动和社会保障" and s.chosen_unit == city.units["labour"].code
    examples = list(RoutingExample.objects.filter(demand=d))
    if s.label == "劳动和社会保障" and s.top[0]["route"]["lead"]["id"] == city.units["labour"].pk:
        assert examples == []  # the dispatcher followed the suggestion: nothing to learn
    else:
        [ex] = examples
        assert (ex.label, ex.predicted_label, ex.source, ex.model_version) == (
            "劳动和社会保障", s.label, "dispatcher_correction", model.version)
        assert (ex.title, ex.content) == corpus.VAGUE and ex.created_by == city.users["dispatcher"]
        ev = Event.objects.get(chain=f"routing_example:{ex.pk}")
        assert ev.data["label"] == "劳动和社会保障" and ev.actor_id == city.users["dispatcher"].pk


def test_a_different_unit_for_the_same_category_is_a_correction_too(city, model, django_capture_on_commit_callbacks):
    # automatic dispatch off for 城乡建设, so the suggestion waits for the dispatcher
    CategoryThreshold.objects.create(category=city.categories["市政设施"].parent.parent, threshold=1.0)
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_WATER, category="市政设施", grid=4)
    s = Suggestion.objects.get(demand=d)
    assert (s.label, s.reason) == ("城乡建设", routing.DISABLED)
    assert s.top[0]["route"]["lead"]["id"] == city.units["city"].pk  # street lights in street 2: 城管委
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        demand_services.dispatch(d.pk, city.users["dispatcher"], lead_unit_id=city.units["water"].pk)
    [ex] = RoutingExample.objects.filter(demand=d)
    assert (ex.label, ex.predicted_label, ex.unit, ex.source) == (
        "城乡建设", "城乡建设", city.units["water"].code, "dispatcher_correction")


def test_following_the_suggestion_records_no_example(city, model, django_capture_on_commit_callbacks):
    CategoryThreshold.objects.create(category=city.categories["施工噪音"].parent.parent, threshold=1.0)
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_NOISE, category="施工噪音")
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        demand_services.dispatch(d.pk, city.users["dispatcher"])  # the list's unit, which the suggestion named
    s = Suggestion.objects.get(demand=d)
    assert s.decided == "dispatcher" and s.chosen_label == s.label == "环境保护"
    assert not RoutingExample.objects.exists()


def test_an_upheld_return_becomes_a_labelled_example(city, model, django_capture_on_commit_callbacks):
    u = city.users
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        # the operator filed a wage claim under street lights; the model disagrees, so it waits
        d = receive(city, *corpus.CLEAR_WAGES, category="市政设施", grid=4)
    assert Suggestion.objects.get(demand=d).reason == routing.CATEGORY_DISAGREES
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = demand_services.dispatch(d.pk, u["dispatcher"])  # the list: 城管委
    assert d.lead_unit == city.units["city"]
    # the dispatcher kept the registered category against the model: that is a correction (a wrong one, here)
    first = RoutingExample.objects.get(demand=d)
    assert (first.label, first.predicted_label, first.source) == ("城乡建设", "劳动和社会保障", "dispatcher_correction")
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        demand_services.request_return(d.pk, u["handler_city"], reason="拖欠工资不属于市政设施",
                                       cited_item="市政设施维护", suggested_unit_id=city.units["labour"].pk)
        d = demand_services.uphold_return(d.pk, u["dispatcher"], note="改派人社局")
    assert d.lead_unit == city.units["labour"]
    ex = RoutingExample.objects.get(demand=d, source="upheld_return")
    # the category of the unit it went to, not the one it was filed under
    assert (ex.label, ex.predicted_label, ex.model_version) == ("劳动和社会保障", "劳动和社会保障", model.version)
    assert Event.objects.filter(chain=f"routing_example:{ex.pk}", action="routing_example").count() == 1
    # for the next model the later example wins
    assert [(e.demand_id, e.label) for e in routing.latest_examples()] == [(d.pk, "劳动和社会保障")]


def test_an_upheld_return_without_a_model_is_an_example_too(city, data_dir, django_capture_on_commit_callbacks):
    u = city.users
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        d = receive(city, *corpus.CLEAR_WATER, category="市政设施", grid=4)
        demand_services.dispatch(d.pk, u["dispatcher"])
        demand_services.request_return(d.pk, u["handler_city"], reason="停水应由自来水公司处理",
                                       cited_item="市政设施维护", suggested_unit_id=city.units["water"].pk)
        demand_services.uphold_return(d.pk, u["dispatcher"])
    ex = RoutingExample.objects.get(demand=d)
    assert (ex.label, ex.predicted_label, ex.model_version, ex.source) == ("城乡建设", "", "", "upheld_return")


def test_a_failing_hook_never_undoes_the_change(city, data_dir, django_capture_on_commit_callbacks):
    def broken(demand, user):
        raise RuntimeError("boom")

    hooks.register("dispatched", broken)
    try:
        with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
            d = receive(city, *corpus.CLEAR_WATER, category="停水停电")
            d = demand_services.dispatch(d.pk, city.users["dispatcher"])
    finally:
        hooks.unregister("dispatched", broken)
    assert Demand.objects.get(pk=d.pk).state == State.DISPATCHED


# --- models: register and activate -------------------------------------------------------------------------

def test_one_active_model_and_every_switch_on_the_record(city, model, trained, tmp_path):
    assert model.active and ClassifierModel.objects.filter(active=True).count() == 1
    assert model.path.startswith(str(tmp_path)) and model.data_sha256
    assert Event.objects.filter(chain=model.chain, action__in=("model_registered", "model_activated")).count() == 2
    # a second model (another seed) takes over; the first is switched off
    clf = adapter.train(corpus.records(12), seed=3)
    other = adapter.save(clf, tmp_path / "other")
    row = routing.register(tmp_path / "other", ACTOR)
    assert not row.active
    routing.activate(other.version, ACTOR)
    assert list(ClassifierModel.objects.filter(active=True).values_list("version", flat=True)) == [other.version]
    assert Event.objects.filter(chain=model.chain, action="model_deactivated").exists()
    with pytest.raises(Exception) as err:
        routing.register(tmp_path / "other", ACTOR)
    assert getattr(err.value, "code", "") == "model_exists"


def test_a_bad_threshold_setting_stops_the_start():
    import os
    import subprocess
    import sys

    env = {**os.environ, "MASSLINE_AUTODISPATCH_THRESHOLD": "1.5", "DJANGO_SETTINGS_MODULE": "massline.settings"}
    run = subprocess.run([sys.executable, "-c", "import massline.settings"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0 and "MASSLINE_AUTODISPATCH_THRESHOLD" in run.stderr
