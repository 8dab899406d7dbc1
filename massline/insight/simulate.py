"""A seeded simulator for the safety line: a city of grids × categories with realistic noise and a few planted
build-ups, scored day by day with :mod:`massline.insight.safety_core` (the same code production uses).

Noise (what must *not* be warned): daily Poisson volumes that differ by place (a lognormal spread, and a tenth
of the grids 4–8× busier), by category and by weekday; most demands resolved within days (a lognormal time per
category, one category slow everywhere), some reopened after a dissatisfied callback, a few stuck for weeks,
a few flagged for escalation words or brought by a group, repeat callers; one-day bursts (an outage: a dozen or
two complaints from one grid in a day, answered within two days).

Planted build-ups (what must be warned early): in one grid, about one category, small complaints arrive more
and more often over 3–8 weeks up to a peak (the day a mass incident would happen); they are not resolved (a
quarter are closed unresolved, the rest stay open until after the peak), the same few residents call again,
some callbacks are dissatisfied, escalation words grow more frequent and a group visit comes near the peak.

``run(config)`` returns the figures: precision, recall (warned between the start and the peak), median lead
days before the peak, false warnings per 100 place-months, for the default lines and a sweep of lines.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field, replace

from .safety_core import DEFAULT, DEFAULT_LINES, LEVELS, Item, Params, Score, crossings, evaluate, repeat_ids


@dataclass(frozen=True)
class CityConfig:
    streets: int = 6
    communities: int = 5  # per street
    grids: int = 4  # per community
    categories: int = 10
    days: int = 240
    warmup: int = 60  # days before scoring starts (the volumes fill their horizon)
    city_rate: float = 120.0  # demands per day, city-wide
    busy_share: float = 0.1  # grids 4–8× busier than the spread gives them
    bursts_per_month: float = 6.0
    buildups: int = 12
    seed: int = 7


@dataclass(frozen=True)
class Buildup:
    grid: int
    community: int
    street: int
    category: int
    start: int
    peak: int
    size: int


@dataclass
class City:
    config: CityConfig
    items: list[Item]
    buildups: list[Buildup]
    places: dict[str, int]  # level → number of level × category places
    parents: dict[int, tuple[int, int]]  # grid → (community, street)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


def build_city(cfg: CityConfig = CityConfig()) -> City:
    rng = random.Random(cfg.seed)
    grids: list[tuple[int, int, int]] = []  # (grid, community, street)
    for s in range(cfg.streets):
        street = 100 + s
        for c in range(cfg.communities):
            community = 1000 + s * 100 + c
            for g in range(cfg.grids):
                grids.append((10000 + s * 1000 + c * 10 + g, community, street))
    activity = [math.exp(rng.gauss(0, 0.6)) for _ in grids]
    for i in range(len(grids)):
        if rng.random() < cfg.busy_share:
            activity[i] *= rng.uniform(4, 8)
    total_activity = sum(activity)
    popularity = [math.exp(rng.gauss(0, 0.8)) for _ in range(cfg.categories)]
    total_pop = sum(popularity)
    # median days to resolve, per category; the last category is slow everywhere (e.g. unpaid wages)
    medians = [rng.uniform(1.5, 6.0) for _ in range(cfg.categories)]
    medians[-1] = 18.0
    rates = {}
    for gi, (g, _, _) in enumerate(grids):
        for k in range(cfg.categories):
            noise = rng.gammavariate(2.0, 0.5)
            rates[g, k] = cfg.city_rate * activity[gi] / total_activity * popularity[k] / total_pop * noise
    parents = {g: (c, s) for g, c, s in grids}
    items: list[Item] = []
    next_id = [1]

    def places(g: int) -> tuple[tuple[str, int], ...]:
        c, s = parents[g]
        return (("grid", g), ("community", c), ("street", s))

    def caller(g: int) -> str:
        if rng.random() < 0.3:
            return ""
        population = 300
        return f"{g}-{int(population * rng.random() ** 3)}"  # a few residents call much more often

    def ordinary(g: int, k: int, t: float) -> Item:
        med = medians[k]
        resolve = math.exp(rng.gauss(math.log(med), 0.7))
        if rng.random() < 0.05:
            resolve += rng.uniform(15, 40)  # stuck for weeks
        closed = t + resolve
        dissatisfied: tuple[float, ...] = ()
        settled_well = True
        u = rng.random()
        if u < 0.12:  # dissatisfied at the first callback, reopened, handled again
            dissatisfied = (closed,)
            closed += math.exp(rng.gauss(math.log(med), 0.7))
            settled_well = rng.random() < 0.6
        elif u < 0.15:
            settled_well = False  # refused or closed unresolved
        urgency = "emergency" if rng.random() < 0.02 else "urgent" if rng.random() < 0.1 else "normal"
        item = Item(
            id=next_id[0], places=places(g), category=k, created=t, closed=closed, settled_well=settled_well,
            dissatisfied=dissatisfied, risk_at=t if rng.random() < 0.02 else None,
            due=t + (15.0 if med > 10 else 7.0), group=rng.random() < 0.003, urgency=urgency, caller=caller(g),
            kind_weight=0.5 if rng.random() < 0.2 else 1.0,
        )
        next_id[0] += 1
        return item

    weekday = [1.1, 1.1, 1.1, 1.1, 1.1, 0.6, 0.5]
    for day in range(cfg.days):
        dow = weekday[day % 7]
        for (g, k), lam in rates.items():
            for _ in range(_poisson(rng, lam * dow)):
                items.append(ordinary(g, k, day + rng.random()))
        if rng.random() < cfg.bursts_per_month / 30.0:  # an outage: a cluster answered within two days
            g = rng.choice(grids)[0]
            k = rng.randrange(cfg.categories)
            for _ in range(rng.randint(10, 25)):
                t = day + rng.random() * 0.5
                items.append(Item(id=next_id[0], places=places(g), category=k, created=t,
                                  closed=t + rng.uniform(0.2, 2.0), due=t + 1.0, caller=caller(g)))
                next_id[0] += 1

    buildups: list[Buildup] = []
    chosen: set[tuple[int, int]] = set()
    while len(buildups) < cfg.buildups:
        g, c, s = rng.choice(grids)
        k = rng.randrange(cfg.categories)
        if (g, k) in chosen:
            continue
        chosen.add((g, k))
        ramp = rng.randint(21, 56)
        start = rng.randint(cfg.warmup, cfg.days - ramp - 14)
        peak = start + ramp
        size = rng.randint(8, 20)
        residents = [f"{g}-b{k}-{i}" for i in range(rng.randint(3, 6))]
        for _ in range(size):
            t = start + ramp * math.sqrt(rng.random())  # more and more often toward the peak
            progress = (t - start) / ramp
            if rng.random() < 0.25:
                closed, settled_well = t + rng.uniform(3, 10), False  # closed, not resolved
            else:
                closed, settled_well = peak + rng.uniform(5, 30), rng.random() < 0.5
            dissatisfied = (t + rng.uniform(5, 12),) if rng.random() < 0.4 else ()
            dissatisfied = tuple(x for x in dissatisfied if x < closed)
            items.append(Item(
                id=next_id[0], places=places(g), category=k, created=t, closed=closed, settled_well=settled_well,
                dissatisfied=dissatisfied, risk_at=t if rng.random() < 0.4 * progress else None, due=t + 7.0,
                group=progress > 0.8 and rng.random() < 0.3, caller=rng.choice(residents),
            ))
            next_id[0] += 1
        buildups.append(Buildup(g, c, s, k, start, peak, size))
    items.sort(key=lambda it: (it.created, it.id))
    n_grids = len(grids)
    counts = {"grid": n_grids * cfg.categories, "community": cfg.streets * cfg.communities * cfg.categories,
              "street": cfg.streets * cfg.categories}
    return City(cfg, items, buildups, counts, parents)


@dataclass
class DayScores:
    """Per day, the places whose score could matter for any line in a sweep."""

    days: list[int]
    scores: list[dict[tuple[str, int, int], Score]]


def score_days(city: City, p: Params = DEFAULT, keep_above: float = 1.0) -> DayScores:
    items = city.items
    repeats = repeat_ids(items, p)
    out = DayScores([], [])
    active: list[Item] = []
    pos = 0
    for day in range(city.config.warmup, city.config.days):
        t = day + 0.75  # evaluated each day at 18:00
        while pos < len(items) and items[pos].created <= t:
            active.append(items[pos])
            pos += 1
        scores = evaluate(active, t, p, repeats=repeats, top=0, since=0.0)
        active = [it for it in active if _still_relevant(it, t, p)]
        out.days.append(day)
        out.scores.append({s.key: s for s in scores if s.score >= keep_above})
    return out


def _still_relevant(it: Item, t: float, p: Params) -> bool:
    if it.created > t - p.horizon - p.lag or it.closed is None or it.closed > t:
        return True
    tau = p.tau_good if it.settled_well else p.tau_bad
    return t - it.closed < 6 * tau


@dataclass
class Figures:
    lines: dict[str, float]
    warnings: int
    true_warnings: int
    false_warnings: int
    buildups: int
    detected: int  # warned between its start and its peak
    detected_late: int  # warned in the two weeks after its peak (too late, but seen)
    lead_days: list[float] = field(default_factory=list)
    false_by_level: dict[str, int] = field(default_factory=dict)
    place_months: float = 0.0

    @property
    def precision(self) -> float:
        return self.true_warnings / self.warnings if self.warnings else 1.0

    @property
    def recall(self) -> float:
        return self.detected / self.buildups if self.buildups else 1.0

    @property
    def median_lead(self) -> float | None:
        return statistics.median(self.lead_days) if self.lead_days else None

    @property
    def false_per_100_place_months(self) -> float:
        return 100.0 * self.false_warnings / self.place_months if self.place_months else 0.0

    def as_dict(self) -> dict:
        return {
            "lines": self.lines, "warnings": self.warnings, "true_warnings": self.true_warnings,
            "false_warnings": self.false_warnings, "buildups": self.buildups, "detected_before_peak": self.detected,
            "detected_after_peak": self.detected_late, "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "median_lead_days": None if self.median_lead is None else round(self.median_lead, 1),
            "false_per_100_place_months": round(self.false_per_100_place_months, 3),
            "false_by_level": self.false_by_level,
        }


def _matches(key: tuple[str, int, int], b: Buildup) -> bool:
    level, org, cat = key
    if cat != b.category:
        return False
    return {"grid": b.grid, "community": b.community, "street": b.street}.get(level) == org


def figures(city: City, days: DayScores, lines: dict[str, float], p: Params = DEFAULT) -> Figures:
    """Warnings as production raises them (a new warning when a place crosses its line with ``min_items`` open
    demands, not nested in a crossing place below it; the place must fall below ``clear_ratio`` × line before it can
    warn again), matched to the build-ups:
    a warning is true when its place contains a build-up of its category and it fires between the start and two
    weeks after the peak."""
    standing: set[tuple[str, int, int]] = set()
    raised: list[tuple[tuple[str, int, int], int]] = []
    for day, scores in zip(days.days, days.scores, strict=True):
        for key in list(standing):
            s = scores.get(key)
            if s is None or s.score < p.clear_ratio * lines[key[0]]:
                standing.discard(key)
        relevant = [replace(s, line=lines[s.level]) for s in scores.values()
                    if s.score >= lines[s.level] or s.key in standing]
        for s in crossings(relevant, p, standing=standing):
            if s.key not in standing:
                standing.add(s.key)
                raised.append((s.key, day))
    months = (city.config.days - city.config.warmup) / 30.0
    fig = Figures(dict(lines), len(raised), 0, 0, len(city.buildups), 0, 0,
                  false_by_level={lv: 0 for lv in LEVELS},
                  place_months=sum(city.places.values()) * months)
    for key, day in raised:
        if any(_matches(key, b) and b.start <= day <= b.peak + 14 for b in city.buildups):
            fig.true_warnings += 1
        else:
            fig.false_warnings += 1
            fig.false_by_level[key[0]] += 1
    for b in city.buildups:
        fired = sorted(day for key, day in raised if _matches(key, b) and b.start <= day <= b.peak + 14)
        before = [d for d in fired if d <= b.peak]
        if before:
            fig.detected += 1
            fig.lead_days.append(float(b.peak - before[0]))
        elif fired:
            fig.detected_late += 1
    return fig


SWEEP = (0.6, 0.8, 0.9, 1.0, 1.2, 1.4)


def run(config: CityConfig | None = None, p: Params = DEFAULT, lines: dict[str, float] | None = None,
        sweep: tuple[float, ...] = SWEEP) -> dict:
    """Build the city, score every day, and report the figures for ``lines`` (the defaults) and for each factor
    of ``sweep`` applied to them."""
    lines = {**DEFAULT_LINES, **(lines or {})}
    config = config or CityConfig()
    city = build_city(config)
    keep = min(min(lines.values()) * min(sweep or (1.0,)), min(lines.values())) * p.clear_ratio
    days = score_days(city, p, keep_above=keep)
    default = figures(city, days, lines, p)
    rows = []
    for factor in sweep:
        scaled = {lv: round(v * factor, 3) for lv, v in lines.items()}
        rows.append({"factor": factor, **figures(city, days, scaled, p).as_dict()})
    return {
        "config": config.__dict__,
        "items": len(city.items),
        "places": city.places,
        "default": default.as_dict(),
        "sweep": rows,
    }
