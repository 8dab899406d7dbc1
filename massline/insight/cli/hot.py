"""``massline insight hot --since DATE [--until DATE] [--top N] [--json] [--data FILE.jsonl]``: the hottest
clusters of similar demands received in a window (from the database, all demands but whistle-blowing
reports), or of the messages in a file (``--data``, JSON lines: id, user, title, detail, time, likes)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone


def add_arguments(parser) -> None:
    parser.add_argument("--since", required=True, help="起始日期（含），如 2026-10-01")
    parser.add_argument("--until", default="", help="截止日期（含当天），默认今天")
    parser.add_argument("--top", type=int, default=20, help="列出多少个热点（默认 20）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument("--data", default="", help="改为分析留言文件（JSON lines），不读数据库")


def _day(text: str, name: str) -> datetime:
    try:
        d = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--{name} 日期格式应为 YYYY-MM-DD（收到 {text!r}）") from None
    return timezone.make_aware(datetime.combine(d, dtime.min))


def _line(c: dict) -> str:
    where = "·".join(x for x in (c.get("street") or c.get("place") or "", c.get("category") or "") if x)
    rep = c["representative"]["title"] if isinstance(c.get("representative"), dict) else c["representative_title"]
    return (f"{c['heat']:6.2f}\t{c['size']}\t{c['people']}\t{c['repeats']}\t{c['likes']}\t{c['growth']:+.2f}\t"
            f"{where or '—'}\t{c['name']}\t{rep}")


def run(options, stdout, stderr) -> None:
    from massline.core import clock
    from massline.insight import hot

    since = _day(options["since"], "since")
    until = _day(options["until"], "until") + timedelta(days=1) if options.get("until") else None
    top = max(1, options.get("top") or 20)
    started = time.perf_counter()
    if options.get("data"):
        path = Path(options["data"])
        if not path.is_file():
            raise CommandError(f"找不到留言文件：{path}")
        n, found = hot.file_clusters(path, since, until, top=top)
        rows = []
        for c in found:
            d = c.as_dict()
            d.pop("members", None)
            rows.append(d)
        source = str(path)
    else:
        until = until or clock.now()
        items = hot.clusters(None, since, until, top=top, limit=None)
        n = None
        rows = [c.as_dict() for c in items]
        source = "database"
    seconds = round(time.perf_counter() - started, 2)
    if options.get("json"):
        stdout.write(json.dumps({"source": source, "since": since.date().isoformat(),
                                 "until": until.isoformat() if until else None, "items": n, "seconds": seconds,
                                 "clusters": rows}, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    head = f"热点（{source}，{since.date()} 起" + (f"，{n} 条留言" if n is not None else "") + f"，用时 {seconds} 秒）"
    stdout.write(head + "\n")
    if not rows:
        stdout.write("（所选时段没有成簇的相似诉求）\n")
        return
    stdout.write("热度\t件数\t人数\t重复\t点赞\t增长\t地点·分类\t关键词\t代表诉求\n")
    for c in rows:
        stdout.write(_line(c) + "\n")
