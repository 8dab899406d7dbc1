"""Pages of insight: the safety line's early warnings (with the demands behind each, handled with a note) and
the relationship index of a community over time. Leaders, supervisors and administrators, within their scope."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from massline.core import clock
from massline.core.errors import DomainError
from massline.core.pages import domain_error_response, refused
from massline.directory import access
from massline.directory.pages import staff_page
from massline.insight import relationship, safety
from massline.insight.models import SafetyWarning

ROLES = ("leader", "supervisor", "admin")


def detail_url(pk: int) -> str:
    """The demand's page (``demands:detail``, built by the desks; its fixed address until it is installed)."""
    try:
        return reverse("demands:detail", args=[pk])
    except NoReverseMatch:
        return f"/work/d/{pk}/"


def _cards(request: HttpRequest, warnings) -> list[dict]:
    return [{"w": w, "demands": [(d, weight, detail_url(d.pk)) for d, weight in safety.demands_behind(w, request.user)]}
            for w in warnings]


@staff_page(*ROLES)
def warnings(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "open")
    if state not in SafetyWarning.State.values:
        state = "open"
    qs = safety.visible(request.user).filter(state=state).prefetch_related("links")
    rows = list(qs.order_by("-score", "-raised_at")[:100] if state == "open" else qs.order_by("-handled_at")[:100])
    return render(request, "insight/safety/warnings.html", {
        "cards": _cards(request, rows), "state": state, "lines": [(safety.LEVEL_LABELS[k], v) for k, v in safety.lines().items()],
    })


@require_POST
@staff_page(*ROLES)
def handle(request: HttpRequest, pk: int) -> HttpResponse:
    note = request.POST.get("note", "")
    try:
        w = safety.handle(pk, request.user, note)
    except DomainError as err:
        if request.htmx:
            return domain_error_response(request, err)
        messages.error(request, err.message)
        return redirect("insight:warnings")
    if request.htmx:
        return render(request, "insight/safety/_handled.html", {"w": w})
    messages.success(request, "预警已标记为已处置")
    return redirect("insight:warnings")


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@staff_page(*ROLES)
def relationship_page(request: HttpRequest) -> HttpResponse:
    paths = sorted({g.scope_path for g in access.grants(request.user) if g.role in ROLES})
    communities = relationship.communities_in(paths)
    chosen = None
    raw = request.GET.get("community", "")
    if raw:
        chosen = next((c for c in communities if str(c.pk) == raw), None)
        if chosen is None:
            return refused(request, "该社区不在您的管辖范围内。")
    end = _date(request.GET.get("to")) or timezone.localtime(clock.now()).date()
    start = _date(request.GET.get("from")) or end - timedelta(days=29)
    if start > end or (end - start).days > 366:
        start = end - timedelta(days=29)
    points = []
    summary = []
    if chosen is not None:
        points = relationship.series([chosen], start, end)[chosen.pk]
    else:
        result = relationship.series(communities, start, end)
        for c in communities:
            last = result[c.pk][-1] if result[c.pk] else None
            summary.append({"c": c, "last": last, "label": relationship.trend_label(last.trend if last else None)})
    last = points[-1] if points else None
    return render(request, "insight/safety/relationship.html", {
        "communities": communities, "chosen": chosen, "points": list(reversed(points)), "summary": summary,
        "start": start, "end": end, "last": last,
        "trend_label": relationship.trend_label(last.trend) if last else "",
    })


urlpatterns = [
    path("warnings/", warnings, name="warnings"),
    path("warnings/<int:pk>/handle/", handle, name="warning_handle"),
    path("relationship/", relationship_page, name="relationship"),
]
