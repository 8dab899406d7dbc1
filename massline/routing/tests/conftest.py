from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import at
from massline.core import clock
from massline.core.events import Actor
from massline.demands import services as demand_services
from massline.demands.intake import IntakeData
from massline.routing import adapter
from massline.routing import services as routing

from . import corpus

T0 = at(2026, 11, 2, 9, 30)  # a Monday, working hours
ACTOR = Actor.system("测试")


@dataclass
class Trained:
    dir: Path
    data: Path
    version: str


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Trained:
    """A small model trained once per session on the synthetic corpus (about two seconds)."""
    base = tmp_path_factory.mktemp("textclf")
    data = corpus.write(base / "train.jsonl")
    clf = adapter.train(adapter.records_from(data), seed=0,
                        source={"file": str(data), "file_sha256": adapter.sha256_of(data)})
    loaded = adapter.save(clf, base / "model")
    return Trained(base / "model", data, loaded.version)


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "var"
    adapter.invalidate()
    yield settings.DATA_DIR
    adapter.invalidate()


@pytest.fixture
def model(city, data_dir, trained):
    """The trained model, registered and active."""
    return routing.register(trained.dir, ACTOR, activate_it=True, data_path=str(trained.data))


def receive(city, title: str, content: str, *, category: str | None = None, grid: int = 0, user: str = "intake"):
    data = IntakeData(channel="hotline", type="complaint", title=title, content=content,
                      category_id=city.categories[category].pk if category else None,
                      place_id=city.grids[grid].pk, name="陈女士", phone="13800001234")
    with clock.frozen(T0):
        d, _ = demand_services.receive(data, city.users[user])
    return d
