"""The demand page (facts, replies, callbacks, attachments, timeline, and the actions the user may take) and
the handler's desk (queues by tab, working time left, one-key sign, Excel export).

Every action posts to ``/work/d/<pk>/<action>/`` (``action`` is the workflow's name, see ``ACTIONS``) and
calls the same service as the API. With htmx the answer is the refreshed action panel with the result next
to the control that caused it, plus the facts and the timeline swapped out of band; a refusal is the
Chinese message alone, swapped next to the control (what was typed stays). Without JavaScript: a redirect
back with a message, or the page again with the refusal and the status of the refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from massline.core import clock
from massline.core.errors import DomainError, NotFound
from massline.core.pages import domain_error_response, paginate, query_without_page
from massline.directory.models import Role
from massline.directory.pages import staff_page

from .. import attachments, exports, forms, hooks, policy, queries, services, workflow
from ..models import Demand, DemandUnit, ExtensionRequest, State

# --- the actions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    name: str  # the workflow's action
    form: type[forms.ActionForm]
    call: Callable  # call(demand_id, user, **form.kwargs())
    done: str | Callable[[Demand], str]  # what is said when it worked (or a function of the demand after it)


def _merge(demand_id: int, user, *, into: str, note: str = ""):
    master = policy.visible(user).filter(code=into).only("pk").first()
    if master is None:
        raise NotFound("主诉求不存在或您无权查看", field="into")
    return services.merge(demand_id, user, into_id=master.pk, note=note)


def _replied(d: Demand) -> str:
    if services.can_text(d):
        return "答复已发送，已短信告知群众"
    return "答复已发送；群众没有留下手机号码，收不到短信，可凭查询码查看答复"


ACTIONS: dict[str, Action] = {a.name: a for a in [
    Action("accept", forms.AcceptForm, services.accept, "已受理"),
    Action("reject", forms.RejectForm, services.reject, "已作不予受理处理，并告知群众"),
    Action("answer_directly", forms.AnswerDirectlyForm, services.answer_directly, "已直接答复，等待回访"),
    Action("dispatch", forms.DispatchForm, services.dispatch, "已派单"),
    Action("sign", forms.EmptyForm, services.sign, "已签收"),
    Action("start", forms.NoteForm, services.start, "已开始办理"),
    Action("note", forms.TextForm, services.add_note, "办理记录已保存"),
    Action("co_note", forms.TextForm, services.co_opinion, "协办意见已提交主办单位"),
    Action("request_return", forms.ReturnForm, services.request_return, "退单申请已提交，等待派单员审核"),
    Action("uphold_return", forms.UpholdReturnForm, services.uphold_return, "已同意退单并改派"),
    Action("overrule_return", forms.OverruleForm, services.overrule_return, "已驳回退单，诉求退回原单位继续办理"),
    Action("request_extension", forms.ExtensionForm, services.request_extension, "延期申请已提交，等待审批"),
    Action("decide_extension", forms.ExtensionDecisionForm, services.decide_extension, "延期申请已审批"),
    Action("suspend", forms.SuspendForm, services.suspend, "已挂起，办理时限暂停计算"),
    Action("resume", forms.NoteForm, services.resume, "已恢复办理，时限继续计算"),
    Action("reply", forms.ReplyForm, services.reply, _replied),
    Action("callback", forms.CallbackForm, services.callback, "回访结果已记录"),
    Action("merge", forms.MergeForm, _merge, "已合并到主诉求"),
    Action("withdraw", forms.WithdrawForm, services.withdraw, "已代群众撤回"),
    Action("urge", forms.SuperviseForm, services.urge, "已催办，承办单位已收到提醒"),
    Action("supervise", forms.SuperviseForm, lambda pk, user, **kw: services.supervise(pk, user, level=1, **kw),
           "已督办"),
    Action("list_supervision", forms.SuperviseForm,
           lambda pk, user, **kw: services.supervise(pk, user, level=2, **kw), "已挂牌督办"),
    Action("certify_close", forms.CertifyCloseForm, services.certify_close, "已审核办结"),
]}
# one click, no form to open
ONE_CLICK = {"sign"}


def _visible_demand(user, pk: int) -> Demand:
    """The demand, or 404 — also when it exists but the user may not see it (its existence is not revealed)."""
    d = Demand.objects.select_related("person", "category", "policy", "lead_unit", "place", "merged_into",
                                      "agent").filter(pk=pk).first()
    if d is None or not policy.can_see(user, d):
        raise Http404("诉求不存在或您无权查看")
    return d


def allowed(user, d: Demand) -> list[str]:
    """The actions the panel offers: ``workflow.allowed_actions`` over the roles held, each checked against
    the roles held over the kind of scope it needs (a co-handling unit may give its opinion, not reply),
    less those that would only be refused (no extension or return pending, already at that supervision)."""
    held = {over: policy.roles_over(user, d, over) for over in ("area", "unit", "co")}
    out = []
    for name in workflow.allowed_actions_over(d.state, held):
        if name not in ACTIONS:
            continue
        if name == "decide_extension" and not d.extensions.filter(status=ExtensionRequest.Status.PENDING).exists():
            continue
        if name == "request_extension" and (d.due_at is None or d.extensions.filter(
                status=ExtensionRequest.Status.PENDING).exists()):
            continue
        if (name == "supervise" and d.supervision >= 1) or (name == "list_supervision" and d.supervision >= 2):
            continue
        out.append(name)
    return out


# --- the demand page ----------------------------------------------------------------------------------

EVENT_LABELS = {
    **workflow.LABELS,
    "receive": "登记", "urgency_raised": "系统加急", "risk_flagged": "风险提示", "attach": "上传附件",
    "deadline_warning": "临期预警", "overdue": "超期（自动督办）", "listed_supervision": "超期挂牌督办",
    "deadline_computed": "计算办理时限", "auto_close": "回访期满自动办结", "reply": "答复", "note": "办理记录",
}
ROLE_LABELS = {**dict(Role.choices), "system": "系统", "person": "诉求人", "public": "群众", "citizen": "群众"}
SATISFACTION = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}


def _state_label(value: str) -> str:
    return State(value).label if value in State.values else ""


def _event_details(e) -> list[str]:
    data = e.data or {}
    out = []
    if e.action == "callback":
        out.append(f"{'已解决' if data.get('resolved') else '未解决'}，{SATISFACTION.get(data.get('satisfaction'), '')}")
    if "working_days" in data:
        out.append(f"申请延期 {data['working_days']} 个工作日")
    if e.action == "decide_extension":
        out.append("批准延期" if data.get("approved") else "不批准延期")
    if data.get("cited_item"):
        out.append(f"所引清单事项：{data['cited_item']}")
    if e.action in ("sign",) and data.get("late"):
        out.append("超时签收")
    if data.get("into"):
        out.append(f"合并到 {data['into']}")
    if data.get("due_at") and e.action in ("dispatch", "decide_extension", "resume", "uphold_return"):
        out.append("办理时限 " + timezone.localtime(datetime.fromisoformat(data["due_at"])).strftime(
            "%Y-%m-%d %H:%M"))
    if data.get("excluded"):
        out.append("不计入考核")
    return out


def timeline_rows(d: Demand) -> list[dict]:
    """The demand's record, step by step, in Chinese."""
    rows = []
    for e in queries.timeline(d):
        actor, role = e.actor_name or "系统", ROLE_LABELS.get(e.actor_role, e.actor_role)
        if actor == role or actor.startswith(f"{role}（"):  # "群众（网上提交）" already says who: not "（群众）" again
            role = ""
        rows.append({
            "seq": e.seq, "at": e.at, "action": EVENT_LABELS.get(e.action, e.action), "code": e.action,
            "actor": actor, "role": role,
            "from": _state_label(e.from_state), "to": _state_label(e.to_state) if e.to_state != e.from_state else "",
            "reason": e.reason, "details": _event_details(e),
        })
    return rows


