"""``massline import-ledger 台账.xlsx [--dry-run] [--skip-bad --errors 错误行.xlsx] [--map …] [--sheet 名称]``

Exit status: 0 everything imported (or, with ``--dry-run``, every row is good); 1 nothing imported (bad rows,
or a file that cannot be read); 2 with ``--skip-bad``: the good rows were imported, the bad ones were not."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from django.core.management.base import CommandError

from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.demands import ledger
from massline.directory.management.commands._importing import ImportCommand

SKIPPED_EXIT = 2


class ProgressBar:
    """``检查 [#####.....] 1200/2400`` redrawn in place on a terminal; elsewhere (a log, a pipe) quiet, and
    ``finish`` writes one final line."""

    def __init__(self, stream, *, width: int = 30, tty: bool | None = None) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty() if tty is None else tty
        self.started = time.monotonic()
        self.last = 0.0
        self.phase = ""
        self.done = 0
        self.total: int | None = None
        self.drawn = False

    def bar(self) -> str:
        total = self.total if self.total and self.total >= self.done else None
        if total is None:
            return f"{self.phase} {self.done} 行"
        filled = int(self.width * self.done / total) if total else self.width
        return f"{self.phase} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{total}"

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if phase != self.phase and self.drawn and self.tty:
            self.stream.write("\n")
        self.phase, self.done, self.total = phase, done, total
        now = time.monotonic()
        if self.tty and (now - self.last > 0.1 or (total is not None and done >= total)):
            self.stream.write("\r" + self.bar())
            self.stream.flush()
            self.last = now
            self.drawn = True

    def finish(self) -> None:
        line = f"{self.bar()}，用时 {time.monotonic() - self.started:.1f} 秒"
        self.stream.write(("\r" + line + "\n") if self.tty else line + "\n")
        self.stream.flush()


class Command(ImportCommand):
    help = ("导入历史诉求台账（.xlsx）：逐行检查，全部无误才导入（或 --skip-bad 只导入无误的行并把错误行写入 --errors 文件）；"
            "保留原来的受理、派单、答复、办结时间和办理状态。Import a legacy demand ledger; all or nothing.")
    importer = staticmethod(ledger.import_ledger)

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--dry-run", action="store_true", help="只检查并报告每一处错误，不导入")
        parser.add_argument("--skip-bad", action="store_true", help="跳过有错误的行，导入其余各行")
        parser.add_argument("--errors", type=Path, metavar="错误行.xlsx",
                            help="把有错误的行原样写入此文件，并加“错误原因”列（--skip-bad 时默认为 <台账>.errors.xlsx）")
        parser.add_argument("--map", action="append", default=[], metavar="列名=字段|映射.json",
                            help="列映射：列名=字段（如 反映时间=来电时间、工单流水号=ledger_no、备注=-），或 JSON 映射文件；可重复")
        parser.add_argument("--sheet", help="工作表名称（默认第一个）")

    def summary(self, report):
        parts = [f"检查 {report.rows} 行，无误 {report.good} 行，有错误 {len(report.bad)} 行"]
        if report.dry_run:
            parts.append("试运行，未导入任何数据")
        else:
            parts.append(f"导入 {report.created} 条")
            if report.created:
                states = "、".join(f"{ledger.State(s).label} {n}" for s, n in sorted(report.states.items()))
                parts.append(f"其中 {states}；办理中计时 {report.open_timed} 条（由期限巡检接管）")
                if report.risk_flagged:
                    parts.append(f"风险提示 {report.risk_flagged} 条")
        parts.append(f"用时 {report.seconds:.1f} 秒")
        return "；".join(parts)

    def handle(self, *args, **o):
        path: Path = o["file"]
        if not path.is_file():
            raise CommandError(f"文件不存在：{path}")
        errors_path: Path | None = o["errors"]
        if o["skip_bad"] and errors_path is None:
            errors_path = path.with_name(path.stem + ".errors.xlsx")
        bar = ProgressBar(self.stderr._out if hasattr(self.stderr, "_out") else sys.stderr)
        try:
            mapping = ledger.Mapping.parse(o["map"])
            report = type(self).importer(path, Actor.system("台账导入（命令行）"), mapping=mapping, sheet=o["sheet"],
                                         dry_run=o["dry_run"], skip_bad=o["skip_bad"], progress=bar)
        except DomainError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from None
        bar.finish()
        if report.unused:
            self.stderr.write(f"未使用的列：{'、'.join(report.unused)}")
        for e in report.errors:
            self.stderr.write(e)
        if report.bad and errors_path is not None:
            errors_path.write_bytes(report.error_file())
            self.stderr.write(f"错误行已写入 {errors_path}（{len(report.bad)} 行，见“{ledger.ERROR_COLUMN}”列）")
        self.stdout.write(self.summary(report))
        if report.bad:
            codes = "、".join(f"{c} {n}" for c, n in report.error_codes.most_common())
            if report.created:
                raise CommandError(f"{len(report.bad)} 行有错误，已跳过（{codes}）；其余 {report.created} 条已导入",
                                   returncode=SKIPPED_EXIT)
            raise CommandError(f"{len(report.bad)} 行有错误（{codes}），未导入任何数据")
