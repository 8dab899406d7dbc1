"""Supervisor, leader and discipline desks; the return requests to rule on; search and export.

Every list starts from ``policy.visible`` (through ``queries``), so a street's supervisor sees the street's
demands only and whistle-blowing reports reach discipline inspection only. Every action goes through
``services`` (which checks the workflow and the object-level rules again) and answers, for htmx, with the row
it changed and the result next to the control that caused it; without htmx, with a redirect and a message.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone

from massline.core import clock
from massline.core.errors import DomainError, NotFound
from massline.core.pages import paginate, query_without_page
from massline.directory.models import Role
from massline.directory.pages import staff_page

from .. import exports, policy, queries, services
from ..desk_forms import ExtensionDecisionForm, NoteForm, SearchForm, UpholdForm
from ..models import Demand, DemandType

SUPERVISOR_ROLES = (Role.SUPERVISOR, Role.ADMIN)
LEADER_ROLES = (Role.LEADER, Role.ADMIN)
SEARCH_ROLES = (Role.INTAKE, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.LEADER, Role.DISCIPLINE,
                Role.ADMIN)

SUPERVISOR_TABS = [
    ("overdue", "已超期"),
    ("due_soon", "即将到期"),
    ("supervised", "督办中"),
    ("listed", "挂牌督办"),
    ("extensions", "延期待审批"),
    ("replied", "已答复待回访"),
]
LEADER_TABS = [("listed", "挂牌督办"), ("overdue", "已超期"), ("supervised", "督办中")]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _first_error(form) -> str:
    return "；".join(e for errs in form.errors.values() for e in errs)


def _load_visible(user, pk: int) -> Demand:
    d = Demand.objects.select_related("category", "lead_unit", "place", "person").filter(pk=pk).first()
    if d is None or not policy.can_see(user, d):
        raise NotFound("诉求不存在或您无权查看")
    return d


def _act(request: HttpRequest, back: str, fn: Callable[[], str], render_row: Callable[[dict], HttpResponse]
         ) -> HttpResponse:
    """Run ``fn`` (a service call returning the success message). htmx: the row re-rendered by
    ``render_row(result)`` with the result in it; plain: a redirect to ``back`` with a message."""
    try:
        message = fn()
        result = {"ok": True, "message": message, "code": ""}
        status = 200
    except DomainError as err:
        result = {"ok": False, "message": err.message, "code": err.code}
        status = err.status
    if not _htmx(request):
        (messages.success if result["ok"] else messages.error)(request, result["message"])
        return redirect(back)
    response = render_row(result)
    response.status_code = status
    return response


def _back(request: HttpRequest, default: str) -> str:
    """Where a plain form goes back to: the desk (and tab) it was posted from."""
    nxt = request.POST.get("next", "")
    return nxt if nxt.startswith("/work/") and "//" not in nxt else default


# --- return requests (退单审核) ----------------------------------------------------------------------------

@staff_page(Role.DISPATCHER, Role.ADMIN)
def returns(request: HttpRequest) -> HttpResponse:
    page = paginate(request, queries.pending_returns(request.user))
    # an administrator may look over the returns; ruling on them is the dispatcher's (the workflow says so)
    read_only = not policy.has_role(request.user, Role.DISPATCHER)
    return render(request, "demands/desks/returns.html", {"page": page, "qs": query_without_page(request),
                                                          "read_only": read_only})


def _return_row(request: HttpRequest, pk: int, result: dict) -> HttpResponse:
    rr = queries.pending_returns(request.user).filter(demand_id=pk).first()
    if rr is None:
        d = Demand.objects.filter(pk=pk).select_related("lead_unit").first()
        if d is None or not policy.can_see(request.user, d):
            return render(request, "core/_result.html", result)
        return render(request, "demands/desks/_done.html", {"d": d, "result": result, "row_id": f"ret-{pk}",
                                                            "cols": 4})
    return render(request, "demands/desks/_return_row.html", {"rr": rr, "result": result})


@staff_page(Role.DISPATCHER, Role.ADMIN)
def return_uphold(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the form to re-dispatch to a unit of the dispatcher's choice (a fragment for htmx); POST: uphold."""
    if request.method != "POST":
        rr = queries.pending_returns(request.user).filter(demand_id=pk).first()
        if rr is None:
            return render(request, "core/_result.html", {"ok": False, "message": "没有待审的退单申请",
                                                         "code": "no_pending_return"}, status=404)
        form = UpholdForm(initial={"lead_unit": rr.suggested_unit_id})
        template = "demands/desks/_uphold_form.html" if _htmx(request) else "demands/desks/uphold.html"
        return render(request, template, {"rr": rr, "form": form})
    form = UpholdForm(request.POST)

    def run() -> str:
        if not form.is_valid():
            raise DomainError("invalid_field", _first_error(form))
        lead = form.cleaned_data["lead_unit"]
        co = form.cleaned_data["co_units"]
        d = services.uphold_return(pk, request.user, lead_unit_id=lead.pk if lead else None,
                                   co_unit_ids=[u.pk for u in co] if co else None,
                                   note=form.cleaned_data["note"].strip())
        return f"已同意退单，{d.code} 改派给 {d.lead_unit.name}"

    return _act(request, reverse("demands:returns"), run, lambda result: _return_row(request, pk, result))


