"""Print, write or check the OpenAPI description of the JSON API (``/api/v1/openapi.json``).

    massline openapi                      # print it
    massline openapi --out openapi.json   # write it
    massline openapi --check openapi.json # exit 1 (with a diff) if the file is not the code's spec
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

# The API object lives in the project package (it mounts every app's router); imported by name so that
# this core command does not depend on the apps above core.
API = "massline.api.api"
DIFF_LINES = 40


def spec_text() -> str:
    """The code's spec as stable, pretty JSON (sorted keys, real Chinese characters, trailing newline)."""
    api = import_string(API)
    return json.dumps(api.get_openapi_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "OpenAPI 接口描述：打印、写入文件或核对已提交的文件。Print, write (--out) or check (--check) the OpenAPI spec."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--out", metavar="FILE", help="write the spec to FILE")
        group.add_argument("--check", metavar="FILE", help="exit non-zero if FILE differs from the code's spec")

    def handle(self, *args, **opts):
        text = spec_text()
        if opts.get("out"):
            Path(opts["out"]).write_text(text, encoding="utf-8")
            self.stdout.write(f"已写入 {opts['out']}（{len(json.loads(text)['paths'])} 个路径）")
            return
        if opts.get("check"):
            path = Path(opts["check"])
            try:
                committed = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"无法读取 {path}：{exc}") from None
            if committed == text:
                self.stdout.write(f"OK：{path} 与代码中的接口描述一致")
                return
            diff = list(difflib.unified_diff(committed.splitlines(), text.splitlines(), fromfile=str(path),
                                             tofile="code", lineterm="", n=2))
            shown = "\n".join(diff[:DIFF_LINES])
            more = f"\n…（还有 {len(diff) - DIFF_LINES} 行差异）" if len(diff) > DIFF_LINES else ""
            self.stderr.write(shown + more)
            raise CommandError(
                f"{path} 与代码中的接口描述不一致：请运行 `massline openapi --out {path}` 重新生成并提交"
                f" ({path} is out of date)")
        self.stdout.write(text, ending="")
