"""``massline insight warnings [--as-of DATETIME] [--json] [--raise [--loop --interval S]]``.

Without ``--raise``: the warnings that stand at that moment (default now), computed from the record as it was
then, each with the demands behind it — a ledger imported with its historical dates can be replayed. Reads only.

With ``--raise``: the periodic step that records new warnings and tells the street's leaders (idempotent, safe on
several hosts at once). Production runs ``massline insight warnings --raise --loop --interval 3600``."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime

from django.core.management.base import CommandError
from django.utils import timezone


def add_arguments(parser) -> None:
    parser.add_argument("--as-of", dest="as_of", help="那一时刻（ISO 8601，如 2026-10-15T18:00；不带时区按本地时间）")
    parser.add_argument("--json", action="store_true", help="输出 JSON")
    parser.add_argument("--raise", dest="raise_", action="store_true", help="登记新预警并通知街道领导")
    parser.add_argument("--loop", action="store_true", help="与 --raise 同用：每 --interval 秒运行一次")
    parser.add_argument("--interval", type=float, default=3600.0)
    parser.add_argument("--limit", type=int, default=10, help="每条预警列出的诉求数（文本输出）")


def parse_moment(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"--as-of {raw!r} 不是 ISO 8601 时间") from None
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def run(options: dict, stdout, stderr) -> None:
    from massline.core import clock
    from massline.insight import safety

    as_of = parse_moment(options.get("as_of"))
    if options.get("raise_"):
        stop = {"now": False}
        if options.get("loop"):
            signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        while True:
            started = time.monotonic()
            report = safety.raise_warnings(as_of or clock.now())
            figures = {**report.as_dict(), "seconds": round(time.monotonic() - started, 3)}
            stdout.write(json.dumps(figures, ensure_ascii=False) if options.get("json") else
                         " ".join(f"{k}={v}" for k, v in figures.items()))
            if not options.get("loop") or stop["now"]:
                return
            slept = 0.0
            while slept < options["interval"] and not stop["now"]:
                time.sleep(min(1.0, options["interval"] - slept))
                slept += 1.0
            if stop["now"]:
                return
    moment = as_of or clock.now()
    standing = safety.evaluate(moment)
    if options.get("json"):
        stdout.write(json.dumps({"as_of": moment.isoformat(), "lines": safety.lines(),
                                 "warnings": [s.as_dict() for s in standing]}, ensure_ascii=False, indent=2))
        return
    local = timezone.localtime(moment)
    stdout.write(f"{local:%Y-%m-%d %H:%M} 成立的安全线预警：{len(standing)} 条（安全线 "
                 + "，".join(f"{safety.LEVEL_LABELS[k]} {v:g}" for k, v in safety.lines().items()) + "）")
    for s in standing:
        d = s.as_dict()
        state = "未登记" if s.warning is None else s.warning.get_state_display()
        stdout.write(f"\n[{d['level_label']}] {d['org']} · {d['category']}  分值 {d['score']:.1f} / 安全线 {d['line']:g}"
                     f"  积累 {d['weight']:.1f}（常态 {d['expected']:.1f}）  未办结 {d['open_count']} 件  {state}")
        for item in d["demands"][: options.get("limit", 10)]:
            stdout.write(f"    {item['code']}  权重 {item['weight']:.2f}  {item['title']}")
