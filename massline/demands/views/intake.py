"""Operator desk: phone/letter/visit intake, repeat callers, group visits.

The views parse (``intake_forms``), call the same services as the API (``services.receive`` then ``accept`` or
``answer_directly``; the group-visit steps) and render. A refusal from a service is shown in Chinese next to the
control that asked; htmx requests get the fragment back, plain requests a page (or a redirect after success), so
everything works without JavaScript.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, path, reverse

from massline.core.errors import DomainError
from massline.core.pages import paginate
from massline.directory.pages import staff_page

from .. import policy, queries, services
from ..duplicates import CLOSED_STATES
from ..intake_forms import (
    GoalsForm,
    IntakeForm,
    MinutesForm,
    OpenGroupVisitForm,
    RepresentativesForm,
    add_domain_error,
)
from ..models import Demand, DemandType, GroupVisit, State

# who records demands at the desk (the roles ``intake.validate`` lets record staff channels) and the admin
INTAKE_ROLES = ("intake", "dispatcher", "discipline", "admin")
# who follows group visits (the services let intake operators and leaders act; supervisors read)
GROUP_ROLES = ("intake", "leader", "supervisor", "admin")
MIN_LOOKUP_DIGITS = 6
SESSION_RESULT = "intake_last_result"


def detail_url(demand_id: int) -> str | None:
    """The demand page, if it is installed (another desk builds it)."""
    try:
        return reverse("demands:detail", kwargs={"pk": demand_id})
    except NoReverseMatch:
        return None


def _status(form) -> int:
    return 400 if form.errors else 200


# --- repeat callers ------------------------------------------------------------------------------------

def earlier_context(user, phone: str) -> dict:
    """The caller's earlier demands by phone, as far as ``user`` may see them and may know who raised them."""
    phone = (phone or "").strip()
    digits = sum(ch.isdigit() for ch in phone)
    if digits < MIN_LOOKUP_DIGITS:
        return {"earlier_phone": phone, "earlier": None}
    rows = []
    for d in queries.earlier_by_phone(user, phone):
        rows.append({"id": d.pk, "code": d.code, "title": d.title, "type": DemandType(d.type).label,
                     "state": State(d.state).label, "open": d.state not in CLOSED_STATES,
                     "created_at": d.created_at, "url": detail_url(d.pk)})
    return {"earlier_phone": phone, "earlier": rows, "earlier_open": sum(r["open"] for r in rows)}


@staff_page(*INTAKE_ROLES)
def intake_earlier(request: HttpRequest) -> HttpResponse:
    """htmx partial: the list beside the form, and (out of band) the one-line notice under the phone field."""
    return render(request, "demands/intake/_earlier.html",
                  {**earlier_context(request.user, request.GET.get("phone", "")), "oob": True})


# --- the desk ------------------------------------------------------------------------------------------

def _group_visit_for(request: HttpRequest) -> GroupVisit | None:
    raw = request.POST.get("group_visit") or request.GET.get("group_visit")
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404("集体访记录不存在")
    return get_object_or_404(GroupVisit, pk=int(raw))


def _fresh_form(user, gv: GroupVisit | None, channel: str | None = None, phone: str = "") -> IntakeForm:
    initial = {}
    if channel:
        initial["channel"] = channel
    if phone:
        initial["phone"] = phone
    if gv is not None and gv.place_id:
        initial["place"] = gv.place_id
    return IntakeForm(user=user, group_visit=gv, initial=initial)


def _desk(request: HttpRequest, form: IntakeForm, *, result: dict | None = None, lookup: bool = False,
          status: int = 200) -> HttpResponse:
    phone = form.data.get("phone", "") if form.is_bound else form.initial.get("phone", "")
    ctx = {"form": form, "result": result, "lookup": lookup, "gv": form.group_visit_obj,
           **earlier_context(request.user, phone)}
    if form.is_bound and not lookup:
        form.mark_errors()
    template = "demands/intake/_desk.html" if request.htmx else "demands/intake/desk.html"
    return render(request, template, ctx, status=status)


def _record(form: IntakeForm, user) -> tuple[Demand, str, bool]:
    """Receive, then accept — or answer at once (an enquiry answered at intake). One transaction: a refused
    answer leaves nothing half recorded, and routing (a hook after commit) sees the demand as accepted."""
    data = form.intake_data()
    answer = form.cleaned_data["answer"].strip()
    with transaction.atomic():
        d, secret = services.receive(data, user)
        if answer:
            d = services.answer_directly(d.pk, user, text=answer, restatement=data.restatement)
        elif not d.is_report and policy.can_see(user, d):
            # a whistle-blowing report is discipline inspection's alone; an operator whose scope does not cover the
            # place leaves it registered for the command centre
            d = services.accept(d.pk, user)
    return d, secret, bool(answer)


