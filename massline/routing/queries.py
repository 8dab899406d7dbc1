"""How well automatic dispatch does, per first-level category (for the administrator).

For each category: how many demands were dispatched, the share dispatched automatically, and of those the
share later returned by the unit (退单申请) and the share re-dispatched after an upheld return (改派) — the
real accuracy of automatic dispatch is one minus the re-dispatched share. Also how often the dispatchers
followed the model's first suggestion when it waited for them, and how many corrections were recorded.

A demand's category is the first level of its own category, else (an automatic dispatch of an uncategorised
demand) the label the model dispatched it under, else "未分类". Whistle-blowing reports are not counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from massline.demands.models import Demand, DemandType, ReturnRequest

from . import adapter
from .models import RoutingExample, Suggestion
from .services import category_for_label, default_threshold

UNCATEGORISED = "未分类"


@dataclass
class Row:
    category: str
    dispatched: int = 0
    auto: int = 0
    auto_returned: int = 0
    auto_redispatched: int = 0
    waited: int = 0          # model suggestions decided by a dispatcher
    followed: int = 0        # … where the dispatcher's category was the model's first suggestion
    corrections: int = 0     # labelled examples recorded with this category
    threshold: float | None = None

    @property
    def auto_share(self) -> float | None:
        return self.auto / self.dispatched if self.dispatched else None

    @property
    def returned_share(self) -> float | None:
        return self.auto_returned / self.auto if self.auto else None

    @property
    def redispatched_share(self) -> float | None:
        return self.auto_redispatched / self.auto if self.auto else None

    @property
    def auto_accuracy(self) -> float | None:
        return 1 - self.auto_redispatched / self.auto if self.auto else None

    @property
    def followed_share(self) -> float | None:
        return self.followed / self.waited if self.waited else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for k in ("auto_share", "returned_share", "redispatched_share", "auto_accuracy", "followed_share"):
            v = getattr(self, k)
            out[k] = round(v, 4) if v is not None else None
        return out


def _level1_name():
    auto_label = Suggestion.objects.filter(demand=OuterRef("pk"), decided=Suggestion.Decided.AUTO).values("label")[:1]
    return Coalesce("category__parent__parent__name", "category__parent__name", "category__name",
                    Subquery(auto_label), Value(UNCATEGORISED))


def report(since: datetime | None = None, until: datetime | None = None) -> list[Row]:
    """One row per category (most dispatched first), then a total row named "合计". ``since``/``until``
    bound the demands by their registration time (created_at)."""
    from .models import CategoryThreshold

    demands = Demand.objects.filter(dispatched_at__isnull=False).exclude(type=DemandType.REPORT)
    if since is not None:
        demands = demands.filter(created_at__gte=since)
    if until is not None:
        demands = demands.filter(created_at__lt=until)
    is_auto = Exists(Suggestion.objects.filter(demand=OuterRef("pk"), decided=Suggestion.Decided.AUTO))
    returned = Exists(ReturnRequest.objects.filter(demand=OuterRef("pk")))
    redispatched = Exists(ReturnRequest.objects.filter(demand=OuterRef("pk"), status=ReturnRequest.Status.UPHELD))
    grouped = (demands.annotate(cat=_level1_name(), is_auto=is_auto, returned=returned, redispatched=redispatched)
               .values("cat")
               .annotate(dispatched=Count("pk"), auto=Count("pk", filter=Q(is_auto=True)),
                         auto_returned=Count("pk", filter=Q(is_auto=True, returned=True)),
                         auto_redispatched=Count("pk", filter=Q(is_auto=True, redispatched=True))))
    rows: dict[str, Row] = {}
    for g in grouped:
        rows[g["cat"]] = Row(g["cat"], g["dispatched"], g["auto"], g["auto_returned"], g["auto_redispatched"])

    waited = Suggestion.objects.filter(decided=Suggestion.Decided.DISPATCHER).exclude(chosen_label="")
    if since is not None:
        waited = waited.filter(demand__created_at__gte=since)
    if until is not None:
        waited = waited.filter(demand__created_at__lt=until)
    for g in waited.values("chosen_label").annotate(n=Count("pk"), same=Count("pk", filter=Q(label=F("chosen_label")))):
        row = rows.setdefault(g["chosen_label"], Row(g["chosen_label"]))
        row.waited, row.followed = g["n"], g["same"]

    examples = RoutingExample.objects.all()
    if since is not None:
        examples = examples.filter(demand__created_at__gte=since)
    if until is not None:
        examples = examples.filter(demand__created_at__lt=until)
    for label, n in examples.values_list("label").annotate(n=Count("pk")):
        rows.setdefault(label, Row(label)).corrections = n

    thresholds = dict(CategoryThreshold.objects.values_list("category__name", "threshold"))
    default = default_threshold()
    out = sorted(rows.values(), key=lambda r: (-r.dispatched, r.category))
    for r in out:
        r.threshold = float(thresholds.get(r.category, default)) if r.category != UNCATEGORISED else None
    total = Row("合计")
    for r in out:
        for k in ("dispatched", "auto", "auto_returned", "auto_redispatched", "waited", "followed", "corrections"):
            setattr(total, k, getattr(total, k) + getattr(r, k))
    return [*out, total]



# --- the public form's suggestion as the person types ------------------------------------------------------

def suggest_categories(title: str, content: str, limit: int = 3) -> list[tuple[Any, float]]:
    """The active model's first-level categories for a text not yet recorded, best first, as (Category, score)
    — for the residents' form, as they type. Labels the category tree lacks are left out; nothing is stored.
    ``[]`` when no model is active (the form then shows the plain picker only) or the text is too short."""
    text = f"{title or ''}{content or ''}".strip()
    if len(text) < 4:
        return []
    model = adapter.active()
    if model is None:
        return []
    guess = model.predict(title or "", content or "")
    out: list[tuple[Any, float]] = []
    for label, score in guess.top[:limit]:
        category = category_for_label(label)
        if category is not None:
            out.append((category, score))
    return out
