import json
import signal
import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from massline.core import notify
from massline.demands.sweep import sweep


class Command(BaseCommand):
    help = ("期限巡检：临期预警、超期督办、挂牌督办、回访期满办结；可在多台主机同时运行。"
            "The deadline sweep; idempotent and safe on several hosts at once.")

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run forever, one pass every --interval seconds")
        parser.add_argument("--interval", type=float, default=60.0)
        parser.add_argument("--as-of", help="sweep as if it were this moment (ISO 8601), for replays")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **o):
        now = None
        if o["as_of"]:
            try:
                now = datetime.fromisoformat(o["as_of"])
            except ValueError:
                raise CommandError(f"--as-of {o['as_of']!r} 不是 ISO 8601 时间") from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
        while True:
            started = time.monotonic()
            report = sweep(now=now)
            retried = notify.retry_due()
            figures = {**report.as_dict(), "notifications_retried": retried,
                       "seconds": round(time.monotonic() - started, 3)}
            self.stdout.write(json.dumps(figures, ensure_ascii=False) if o["json"] else
                              " ".join(f"{k}={v}" for k, v in figures.items()))
            if not o["loop"] or stop["now"]:
                break
            slept = 0.0
            while slept < o["interval"] and not stop["now"]:
                time.sleep(min(1.0, o["interval"] - slept))
                slept += 1.0
            if stop["now"]:
                break
