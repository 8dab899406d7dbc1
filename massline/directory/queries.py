"""Reads of the directory shared by pages, the API and the lifecycle."""

from __future__ import annotations

from collections.abc import Sequence
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
    return resolve_routes([(category, place)])[0]


def resolve_routes(pairs: Sequence[tuple[Category | None, Org | None]]) -> list[Route | None]:
    """``resolve_route`` for many (category, place) pairs at once: one read of the entries of every category
    involved (with their co-handling units), one of the districts the backstops need."""
    lineages = [category.lineage_ids() if category else [] for category, _ in pairs]
    cat_ids = {c for lineage in lineages for c in lineage}
    entries: dict[tuple[int | None, int], Responsibility] = {}
    if cat_ids:
        entries = {
            (e.area_id, e.category_id): e
            for e in Responsibility.objects.filter(category_id__in=cat_ids).select_related("lead_unit")
            .prefetch_related("co_units")
        }
    routes: list[Route | None] = []
    backstops: list[int] = []
    for (_, place), lineage in zip(pairs, lineages, strict=True):
        routes.append(None)
        area_ids: list[int | None] = (place.ancestor_ids() if place else []) + [None]
        found = next((e for area_id in area_ids for cat_id in lineage
                      if (e := entries.get((area_id, cat_id))) is not None and e.lead_unit.active), None)
        if found is not None:
            routes[-1] = Route(found.lead_unit, [u for u in found.co_units.all() if u.active], found, False)
        else:
            backstops.append(len(routes) - 1)
    if backstops:
        wanted = {pairs[i][1].district_id() for i in backstops if pairs[i][1] is not None} - {None}
        districts = Org.objects.in_bulk(list(wanted)) if wanted else {}
        fallback: list[Org | None] = []
        for i in backstops:
            place = pairs[i][1]
            district = districts.get(place.district_id()) if place is not None else None
            if district is None:
                if not fallback:
                    fallback.append(Org.objects.filter(kind=Org.Kind.DISTRICT, active=True).order_by("pk").first())
                district = fallback[0]
            routes[i] = Route(district, [], None, True) if district is not None else None
    return routes


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
