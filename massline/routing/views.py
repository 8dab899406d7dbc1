"""The dispatcher's desk: demands to dispatch with the suggested unit.

The queue holds the demands the dispatcher may see that wait for dispatch (registered or accepted). For each
row of the page shown (only those 25) the suggestion is read or computed (``services.suggest``): the active
model's first choice with its confidence and the route it implies, else the responsibility list's route.
One key confirms the suggestion; "改派" opens a form for another lead unit and co-handling units. Either way
``demands.services.dispatch`` does the work, and the ``after_dispatch`` hook records whether the dispatcher
followed the model (a different unit or category becomes a labelled example for the next model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path

from massline.core.errors import DomainError, NotFound
from massline.core.pages import paginate, query_without_page
from massline.demands import policy
from massline.demands import services as demand_services
from massline.demands.models import Demand, State, Urgency
from massline.directory.models import Role
from massline.directory.pages import staff_page

from . import services
from .forms import DispatchForm

WAITING = (State.RECEIVED, State.ACCEPTED)
DESK_ROLES = (Role.DISPATCHER, Role.ADMIN)


def waiting(user):
    """The demands ``user`` may see that wait for dispatch: emergencies first, then the oldest."""
    rank = Case(When(urgency=Urgency.EMERGENCY, then=Value(0)), When(urgency=Urgency.URGENT, then=Value(1)),
                default=Value(2), output_field=IntegerField())
    return (policy.visible(user).filter(state__in=WAITING)
            .select_related("category", "category__parent", "category__parent__parent", "place", "person")
            .annotate(urgency_rank=rank).order_by("urgency_rank", "created_at", "pk"))


@dataclass
class Row:
    demand: Demand
    advice: services.Advice
    suggested: dict[str, Any] | None  # source, label, score, lead{id,code,name}, co[...], backstop
    reason: str = ""                  # why the model did not dispatch it itself (if it said)
    others: list[dict[str, Any]] | None = None  # the alternatives: label, score (None for the list), lead, backstop

    @property
    def co_ids(self) -> list[int]:
        return [u["id"] for u in (self.suggested or {}).get("co", [])]


def _suggested(d: Demand, advice: services.Advice) -> dict[str, Any] | None:
    """The one the dispatcher confirms with one key. The model's first choice when there is a model, unless
    the demand already has a category (a person chose it) of another class, or the model's class leads only to
    the district as backstop while the list names a unit; then the responsibility list's route."""
    listed = {"source": "list", "label": "", "score": None, **advice.list_route} if advice.list_route else None
    for choice in advice.choices[:1]:
        route = choice.get("route")
        if not route:
            continue
        agrees = not d.category_id or services.level1_name(d.category) == choice["label"]
        weaker = route.get("backstop") and listed is not None and not listed["backstop"]
        if agrees and not weaker:
            return {"source": "model", "label": choice["label"], "score": choice["score"], **route}
    return listed


def _row(d: Demand, advice: services.Advice | None = None) -> Row:
    if advice is None:
        advice = services.suggest(d, store=True)
    s = advice.suggestion
    reason = services.REASONS.get(s.reason, "") if s is not None and s.reason else ""
    suggested = _suggested(d, advice)
    if s is not None and suggested is not None and suggested["source"] == "list":
        reason = f"模型判断为“{s.label}”（置信度 {s.score:.0%}），与登记分类或权责清单不一致，建议按权责清单"
    elif s is not None and not reason and s.score < s.threshold:
        reason = services.REASONS[services.BELOW_THRESHOLD]
    others = []
    for i, c in enumerate(advice.choices):
        if i == 0 and suggested is not None and suggested["source"] == "model":
            continue
        route = c.get("route") or {}
        others.append({"label": c["label"], "score": c["score"], "lead": (route.get("lead") or {}).get("name", ""),
                       "backstop": route.get("backstop", False)})
    if suggested is not None and suggested["source"] == "model" and advice.list_route:
        others.append({"label": "权责清单", "score": None, "lead": advice.list_route["lead"]["name"],
                       "backstop": advice.list_route["backstop"]})
    return Row(d, advice, suggested, reason, others)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@staff_page(*DESK_ROLES)
def dispatch_queue(request: HttpRequest) -> HttpResponse:
    page = paginate(request, waiting(request.user))
    demands = list(page.object_list)
    rows = [_row(d, a) for d, a in zip(demands, services.suggest_many(demands, store=True), strict=True)]
    # an administrator may look over the queue; dispatching is the dispatcher's (the workflow says so)
    read_only = not policy.has_role(request.user, Role.DISPATCHER)
    return render(request, "routing/desk/queue.html", {"page": page, "rows": rows, "qs": query_without_page(request),
                                                       "read_only": read_only})


