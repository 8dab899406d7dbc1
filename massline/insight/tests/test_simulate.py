"""The scoring core and the simulator (no database): the score separates a build-up from busy ordinary places,
and the simulator's figures are reproducible and meet a floor."""

from __future__ import annotations

from massline.insight import safety_core as core
from massline.insight import simulate

P = core.DEFAULT


def _place(org: int) -> tuple[tuple[str, int], ...]:
    return (("grid", org), ("community", 1000 + org // 10), ("street", 100))


def test_weights_grow_with_age_and_signals_and_decay_after_closing():
    plain = core.Item(1, _place(1), 1, created=0.0)
    assert core.weight(plain, 0.0, P) < core.weight(plain, 5.0, P) < core.weight(plain, 15.0, P)
    assert core.weight(plain, 1000.0, P) == P.age_cap  # capped
    risky = core.Item(2, _place(1), 1, created=0.0, dissatisfied=(3.0,), group=True, risk_at=4.0)
    assert core.weight(risky, 2.0, P) == core.weight(plain, 2.0, P) * P.m_group  # signals count once known
    assert core.weight(risky, 5.0, P) > core.weight(plain, 5.0, P) * P.m_group * P.m_risk
    good = core.Item(3, _place(1), 1, created=0.0, closed=10.0)
    bad = core.Item(4, _place(1), 1, created=0.0, closed=10.0, settled_well=False)
    assert core.weight(good, 10.0, P) == core.weight(bad, 10.0, P)
    assert core.weight(good, 20.0, P) < core.weight(bad, 20.0, P)
    assert core.weight(good, 60.0, P) == 0.0
    callers = [core.Item(5, _place(1), 1, 0.0, caller="138"), core.Item(6, _place(1), 1, 30.0, caller="138"),
               core.Item(7, _place(1), 1, 200.0, caller="138")]
    assert core.repeat_ids(callers, P) == {6}


def test_the_volume_window_lags_and_fits_a_young_record():
    assert core.volume_window(200.0, P) == (200.0 - P.horizon - P.lag, 200.0 - P.lag)
    assert core.volume_window(200.0, P, since=150.0) == (150.0, 200.0 - P.lag)  # cut to the record
    assert core.volume_window(160.0, P, since=150.0) == (150.0, 160.0)  # too young for the lag: ends now


def test_busy_place_is_ordinary_and_a_quiet_build_up_is_not():
    items = []
    n = 0
    for day in range(120):
        for org in range(1, 21):  # twenty grids, grid 1 ten times busier, all resolved in two days
            for _ in range(10 if org == 1 else 1 if day % 3 == 0 else 0):
                n += 1
                items.append(core.Item(n, _place(org), 1, created=day + 0.1, closed=day + 2.1))
    for day in (90, 95, 99, 103, 106, 109, 111, 113, 115, 117):  # grid 7: unresolved for up to four weeks
        n += 1
        items.append(core.Item(n, _place(7), 1, created=day + 0.2))
    scores = {s.key: s for s in core.evaluate(items, 119.5, P)}
    busy, quiet = scores["grid", 1, 1], scores["grid", 7, 1]
    assert busy.weight > quiet.weight / 2  # the busy grid carries a comparable raw accumulation…
    assert busy.score < 2.0  # …which its volume explains
    assert quiet.score >= quiet.line > busy.score
    crossed = {s.key for s in core.crossings(scores.values(), P)}
    assert ("grid", 7, 1) in crossed and ("grid", 1, 1) not in crossed


def test_a_build_up_warns_once_at_the_lowest_place_that_explains_it():
    def place(org: int) -> tuple[tuple[str, int], ...]:  # 80 grids, 8 communities, 2 streets
        return (("grid", org), ("community", 1000 + org // 10), ("street", 100 + org // 40))

    items = []
    n = 0
    for day in range(120):  # background: resolved within a day and a half
        for org in range(10, 90):
            if day % 4 == org % 4:
                n += 1
                items.append(core.Item(n, place(org), 1, created=day + 0.1, closed=day + 1.5))
    for day in range(92, 118):  # grid 11 (community 1001): a build-up
        n += 1
        items.append(core.Item(n, place(11), 1, created=day + 0.2))
    for day in range(92, 118, 5):  # community 1002: a few old complaints in each of five grids, none enough alone
        for org in (20, 21, 22, 23, 24):
            n += 1
            items.append(core.Item(n, place(org), 1, created=day + 0.3))
    scores = core.evaluate(items, 119.5, P)
    over = {s.key for s in scores if s.score >= s.line and s.open_count >= P.min_items}
    crossed = {s.key for s in core.crossings(scores, P)}
    assert {("grid", 11, 1), ("street", 100, 1)} <= over  # the street is over its line too…
    assert ("grid", 11, 1) in crossed and ("community", 1001, 1) not in crossed  # …but warns through the grid
    assert not any(k[0] == "grid" and 20 <= k[1] <= 24 for k in crossed)
    assert ("community", 1002, 1) in crossed  # spread over grids: seen only from the community
    assert ("street", 100, 1) not in crossed  # both explained below
    assert crossed == {("grid", 11, 1), ("community", 1002, 1)}
    assert {s.key for s in core.crossings(scores, P, nested=False)} == over


def test_simulator_is_seeded_and_finds_planted_build_ups():
    cfg = simulate.CityConfig(streets=2, communities=3, grids=3, categories=5, days=160, warmup=60, city_rate=30,
                              buildups=5, seed=3)
    assert simulate.build_city(cfg).items == simulate.build_city(cfg).items
    assert simulate.build_city(cfg).items != simulate.build_city(simulate.CityConfig(seed=4)).items[:10]
    a = simulate.run(cfg, sweep=(1.0, 1.4))
    fig = a["default"]
    assert fig["buildups"] == 5
    assert fig["recall"] >= 0.6
    assert fig["precision"] >= 0.6
    assert fig["false_per_100_place_months"] < 2.0
    assert fig["median_lead_days"] is not None and fig["median_lead_days"] >= 0
    # a higher line never raises more warnings
    assert a["sweep"][1]["warnings"] <= a["sweep"][0]["warnings"]
