"""``massline insight rollup --rebuild | --check``: recompute the rate rollups from the record, or recompute
and compare (exit status 1 on a difference)."""

from __future__ import annotations

from django.core.management.base import CommandError


def add_arguments(parser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--rebuild", action="store_true", help="从事件记录重算三率汇总表（替换现有汇总）")
    group.add_argument("--check", action="store_true", help="重算并与现有汇总表核对，有差异时以状态 1 退出")
    parser.add_argument("--show", type=int, default=20, help="--check 时最多列出多少条差异（默认 20）")


def run(options, stdout, stderr) -> None:
    from massline.insight import rollups

    if options.get("rebuild"):
        n = rollups.rebuild()
        stdout.write(f"三率汇总表已重算：读取诉求 {n} 件。\n")
        return
    diffs = rollups.check()
    if not diffs:
        stdout.write("三率汇总表与重算结果一致。\n")
        return
    stderr.write(f"三率汇总表与重算结果有 {len(diffs)} 处差异（现有 − 重算）：\n")
    for d in diffs[: options.get("show") or 20]:
        stderr.write(f"  {d}\n")
    stderr.write("可运行 massline insight rollup --rebuild 重算。\n")
    raise CommandError(f"三率汇总表不一致（{len(diffs)} 处差异）", returncode=1)
