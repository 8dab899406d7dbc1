"""Reads of the directory shared by pages, the API and the lifecycle."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from .models import Category, Org, Responsibility, Role, RoleAssignment


@dataclass
class Route:
    """Where a demand goes: the lead unit, default co-handling units and the entry that said so."""

    lead: Org
    co_units: list[Org]
    entry: Responsibility | None
    backstop: bool


def resolve_route(category: Category | None, place: Org | None) -> Route | None:
    """Category × area → the responsibility list's entry, most specific area first, then most specific
    category. An area with no entry falls back to its district as the backstop (兜底)."""
    area_ids: list[int | None] = (place.ancestor_ids() if place else []) + [None]
    cat_ids = category.lineage_ids() if category else []
    if cat_ids:
        entries = {
            (e.area_id, e.category_id): e
            for e in Responsibility.objects.filter(category_id__in=cat_ids).select_related("lead_unit")
        }
        for area_id in area_ids:
            for cat_id in cat_ids:
                entry = entries.get((area_id, cat_id))
                if entry is not None and entry.lead_unit.active:
                    return Route(entry.lead_unit, [u for u in entry.co_units.all() if u.active], entry, False)
    district_id = place.district_id() if place else None
    district = Org.objects.filter(pk=district_id).first() if district_id else None
    if district is None:
        district = Org.objects.filter(kind=Org.Kind.DISTRICT, active=True).order_by("pk").first()
    if district is None:
        return None
    return Route(district, [], None, True)


def subtree(org: Org):
    return Org.objects.filter(path__startswith=org.path)


def users_with_role(role: str, org: Org | None) -> list[int]:
    """Users holding ``role`` over ``org`` (their scope contains it), or anywhere when org is None."""
    qs = RoleAssignment.objects.filter(role=role, active=True, user__is_active=True).select_related("scope")
    out = []
    for ra in qs:
        if org is None or ra.scope is None or org.path.startswith(ra.scope.path):
            out.append(ra.user_id)
    return out


def handlers_of(unit: Org) -> list[int]:
    """The handlers who answer for ``unit``: held at the unit itself (not above it)."""
    return list(
        RoleAssignment.objects.filter(role=Role.HANDLER, scope=unit, active=True, user__is_active=True)
        .values_list("user_id", flat=True)
    )


def staff_user(username: str):
    return get_user_model().objects.filter(username=username).first()
