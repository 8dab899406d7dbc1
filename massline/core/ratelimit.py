"""A fixed-window rate limit per client address, kept in the cache (``MASSLINE_CACHE=db`` shares it
between processes)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from .errors import DomainError


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def check(request, bucket: str, per_minute: int | None = None) -> None:
    limit = per_minute or settings.MASSLINE["PUBLIC_RATE_PER_MINUTE"]
    window = int(time.time() // 60)
    key = f"rl:{bucket}:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=90):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:
            cache.set(key, 1, timeout=90)
            count = 1
    if count > limit:
        raise DomainError("rate_limited", "请求过于频繁，请一分钟后再试", status=429, retry_after_seconds=60)
