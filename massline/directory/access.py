"""Who holds which role where. Every permission decision starts here (object rules live with the
objects: ``massline.demands.policy``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from .models import Org, Role, RoleAssignment


@dataclass(frozen=True)
class Grant:
    role: str
    scope_id: int | None
    scope_path: str  # "" for the whole jurisdiction

    def covers_path(self, path: str) -> bool:
        return self.scope_path == "" or path.startswith(self.scope_path)


def grants(user) -> list[Grant]:
    """The user's active role grants, loaded once per user object."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_massline_grants", None)
    if cached is not None:
        return cached
    rows = RoleAssignment.objects.filter(user=user, active=True).select_related("scope")
    out = [Grant(r.role, r.scope_id, r.scope.path if r.scope else "") for r in rows]
    if user.is_superuser and not any(g.role == Role.ADMIN for g in out):
        out.append(Grant(Role.ADMIN, None, ""))
    user._massline_grants = out
    return out


def roles(user) -> set[str]:
    return {g.role for g in grants(user)}


def has_role(user, *wanted: str) -> bool:
    return any(g.role in wanted for g in grants(user))


def holds(user, role: str, org: Org | None) -> bool:
    """Does the user hold ``role`` with ``org`` inside its scope? (org None: any scope.)"""
    for g in grants(user):
        if g.role != role:
            continue
        if org is None or g.covers_path(org.path):
            return True
    return False


def scope_q(user, role: str, *path_fields: str) -> Q | None:
    """A filter matching rows whose org (given by one or more ``…__path`` lookups) lies in a scope where
    the user holds ``role``. None when the user does not hold the role at all; an empty Q when the
    user holds it everywhere."""
    scoped = [g for g in grants(user) if g.role == role]
    if not scoped:
        return None
    if any(g.scope_path == "" for g in scoped):
        return Q()
    q = Q()
    for g in scoped:
        for f in path_fields:
            q |= Q(**{f"{f}__startswith": g.scope_path})
    return q


def primary_role(user) -> str:
    """The role an action is recorded under when the user holds several (the most senior one)."""
    order = [Role.ADMIN, Role.DISCIPLINE, Role.LEADER, Role.SUPERVISOR, Role.DISPATCHER, Role.INTAKE, Role.HANDLER,
             Role.CITIZEN]
    have = roles(user)
    for r in order:
        if r in have:
            return str(r)
    return "citizen"
