"""Shared helpers for the benchmarks: the machine they ran on, the private PostgreSQL cluster, and a
fresh database of their own (never the test or development database).

Every benchmark only talks to 127.0.0.1 and prints the machine line next to its figures, because the
machines are shared: absolute numbers move with the neighbours' load, ratios against a baseline
measured in the same run move much less.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PG_SCRIPT = ROOT / "scripts" / "pg.sh"
BENCH_DB_PREFIX = "massline_bench"


# --- the machine ----------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine(pg_version: str = "") -> dict[str, object]:
    """What the figures were measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "os": f"{platform.system()} {platform.release()}",
        "loadavg_at_start": _loadavg(),
    }


def machine_line(info: dict[str, object]) -> str:
    pg = f", PostgreSQL {info['postgresql']}" if info.get("postgresql") else ""
    return (f"machine: {info['cpu']}, {info['usable_cores']}/{info['cores']} cores, {info['memory_gib']} GiB, "
            f"Python {info['python']}{pg}, {info['os']}, load average at start {info['loadavg_at_start']}")


# --- PostgreSQL -----------------------------------------------------------------------------------

def start_postgres() -> str:
    """Start (or find running) the private cluster; its admin DATABASE_URL."""
    out = subprocess.run([str(PG_SCRIPT), "start"], check=True, capture_output=True, text=True, timeout=600)
    url = out.stdout.strip().splitlines()[-1].strip()
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"the benchmark only talks to 127.0.0.1, but scripts/pg.sh gave {url}")
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _check_name(name: str) -> None:
    if not re.fullmatch(rf"{BENCH_DB_PREFIX}[a-z0-9_]*", name):
        raise ValueError(f"refusing to touch database {name!r}: benchmark databases are named {BENCH_DB_PREFIX}*")


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and create the benchmark's own database; its URL."""
    import psycopg

    _check_name(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    _check_name(name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else ""


def setup_django(database_url: str, **env: str) -> None:
    """Point this process at the benchmark database and start Django."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "massline.settings")
    os.environ.setdefault("MASSLINE_LOG_LEVEL", "WARNING")
    for key, value in env.items():
        os.environ[key] = value
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- figures --------------------------------------------------------------------------------------

def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of already sorted values; NaN when there are none."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of another local process (a PostgreSQL backend), from /proc; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def json_line(name: str, figures: dict[str, object], info: dict[str, object]) -> str:
    return "BENCH_JSON " + json.dumps({"benchmark": name, **figures, "machine": info}, ensure_ascii=False,
                                      sort_keys=True)
