"""``massline insight relationship --community ID|--all [--from DATE --to DATE] [--json]``: the relationship index
(干群关系微积分) of a community or of every community, day by day, with its trend."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.core.management.base import CommandError


def add_arguments(parser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--community", type=str, help="社区 id 或编码")
    who.add_argument("--all", action="store_true", help="全部社区")
    parser.add_argument("--from", dest="start", help="起始日期 YYYY-MM-DD（默认截止日前 29 天）")
    parser.add_argument("--to", dest="end", help="截止日期 YYYY-MM-DD（默认今天）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"{name} {raw!r} 不是 YYYY-MM-DD 日期") from None


def run(options: dict, stdout, stderr) -> None:
    from django.utils import timezone

    from massline.core import clock
    from massline.directory.models import Org
    from massline.insight import relationship

    end = _date(options.get("end"), "--to") or timezone.localtime(clock.now()).date()
    start = _date(options.get("start"), "--from") or end - timedelta(days=29)
    if start > end:
        raise CommandError("--from 不能晚于 --to")
    if (end - start).days > 3660:
        raise CommandError("时间跨度不能超过十年")
    if options.get("all"):
        communities = relationship.communities_in(None)
    else:
        raw = options["community"]
        q = Org.objects.filter(kind__in=relationship.COMMUNITY_KINDS)
        org = q.filter(pk=int(raw)).first() if raw.isdigit() else None
        org = org or q.filter(code=raw).first()
        if org is None:
            raise CommandError(f"找不到社区 {raw}")
        communities = [org]
    result = relationship.series(communities, start, end)
    if options.get("json"):
        stdout.write(json.dumps({
            "from": start.isoformat(), "to": end.isoformat(),
            "communities": [{"id": c.pk, "code": c.code, "name": c.name,
                             "points": [p.as_dict() for p in result[c.pk]]} for c in communities],
        }, ensure_ascii=False, indent=2))
        return
    for c in communities:
        points = result[c.pk]
        last = points[-1]
        stdout.write(f"{c.name}（{c.code}）{start} 至 {end}：指数 {last.index:.1f}，趋势 "
                     f"{relationship.trend_label(last.trend)}"
                     + ("" if last.trend is None else f"（{last.trend:+.1f}/周）"))
        if len(communities) == 1:
            for p in points:
                stdout.write(f"  {p.day}  好 {p.good:5.2f}  坏 {p.bad:5.2f}  指数 {p.index:6.1f}")