def _facts_context(user, d: Demand, now) -> dict:
    units = list(d.units.filter(active=True).select_related("unit").order_by("role", "pk"))
    return {
        "d": d,
        "person": queries.person_view(user, d, full=True),
        "identity_seen": d.person_id is not None and policy.may_see_identity(user, d),
        "left": queries.time_left(d, now),
        "lead_units": [u for u in units if u.role == DemandUnit.Role.LEAD],
        "co_units": [u for u in units if u.role == DemandUnit.Role.CO],
        "replies": list(d.replies.select_related("unit").order_by("created_at", "pk")),
        "callbacks": list(d.callbacks.order_by("created_at", "pk")),
        "files": list(d.attachments.order_by("created_at", "pk")),
        "extensions": list(d.extensions.order_by("-created_at")[:5]),
        "returns": list(d.returns.select_related("unit", "suggested_unit").order_by("-created_at")[:5]),
        "now": now,
    }


def _panel_context(request: HttpRequest, d: Demand, *, acted: str = "", result: dict | None = None,
                   bound: forms.ActionForm | None = None) -> dict:
    names = allowed(request.user, d)
    items = []
    for name in names:
        a = ACTIONS[name]
        form = bound if bound is not None and acted == name else a.form(prefix=name)
        if name == "reply" and callable(getattr(hooks, "reply_checks", None)):
            form.fields["text"].widget.attrs.update({
                "hx-post": reverse("demands:reply_check", args=[d.pk]), "hx-trigger": "input changed delay:800ms",
                "hx-target": f"#reply-checks-{d.pk}", "hx-swap": "innerHTML",
                "aria-describedby": f"id_reply-text_helptext reply-checks-{d.pk}"})
        items.append({"name": name, "label": workflow.LABELS[name], "form": form, "one_click": name in ONE_CLICK,
                      "open": acted == name and result is not None and not result["ok"]})
    # the result of an action whose control is gone now (e.g. signed: no sign button any more) is shown on top
    return {"d": d, "items": items, "acted": acted, "result": result,
            "orphan_result": result if result is not None and acted not in names else None,
            "has_reply_checks": callable(getattr(hooks, "reply_checks", None))}


