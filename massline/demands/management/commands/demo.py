from django.core.management.base import BaseCommand

from massline.demands import demo
from massline.demands.sweep import sweep
from massline.directory.models import Org


class Command(BaseCommand):
    help = "载入演示数据（一个小城区和几周的诉求）。Load the demo jurisdiction, unless one is already there."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--weeks", type=int, default=4)
        parser.add_argument("--logins", action="store_true", help="only print the demo logins")

    def handle(self, *args, **o):
        if not o["logins"]:
            if Org.objects.exists():
                self.stdout.write("数据库里已有组织数据，跳过演示数据。The database already has data; demo skipped.")
            else:
                _, made = demo.make(seed=o["seed"], weeks=o["weeks"])
                report = sweep()
                self.stdout.write(f"演示数据已载入：{made} 件诉求；巡检 {report.as_dict()}")
        self.stdout.write(demo.logins_text())
