"""``massline insight rates --month 2026-10 [--level unit|district|street|community|grid] [--json]``: the three
rates and the ranking of one month, from the rollups."""

from __future__ import annotations

import json
from datetime import date

from django.core.management.base import CommandError

from massline.insight.models.rollups import Level

LEVELS = [str(v) for v in Level.values]


def add_arguments(parser) -> None:
    parser.add_argument("--month", required=True, help="月份，如 2026-10")
    parser.add_argument("--level", default="unit", choices=LEVELS, help="层级（默认 unit：承办单位）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")


def _fmt(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}%"


def run(options, stdout, stderr) -> None:
    from massline.insight import rates

    text = options["month"]
    try:
        y, m = (int(p) for p in text.strip().split("-"))
        month = date(y, m, 1)
    except ValueError:
        raise CommandError(f"月份格式应为 YYYY-MM，例如 2026-10（收到 {text!r}）") from None
    defn = rates.definition()
    rows = rates.ranking(month, options["level"], defn=defn)
    if options.get("json"):
        stdout.write(json.dumps({"month": month.strftime("%Y-%m"), "level": options["level"],
                                 "weights": list(defn.weights), "exclude": sorted(defn.exclude),
                                 "rows": [f.as_dict() for f in rows]}, ensure_ascii=False, indent=1) + "\n")
        return
    stdout.write(f"{month:%Y-%m} {Level(options['level']).label} 三率排名（权重 "
                 f"{'/'.join(f'{w:g}' for w in defn.weights)}）\n")
    if not rows:
        stdout.write("（本月没有签收或回访记录）\n")
        return
    stdout.write("名次\t单位\t响应率\t解决率\t满意率\t综合得分\t较上月\t签收\t按时\t回访\t解决\t满意\t基本满意\n")
    for f in rows:
        change = "" if f.score_change is None else f"{f.score_change:+.2f}"
        stdout.write(f"{f.rank or '—'}\t{f.org.name}\t{_fmt(f.response)}\t{_fmt(f.resolution)}\t"
                     f"{_fmt(f.satisfaction)}\t{'—' if f.score is None else f'{f.score:.2f}'}\t{change}\t"
                     f"{f.signed}\t{f.signed_on_time}\t{f.rated}\t{f.resolved}\t{f.satisfied}\t{f.basic}\n")