def _page_context(request: HttpRequest, d: Demand, **panel) -> dict:
    now = clock.now()
    return {**_facts_context(request.user, d, now), **_panel_context(request, d, **panel),
            "events": timeline_rows(d)}


@require_GET
@staff_page()
def demand_detail(request: HttpRequest, pk: int) -> HttpResponse:
    d = _visible_demand(request.user, pk)
    return render(request, "demands/work/detail.html", _page_context(request, d))


def _safe_next(request: HttpRequest) -> str | None:
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return None


def _row_response(request: HttpRequest, d: Demand, result: dict, status: int) -> HttpResponse:
    """The one-key sign on the desk: the row again, with the result in its action cell."""
    d = Demand.objects.select_related("category", "lead_unit", "place", "person").get(pk=d.pk)
    d.left = queries.time_left(d)
    html = render_to_string("demands/_demand_row.html", {"d": d, "sign": True, "result": result,
                                                         "back": _safe_next(request) or ""}, request)
    return HttpResponse(html, status=status)


@require_POST
@staff_page()
def demand_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    a = ACTIONS.get(action)
    if a is None:
        raise Http404("没有这项操作")
    try:
        d = _visible_demand(request.user, pk)
    except Http404:
        if request.htmx:  # said where the action was asked, not a whole error page inside the panel
            return domain_error_response(request, NotFound("诉求不存在或您无权查看"))
        raise
    form = a.form(request.POST, prefix=action)
    row = request.POST.get("view") == "row"
    if not form.is_valid():
        result = {"ok": False, "message": "请按提示修改后再提交", "code": "invalid_form"}
        return _refused(request, d, a, form, result, 400, row)
    try:
        a.call(d.pk, request.user, **form.kwargs())
    except DomainError as err:
        if isinstance(err, NotFound) and not policy.can_see(request.user, d):
            raise Http404(err.message) from None
        field = err.detail.get("field")
        prefixed = {"lead_unit_id": "lead_unit", "co_unit_ids": "co_units", "suggested_unit_id": "suggested_unit",
                    "category_id": "category"}.get(field, field)
        if prefixed in form.fields:
            form.add_error(prefixed, err.message)
        result = {"ok": False, "message": err.message, "code": err.code}
        return _refused(request, d, a, form, result, err.status, row)
    before = d
    d = _visible_or_gone(request.user, d.pk)
    done = a.done(d or before) if callable(a.done) else a.done
    state = _state_label(d.state) if d is not None else ""
    message = f"{done}。诉求当前状态：{state}" if state else done
    result = {"ok": True, "message": message, "code": ""}
    if request.htmx:
        if row and d is not None:
            return _row_response(request, d, result, 200)
        if d is None:  # e.g. merged away from what the user sees: back to the desk
            messages.success(request, message)
            resp = HttpResponse(status=204)
            resp["HX-Redirect"] = reverse("demands:workbench")
            return resp
        return _fragments(request, d, action, result)
    messages.success(request, f"{d.code if d else ''} {message}".strip())
    nxt = _safe_next(request)
    if nxt:
        return redirect(nxt)
    return redirect("demands:detail", pk=pk) if d is not None else redirect("demands:workbench")


