"""``massline classifier …``: the textclf sub-commands through the platform's command, register/activate,
export of the platform's history and the bootstrap ``make run`` uses; the suggestions endpoint."""

from __future__ import annotations

import json
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from massline.core import auth, clock
from massline.routing.models import ClassifierModel, Suggestion

from . import corpus
from .conftest import T0, receive


def test_train_evaluate_and_predict_through_massline_classifier(tmp_path, monkeypatch):
    data = corpus.write(tmp_path / "train.jsonl")
    out = StringIO()
    call_command("classifier", "train", "--data", str(data), "--out", str(tmp_path / "m"), stdout=out)
    trained = json.loads(out.getvalue())
    assert trained["n"] == 80 and sorted(trained["labels"]) == sorted(corpus.TOPICS)

    out = StringIO()
    call_command("classifier", "evaluate", "--model", str(tmp_path / "m"), "--data", str(data), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert {"n", "accuracy", "macro_f1", "per_class", "per_class_detail", "confusion", "ece", "thresholds",
            "model_version", "latency_ms_p50", "latency_ms_p99", "throughput_per_s"} <= set(result)
    assert result["n"] == 80 and result["model_version"] == trained["version"]
    assert 0.9 <= result["accuracy"] <= 1.0 and {t["threshold"] for t in result["thresholds"]} >= {0.9}

    monkeypatch.setattr(sys, "stdin", StringIO(json.dumps({"id": 7, "title": corpus.CLEAR_WAGES[0],
                                                           "detail": corpus.CLEAR_WAGES[1]}, ensure_ascii=False)
                                               + "\n" + corpus.CLEAR_NOISE[0] + "\n"))
    out = StringIO()
    call_command("classifier", "predict", "--model", str(tmp_path / "m"), stdout=out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [(x.get("id"), x["label"]) for x in lines] == [(7, "劳动和社会保障"), (None, "环境保护")]
    assert all(len(x["top"]) == 3 for x in lines)


def test_a_missing_model_is_exit_status_1(tmp_path):
    corpus.write(tmp_path / "d.jsonl")
    with pytest.raises(CommandError) as err:
        call_command("classifier", "evaluate", "--model", str(tmp_path / "nothing"), "--data", str(tmp_path / "d.jsonl"),
                     stdout=StringIO())
    assert err.value.returncode == 1


@pytest.mark.django_db
def test_register_and_activate_through_the_command(city, data_dir, trained):
    out = StringIO()
    call_command("classifier", "register", "--model", str(trained.dir), stdout=out)
    row = ClassifierModel.objects.get(version=trained.version)
    assert not row.active and row.data_sha256 and row.path == str(data_dir / "models" / trained.version)
    call_command("classifier", "activate", trained.version, stdout=out)
    assert ClassifierModel.objects.get(active=True).version == trained.version
    with pytest.raises(CommandError) as err:
        call_command("classifier", "activate", "no-such-version", stdout=out)
    assert "no_such_model" in str(err.value)


@pytest.mark.django_db
def test_export_and_bootstrap_on_the_platform_history(data_dir, tmp_path):
    from massline.core import calendar
    from massline.demands import demo

    calendar.invalidate()
    with clock.frozen(T0):
        demo.make(seed=3, weeks=3)
    out = StringIO()
    call_command("classifier", "export-training", "--out", str(tmp_path / "h.jsonl"), stdout=out)
    rows = [json.loads(x) for x in (tmp_path / "h.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows and all(set(r) == {"id", "title", "detail", "label"} for r in rows)
    assert {r["label"] for r in rows} <= {"城乡建设", "环境保护", "劳动和社会保障", "交通运输", "卫生计生"}
    assert f"已导出 {len(rows)} 条" in out.getvalue()

    # too few demands: skipped, nothing trained
    call_command("classifier", "bootstrap", "--min", "100000", stdout=out)
    assert not ClassifierModel.objects.exists() and "太少" in out.getvalue()
    call_command("classifier", "bootstrap", "--min", "20", stdout=out)
    row = ClassifierModel.objects.get(active=True)
    assert row.n_train == len(rows) and row.data_path.startswith(str(data_dir))
    # once a model is active, bootstrap leaves it alone
    out = StringIO()
    call_command("classifier", "bootstrap", "--min", "20", stdout=out)
    assert "跳过" in out.getvalue() and ClassifierModel.objects.count() == 1


@pytest.mark.django_db
def test_the_suggestions_endpoint(city, model):
    u = city.users
    with clock.frozen(T0):
        d = receive(city, *corpus.VAGUE, category="物业管理")
    client = Client()

    def get(user):
        headers = {"Authorization": f"Bearer {auth.issue(user, 'test')}"} if user else {}
        return client.get(f"/api/v1/demands/{d.pk}/suggestions", headers=headers)

    r = get(u["dispatcher"])
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["model_version"] == model.version and len(body["suggestions"]) == 3
    assert body["list_route"]["lead"]["id"] == city.units["housing"].pk
    assert body["decided"] == "" and body["threshold"] is not None
    assert all(set(c) == {"label", "score", "route"} for c in body["suggestions"])
    # the read stored the suggestion (the dispatcher's later choice is compared with it)
    assert Suggestion.objects.filter(demand=d, model_version=model.version).count() == 1
    assert get(u["dispatcher"]).json() == body
    # staff who cannot see the demand, and callers without a token
    assert get(u["handler_water"]).status_code == 404
    assert get(None).status_code == 401


@pytest.mark.django_db
def test_suggestions_for_a_dispatched_demand_are_shown_but_not_kept(city, model):
    from massline.demands import services as demand_services
    from massline.routing import services as routing

    with clock.frozen(T0):
        d = receive(city, *corpus.VAGUE, category="物业管理")
        d = demand_services.dispatch(d.pk, city.users["dispatcher"])
    advice = routing.suggest(d)
    assert advice.model_version == model.version and len(advice.choices) == 3
    assert advice.suggestion.pk is None and not Suggestion.objects.exists()
