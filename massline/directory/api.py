"""Reference data the public submit form and staff tools read."""

from __future__ import annotations

from ninja import Router

from massline.core import auth, ratelimit
from massline.core.api import TokenAuth
from massline.core.models import Notification
from massline.core.schemas import STAFF_ERRORS, MeOut, TokenIn, TokenOut, errors

from .access import grants
from .models import Category, Org
from .schemas import CategoryOut, OrgOut

router = Router(tags=["directory"])
auth_router = Router(tags=["auth"])


@router.get("/categories", response={200: list[CategoryOut], **errors(422)}, auth=None, operation_id="categories")
def categories(request, level: int | None = None):
    """The three-level category tree (active categories)."""
    qs = Category.objects.filter(active=True)
    if level is not None:
        qs = qs.filter(level=level)
    return list(qs.values("id", "name", "full_name", "level", "parent_id"))


@router.get("/orgs", response={200: list[OrgOut], **errors(422)}, auth=None, operation_id="orgs")
def orgs(request, kind: str | None = None, parent_id: int | None = None):
    """The organisation tree: areas (district → street → community → grid) and handling units."""
    qs = Org.objects.filter(active=True)
    if kind:
        qs = qs.filter(kind=kind)
    if parent_id is not None:
        qs = qs.filter(parent_id=parent_id)
    return list(qs.values("id", "code", "name", "kind", "parent_id", "depth"))


@auth_router.post("/auth/token", response={201: TokenOut, **errors(400, 401, 422, 429)}, auth=None,
             operation_id="issue_token")
def issue_token(request, body: TokenIn):
    """Exchange a staff username and password for an API token (shown once)."""
    ratelimit.check(request, "login")
    user, token = auth.login_for_token(body.username, body.password, body.name)
    return 201, {"token": token, "username": user.get_username(), "roles": sorted({g.role for g in grants(user)})}


@auth_router.get("/me", response={200: MeOut, **STAFF_ERRORS}, auth=TokenAuth(), operation_id="me")
def me(request):
    user = request.auth
    scopes = {o.pk: o.code for o in Org.objects.filter(pk__in=[g.scope_id for g in grants(user) if g.scope_id])}
    return {
        "id": user.pk, "username": user.get_username(), "name": user.get_full_name(),
        "roles": [{"role": g.role, "scope": scopes.get(g.scope_id) if g.scope_id else None} for g in grants(user)],
        "unread": Notification.objects.filter(recipient=user, read_at__isnull=True).count(),
    }
