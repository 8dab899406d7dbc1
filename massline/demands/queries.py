"""Reads of demands shared by pages, the API and exports. Everything starts from ``policy.visible``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from massline.core.models import Event

from . import policy
from .models import Demand


@dataclass
class Filters:
    q: str = ""
    code: str = ""
    phone: str = ""
    state: str = ""
    type: str = ""
    channel: str = ""
    unit_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool | None = None
    supervision: int | None = None


def search(user, f: Filters) -> QuerySet[Demand]:
    qs = policy.visible(user).select_related("category", "lead_unit", "place", "person")
    if f.code:
        qs = qs.filter(code__iexact=f.code.strip())
    if f.phone:
        qs = qs.filter((Q(person__phone=f.phone.strip()) & policy.identity_q(user)) | Q(agent__phone=f.phone.strip()))
    if f.q:
        qs = qs.filter(Q(title__icontains=f.q) | Q(content__icontains=f.q) | Q(address__icontains=f.q))
    for name in ("state", "type", "channel"):
        value = getattr(f, name)
        if value:
            qs = qs.filter(**{name: value})
    if f.unit_id is not None:
        qs = qs.filter(lead_unit_id=f.unit_id)
    if f.created_from:
        qs = qs.filter(created_at__date__gte=f.created_from)
    if f.created_to:
        qs = qs.filter(created_at__date__lte=f.created_to)
    if f.overdue is not None:
        qs = qs.filter(overdue=f.overdue)
    if f.supervision is not None:
        qs = qs.filter(supervision=f.supervision)
    return qs.order_by("-created_at", "-pk")


def timeline(demand: Demand) -> QuerySet[Event]:
    return Event.objects.filter(chain=demand.chain).order_by("seq")


def mask_phone(phone: str) -> str:
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_name(name: str) -> str:
    return (name[0] + "*" * (len(name) - 1)) if name else ""


def person_view(user, d: Demand, *, full: bool = False) -> dict:
    """The person as ``user`` may see them: anonymous and confidential identities stay hidden from those
    who may not see them; phone numbers are masked unless ``full`` (a detail view for a role that needs it)."""
    if d.identity == "anonymous" or d.person is None:
        return {"identity": d.identity, "name": "匿名", "phone": ""}
    if not policy.may_see_identity(user, d):
        return {"identity": d.identity, "name": "（保密）", "phone": ""}
    p = d.person
    return {"identity": d.identity, "name": p.name, "phone": p.phone if full else mask_phone(p.phone)}


def earlier_by_phone(user, phone: str, limit: int = 20) -> QuerySet[Demand]:
    """The person's earlier demands, for recognising repeat callers (only what the user may see)."""
    return policy.visible(user).filter(policy.identity_q(user), person__phone=phone.strip()).order_by("-created_at")[:limit]
