"""Domain errors: a stable code for machines and a message in Chinese for people."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused operation. ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail:
            out["detail"] = self.detail
        return out


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str = "您没有执行此操作的权限", code: str = "forbidden", **detail: Any) -> None:
        super().__init__(code, message, **detail)


class NotFound(DomainError):
    status = 404

    def __init__(self, message: str = "对象不存在或您无权查看", code: str = "not_found", **detail: Any) -> None:
        super().__init__(code, message, **detail)


class Conflict(DomainError):
    """The object changed under us (a compare-and-swap lost) or is in the wrong state."""

    status = 409
