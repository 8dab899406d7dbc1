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


@pytest.fixture(autouse=True)
def _tmp_attachments(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # tests only: fast logins
    settings.ATTACHMENT_DIR = tmp_path / "attachments"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"test-{os.getpid()}-{tmp_path}"}}


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"
