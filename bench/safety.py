"""The safety line on a simulated city: precision, recall, lead days before the peak, false warnings per 100
place-months, for the default lines and a sweep of lines (docs/safety-line.md).

    .venv/bin/python bench/safety.py [--seeds 7,11,13] [--days 240] [--buildups 12] [--json]

Pure Python (massline.insight.simulate and the production scoring core massline.insight.safety_core); no
database. Each seed is a different city; the figures are pooled over the seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from massline.insight import simulate
from massline.insight.safety_core import DEFAULT, DEFAULT_LINES


def pooled(figs: list[simulate.Figures]) -> dict:
    warnings = sum(f.warnings for f in figs)
    true = sum(f.true_warnings for f in figs)
    buildups = sum(f.buildups for f in figs)
    detected = sum(f.detected for f in figs)
    leads = [x for f in figs for x in f.lead_days]
    false = sum(f.false_warnings for f in figs)
    place_months = sum(f.place_months for f in figs)
    return {
        "lines": figs[0].lines, "warnings": warnings, "false_warnings": false,
        "precision": round(true / warnings, 3) if warnings else None,
        "recall": round(detected / buildups, 3) if buildups else None,
        "detected_after_peak": sum(f.detected_late for f in figs),
        "median_lead_days": round(statistics.median(leads), 1) if leads else None,
        "false_per_100_place_months": round(100 * false / place_months, 3) if place_months else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="7,11,13")
    ap.add_argument("--days", type=int, default=240)
    ap.add_argument("--buildups", type=int, default=12)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    started = time.monotonic()
    factors = simulate.SWEEP
    per_factor: dict[float, list[simulate.Figures]] = {f: [] for f in factors}
    cities = []
    for seed in seeds:
        cfg = simulate.CityConfig(days=args.days, buildups=args.buildups, seed=seed)
        city = simulate.build_city(cfg)
        cities.append({"seed": seed, "items": len(city.items), "places": city.places})
        days = simulate.score_days(city, DEFAULT, keep_above=min(DEFAULT_LINES.values()) * min(factors) * DEFAULT.clear_ratio)
        for f in factors:
            lines = {k: round(v * f, 3) for k, v in DEFAULT_LINES.items()}
            per_factor[f].append(simulate.figures(city, days, lines, DEFAULT))
    result = {"cities": cities, "sweep": [{"factor": f, **pooled(per_factor[f])} for f in factors],
              "seconds": round(time.monotonic() - started, 1)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    for c in cities:
        print(f"seed {c['seed']}: {c['items']} demands, places {c['places']}")
    print("factor  lines(grid/community/street)  warnings  precision  recall  after-peak  median-lead  false/100pm")
    for row in result["sweep"]:
        ln = row["lines"]
        print(f"{row['factor']:>6}  {ln['grid']:>5}/{ln['community']}/{ln['street']:<14}  {row['warnings']:>8}  "
              f"{row['precision']:>9}  {row['recall']:>6}  {row['detected_after_peak']:>10}  "
              f"{row['median_lead_days']!s:>11}  {row['false_per_100_place_months']:>11}")
    print(f"({result['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
