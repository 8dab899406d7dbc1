"""The demand API: public submit and track (no login, rate-limited), and one endpoint per staff action.
Each endpoint is a thin call of a service; refusals come back as ``{code, message, detail}``."""

from __future__ import annotations

from django.http import FileResponse
from django.utils import timezone
from ninja import File, Header, Router
from ninja.files import UploadedFile

from massline.core import idempotency, ratelimit
from massline.core.api import OptionalTokenAuth, TokenAuth, caller
from massline.core.errors import NotFound
from massline.core.schemas import PUBLIC_ERRORS, STAFF_ERRORS, errors

from . import attachments, policy, queries, services, workflow
from .intake import IntakeData
from .models import Demand, DemandType, DemandUnit, GroupVisit, State
from .schemas import (
    AcceptIn,
    AnswerIn,
    AttachmentOut,
    CallbackIn,
    CertifyIn,
    DemandIn,
    DemandOut,
    DemandPage,
    DirectAnswerIn,
    DispatchIn,
    EventOut,
    ExtensionDecisionIn,
    ExtensionIn,
    GoalsIn,
    GroupVisitIn,
    GroupVisitOut,
    MergeIn,
    MinutesIn,
    NoteIn,
    ReasonIn,
    ReceiptOut,
    RepresentativesIn,
    ReturnIn,
    SuperviseIn,
    TextIn,
    TrackCallbackIn,
    TrackIn,
    TrackOut,
    TrackWithdrawIn,
)

router = Router(tags=["demands"])
group_router = Router(tags=["group visits"])
staff = TokenAuth()


def _iso(dt) -> str | None:
    """Times in the configured time zone (Beijing time by default), with their offset."""
    return timezone.localtime(dt).isoformat() if dt else None


def _unit(org) -> dict | None:
    return {"id": org.pk, "code": org.code, "name": org.name} if org else None


def demand_out(user, d: Demand) -> dict:
    co = [du.unit for du in d.units.filter(active=True, role=DemandUnit.Role.CO).select_related("unit")]
    held = {over: policy.roles_over(user, d, over) for over in ("area", "unit", "co")}
    return {
        "id": d.pk, "code": d.code, "channel": d.channel, "type": d.type, "title": d.title, "content": d.content,
        "restatement": d.restatement, "category": d.category.full_name if d.category else None, "urgency": d.urgency,
        "state": d.state, "state_label": State(d.state).label, "round": d.round, "place": _unit(d.place),
        "address": d.address, "person": queries.person_view(user, d, full=True), "lead_unit": _unit(d.lead_unit),
        "co_units": [_unit(u) for u in co], "created_at": _iso(d.created_at),
        "dispatched_at": _iso(d.dispatched_at), "sign_due_at": _iso(d.sign_due_at), "due_at": _iso(d.due_at),
        "deadline_pending": d.deadline_pending, "replied_at": _iso(d.replied_at), "closed_at": _iso(d.closed_at),
        "overdue": d.overdue, "supervision": d.supervision, "resolved": d.resolved, "satisfaction": d.satisfaction,
        "merged_into": d.merged_into.code if d.merged_into_id else None, "auto_dispatched": d.auto_dispatched,
        "actions": workflow.allowed_actions_over(d.state, held),
    }


def _brief(d: Demand) -> dict:
    return {
        "id": d.pk, "code": d.code, "type": d.type, "title": d.title, "state": d.state,
        "state_label": State(d.state).label, "category": d.category.full_name if d.category else None,
        "lead_unit": d.lead_unit.name if d.lead_unit else None, "created_at": _iso(d.created_at),
        "due_at": _iso(d.due_at), "overdue": d.overdue, "supervision": d.supervision,
    }


def _track_out(d: Demand) -> dict:
    from massline.core.models import Event

    # internal steps (notes, risk assessments) are not shown to the person
    steps = Event.objects.filter(chain=d.chain).exclude(
        action__in=("note", "co_note", "attach", "risk_flagged")).order_by("seq")
    return {
        "code": d.code, "title": d.title, "type": d.type, "state": d.state, "state_label": State(d.state).label,
        "created_at": _iso(d.created_at), "due_at": _iso(d.due_at),
        "lead_unit": None if d.is_report else (d.lead_unit.name if d.lead_unit else None),
        "replies": [{"text": r.text, "created_at": _iso(r.created_at),
                     "unit": None if d.is_report else (r.unit.name if r.unit else None)}
                    for r in d.replies.select_related("unit").order_by("created_at")],
        "timeline": [{"at": _iso(e.at), "step": workflow.LABELS.get(e.action, _PUBLIC_STEPS.get(e.action, "处理")),
                      "state": State(e.to_state).label if e.to_state in State.values else ""} for e in steps],
        "can_rate": d.state == State.REPLIED,
        "can_withdraw": d.state in workflow.OPEN_BEFORE_REPLY,
    }


