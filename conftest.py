"""Shared fixtures: a small jurisdiction with a staff member for every role, and a fixed clock."""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    """A moment in Beijing time: at(2026, 9, 28, 10) is 2026-09-28 10:00 +08:00."""
    return datetime(*args, tzinfo=TZ)


@pytest.fixture
def city(db):
    from massline.core import calendar
    from massline.directory.smallcity import build

    calendar.invalidate()
    return build()


FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: fast logins


@pytest.fixture(scope="module")
def module_city(django_db_setup, django_db_blocker):
    """The small jurisdiction built once for a module and rolled back after it (a module opts in by defining
    ``city`` as this fixture); each test still runs in its own savepoint."""
    from django.db import transaction
    from django.test import override_settings

    from massline.core import calendar
    from massline.directory.smallcity import build

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        calendar.invalidate()
        yield build()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _fresh_calendar():
    """The calendar is cached per process: a year covered in one test never leaks into the next."""
    from massline.core import calendar

    calendar.invalidate()
    yield
    calendar.invalidate()


@pytest.fixture(autouse=True)
def _tmp_attachments(settings, tmp_path):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    settings.ATTACHMENT_DIR = tmp_path / "attachments"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"test-{os.getpid()}-{tmp_path}"}}


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser); skips when it is not installed."""
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
