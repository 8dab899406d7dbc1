"""API tokens: ``Authorization: Bearer <token>``. Only a token's SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import authenticate
from django.db.models import Q

from . import clock
from .errors import DomainError
from .models import ApiToken


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(user, name: str = "api") -> str:
    raw = "ml_" + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:80], prefix=raw[:8], key_hash=_digest(raw), created_at=clock.now())
    return raw


def login_for_token(username: str, password: str, name: str = "api") -> tuple[object, str]:
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise DomainError("bad_credentials", "用户名或密码不正确", status=401)
    return user, issue(user, name)


def user_for(raw: str):
    if not raw:
        return None
    tok = ApiToken.objects.select_related("user").filter(key_hash=_digest(raw), revoked_at__isnull=True).first()
    if tok is None or not tok.user.is_active:
        return None
    now = clock.now()
    # touch at most once a minute, so a busy token does not write on every request
    ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=now.replace(second=0, microsecond=0)),
                            pk=tok.pk).update(last_used_at=now)
    return tok.user


def revoke(user, prefix: str) -> int:
    return ApiToken.objects.filter(user=user, prefix=prefix, revoked_at__isnull=True).update(revoked_at=clock.now())
