from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.directory import services


class Command(BaseCommand):
    help = ("导入权责清单（JSONL/CSV：category（一级/二级/三级）, area（组织编码，空为全辖区）, lead（主办单位编码）, "
            "co（协办单位编码，逗号分隔）, item, basis）。Import the responsibility list; all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **o):
        if not o["file"].is_file():
            raise CommandError(f"文件不存在：{o['file']}")
        try:
            report = services.import_responsibilities(o["file"], Actor.system("命令行导入"))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if report.errors:
            for e in report.errors:
                self.stderr.write(e)
            raise CommandError(f"{len(report.errors)} 行有错误，未导入任何数据")
        self.stdout.write(f"导入权责清单条目 {report.created} 条")
