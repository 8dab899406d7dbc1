from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.directory import services


class Command(BaseCommand):
    help = ("导入三级诉求分类（JSONL：每行 level1/level2/level3，或同列名 CSV）。"
            "Import the category tree; all or nothing.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **o):
        if not o["file"].is_file():
            raise CommandError(f"文件不存在：{o['file']}")
        try:
            report = services.import_categories(o["file"], Actor.system("命令行导入"))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if report.errors:
            for e in report.errors:
                self.stderr.write(e)
            raise CommandError(f"{len(report.errors)} 行有错误，未导入任何数据")
        self.stdout.write(f"新增分类 {report.created} 个")