_PUBLIC_STEPS = {"receive": "登记", "urgency_raised": "加急", "deadline_warning": "临期提醒", "overdue": "超期督办",
                 "listed_supervision": "挂牌督办", "deadline_computed": "计算时限"}


def _intake(body: DemandIn) -> IntakeData:
    return IntakeData(**body.dict())


# --- public ---------------------------------------------------------------------------------------

@router.post("", response={201: ReceiptOut, **errors(400, 401, 403, 404, 409, 422, 429)}, auth=OptionalTokenAuth(),
             operation_id="submit_demand", openapi_extra={"security": [{}]})  # the token is optional
def submit_demand(request, body: DemandIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Submit a demand. Public (no login, rate-limited) for web, mobile, message board and API channels; staff
    channels (hotline, letter, visit…) need an intake operator's token. With an ``Idempotency-Key`` header a
    retried request returns the first answer and never creates a second demand."""
    user = caller(request)
    if user is None:
        ratelimit.check(request, "submit")

    def do() -> tuple[int, dict]:
        d, secret = services.receive(_intake(body), user)
        return 201, {"id": d.pk, "code": d.code, "secret": secret, "state": d.state,
                     "created_at": _iso(d.created_at)}

    if idempotency_key:
        principal = f"user:{user.pk}" if user is not None else "public"
        status, out, _ = idempotency.run(idempotency_key, principal, body.dict(), do)
        return status, out
    return do()


@router.post("/track", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None, operation_id="track_demand")
def track(request, body: TrackIn):
    """Follow a demand with its tracking code and secret (POST, so the secret stays out of URLs and logs)."""
    ratelimit.check(request, "track")
    return _track_out(services.by_code(body.code, body.secret))


@router.post("/track/callback", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None, operation_id="rate_demand")
def track_callback(request, body: TrackCallbackIn):
    """The person rates the reply: resolved or not, satisfied / basically satisfied / dissatisfied."""
    ratelimit.check(request, "track")
    d = services.callback_by_person(body.code, body.secret, resolved=body.resolved, satisfaction=body.satisfaction,
                                    comment=body.comment)
    return _track_out(d)


@router.post("/track/withdraw", response={200: TrackOut, **PUBLIC_ERRORS}, auth=None, operation_id="withdraw_own")
def track_withdraw(request, body: TrackWithdrawIn):
    ratelimit.check(request, "track")
    return _track_out(services.withdraw_by_person(body.code, body.secret, reason=body.reason))


# --- staff reads ----------------------------------------------------------------------------------

@router.get("", response={200: DemandPage, **STAFF_ERRORS}, auth=staff, operation_id="list_demands")
def list_demands(request, q: str = "", code: str = "", phone: str = "", state: str = "", type: str = "",
                 channel: str = "", unit_id: int | None = None, overdue: bool | None = None,
                 supervision: int | None = None, page: int = 1, page_size: int = 50):
    """Search the demands the caller may see (whistle-blowing reports only for discipline inspection)."""
    f = queries.Filters(q=q, code=code, phone=phone, state=state, type=type, channel=channel, unit_id=unit_id,
                        overdue=overdue, supervision=supervision)
    qs = queries.search(request.auth, f)
    page = max(1, min(page, 100000))
    page_size = max(1, min(page_size, 200))
    items = list(qs[(page - 1) * page_size: page * page_size])
    return {"count": qs.count(), "page": page, "page_size": page_size, "items": [_brief(d) for d in items]}


def _visible(user, demand_id: int) -> Demand:
    d = services.load(demand_id)
    if not policy.can_see(user, d):
        raise NotFound()
    return d


@router.get("/{demand_id}", response={200: DemandOut, **STAFF_ERRORS}, auth=staff, operation_id="get_demand")
def get_demand(request, demand_id: int):
    return demand_out(request.auth, _visible(request.auth, demand_id))


@router.get("/{demand_id}/events", response={200: list[EventOut], **STAFF_ERRORS}, auth=staff,
            operation_id="demand_events")
def demand_events(request, demand_id: int):
    """The demand's tamper-evident record, step by step."""
    d = _visible(request.auth, demand_id)
    return [{"seq": e.seq, "at": _iso(e.at), "actor": e.actor_name, "role": e.actor_role, "action": e.action,
             "from_state": e.from_state, "to_state": e.to_state, "reason": e.reason, "data": e.data}
            for e in queries.timeline(d)]


# --- staff actions --------------------------------------------------------------------------------

def _done(request, d: Demand) -> dict:
    return demand_out(request.auth, services.load(d.pk))


def _action(path: str, op: str, doc: str):
    return router.post(f"/{{demand_id}}/{path}", response={200: DemandOut, **STAFF_ERRORS}, auth=staff,
                       operation_id=op, summary=doc)


@_action("accept", "accept_demand", "受理")
def accept(request, demand_id: int, body: AcceptIn):
    return _done(request, services.accept(demand_id, request.auth, restatement=body.restatement,
                                          category_id=body.category_id))


@_action("reject", "reject_demand", "不予受理")
def reject(request, demand_id: int, body: ReasonIn):
    return _done(request, services.reject(demand_id, request.auth, reason=body.reason))


@_action("answer", "answer_directly", "直接办结（受理时即答复）")
def answer(request, demand_id: int, body: DirectAnswerIn):
    return _done(request, services.answer_directly(demand_id, request.auth, text=body.text, public=body.public,
                                                   restatement=body.restatement))


@_action("dispatch", "dispatch_demand", "派单（不指定单位时按权责清单）")
def dispatch(request, demand_id: int, body: DispatchIn):
    return _done(request, services.dispatch(demand_id, request.auth, lead_unit_id=body.lead_unit_id,
                                            co_unit_ids=body.co_unit_ids, note=body.note))


@_action("sign", "sign_demand", "签收")
def sign(request, demand_id: int):
    return _done(request, services.sign(demand_id, request.auth))


@_action("start", "start_demand", "开始办理")
def start(request, demand_id: int, body: NoteIn):
    return _done(request, services.start(demand_id, request.auth, note=body.note))


@_action("notes", "add_note", "办理记录")
def note(request, demand_id: int, body: TextIn):
    return _done(request, services.add_note(demand_id, request.auth, text=body.text))


@_action("co-opinions", "co_opinion", "协办意见")
def co_opinion(request, demand_id: int, body: TextIn):
    return _done(request, services.co_opinion(demand_id, request.auth, text=body.text))


@_action("return", "request_return", "申请退单")
def request_return(request, demand_id: int, body: ReturnIn):
    return _done(request, services.request_return(demand_id, request.auth, reason=body.reason,
                                                  cited_item=body.cited_item, cited_entry_id=body.cited_entry_id,
                                                  suggested_unit_id=body.suggested_unit_id))


@_action("return/uphold", "uphold_return", "同意退单并改派")
def uphold_return(request, demand_id: int, body: DispatchIn):
    return _done(request, services.uphold_return(demand_id, request.auth, lead_unit_id=body.lead_unit_id,
                                                 co_unit_ids=body.co_unit_ids, note=body.note))


@_action("return/overrule", "overrule_return", "驳回退单")
def overrule_return(request, demand_id: int, body: NoteIn):
    return _done(request, services.overrule_return(demand_id, request.auth, note=body.note))


@_action("extension", "request_extension", "申请延期")
def request_extension(request, demand_id: int, body: ExtensionIn):
    services.request_extension(demand_id, request.auth, working_days=body.working_days, reason=body.reason)
    return demand_out(request.auth, services.load(demand_id))


@_action("extension/decision", "decide_extension", "审批延期")
def decide_extension(request, demand_id: int, body: ExtensionDecisionIn):
    return _done(request, services.decide_extension(demand_id, request.auth, approve=body.approve, note=body.note))


@_action("suspend", "suspend_demand", "挂起（等待诉求人，时限暂停）")
def suspend(request, demand_id: int, body: ReasonIn):
    return _done(request, services.suspend(demand_id, request.auth, reason=body.reason))


@_action("resume", "resume_demand", "恢复办理")
def resume(request, demand_id: int, body: NoteIn):
    return _done(request, services.resume(demand_id, request.auth, note=body.note))


@_action("reply", "reply_demand", "答复")
def reply(request, demand_id: int, body: AnswerIn):
    services.reply(demand_id, request.auth, text=body.text, public=body.public)
    return demand_out(request.auth, services.load(demand_id))


@_action("callback", "callback_demand", "回访（回访员）")
def callback(request, demand_id: int, body: CallbackIn):
    return _done(request, services.callback(demand_id, request.auth, resolved=body.resolved,
                                            satisfaction=body.satisfaction, comment=body.comment))


@_action("merge", "merge_demand", "合并到主诉求")
def merge(request, demand_id: int, body: MergeIn):
    return _done(request, services.merge(demand_id, request.auth, into_id=body.into_id, note=body.note))


@_action("withdraw", "withdraw_demand", "撤回（代诉求人）")
def withdraw(request, demand_id: int, body: ReasonIn):
    return _done(request, services.withdraw(demand_id, request.auth, reason=body.reason))


@_action("urge", "urge_demand", "催办")
def urge(request, demand_id: int, body: NoteIn):
    return _done(request, services.urge(demand_id, request.auth, note=body.note))


@_action("supervise", "supervise_demand", "督办（level 1）或挂牌督办（level 2）")
def supervise(request, demand_id: int, body: SuperviseIn):
    return _done(request, services.supervise(demand_id, request.auth, note=body.note, level=body.level))


@_action("certify-close", "certify_close", "审核办结")
def certify_close(request, demand_id: int, body: CertifyIn):
    return _done(request, services.certify_close(demand_id, request.auth, reason=body.reason, exclude=body.exclude))


# --- attachments ----------------------------------------------------------------------------------

@router.post("/{demand_id}/attachments", response={201: AttachmentOut, **STAFF_ERRORS}, auth=staff,
             operation_id="attach_file")
def attach(request, demand_id: int, file: File[UploadedFile]):
    """Attach an image (JPEG, PNG, GIF, WebP) or PDF, recognised by its content; size-capped."""
    d = services.load(demand_id)
    att = attachments.store(d, request.auth, name=file.name or "file", chunks=file.chunks(), size=file.size)
    return 201, {"id": att.pk, "name": att.original_name, "content_type": att.content_type, "size": att.size,
                 "sha256": att.sha256}


@router.get("/attachments/{attachment_id}", response={200: None, **STAFF_ERRORS}, auth=staff,
            operation_id="download_attachment", openapi_extra={"responses": {200: {
                "description": "附件内容（类型按文件内容识别）",
                "content": {ctype: {"schema": {"type": "string", "format": "binary"}}
                            for ctype in sorted({c for _, c, _ in attachments.SIGNATURES} | {"image/webp"})}}}})
def download(request, attachment_id: int):
    att = attachments.open_for(request.auth, attachment_id)
    return FileResponse(attachments.path_for(att).open("rb"), content_type=att.content_type, as_attachment=True,
                        filename=att.original_name)


# --- group visits -----------------------------------------------------------------------------------

def _group_out(gv: GroupVisit) -> dict:
    return {
        "id": gv.pk, "topic": gv.topic, "headcount": gv.headcount, "step": gv.step,
        "representatives": [{"identity": "named", "name": r.person.name, "phone": queries.mask_phone(r.person.phone)}
                            for r in gv.representatives.select_related("person")],
        # a report brought by the group is discipline inspection's alone: not listed with the visit
        "minutes": gv.minutes, "goals": gv.goals,
        "demands": list(gv.demands.exclude(type=DemandType.REPORT).values_list("code", flat=True)),
    }


def _group(user, visit_id: int) -> GroupVisit:
    if not policy.has_role(user, "intake", "leader", "supervisor"):
        raise NotFound()
    gv = GroupVisit.objects.filter(pk=visit_id).first()
    if gv is None:
        raise NotFound("集体访记录不存在")
    return gv


@group_router.post("", response={201: GroupVisitOut, **STAFF_ERRORS}, auth=staff, operation_id="open_group_visit")
def open_group_visit(request, body: GroupVisitIn):
    """Step 1 of a group visit: invite in (请进门)."""
    gv = services.open_group_visit(request.auth, topic=body.topic, headcount=body.headcount, place_id=body.place_id)
    return 201, _group_out(gv)


@group_router.get("/{visit_id}", response={200: GroupVisitOut, **STAFF_ERRORS}, auth=staff,
                  operation_id="get_group_visit")
def get_group_visit(request, visit_id: int):
    return _group_out(_group(request.auth, visit_id))


@group_router.post("/{visit_id}/representatives", response={200: GroupVisitOut, **STAFF_ERRORS}, auth=staff,
                   operation_id="choose_representatives")
def choose_representatives(request, visit_id: int, body: RepresentativesIn):
    """Step 2: choose representatives (选代表), at most five."""
    _group(request.auth, visit_id)
    gv = services.choose_representatives(visit_id, request.auth, [r.dict() for r in body.representatives])
    return _group_out(gv)


@group_router.post("/{visit_id}/talk", response={200: GroupVisitOut, **STAFF_ERRORS}, auth=staff,
                   operation_id="record_group_talk")
def record_talk(request, visit_id: int, body: MinutesIn):
    """Steps 3–4: the demands are filed (POST /demands with channel "group") and the talk is minuted."""
    _group(request.auth, visit_id)
    return _group_out(services.record_group_talk(visit_id, request.auth, minutes=body.minutes))


@group_router.post("/{visit_id}/goals", response={200: GroupVisitOut, **STAFF_ERRORS}, auth=staff,
                   operation_id="settle_group_goals")
def settle_goals(request, visit_id: int, body: GoalsIn):
    """Step 5: sort out the goals (理目标)."""
    _group(request.auth, visit_id)
    return _group_out(services.settle_group_goals(visit_id, request.auth, goals=body.goals))
