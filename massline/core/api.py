"""Authentication, the caller's own inbox, and a trivial endpoint (the benchmark's ceiling)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.security import HttpBearer

from massline.directory.access import grants
from massline.directory.models import Org

from . import auth, ratelimit
from .models import Notification
from .schemas import STAFF_ERRORS, MeOut, NotificationOut, OkOut, TokenIn, TokenOut, errors

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


@router.post("/auth/token", response={201: TokenOut, **errors(400, 401, 422, 429)}, auth=None,
             operation_id="issue_token")
def issue_token(request, body: TokenIn):
    """Exchange a staff username and password for an API token (shown once)."""
    ratelimit.check(request, "login")
    user, token = auth.login_for_token(body.username, body.password, body.name)
    return 201, {"token": token, "username": user.get_username(), "roles": sorted({g.role for g in grants(user)})}


@router.get("/me", response={200: MeOut, **STAFF_ERRORS}, auth=TokenAuth(), operation_id="me")
def me(request):
    user = request.auth
    scopes = {o.pk: o.code for o in Org.objects.filter(pk__in=[g.scope_id for g in grants(user) if g.scope_id])}
    return {
        "id": user.pk, "username": user.get_username(), "name": user.get_full_name(),
        "roles": [{"role": g.role, "scope": scopes.get(g.scope_id) if g.scope_id else None} for g in grants(user)],
        "unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
    }


@router.get("/me/inbox", response={200: list[NotificationOut], **STAFF_ERRORS}, auth=TokenAuth(),
            operation_id="inbox")
def inbox(request, unread_only: bool = False, limit: int = 50):
    qs = Notification.objects.filter(recipient=request.auth)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return [
        {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
         "created_at": n.created_at.isoformat(), "read": n.read_at is not None}
        for n in qs[: max(1, min(limit, 200))]
    ]


@router.post("/me/inbox/{notification_id}/read", response={200: OkOut, **STAFF_ERRORS}, auth=TokenAuth(),
             operation_id="mark_read")
def mark_read(request, notification_id: int):
    from . import clock

    Notification.objects.filter(pk=notification_id, recipient=request.auth, read_at__isnull=True).update(
        read_at=clock.now())
    return {"ok": True}
