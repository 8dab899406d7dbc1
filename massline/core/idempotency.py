"""Idempotent POSTs: the first answer to an ``Idempotency-Key`` is stored and replayed for its retries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from . import clock
from .errors import DomainError
from .models import IdempotencyRecord


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not 8 <= len(key) <= 120 or not all(c.isalnum() or c in "-_:." for c in key):
        raise DomainError("invalid_idempotency_key", "Idempotency-Key 应为 8–120 位字母、数字或 -_:.", status=400)
    return key


def run(key: str, principal: str, payload: Any, fn: Callable[[], tuple[int, Any]]) -> tuple[int, Any, bool]:
    """Run ``fn`` once per (principal, key). Returns (status, body, replayed)."""
    key = check_key(key)
    digest = request_hash(payload)
    existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
    if existing is None:
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(key=key, principal=principal, request_hash=digest,
                                                 created_at=clock.now())
                status, body = fn()
                IdempotencyRecord.objects.filter(principal=principal, key=key).update(status_code=status, response=body)
                return status, body, False
        except IntegrityError:
            # a concurrent request with the same key committed first: answer with its result
            existing = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
            if existing is None:
                raise
    if existing.request_hash != digest:
        raise DomainError("idempotency_key_reused", "同一个 Idempotency-Key 已用于内容不同的请求", status=422)
    if existing.status_code is None:
        raise DomainError("idempotency_in_progress", "相同请求正在处理中，请稍后重试", status=409)
    return existing.status_code, existing.response, True
