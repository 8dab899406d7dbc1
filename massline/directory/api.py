"""Reference data the public submit form and staff tools read."""

from __future__ import annotations

from ninja import Router

from massline.core.schemas import errors

from .models import Category, Org
from .schemas import CategoryOut, OrgOut

router = Router(tags=["directory"])


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
