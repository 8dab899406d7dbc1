"""Who may see and do what to which demand: the one place where object-level access is decided.

Whistle-blowing reports (举报) are visible only to discipline inspection (and to the person who made
them): every list, search, export, count and API read goes through ``visible_q``.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from massline.core.errors import NotFound, PermissionDenied
from massline.directory.access import grants, has_role, primary_role
from massline.directory.models import Role

from . import workflow
from .models import Demand, DemandType, DemandUnit, Identity

AREA_ROLES = (Role.INTAKE, Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
# on a whistle-blowing report, discipline inspection does every staff job
REPORT_ROLES = {Role.INTAKE, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.LEADER}
# may see a confidential person's identity
IDENTITY_ROLES = {Role.INTAKE, Role.SUPERVISOR, Role.DISCIPLINE}


__all__ = ["PermissionDenied", "authorize", "can_see", "grants", "has_role", "has_staff_role", "identity_q",
           "intake_role", "may_see_identity", "primary_role", "roles_over", "visible", "visible_q"]

STAFF_ROLES = (Role.INTAKE, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.LEADER, Role.DISCIPLINE, Role.ADMIN)


def has_staff_role(user) -> bool:
    return has_role(user, *STAFF_ROLES)


def intake_role(user) -> str:
    """The role a submission is recorded under: the staff role that took it in, or "public"."""
    for role in (Role.INTAKE, Role.DISPATCHER, Role.DISCIPLINE):
        if has_role(user, role):
            return str(role)
    if user is not None and getattr(user, "is_authenticated", False):
        return "citizen"
    return "public"


def _covers(scope_path: str, *paths: str) -> bool:
    return scope_path == "" or any(p and p.startswith(scope_path) for p in paths)


def _co_paths(demand: Demand) -> list[str]:
    cached = getattr(demand, "_co_paths", None)
    if cached is None:
        cached = list(demand.units.filter(active=True, role=DemandUnit.Role.CO).values_list("unit_path", flat=True))
        demand._co_paths = cached
    return cached


def roles_over(user, demand: Demand, over: str = "area") -> set[str]:
    """The roles ``user`` holds over ``demand`` for an action of kind ``over`` (see workflow.Transition)."""
    held: set[str] = set()
    for g in grants(user):
        if demand.is_report:
            if g.role == Role.DISCIPLINE and _covers(g.scope_path, demand.area_path, demand.lead_path):
                held |= REPORT_ROLES
            continue
        if over == "area" and g.role in AREA_ROLES and _covers(g.scope_path, demand.area_path, demand.lead_path):
            held.add(g.role)
        elif over == "unit" and g.role == Role.HANDLER and demand.lead_path and g.scope_path == demand.lead_path:
            held.add(g.role)
        elif over == "unit" and g.role == Role.SUPERVISOR and _covers(g.scope_path, demand.area_path, demand.lead_path):
            held.add(g.role)  # supervisors may resume a suspended demand
        elif over == "co" and g.role == Role.HANDLER and g.scope_path in _co_paths(demand):
            held.add(g.role)
    if is_own(user, demand):
        held.add(workflow.PERSON)
    return held


def is_own(user, demand: Demand) -> bool:
    person_user = getattr(getattr(demand, "person", None), "user_id", None) if demand.person_id else None
    return bool(user is not None and getattr(user, "is_authenticated", False) and person_user == user.pk)


def visible_q(user) -> Q:
    """A filter for the demands ``user`` may see."""
    q = Q(pk__in=[])
    not_report = ~Q(type=DemandType.REPORT)
    for g in grants(user):
        p = g.scope_path
        scope = Q() if p == "" else (Q(area_path__startswith=p) | Q(lead_path__startswith=p))
        if g.role in AREA_ROLES:
            q |= scope & not_report
        elif g.role == Role.HANDLER and p:
            # a handler acts for the one unit where the role is held, not for the units below it
            co = Exists(DemandUnit.objects.filter(demand=OuterRef("pk"), active=True, unit_path=p))
            q |= (Q(lead_path=p) | co) & not_report
        elif g.role == Role.DISCIPLINE:
            q |= scope & Q(type=DemandType.REPORT)
    if user is not None and getattr(user, "is_authenticated", False):
        q |= Q(person__user=user)
    return q


def visible(user):
    return Demand.objects.filter(visible_q(user))


def identity_q(user) -> Q:
    """A filter for the demands whose person ``user`` may know (mirrors ``may_see_identity`` for demands the
    user sees): a search by the person's phone must not tell a handler who raised a confidential demand."""
    q = Q(identity=Identity.NAMED)
    if user is not None and getattr(user, "is_authenticated", False):
        q |= Q(person__user=user)
    for g in grants(user):
        p = g.scope_path
        scope = Q() if p == "" else (Q(area_path__startswith=p) | Q(lead_path__startswith=p))
        if g.role in (Role.INTAKE, Role.SUPERVISOR):
            q |= scope & ~Q(type=DemandType.REPORT)
        elif g.role == Role.DISCIPLINE:
            q |= scope & Q(type=DemandType.REPORT)
    return q


def can_see(user, demand: Demand) -> bool:
    if is_own(user, demand):
        return True
    for g in grants(user):
        if demand.is_report:
            if g.role == Role.DISCIPLINE and _covers(g.scope_path, demand.area_path, demand.lead_path):
                return True
            continue
        if g.role in AREA_ROLES and _covers(g.scope_path, demand.area_path, demand.lead_path):
            return True
        if g.role == Role.HANDLER and g.scope_path and (
            g.scope_path == demand.lead_path or g.scope_path in _co_paths(demand)
        ):
            return True
    return False


def authorize(user, demand: Demand, action: str) -> str:
    """The role under which ``user`` may do ``action`` to ``demand`` now; refuses otherwise.

    A demand the user may not see is "not found" (its existence is not revealed)."""
    if not can_see(user, demand):
        raise NotFound()
    t = workflow.check_state(action, demand.state)
    role = workflow.check_role(action, roles_over(user, demand, t.over))
    if demand.is_report and role != workflow.PERSON:
        return str(Role.DISCIPLINE)
    return role


def may_see_identity(user, demand: Demand) -> bool:
    """Identity of a confidential person: intake, supervision and discipline only (and the person)."""
    if demand.identity == "anonymous":
        return False
    if demand.identity == "named":
        return can_see(user, demand)
    if is_own(user, demand):
        return True
    return bool(roles_over(user, demand, "area") & IDENTITY_ROLES)
