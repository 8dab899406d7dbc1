"""What the import commands share: check the file, run the all-or-nothing import, report every bad row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.directory.services import ImportReport


class ImportCommand(BaseCommand):
    importer: Callable[[Path, Actor], ImportReport]

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def summary(self, report: ImportReport) -> str:
        return f"导入 {report.created} 条"

    def handle(self, *args, **o):
        if not o["file"].is_file():
            raise CommandError(f"文件不存在：{o['file']}")
        try:
            report = type(self).importer(o["file"], Actor.system("命令行导入"))
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if report.errors:
            for e in report.errors:
                self.stderr.write(e)
            raise CommandError(f"{len(report.errors)} 行有错误，未导入任何数据")
        self.stdout.write(self.summary(report))
