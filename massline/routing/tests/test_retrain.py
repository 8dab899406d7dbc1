"""Retraining on the original data plus the recorded corrections: compared with the active model on examples
neither has seen, activated only if not worse, the comparison kept on the record."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from massline.core.errors import DomainError
from massline.core.models import Event
from massline.routing import adapter
from massline.routing import services as routing
from massline.routing.models import ClassifierModel, RoutingExample

from . import corpus
from .conftest import ACTOR, receive

pytestmark = pytest.mark.django_db

# new ways of saying things, with the category a dispatcher gave them
NEW_PHRASES = {
    "交通运输": ("{p}共享单车堆满人行道", "{p}共享单车越堆越多，盲道被占，电动车也在这里充电，请清理单车。"),
    "劳动和社会保障": ("{p}养老金发放延迟", "{p}退休老人养老金本月还没到账，养老保险待遇发放延迟，请核查。"),
}
# clear messages the active model already gets right
KNOWN = [corpus.CLEAR_WAGES, corpus.CLEAR_NOISE, corpus.CLEAR_WATER]
KNOWN_LABELS = ["劳动和社会保障", "环境保护", "城乡建设"]


def _examples(city, pairs: list[tuple[tuple[str, str], str]]) -> list[RoutingExample]:
    out = []
    for (title, content), label in pairs:
        d = receive(city, title, content)
        out.append(routing.record_correction(d, label, RoutingExample.Source.DISPATCHER_CORRECTION, None,
                                             city.users["dispatcher"]))
    return out


def _new_phrases(n: int) -> list[tuple[tuple[str, str], str]]:
    out = []
    for label, (title, content) in NEW_PHRASES.items():
        for i in range(n):
            place = corpus.PLACES[i % len(corpus.PLACES)] + f"{i + 1}号"
            out.append(((title.format(p=place), content.format(p=place)), label))
    return out


def _known(n: int) -> list[tuple[tuple[str, str], str]]:
    out = []
    for i in range(n):
        for (title, content), label in zip(KNOWN, KNOWN_LABELS, strict=True):
            place = corpus.PLACES[i % len(corpus.PLACES)]
            out.append(((place + title, place + content), label))
    return out


def test_retrain_learns_the_corrections_and_keeps_the_comparison(city, model):
    _examples(city, _new_phrases(10))  # 20 examples the active model never saw
    result = routing.retrain(ACTOR, holdout=0.25, seed=0, min_holdout=4)
    c = result.comparison
    # held out: only records the active model never saw (its own training file is excluded)
    assert c["data"]["seen_by_current"] is True
    assert c["held_out"]["from_data"] == 0 and c["held_out"]["from_examples"] == c["held_out"]["n"] == 6
    assert c["current_version"] == model.version and c["current"]["n"] == c["new"]["n"] == 6
    assert c["new"]["macro_f1"] >= c["current"]["macro_f1"]
    assert result.activated and c["decision"] == "activated"
    row = ClassifierModel.objects.get(active=True)
    assert row.version == result.model.version != model.version
    assert row.metrics["comparison"] == json.loads(json.dumps(c))
    assert len(row.examples) == 14 and row.data_sha256 == model.data_sha256
    assert row.n_train == len(corpus.records()) + 14
    trained = Event.objects.get(chain=row.chain, action="model_trained")
    assert trained.data["new"]["macro_f1"] == c["new"]["macro_f1"]
    assert trained.data["current"]["macro_f1"] == c["current"]["macro_f1"]
    assert Event.objects.filter(chain=row.chain, action="model_activated").exists()
    assert Event.objects.filter(chain=model.chain, action="model_deactivated").exists()
    # the examples it was trained on are now "seen": only new ones can judge the next model
    with pytest.raises(DomainError) as err:
        routing.retrain(ACTOR, holdout=0.25, seed=0, min_holdout=4)
    assert err.value.code == "too_few_to_compare"


def test_a_worse_model_is_not_activated(city, model, monkeypatch):
    _examples(city, _known(6))  # 18 clear examples the active model classifies correctly

    labels = sorted(corpus.TOPICS)
    real_train = adapter.train

    def mislabelled(records, **kw):  # a training set whose labels are all shifted by one: a worse model
        shifted = [{**r, "label": labels[(labels.index(r["label"]) + 1) % len(labels)]} for r in records]
        return real_train(shifted, **kw)

    monkeypatch.setattr(adapter, "train", mislabelled)
    result = routing.retrain(ACTOR, holdout=0.3, seed=1, min_holdout=4)
    c = result.comparison
    assert not result.activated and c["decision"] == "kept_current"
    assert c["new"]["macro_f1"] < c["current"]["macro_f1"]
    assert c["current"]["accuracy"] == 1.0
    assert ClassifierModel.objects.get(active=True).version == model.version
    assert not result.model.active and result.model.metrics["comparison"]["decision"] == "kept_current"
    assert Event.objects.filter(chain=result.model.chain, action="model_not_activated").exists()
    assert not Event.objects.filter(chain=result.model.chain, action="model_activated").exists()


def test_retrain_through_the_command(city, model):
    _examples(city, _new_phrases(8))
    out = StringIO()
    call_command("classifier", "retrain", "--holdout", "0.25", "--seed", "2", "--min-holdout", "4", "--json",
                 stdout=out)
    answer = json.loads(out.getvalue())
    assert answer["activated"] == (answer["comparison"]["new"]["macro_f1"]
                                   >= answer["comparison"]["current"]["macro_f1"])
    assert ClassifierModel.objects.filter(version=answer["version"]).exists()
    # nothing new since: refused, with the reason
    with pytest.raises(CommandError) as err:
        call_command("classifier", "retrain", "--min-holdout", "4")
    assert "too_few_to_compare" in str(err.value)


def test_retrain_needs_data(city, data_dir):
    with pytest.raises(DomainError) as err:
        routing.retrain(ACTOR)
    assert err.value.code == "no_training_data"
    with pytest.raises(DomainError) as err:
        routing.retrain(ACTOR, data=str(data_dir / "missing.jsonl"))
    assert err.value.code == "no_training_data"


def test_retrain_with_no_active_model_activates_on_a_data_file(city, data_dir, tmp_path):
    data = corpus.write(tmp_path / "d.jsonl")
    result = routing.retrain(ACTOR, data=str(data), holdout=0.2, min_holdout=4)
    assert result.activated and result.comparison["current"] is None
    assert result.comparison["held_out"]["from_data"] == result.comparison["held_out"]["n"] == 16
    assert ClassifierModel.objects.get(active=True).data_path == str(data.resolve())


def test_stratified_holdout_is_per_label_and_deterministic():
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 1
    held = routing.stratified_holdout(labels, 0.2, seed=0)
    assert held == routing.stratified_holdout(labels, 0.2, seed=0)
    assert sorted(labels[i] for i in held) == ["a", "a", "b"]  # 20% of 10, 1 of 5, none of a single one
    assert held != routing.stratified_holdout(labels, 0.2, seed=1)


def test_scores_use_the_labels_of_the_held_out_part():
    s = routing.scores(["a", "a", "b", "b"], ["a", "b", "b", "x"])
    assert s["accuracy"] == 0.5
    # F1(a) = 2·1/(2·1+0+1) = 2/3; F1(b) = 2·1/(2·1+1+1) = 1/2; "x" (a label the held-out part lacks) not averaged
    assert s["macro_f1"] == round((2 / 3 + 1 / 2) / 2, 6)
