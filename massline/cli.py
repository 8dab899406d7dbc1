"""The ``massline`` command: a thin wrapper over the management commands.

``massline <command> [args]`` is ``django-admin <command> [args]`` with our settings, plus a few
short names: ``serve`` (development server), ``worker`` (background tasks), ``sweep``.
"""

from __future__ import annotations

import os
import sys

ALIASES = {"serve": "runserver", "worker": "db_worker"}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "massline.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    elif args and "-" in args[0] and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")  # massline import-categories → import_categories
    from django.core.management import execute_from_command_line

    execute_from_command_line(["massline", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