def _result(d: Demand, secret: str, answered: bool, gv: GroupVisit | None) -> dict:
    if d.is_report:
        message = f"举报已登记，查询码 {d.code}，已转纪检监察机关（本台不再显示内容）"
    elif answered:
        message = f"已当场答复办结，查询码 {d.code}，待回访"
    elif d.state == State.ACCEPTED:
        message = f"已受理，查询码 {d.code}，转派单"
    else:
        message = f"已登记（{State(d.state).label}），查询码 {d.code}"
    return {"ok": True, "message": message, "code": d.code, "secret": secret, "id": d.pk,
            "url": None if d.is_report else detail_url(d.pk), "answered": answered, "is_report": d.is_report,
            "group_visit_id": gv.pk if gv else None}


@staff_page(*INTAKE_ROLES)
def intake_desk(request: HttpRequest) -> HttpResponse:
    """``/work/intake/``: record a call, letter, visit or reception-day demand; the caller's earlier demands show
    beside the phone number; after saving, the code and a fresh form with the cursor on the phone field."""
    gv = _group_visit_for(request)
    if request.method != "POST":
        result = request.session.pop(SESSION_RESULT, None)
        form = _fresh_form(request.user, gv, channel=request.GET.get("channel") or (result or {}).get("channel"),
                           phone=request.GET.get("phone", ""))
        if form.initial.get("channel") not in dict(form.fields["channel"].choices):
            form.initial.pop("channel", None)
        return _desk(request, form, result=result)
    form = IntakeForm(request.POST, user=request.user, group_visit=gv)
    if "lookup" in request.POST:  # without JavaScript: show the caller's earlier demands, keep what was typed
        return _desk(request, form, lookup=True)
    if not form.is_valid():
        return _desk(request, form, status=400)
    try:
        d, secret, answered = _record(form, request.user)
    except DomainError as err:
        add_domain_error(form, err)
        return _desk(request, form, status=err.status)
    result = _result(d, secret, answered, gv)
    result["channel"] = form.cleaned_data["channel"]
    if request.htmx:
        return _desk(request, _fresh_form(request.user, gv, channel=result["channel"]), result=result)
    request.session[SESSION_RESULT] = result  # shown once on the next page (server-side session: the secret too)
    url = reverse("demands:intake")
    return redirect(f"{url}?group_visit={gv.pk}" if gv else url)


# --- group visits ----------------------------------------------------------------------------------------

STEPS = list(GroupVisit.Step)
STEP_FORMS = {"representatives": RepresentativesForm, "talk": MinutesForm, "goals": GoalsForm}


def _visits():
    return GroupVisit.objects.select_related("place", "received_by").annotate(
        n_demands=Count("demands", filter=~Q(demands__type=DemandType.REPORT))).order_by("-created_at", "-pk")


def _list_context(request: HttpRequest) -> dict:
    page = paginate(request, _visits())
    for gv in page.object_list:
        gv.step_no = STEPS.index(gv.step) + 1
    return {"page": page, "qs": ""}


@staff_page(*GROUP_ROLES)
def group_visits(request: HttpRequest) -> HttpResponse:
    """``/work/group-visits/``: the group visits, newest first, and step 1 (请进门) for a new one."""
    result = None
    status = 200
    if request.method == "POST":
        form = OpenGroupVisitForm(request.POST, user=request.user)
        if form.is_valid():
            c = form.cleaned_data
            try:
                gv = services.open_group_visit(request.user, topic=c["topic"], headcount=c["headcount"],
                                               place_id=c["place"])
            except DomainError as err:
                add_domain_error(form, err)
                status = err.status
            else:
                url = reverse("demands:group_visit", kwargs={"pk": gv.pk})
                if not request.htmx:
                    messages.success(request, f"已登记集体访“{gv.topic}”（{gv.headcount} 人），请推选代表。")
                    return redirect(url)
                result = {"ok": True, "message": f"已登记集体访“{gv.topic}”（{gv.headcount} 人）", "url": url}
                form = OpenGroupVisitForm(user=request.user)
        else:
            status = 400
    else:
        form = OpenGroupVisitForm(user=request.user)
    ctx = {"form": form, "result": result, **_list_context(request)}
    if request.htmx:
        return render(request, "demands/intake/_group_open.html", {**ctx, "oob": True}, status=status)
    return render(request, "demands/intake/group_visits.html", ctx, status=status)


