"""``massline insight replies [--since DATE] [--until DATE] [--data FILE.jsonl] [--json] [--show N]``: reply
delays and replies that do not answer (template only, too short, passing the buck, off the subject), from
the database or from a messages file with official replies (``--data``: title, detail, time, reply,
reply_time)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from django.core.management.base import CommandError
from django.utils import timezone

LABELS = {"reply_empty": "空答复", "template_only": "只有客套话", "too_short": "过于简短",
          "passing_buck": "推诿", "off_subject": "答非所问"}


def add_arguments(parser) -> None:
    parser.add_argument("--since", default="", help="登记日期起（含），默认 90 天前（仅数据库）")
    parser.add_argument("--until", default="", help="登记日期止（含当天），默认今天（仅数据库）")
    parser.add_argument("--data", default="", help="改为分析带官方答复的留言文件（JSON lines），不读数据库")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument("--show", type=int, default=10, help="列出多少条有问题的答复（默认 10）")


def _day(text: str, name: str) -> datetime:
    try:
        d = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--{name} 日期格式应为 YYYY-MM-DD（收到 {text!r}）") from None
    return timezone.make_aware(datetime.combine(d, dtime.min))


def run(options, stdout, stderr) -> None:
    from massline.core import clock
    from massline.insight import replyq

    if options.get("data"):
        path = Path(options["data"])
        if not path.is_file():
            raise CommandError(f"找不到留言文件：{path}")
        rep = replyq.file_report(path)
        total = rep["messages"]
    else:
        until = _day(options["until"], "until") + timedelta(days=1) if options.get("until") else clock.now()
        since = _day(options["since"], "since") if options.get("since") else until - timedelta(days=90)
        rep = replyq.report(None, since, until)
        total = rep["replies"]
    if options.get("json"):
        stdout.write(json.dumps(rep, ensure_ascii=False, indent=1, default=str) + "\n")
        return
    d = rep["delay"]
    stdout.write(f"答复 {total} 条\n")
    if d.get("count"):
        within = "，".join(f"{k}天内 {v:.1%}" for k, v in d["within"].items())
        stdout.write(f"答复用时（自然日）：中位数 {d['median_days']}，平均 {d['mean_days']}，"
                     f"90%分位 {d['p90_days']}，最长 {d['max_days']}；{within}\n")
    else:
        stdout.write("答复用时：没有可计算的答复\n")
    for code, label in LABELS.items():
        n = rep["findings"].get(code, 0)
        stdout.write(f"{label}（{code}）：{n} 条（{n / total:.1%}）\n" if total else f"{label}（{code}）：0 条\n")
    for row in rep["flagged"][: max(0, options.get("show") or 0)]:
        ident = row.get("demand") or row.get("id")
        stdout.write(f"  {ident}\t{'，'.join(LABELS.get(c, c) for c in row['codes'])}\t{row['title']}\n")
