from __future__ import annotations

from typing import Any

from ninja import Schema


class ErrorOut(Schema):
    code: str
    message: str
    detail: dict[str, Any] | None = None


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The documented error answers of an operation (every 4xx has the same body)."""
    return dict.fromkeys(statuses, ErrorOut)


PUBLIC_ERRORS = errors(400, 404, 409, 422, 429)
STAFF_ERRORS = errors(400, 401, 403, 404, 409, 422)


class TokenIn(Schema):
    username: str
    password: str
    name: str = "api"


class TokenOut(Schema):
    token: str
    username: str
    roles: list[str]


class RoleOut(Schema):
    role: str
    scope: str | None


class MeOut(Schema):
    id: int
    username: str
    name: str
    roles: list[RoleOut]
    unread: int


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: str
    read: bool


class OkOut(Schema):
    ok: bool = True