@staff_page(Role.DISPATCHER, Role.ADMIN)
def return_overrule(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("demands:returns")
    form = NoteForm(request.POST)

    def run() -> str:
        note = form.cleaned_data["note"] if form.is_valid() else ""
        d = services.overrule_return(pk, request.user, note=note)
        return f"已驳回退单，{d.code} 退回 {d.lead_unit.name} 继续办理"

    return _act(request, reverse("demands:returns"), run, lambda result: _return_row(request, pk, result))


# --- supervision (督办) ---------------------------------------------------------------------------------------

def _tab(request: HttpRequest, tabs: list[tuple[str, str]]) -> str:
    wanted = request.GET.get("tab", "")
    return wanted if wanted in dict(tabs) else tabs[0][0]


def _tab_links(request: HttpRequest, name: str, tabs: list[tuple[str, str]], current: str) -> list[dict]:
    base = reverse(name)
    return [{"key": k, "label": label, "url": f"{base}?tab={k}", "current": k == current} for k, label in tabs]


@staff_page(*SUPERVISOR_ROLES)
def supervisor(request: HttpRequest) -> HttpResponse:
    tab = _tab(request, SUPERVISOR_TABS)
    if tab == "extensions":
        qs = queries.pending_extensions(request.user)
    else:
        qs = queries.supervision_list(request.user, tab)
    if tab == "replied":
        qs = qs.prefetch_related("replies")
    page = paginate(request, qs)
    if request.GET.get("format") == "xlsx" and tab != "extensions":
        return exports.demand_xlsx(request.user, qs, f"督办-{dict(SUPERVISOR_TABS)[tab]}")
    return render(request, "demands/desks/supervisor.html", {
        "page": page, "qs": query_without_page(request), "tab": tab, "tabs": _tab_links(request, "demands:supervisor",
                                                                                       SUPERVISOR_TABS, tab),
        "desk": "supervisor", "now": clock.now(), "here": request.get_full_path(),
    })


def _sup_row(request: HttpRequest, pk: int, desk: str, result: dict) -> HttpResponse:
    d = Demand.objects.select_related("category", "lead_unit", "place").filter(pk=pk).first()
    if d is None or not policy.can_see(request.user, d):
        return render(request, "core/_result.html", result)
    return render(request, "demands/desks/_sup_row.html", {"d": d, "desk": desk, "result": result,
                                                           "now": clock.now(), "here": _back(request, "")})


def _desk_of(request: HttpRequest) -> str:
    return "leader" if request.POST.get("desk") == "leader" else "supervisor"


@staff_page(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
def urge(request: HttpRequest, pk: int) -> HttpResponse:
    desk = _desk_of(request)
    back = _back(request, reverse(f"demands:{desk}"))
    if request.method != "POST":
        return redirect(back)
    form = NoteForm(request.POST)

    def run() -> str:
        d = services.urge(pk, request.user, note=form.cleaned_data["note"] if form.is_valid() else "")
        return f"已催办 {d.code}，已通知承办单位"

    return _act(request, back, run, lambda result: _sup_row(request, pk, desk, result))


@staff_page(Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
def supervise(request: HttpRequest, pk: int) -> HttpResponse:
    """督办 (level 1) from the supervisor's desk, 挂牌督办 (level 2) from the leader's."""
    desk = _desk_of(request)
    back = _back(request, reverse(f"demands:{desk}"))
    if request.method != "POST":
        return redirect(back)
    form = NoteForm(request.POST)
    level = 2 if request.POST.get("level") == "2" else 1

    def run() -> str:
        d = services.supervise(pk, request.user, note=form.cleaned_data["note"] if form.is_valid() else "",
                               level=level)
        return f"已对 {d.code} {'挂牌督办' if level >= 2 else '督办'}，已通知承办单位"

    return _act(request, back, run, lambda result: _sup_row(request, pk, desk, result))


@staff_page(Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN)
def decide_extension(request: HttpRequest, pk: int) -> HttpResponse:
    back = _back(request, reverse("demands:supervisor") + "?tab=extensions")
    if request.method != "POST":
        return redirect(back)
    form = ExtensionDecisionForm(request.POST)

    def run() -> str:
        if not form.is_valid():
            raise DomainError("invalid_field", _first_error(form))
        approve = form.cleaned_data["approve"]
        d = services.decide_extension(pk, request.user, approve=approve, note=form.cleaned_data["note"].strip())
        if approve and d.due_at:
            return f"已批准 {d.code} 延期，新的办理时限为 {timezone.localtime(d.due_at):%Y-%m-%d %H:%M}"
        return f"已{'批准' if approve else '不批准'} {d.code} 的延期申请"

    def row(result: dict) -> HttpResponse:
        ext = queries.pending_extensions(request.user).filter(demand_id=pk).first()
        if ext is not None:
            return render(request, "demands/desks/_ext_row.html", {"ext": ext, "result": result, "here": back})
        d = Demand.objects.filter(pk=pk).first()
        if d is None or not policy.can_see(request.user, d):
            return render(request, "core/_result.html", result)
        return render(request, "demands/desks/_done.html", {"d": d, "result": result, "row_id": f"ext-{pk}",
                                                            "cols": 4})

    return _act(request, back, run, row)


# --- the leader (领导) ----------------------------------------------------------------------------------------

@staff_page(*LEADER_ROLES)
def leader(request: HttpRequest) -> HttpResponse:
    tab = _tab(request, LEADER_TABS)
    qs = queries.supervision_list(request.user, tab)
    if request.GET.get("format") == "xlsx":
        return exports.demand_xlsx(request.user, qs, f"领导-{dict(LEADER_TABS)[tab]}")
    now = clock.now()
    summary = queries.area_summary(request.user, now)
    return render(request, "demands/desks/leader.html", {
        "page": paginate(request, qs), "qs": query_without_page(request), "tab": tab,
        "tabs": _tab_links(request, "demands:leader", LEADER_TABS, tab), "summary": summary, "desk": "leader",
        "now": now, "month": timezone.localtime(now), "here": request.get_full_path(),
    })


# --- whistle-blowing reports (举报件, discipline inspection only) ----------------------------------------------

@staff_page(Role.DISCIPLINE)
def reports(request: HttpRequest) -> HttpResponse:
    qs = (policy.visible(request.user).filter(type=DemandType.REPORT)
          .select_related("category", "lead_unit", "place", "reported_unit").order_by("-created_at", "-pk"))
    if request.GET.get("format") == "xlsx":
        return exports.demand_xlsx(request.user, qs, "举报件", title="举报件")
    return render(request, "demands/desks/reports.html", {"page": paginate(request, qs),
                                                          "qs": query_without_page(request)})


# --- search and export (查询) --------------------------------------------------------------------------------

@staff_page(*SEARCH_ROLES)
def search(request: HttpRequest) -> HttpResponse:
    """Any filter combination (``queries.search`` on what the user may see); ``?format=xlsx`` exports the whole
    filtered result through ``exports.demand_xlsx`` (which applies the user's rights again)."""
    criteria = {k: v for k, v in request.GET.items() if k not in ("page", "format") and v.strip()}
    form = SearchForm(request.GET if criteria else None)
    asked = bool(criteria)
    partial = _htmx(request) and request.htmx.target == "search-results"
    template = "demands/desks/_search_results.html" if partial else "demands/desks/search.html"
    if asked and not form.is_valid():
        if request.GET.get("format") == "xlsx":
            messages.error(request, "查询条件有误，未能导出")
        return render(request, template, {"form": form, "page": None, "asked": True,
                                          "qs": query_without_page(request)}, status=400)
    filters = form.filters() if asked else queries.Filters()
    qs = queries.search(request.user, filters)
    if request.GET.get("format") == "xlsx":
        return exports.demand_xlsx(request.user, qs, f"诉求查询-{timezone.localtime(clock.now()):%Y%m%d}")
    page = paginate(request, qs)
    rows = [(d, queries.person_view(request.user, d)) for d in page.object_list]
    return render(request, template, {"form": form, "page": page, "rows": rows, "asked": asked,
                                      "qs": query_without_page(request)})


urlpatterns = [
    path("returns/", returns, name="returns"),
    path("returns/<int:pk>/uphold/", return_uphold, name="return_uphold"),
    path("returns/<int:pk>/overrule/", return_overrule, name="return_overrule"),
    path("supervise/", supervisor, name="supervisor"),
    path("supervise/<int:pk>/urge/", urge, name="desk_urge"),
    path("supervise/<int:pk>/supervise/", supervise, name="desk_supervise"),
    path("supervise/<int:pk>/extension/", decide_extension, name="desk_extension"),
    path("leader/", leader, name="leader"),
    path("reports/", reports, name="reports"),
    path("search/", search, name="search"),
]