def _visible_or_gone(user, pk: int) -> Demand | None:
    try:
        return _visible_demand(user, pk)
    except Http404:
        return None


def _refused(request, d: Demand, a: Action, form, result: dict, status: int, row: bool) -> HttpResponse:
    if request.htmx:
        if row:
            return _row_response(request, d, result, status)
        html = render_to_string("demands/work/_refusal.html", {"result": result, "form": form}, request)
        return HttpResponse(html, status=status)
    nxt = _safe_next(request)
    if row and nxt:
        messages.error(request, f"{d.code}：{result['message']}")
        return redirect(nxt)
    ctx = _page_context(request, d, acted=a.name, result=result, bound=form)
    return render(request, "demands/work/detail.html", ctx, status=status)


def _fragments(request: HttpRequest, d: Demand, action: str, result: dict) -> HttpResponse:
    """The panel (result next to the control), with the facts and the timeline swapped out of band."""
    ctx = _page_context(request, d, acted=action, result=result)
    html = (render_to_string("demands/work/_actions.html", ctx, request)
            + render_to_string("demands/work/_facts.html", {**ctx, "oob": True}, request)
            + render_to_string("demands/work/_timeline.html", {**ctx, "oob": True}, request))
    return reswap(retarget(HttpResponse(html), "#demand-actions"), "outerHTML")


# --- reply checks -----------------------------------------------------------------------------------------

def _check_messages(found) -> list[str]:
    out = []
    for item in found or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out.append(str(item.get("message") or item.get("text") or item))
        else:
            out.append(str(getattr(item, "message", item)))
    return [m for m in out if m]


def reply_warnings(d: Demand, text: str) -> list[str]:
    """What to fix before sending: the services' own rule (an answer, not a forwarding note), then the
    reply-quality checks of ``hooks.reply_checks(demand, text)`` when that hook is installed."""
    warnings = []
    try:
        services.check_reply_text(text)
    except DomainError as err:
        warnings.append(err.message)
    checks = getattr(hooks, "reply_checks", None)
    if callable(checks) and (text or "").strip():
        warnings += [w for w in _check_messages(checks(d, text)) if w not in warnings]
    return warnings


@require_POST
@staff_page()
def reply_check(request: HttpRequest, pk: int) -> HttpResponse:
    d = _visible_demand(request.user, pk)
    text = request.POST.get("reply-text", request.POST.get("text", ""))
    return render(request, "demands/work/_reply_checks.html",
                  {"warnings": reply_warnings(d, text), "checked": bool(text.strip())})


# --- attachments --------------------------------------------------------------------------------------

@require_GET
@staff_page()
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """The permission-checked download (as the API's, for a signed-in browser)."""
    try:
        att = attachments.open_for(request.user, attachment_id)
    except NotFound:
        raise Http404("附件不存在或您无权查看") from None
    return FileResponse(attachments.path_for(att).open("rb"), content_type=att.content_type, as_attachment=True,
                        filename=att.original_name)


# --- the handler's desk --------------------------------------------------------------------------------

TAB_LABELS = dict(queries.HANDLER_TABS)
SIGNABLE = {State.DISPATCHED, State.REOPENED}


@require_GET
@staff_page(Role.HANDLER)
def handler_queue(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "sign")
    if tab not in TAB_LABELS:
        tab = "sign"
    now = clock.now()
    qs = queries.handler_queue(request.user, tab, now)
    if request.GET.get("format") == "xlsx":
        stamp = timezone.localtime(now).strftime("%Y%m%d")
        return exports.demand_xlsx(request.user, qs, f"承办工作台-{TAB_LABELS[tab]}-{stamp}")
    page = paginate(request, qs)
    page.object_list = queries.with_time_left(page.object_list, now)
    counts = queries.handler_counts(request.user, now)
    tabs = [{"key": k, "label": label, "count": counts[k], "current": k == tab} for k, label in queries.HANDLER_TABS]
    return render(request, "demands/work/handler_queue.html", {
        "tab": tab, "tab_label": TAB_LABELS[tab], "tabs": tabs, "page": page, "qs": query_without_page(request),
        "back": request.get_full_path(),
    })


urlpatterns = [
    path("d/<int:pk>/", demand_detail, name="detail"),
    path("d/<int:pk>/reply/check/", reply_check, name="reply_check"),
    path("d/<int:pk>/<slug:action>/", demand_action, name="action"),
    path("attachments/<int:attachment_id>/", attachment, name="attachment"),
    path("handle/", handler_queue, name="handler_queue"),
]
