"""``massline insight <subcommand>``: each subcommand lives in the module of its part of insight, which
defines ``add_arguments(parser)`` and ``run(options, stdout, stderr)``."""

from __future__ import annotations

import importlib

from django.core.management.base import BaseCommand, CommandError

SUBCOMMANDS = {
    "rollup": ("massline.insight.cli.rollup", "三率汇总表：重建或核对（--rebuild / --check）"),
    "rates": ("massline.insight.cli.rates", "某月某级的三率与排名"),
    "hot": ("massline.insight.cli.hot", "热点聚类（--since DATE）"),
    "warnings": ("massline.insight.cli.warnings", "某一时刻成立的安全线预警（--as-of）"),
    "replies": ("massline.insight.cli.replies", "答复质量检查"),
    "relationship": ("massline.insight.cli.relationship", "干群关系指数"),
}


class Command(BaseCommand):
    help = "民情分析：三率与排名、热点、安全线预警、答复质量、干群关系指数"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True, metavar="{" + ",".join(SUBCOMMANDS) + "}")
        for name, (module, helptext) in SUBCOMMANDS.items():
            p = sub.add_parser(name, help=helptext)
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError:
                continue
            mod.add_arguments(p)

    def handle(self, *args, sub: str, **options):
        module, _ = SUBCOMMANDS[sub]
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            raise CommandError(f"子命令 {sub} 尚不可用") from exc
        return mod.run(options, self.stdout, self.stderr)
