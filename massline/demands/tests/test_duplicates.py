"""Duplicate proposals (same matter, same place, open, recent) and repeat callers. Reads only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import at
from massline.core import clock
from massline.demands import duplicates, services
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, State

pytestmark = pytest.mark.django_db

NOISE = ("和平路工地夜间施工噪音扰民", "和平路口的建筑工地每天晚上十一点以后还在施工，机器轰鸣，噪音很大，附近居民无法休息，请尽快处理。")
NOISE_AGAIN = ("投诉和平路工地晚上施工噪音扰民", "和平路口建筑工地晚上十一点以后还在施工，机器轰鸣噪音太大，居民都无法休息，请相关部门处理。")
POTHOLE = ("光明路路面坑洼", "光明路中段路面坑坑洼洼，下雨天积水严重，电动车经过容易摔倒，希望尽快修补。")
T0 = at(2026, 11, 2, 9, 30)


def _receive(city, text, *, when=T0, place=0, category="施工噪音", type="complaint", phone="13800001234",
             lat=None, lon=None, **kw) -> Demand:
    title, content = text
    data = dict(channel="hotline", type=type, title=title, content=content,
                category_id=city.categories[category].pk if category else None,
                place_id=city.grids[place].pk if place is not None else None, name="陈女士", phone=phone,
                latitude=lat, longitude=lon)
    data.update(kw)
    with clock.frozen(when):
        d, _ = services.receive(IntakeData(**data), city.users["intake"])
    return d


def _ids(cands) -> list[int]:
    return [c.demand_id for c in cands]


def test_the_same_matter_at_the_same_grid_is_proposed(city):
    first = _receive(city, NOISE)
    new = _receive(city, NOISE_AGAIN, when=T0 + timedelta(days=3))
    cands = duplicates.propose(new)
    assert _ids(cands) == [first.pk]
    c = cands[0]
    assert c.code == first.code and c.score >= 0.3
    assert "同一区域" in c.reasons and "同一大类" in c.reasons and any(r.startswith("内容相似度") for r in c.reasons)
    # symmetric: the older one proposes the newer one too
    assert _ids(duplicates.propose(first)) == [new.pk]


def test_proposing_changes_nothing(city):
    first = _receive(city, NOISE)
    new = _receive(city, NOISE_AGAIN, when=T0 + timedelta(days=1))
    before = list(Demand.objects.order_by("pk").values_list("pk", "state", "version", "merged_into"))
    assert duplicates.propose(new)
    assert list(Demand.objects.order_by("pk").values_list("pk", "state", "version", "merged_into")) == before
    assert first.state == State.RECEIVED


def test_another_matter_at_the_same_place_is_not_proposed(city):
    _receive(city, POTHOLE, category="市政设施")
    new = _receive(city, NOISE, category=None)
    assert duplicates.propose(new) == []


def test_the_same_text_at_another_grid_without_coordinates_is_not_proposed(city):
    _receive(city, NOISE, place=0)
    new = _receive(city, NOISE_AGAIN, place=1)
    assert duplicates.propose(new) == []


def test_coordinates_within_200_metres_count_as_the_same_place(city):
    near = _receive(city, NOISE, place=1, lat=28.200000, lon=112.980000)
    _receive(city, NOISE, place=2, lat=28.205000, lon=112.980000)  # about 560 m north
    new = _receive(city, NOISE_AGAIN, place=3, lat=28.201000, lon=112.980500, when=T0 + timedelta(days=1))
    cands = duplicates.propose(new)
    assert _ids(cands) == [near.pk]
    assert any(r.startswith("相距约") for r in cands[0].reasons)
    assert duplicates.distance_m(28.2, 112.98, 28.201, 112.9805) == pytest.approx(121, abs=5)


def test_outside_the_window_is_not_proposed_unless_the_window_is_wider(city):
    old = _receive(city, NOISE, when=T0 - timedelta(days=40))
    new = _receive(city, NOISE_AGAIN)
    assert duplicates.propose(new) == []
    assert _ids(duplicates.propose(new, window_days=60)) == [old.pk]


def test_closed_withdrawn_rejected_and_merged_demands_are_not_proposed(city):
    withdrawn = _receive(city, NOISE)
    rejected = _receive(city, NOISE)
    merged = _receive(city, NOISE)
    master = _receive(city, NOISE)
    with clock.frozen(T0 + timedelta(hours=1)):
        services.withdraw(withdrawn.pk, city.users["intake"], reason="来电人已自行解决")
        services.reject(rejected.pk, city.users["intake"], reason="重复反映同一事项")
        services.merge(merged.pk, city.users["dispatcher"], into_id=master.pk, note="同一工地")
    new = _receive(city, NOISE_AGAIN, when=T0 + timedelta(days=1))
    assert _ids(duplicates.propose(new)) == [master.pk]


def test_another_first_level_category_is_not_proposed(city):
    _receive(city, NOISE, category="施工噪音")  # 环境保护
    other_root = _receive(city, NOISE_AGAIN, category="市政设施")  # 城乡建设
    assert duplicates.propose(other_root) == []
    same_root = _receive(city, NOISE_AGAIN, category="园林绿化环卫")  # 城乡建设 too
    assert _ids(duplicates.propose(same_root)) == [other_root.pk]
    no_category = _receive(city, NOISE_AGAIN, category=None)  # unknown: not a reason to exclude
    assert len(duplicates.propose(no_category)) == 3


def test_reports_are_compared_only_with_reports(city):
    complaint = _receive(city, NOISE)
    report = _receive(city, NOISE, type="report", category=None)
    report_again = _receive(city, NOISE_AGAIN, type="report", category=None, when=T0 + timedelta(days=1))
    assert _ids(duplicates.propose(report_again)) == [report.pk]
    new_complaint = _receive(city, NOISE_AGAIN, when=T0 + timedelta(days=1))
    assert _ids(duplicates.propose(new_complaint)) == [complaint.pk]


def test_with_a_user_only_what_they_may_see_is_proposed(city):
    first = _receive(city, NOISE, place=0)  # first street
    new = _receive(city, NOISE_AGAIN, place=0, when=T0 + timedelta(days=1))
    assert _ids(duplicates.propose(new, user=city.users["dispatcher"])) == [first.pk]
    assert duplicates.propose(new, user=city.users["supervisor_street2"]) == []


def test_a_repeat_caller_is_recognised_by_phone(city):
    a = _receive(city, NOISE, phone="13900007777")
    b = _receive(city, POTHOLE, category="市政设施", phone="13900007777", when=T0 + timedelta(days=2))
    _receive(city, POTHOLE, category="市政设施", phone="13900008888")
    with clock.frozen(T0 + timedelta(days=3)):
        services.withdraw(a.pk, city.users["intake"], reason="已解决")
    earlier = duplicates.repeat_caller("13900007777", city.users["intake"])
    assert [e.demand_id for e in earlier] == [b.pk, a.pk]  # newest first
    assert [e.open for e in earlier] == [True, False]
    assert duplicates.repeat_caller("13900007777", city.users["nobody"]) == []
    assert duplicates.repeat_caller("  ", city.users["intake"]) == []
