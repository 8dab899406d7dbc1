from __future__ import annotations

import json
from pathlib import Path

import pytest

from textclf import Classifier, train
from textclf.tests.corpus import records


@pytest.fixture(autouse=True)
def _tmp_attachments():
    """Shadows the repository's autouse fixture of the same name, which needs pytest-django's
    ``settings``: textclf never touches Django, and its tests must also run with ``-p no:django``."""
    yield


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """Shadows the repository's autouse fixture of the same name, which imports Django models."""
    yield


@pytest.fixture(scope="session")
def corpus() -> list[dict]:
    return records()


@pytest.fixture(scope="session")
def trained(corpus) -> Classifier:
    return train(corpus, seed=0)


@pytest.fixture(scope="session")
def model_dir(trained, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("model")
    trained.save(d)
    return d


@pytest.fixture(scope="session")
def data_file(corpus, tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("data") / "fixture.jsonl"
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus), encoding="utf-8")
    return p