def _visit_context(request: HttpRequest, gv: GroupVisit, forms: dict | None = None) -> dict:
    forms = forms or {}
    current = STEPS.index(gv.step)
    steps = [{"no": i + 1, "value": s.value, "label": s.label,
              "status": "done" if i < current else ("current" if i == current else "todo")}
             for i, s in enumerate(STEPS)]
    reps = [{"name": r.person.name or "（未留姓名）", "phone": queries.mask_phone(r.person.phone)}
            for r in gv.representatives.select_related("person")]
    # a report brought by the group is discipline inspection's alone: not listed with the visit
    demands = [{"code": d.code, "title": d.title, "state": State(d.state).label, "url": detail_url(d.pk)}
               for d in gv.demands.exclude(type=DemandType.REPORT).order_by("created_at", "pk")]
    may_act = policy.has_role(request.user, "intake", "leader")
    return {
        "gv": gv, "steps": steps, "reps": reps, "demands": demands, "may_act": may_act,
        "can_choose": gv.step in (GroupVisit.Step.INVITED, GroupVisit.Step.REPRESENTED, GroupVisit.Step.FORM),
        "can_file": gv.step in (GroupVisit.Step.REPRESENTED, GroupVisit.Step.FORM),
        "can_talk": gv.step in (GroupVisit.Step.REPRESENTED, GroupVisit.Step.FORM),
        "can_settle": gv.step == GroupVisit.Step.TALKED,
        "reps_form": forms.get("representatives") or RepresentativesForm(),
        "talk_form": forms.get("talk") or MinutesForm(initial={"minutes": gv.minutes}),
        "goals_form": forms.get("goals") or GoalsForm(initial={"goals": gv.goals}),
        "intake_url": reverse("demands:intake") + f"?group_visit={gv.pk}",
    }


def _visit(request: HttpRequest, gv: GroupVisit, *, forms: dict | None = None, result: dict | None = None,
           result_for: str = "", status: int = 200) -> HttpResponse:
    ctx = {**_visit_context(request, gv, forms), "result": result, "result_for": result_for}
    template = "demands/intake/_visit.html" if request.htmx else "demands/intake/group_visit.html"
    return render(request, template, ctx, status=status)


@staff_page(*GROUP_ROLES)
def group_visit(request: HttpRequest, pk: int) -> HttpResponse:
    """``/work/group-visits/<id>/``: the five steps of one group visit."""
    return _visit(request, get_object_or_404(GroupVisit, pk=pk))


@staff_page(*GROUP_ROLES)
def group_visit_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    """POST one step: choose representatives (选代表), the talk's minutes (坐下谈), the goals (理目标)."""
    if step not in STEP_FORMS or request.method != "POST":
        raise Http404("没有这一步")
    gv = get_object_or_404(GroupVisit, pk=pk)
    form = STEP_FORMS[step](request.POST)
    if not form.is_valid():
        return _visit(request, gv, forms={step: form}, result_for=step, status=400)
    try:
        if step == "representatives":
            gv = services.choose_representatives(gv.pk, request.user, form.representatives())
        elif step == "talk":
            gv = services.record_group_talk(gv.pk, request.user, minutes=form.cleaned_data["minutes"])
        else:
            gv = services.settle_group_goals(gv.pk, request.user, goals=form.cleaned_data["goals"])
    except DomainError as err:
        add_domain_error(form, err)
        gv.refresh_from_db()
        return _visit(request, gv, forms={step: form}, result_for=step, status=err.status)
    message = {"representatives": f"已推选代表 {gv.representatives.count()} 人",
               "talk": "已记录谈话", "goals": "已理清目标，集体访五步完成"}[step]
    if not request.htmx:
        messages.success(request, message)
        return redirect("demands:group_visit", pk=gv.pk)
    return _visit(request, gv, result={"ok": True, "message": message}, result_for=step)


urlpatterns = [
    path("intake/", intake_desk, name="intake"),
    path("intake/earlier/", intake_earlier, name="intake_earlier"),
    path("group-visits/", group_visits, name="group_visits"),
    path("group-visits/<int:pk>/", group_visit, name="group_visit"),
    path("group-visits/<int:pk>/<slug:step>/", group_visit_step, name="group_visit_step"),
]
