"""Authentication, the caller's own inbox, and a trivial endpoint (the benchmark's ceiling)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.security import HttpBearer

from . import auth
from .models import Notification
from .schemas import STAFF_ERRORS, NotificationOut, OkOut

router = Router(tags=["auth"])


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = auth.user_for(token)
        if user is not None:
            request.user = user
        return user


class _Anonymous:
    is_authenticated = False
    pk = None

    def __bool__(self) -> bool:
        return True


ANONYMOUS = _Anonymous()


class OptionalTokenAuth(HttpBearer):
    """A token when one is sent (and it must then be valid); anonymous otherwise."""

    def __call__(self, request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if not header:
            return ANONYMOUS
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str):
        return TokenAuth().authenticate(request, token)


def caller(request):
    """The authenticated user, or None for an anonymous public call."""
    who = getattr(request, "auth", None)
    return None if who is None or who is ANONYMOUS else who


@router.get("/ping", response={200: OkOut}, auth=None, operation_id="ping", tags=["system"])
def ping(request):
    """A trivial answer: the ceiling for benchmarks."""
    return {"ok": True}


@router.get("/me/inbox", response={200: list[NotificationOut], **STAFF_ERRORS}, auth=TokenAuth(),
            operation_id="inbox")
def inbox(request, unread_only: bool = False, limit: int = 50):
    qs = Notification.objects.filter(recipient=request.auth)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return [
        {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
         "created_at": timezone.localtime(n.created_at).isoformat(), "read": n.read_at is not None}
        for n in qs[: max(1, min(limit, 200))]
    ]


@router.post("/me/inbox/{notification_id}/read", response={200: OkOut, **STAFF_ERRORS}, auth=TokenAuth(),
             operation_id="mark_read")
def mark_read(request, notification_id: int):
    from . import clock

    Notification.objects.filter(pk=notification_id, recipient=request.auth, read_at__isnull=True).update(
        read_at=clock.now())
    return {"ok": True}
