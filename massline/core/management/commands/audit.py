from django.core.management.base import BaseCommand, CommandError

from massline.core import events
from massline.core.models import Event


class Command(BaseCommand):
    help = "审计记录：verify 逐条重算每条哈希链，报告第一处断裂。Verify the tamper-evident event record."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="sub", required=True)
        v = sub.add_parser("verify", help="recompute every hash chain and name the first broken link of each")
        v.add_argument("--chain", action="append", help="only this chain (e.g. demand:42); repeatable")

    def handle(self, *args, **opts):
        if opts["sub"] == "verify":
            total = Event.objects.count() if not opts.get("chain") else Event.objects.filter(
                chain__in=opts["chain"]).count()
            breaks = list(events.verify(opts.get("chain")))
            if breaks:
                for b in breaks:
                    self.stderr.write(f"断裂 BROKEN {b}")
                raise CommandError(f"{len(breaks)} 条哈希链有断裂（共检查 {total} 条事件）")
            self.stdout.write(f"OK：{total} 条事件，所有哈希链完整 (all chains intact)")
