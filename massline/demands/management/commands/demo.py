import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from massline.demands import demo
from massline.demands.sweep import sweep
from massline.directory.models import Org


class Command(BaseCommand):
    help = (
        "载入演示数据：一个“活的”演示城区（默认：1 个区、6 个街道、30 个社区、120 个网格、约 25 个承办单位、约 200 名"
        "工作人员、近三个月约 5000 件各种状态和渠道的诉求，全部经由业务服务生成，每一步都在事件记录上）。"
        "数据库里已有组织数据时跳过。"
        " Load the living demo city (every step through the services and on the event record), unless the "
        "database already has organisations. Deterministic for a seed and a --now; without --now the history "
        "ends at the current time, so times (and, through the working calendar, a few on-time/late outcomes) "
        "move with it. --small loads the small demo jurisdiction instead. --bulk writes the demands straight into "
        "the tables for benchmarks (e.g. --demands 1000000 --bulk on PostgreSQL): valid rows in consistent "
        "states, but NO events on the record and no notifications for them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--small", action="store_true", help="the small demo jurisdiction and a few weeks of demands")
        parser.add_argument("--weeks", type=int, default=4, help="with --small: weeks of demands")
        parser.add_argument("--demands", type=int, default=5000, help="how many demands (default 5000)")
        parser.add_argument("--days", type=int, default=91, help="days of history before now (default 91)")
        parser.add_argument("--streets", type=int, default=6)
        parser.add_argument("--communities", type=int, default=5, help="communities per street")
        parser.add_argument("--grids", type=int, default=4, help="grids per community")
        parser.add_argument("--now", help="end of the history, ISO 8601 (default: now); pins the outcome")
        parser.add_argument("--no-shared-taxonomy", action="store_true",
                            help="use the built-in category tree even when the shared data is there")
        parser.add_argument("--bulk", action="store_true",
                            help="bulk-insert the demands (benchmarks): consistent rows, but no events on the record")
        parser.add_argument("--logins", action="store_true", help="only print the demo logins")

    def handle(self, *args, **o):
        if not o["logins"]:
            if Org.objects.exists():
                self.stdout.write("数据库里已有组织数据，跳过演示数据。The database already has data; demo skipped.")
            elif o["small"]:
                _, made = demo.make(seed=o["seed"], weeks=o["weeks"])
                report = sweep()
                self.stdout.write(f"演示数据已载入：{made} 件诉求；巡检 {report.as_dict()}")
            else:
                self._city(o)
        self.stdout.write(demo.logins_text())

    def _city(self, o):
        from massline.core import clock
        from massline.demands import democity

        now = None
        if o["now"]:
            try:
                now = datetime.fromisoformat(o["now"])
            except ValueError:
                raise CommandError(f"--now {o['now']!r} 不是 ISO 8601 时间（例如 2026-11-20T18:00+08:00）") from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
            if now > clock.now():
                raise CommandError("--now 不能晚于当前时间（历史不能写到未来）")
        if o["demands"] < 0:
            raise CommandError("--demands 不能为负数")
        spec = democity.Spec(seed=o["seed"], streets=o["streets"], communities=o["communities"], grids=o["grids"],
                             demands=0 if o["bulk"] else o["demands"], days=o["days"],
                             shared_taxonomy=not o["no_shared_taxonomy"])
        self.stdout.write("正在生成演示城区…… building the demo city (a few minutes for 5000 demands on SQLite)")
        city, report = democity.make(spec, now=now)
        if o["bulk"]:
            started = time.monotonic()

            def progress(made: int) -> None:
                rate = made / max(time.monotonic() - started, 1e-6)
                self.stdout.write(f"  {made} / {o['demands']}（{rate:.0f} 件/秒）")

            made = democity.bulk(city, o["demands"], seed=o["seed"], days=o["days"], now=now or clock.now(),
                                 batch=5000, progress=progress)
            self.stdout.write(f"批量写入 {made} 件诉求（无事件记录），用时 {time.monotonic() - started:.1f}s")
            democity.summarise(report)
        self.stdout.write("演示城区已载入 demo city loaded：\n" + report.text())