def _waiting_demand(user, pk: int) -> Demand:
    d = Demand.objects.select_related("category", "place", "person").filter(pk=pk).first()
    if d is None or not policy.can_see(user, d):
        raise NotFound("诉求不存在或您无权查看")
    return d


@staff_page(*DESK_ROLES)
def dispatch_change(request: HttpRequest, pk: int) -> HttpResponse:
    """The form for another lead unit and co-handling units (a fragment for htmx, a page without it)."""
    try:
        d = _waiting_demand(request.user, pk)
    except DomainError as err:
        return render(request, "core/_result.html", {"ok": False, "message": err.message, "code": err.code},
                      status=err.status)
    row = _row(d)
    initial = {"source": "change"}
    if row.suggested:
        initial.update(lead_unit=row.suggested["lead"]["id"], co_units=row.co_ids)
    form = DispatchForm(initial=initial)
    template = "routing/desk/_change.html" if _is_htmx(request) else "routing/desk/change.html"
    return render(request, template, {"row": row, "d": d, "form": form, "co_selected": _co_selected(form)})


def _co_selected(form: DispatchForm) -> list[str]:
    return [str(v) for v in (form["co_units"].value() or [])]


def _dispatch_with(d: Demand, user, form: DispatchForm) -> Demand:
    lead = form.cleaned_data["lead_unit"]
    co = form.cleaned_data["co_units"]
    source = form.cleaned_data["source"]
    if source == "list" and not d.is_report:
        route = services.list_route(d)
        if route is not None and route.lead.pk == lead.pk and {u.pk for u in route.co_units} == {u.pk for u in co}:
            # as the list says: let the list decide, so that its entry goes on the record
            return demand_services.dispatch(d.pk, user, note="按权责清单派单")
    if source == "model":
        s = services.suggest(d, store=False).suggestion
        note = (f"确认模型建议：“{s.label}”，置信度 {s.score:.2f}" if s is not None else "确认建议派单")
    else:
        note = form.cleaned_data["note"].strip()
    return demand_services.dispatch(d.pk, user, lead_unit_id=lead.pk, co_unit_ids=[u.pk for u in co], note=note)


def _done_message(d: Demand) -> str:
    co = list(d.units.filter(active=True, role="co").select_related("unit").values_list("unit__name", flat=True))
    tail = f"，协办：{'、'.join(co)}" if co else ""
    return f"{d.code} 已派给 {d.lead_unit.name}{tail}"


@staff_page(*DESK_ROLES)
def dispatch_one(request: HttpRequest, pk: int) -> HttpResponse:
    """POST: dispatch one demand (the suggestion confirmed, or the dispatcher's own choice)."""
    if request.method != "POST":
        return redirect("routing:dispatch_queue")
    htmx = _is_htmx(request)
    try:
        d = _waiting_demand(request.user, pk)
    except DomainError as err:
        return _refusal(request, None, err.message, err.code, err.status)
    form = DispatchForm(request.POST)
    if not form.is_valid():
        message = "；".join(e for errs in form.errors.values() for e in errs)
        if htmx and form.data.get("source") == "change":
            return render(request, "routing/desk/_change.html",
                          {"row": _row(d), "d": d, "form": form, "co_selected": _co_selected(form),
                           "result": {"ok": False, "message": message, "code": "invalid_field"}}, status=400)
        return _refusal(request, d, message, "invalid_field", 400)
    try:
        d = _dispatch_with(d, request.user, form)
    except DomainError as err:
        d.refresh_from_db()
        return _refusal(request, d, err.message, err.code, err.status)
    message = _done_message(d)
    if htmx:
        return render(request, "routing/desk/_done.html", {"d": d, "message": message})
    messages.success(request, message)
    return redirect("routing:dispatch_queue")


def _refusal(request: HttpRequest, d: Demand | None, message: str, code: str, status: int) -> HttpResponse:
    if not _is_htmx(request):
        messages.error(request, message)
        return redirect("routing:dispatch_queue")
    result = {"ok": False, "message": message, "code": code}
    if d is None:
        return render(request, "core/_result.html", result, status=status)
    if d.state in WAITING:
        return render(request, "routing/desk/_row.html", {"row": _row(d), "result": result}, status=status)
    return render(request, "routing/desk/_done.html", {"d": d, "result": result}, status=status)


urlpatterns = [
    path("", dispatch_queue, name="dispatch_queue"),
    path("<int:pk>/", dispatch_one, name="dispatch"),
    path("<int:pk>/change/", dispatch_change, name="dispatch_change"),
]
