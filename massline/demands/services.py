"""Every change to a demand: check (workflow and policy) → compare-and-swap update → event → notify
after commit. Views, the API, commands and tasks call these and nothing else."""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from massline.core import calendar as workcalendar
from massline.core import clock, events, notify
from massline.core.errors import Conflict, DomainError, NotFound
from massline.core.events import Actor
from massline.core.workcal import CalendarNotCovered
from massline.directory import queries as directory
from massline.directory.models import Org, Person, Responsibility, Role
from massline.directory.services import find_or_create_person

from . import deadlines, hooks, intake, policy, signals, workflow
from .intake import IntakeData
from .models import (
    Callback,
    Channel,
    Demand,
    DemandType,
    DemandUnit,
    ExtensionRequest,
    GroupRepresentative,
    GroupVisit,
    Identity,
    Reply,
    ReturnRequest,
    Satisfaction,
    State,
)

log = logging.getLogger("massline.demands")
MAX_REPRESENTATIVES = 5
# replies that only pass the matter on are not answers (件件有回音 means an answer, not a forwarding note)
PASS_ON_PHRASES = ("已转相关部门", "已转交相关部门", "已转有关部门", "转相关部门处理", "已转办", "已转交",
                   "已移交相关部门", "请咨询相关部门", "请联系相关部门", "已收悉", "已转")
MIN_REPLY_CHARS = 15


# --- helpers ------------------------------------------------------------------------------------

def actor_for(user, role: str) -> Actor:
    if user is None:
        return Actor.system()
    name = (user.get_full_name() or user.get_username()) if hasattr(user, "get_username") else str(user)
    return Actor(user.pk, name, role)


PERSON_ACTOR = Actor(None, "诉求人（凭查询码）", workflow.PERSON)


def load(demand_id: int) -> Demand:
    d = Demand.objects.select_related("person", "category", "policy", "lead_unit", "place").filter(pk=demand_id).first()
    if d is None:
        raise NotFound("诉求不存在或您无权查看")
    return d


def _apply(d: Demand, action: str, actor: Actor, changes: dict[str, Any], *, to_state: str | None = None,
           reason: str = "", data: dict | None = None) -> Demand:
    """The compare-and-swap: update only if the demand is still in the state and version we read."""
    now = clock.now()
    before = copy.copy(d)  # for the in-transaction hooks (rollups)
    fields: dict[str, Any] = {}
    instances: dict[str, Any] = {}
    for k, v in changes.items():
        if isinstance(v, models.Model) or (v is None and k in ("policy", "lead_unit")):
            instances[k] = v
            fields[f"{k}_id"] = v.pk if v is not None else None
        else:
            fields[k] = v
    if to_state is not None:
        fields["state"] = to_state
    fields["version"] = d.version + 1
    fields["updated_at"] = now
    after = copy.copy(d)
    for k, v in {**fields, **instances}.items():
        setattr(after, k, v)
    fields["sweep_at"] = deadlines.safe_next_sweep(after, now)
    won = Demand.objects.filter(pk=d.pk, state=d.state, version=d.version).update(**fields)
    if won != 1:
        current = Demand.objects.filter(pk=d.pk).values_list("state", flat=True).first()
        label = State(current).label if current else "已删除"
        raise Conflict("concurrent_change", f"该诉求刚被他人处理（当前状态：{label}），请刷新后重试", state=current)
    from_state = d.state
    for k, v in {**fields, **instances}.items():
        setattr(d, k, v)
    ev = events.record(d.chain, action, actor, from_state=from_state, to_state=d.state, reason=reason, data=data or {})
    hooks.changed([hooks.Change(before, d, (action,), ev.at)])
    return d


def _inbox_on_commit(user_ids: list[int], kind: str, title: str, body: str = "", link: str = "") -> None:
    if user_ids:
        notify.inbox(user_ids, kind, title, body, link)


def _handlers(d: Demand, include_co: bool = False) -> list[int]:
    ids: list[int] = []
    if d.is_report:
        return directory.users_with_role(Role.DISCIPLINE, d.lead_unit or d.place)
    if d.lead_unit_id:
        ids += directory.handlers_of(d.lead_unit)
    if include_co:
        for du in d.units.filter(active=True, role=DemandUnit.Role.CO).select_related("unit"):
            ids += directory.handlers_of(du.unit)
    return ids


def _area_staff(d: Demand, role: str) -> list[int]:
    if d.is_report:
        return directory.users_with_role(Role.DISCIPLINE, d.lead_unit or d.place)
    where = d.place or d.lead_unit
    return directory.users_with_role(role, where)


def can_text(d: Demand) -> bool:
    """Whether the person left a phone number the platform may send text messages to."""
    return d.identity != Identity.ANONYMOUS and d.person is not None and bool(d.person.phone)


def _tell_person(d: Demand, body: str) -> None:
    if can_text(d):
        notify.send_outside("sms", d.person.phone, body)


def _link(d: Demand) -> str:
    return f"/work/d/{d.pk}/"  # the demand page (massline.demands.views.work)


def _clean_text(text: str, field: str, message: str, minimum: int = 2) -> str:
    text = (text or "").strip()
    if len(text) < minimum:
        raise DomainError("invalid_field", message, field=field)
    return text


# --- intake ---------------------------------------------------------------------------------------

def receive(data: IntakeData, user=None) -> tuple[Demand, str]:
    """Record a demand; returns it and the secret the person follows it with (shown once).

    Everything is checked before the transaction starts, so a refusal touches no transaction of the caller."""
    refs = intake.validate(data, user)
    return _store(data, user, refs)


@transaction.atomic(savepoint=False)
def _store(data: IntakeData, user, refs: dict) -> tuple[Demand, str]:
    now = clock.now()
    person = None
    if data.identity != Identity.ANONYMOUS:
        person = find_or_create_person(name=data.name, phone=data.phone, id_number=data.id_number)
        if user is not None and getattr(user, "is_authenticated", False) and data.channel in (
            Channel.WEB, Channel.MOBILE, Channel.BOARD, Channel.API
        ) and not policy.has_staff_role(user) and person.user_id is None \
                and not Person.objects.filter(user=user).exists():  # a user is linked to one person only
            Person.objects.filter(pk=person.pk, user__isnull=True).update(user=user)
            person.user_id = user.pk
    agent = None
    if data.channel == Channel.AGENT or data.agent_name.strip() or data.agent_phone.strip():
        agent = find_or_create_person(name=data.agent_name, phone=data.agent_phone)
    place: Org | None = refs["place"]
    if place is None and refs["group_visit"] is not None:
        place = refs["group_visit"].place
    if place is None:
        # no place given: the district, the backstop area (as in routing); with an empty area path the demand
        # would be invisible to every district-scoped operator (and a report to discipline inspection)
        place = Org.objects.filter(kind=Org.Kind.DISTRICT, active=True).order_by("pk").first()
    secret = intake.new_secret()
    d = None
    for _ in range(5):
        code = intake.new_code(timezone.localtime(now).strftime("%y%m%d"))
        if not Demand.objects.filter(code=code).exists():
            break
    d = Demand.objects.create(
        code=code, secret_hash=intake.hash_secret(code, secret), channel=data.channel, type=data.type,
        category=refs["category"], urgency=data.urgency, identity=data.identity, title=data.title.strip(),
        content=data.content.strip(), restatement=data.restatement.strip(), place=place,
        area_path=place.path if place else "", address=data.address.strip(),
        latitude=Decimal(str(data.latitude)) if data.latitude is not None else None,
        longitude=Decimal(str(data.longitude)) if data.longitude is not None else None,
        person=person, agent=agent, group_visit=refs["group_visit"], reported_unit=refs["reported_unit"],
        reported_person=data.reported_person.strip(), state=State.RECEIVED,
        created_by=user if user is not None and getattr(user, "is_authenticated", False) else None,
        created_at=now, updated_at=now,
    )
    role = policy.intake_role(user)
    who = Actor(None, "群众（网上提交）", "citizen") if role == "public" else actor_for(user, role)
    ev = events.record(
        d.chain, "receive", who, to_state=State.RECEIVED, new_chain=True,
        data={"channel": d.channel, "type": d.type, "urgency": d.urgency, "identity": d.identity,
              "category": d.category.full_name if d.category else None, "place": place.code if place else None,
              "person_id": person.pk if person else None, "agent_id": agent.pk if agent else None,
              "group_visit_id": d.group_visit_id},
    )
    hooks.changed([hooks.Change(None, d, ("receive",), ev.at)])
    if d.group_visit_id and refs["group_visit"].step == GroupVisit.Step.REPRESENTED:
        gv = refs["group_visit"]
        if GroupVisit.objects.filter(pk=gv.pk, step=GroupVisit.Step.REPRESENTED).update(step=GroupVisit.Step.FORM):
            events.record(f"group:{gv.pk}", "group_form", who, from_state=GroupVisit.Step.REPRESENTED,
                          to_state=GroupVisit.Step.FORM, data={"demand": d.code})
    if d.is_report:
        # a whistle-blowing report goes straight to discipline inspection, never through the area's staff
        transaction.on_commit(lambda: _inbox_on_commit(
            directory.users_with_role(Role.DISCIPLINE, place), "report", f"新举报 {d.code}", link=_link(d)))
    _tell_person(d, f"您的诉求已登记，查询码 {d.code}，查询密码 {secret}。请妥善保存，用于查询进度和评价。")
    # read the text before anyone dispatches it: a gas leak raises the urgency (and so the deadline policy),
    # signs of escalation are flagged for the supervisors
    signals.apply_on_intake(d)
    hooks.fire("received", d, user)
    return d, secret


def raise_urgency(d: Demand, level: str, actor: Actor, *, reason: str, data: dict) -> Demand:
    """The system's reading of the text raises the urgency before dispatch (see ``signals``)."""
    return _apply(d, "urgency_raised", actor, {"urgency": level}, reason=reason, data=data)


def _load_for(user, demand_id: int, action: str) -> tuple[Demand, str]:
    d = load(demand_id)
    role = policy.authorize(user, d, action)
    return d, role


@transaction.atomic
def accept(demand_id: int, user, *, restatement: str = "", category_id: int | None = None) -> Demand:
    d, role = _load_for(user, demand_id, "accept")
    changes: dict[str, Any] = {}
    if restatement.strip():
        changes["restatement"] = restatement.strip()
    if category_id is not None:
        changes["category_id"] = _category(category_id).pk
    return _apply(d, "accept", actor_for(user, role), changes, to_state=State.ACCEPTED)


def _category(category_id: int):
    from massline.directory.models import Category

    cat = Category.objects.filter(pk=category_id, active=True).first()
    if cat is None:
        raise DomainError("invalid_field", "所选分类不存在", field="category_id")
    return cat


@transaction.atomic
def reject(demand_id: int, user, *, reason: str) -> Demand:
    reason = _clean_text(reason, "reason", "不予受理须写明理由", 4)
    d, role = _load_for(user, demand_id, "reject")
    d = _apply(d, "reject", actor_for(user, role), {"closed_at": clock.now()}, to_state=State.REJECTED, reason=reason)
    _tell_person(d, f"您的诉求 {d.code} 不予受理，理由：{reason}")
    return d


def check_reply_text(text: str) -> str:
    """An empty reply, or one that only says the matter was passed on, is not an answer."""
    text = (text or "").strip()
    if not text:
        raise DomainError("empty_reply", "答复内容不能为空", field="text")
    core = text
    for phrase in PASS_ON_PHRASES:
        core = core.replace(phrase, "")
    core = "".join(ch for ch in core if ch.isalnum())
    if len(core) < MIN_REPLY_CHARS:
        raise DomainError(
            "reply_not_an_answer",
            "答复须说明办理结果或明确解答，不能只写“已转相关部门处理”之类的转办说明",
            field="text",
        )
    return text


@transaction.atomic
def answer_directly(demand_id: int, user, *, text: str, public: bool = True, restatement: str = "") -> Demand:
    """An enquiry answered at intake (直接办结): recorded as a reply, then the usual callback.

    Listen first (滞后处理): the operator must have restated the demand — at intake, on acceptance or here —
    before an answer is recorded."""
    text = check_reply_text(text)
    d, role = _load_for(user, demand_id, "answer_directly")
    if d.type not in (DemandType.ENQUIRY, DemandType.SUGGESTION, DemandType.PRAISE):
        raise DomainError("not_answerable_at_intake", "只有咨询、建议和表扬可以直接办结；其他诉求须派单办理")
    restatement = restatement.strip() or d.restatement
    if not restatement:
        raise DomainError("restate_first", "请先复述并记下群众的诉求，确认理解无误后再作答复", field="restatement")
    now = clock.now()
    Reply.objects.create(demand=d, round=d.round, author=user, text=text, public=public, created_at=now)
    d = _apply(d, "answer_directly", actor_for(user, role), {"replied_at": now, "restatement": restatement},
               to_state=State.REPLIED, data={"public": public})
    _tell_person(d, f"您的诉求 {d.code} 已答复，请凭查询码查看并评价。")
    return d


# --- dispatch ---------------------------------------------------------------------------------------

def _set_units(d: Demand, lead: Org, co_units: list[Org], now: datetime) -> None:
    DemandUnit.objects.filter(demand=d, active=True).update(active=False)
    DemandUnit.objects.bulk_create(
        [DemandUnit(demand=d, unit=lead, unit_path=lead.path, role=DemandUnit.Role.LEAD, assigned_at=now)]
        + [DemandUnit(demand=d, unit=u, unit_path=u.path, role=DemandUnit.Role.CO, assigned_at=now)
           for u in co_units if u.pk != lead.pk]
    )
    d._co_paths = [u.path for u in co_units if u.pk != lead.pk]


def _deadline_changes(d: Demand, now: datetime) -> dict[str, Any]:
    """The clock starts at dispatch: limits from the policy and the working calendar."""
    try:
        limits = deadlines.compute(d, now)
    except CalendarNotCovered as exc:
        if workcalendar.raise_gap_alert(exc.year):
            admins = directory.users_with_role(Role.ADMIN, None)
            message = f"工作日历缺少 {exc.year} 年：诉求 {d.code} 的办理时限暂不能计算，请尽快录入该年日历"
            transaction.on_commit(lambda: _inbox_on_commit(admins, "calendar_gap", message))
        return {"dispatched_at": now, "deadline_pending": True, "due_at": None, "warn_at": None,
                "sign_due_at": None, "warned": False, "overdue": False, "supervision": 0, "policy": None}
    return {
        "dispatched_at": now, "deadline_pending": False, "policy": limits.policy, "deadline_unit": limits.unit, "deadline_amount": Decimal(str(limits.amount)),
        "due_at": limits.due_at, "warn_at": limits.warn_at, "sign_due_at": limits.sign_due_at,
        "warned": False, "overdue": False, "supervision": 0, "signed_at": None, "signed_late": False,
    }


def _resolve_units(d: Demand, lead_unit_id: int | None, co_unit_ids: list[int] | None):
    if d.is_report:
        unit = Org.objects.filter(kind=Org.Kind.DISCIPLINE, active=True, path__startswith=_district_path(d)).first() \
            or Org.objects.filter(kind=Org.Kind.DISCIPLINE, active=True).first()
        if unit is None:
            raise DomainError("no_discipline_unit", "未配置纪检监察机关，举报无法派送")
        if lead_unit_id is not None and lead_unit_id != unit.pk:
            raise DomainError("report_to_discipline_only", "举报只能交纪检监察机关办理")
        return unit, [], None
    entry = None
    if lead_unit_id is None:
        route = directory.resolve_route(d.category, d.place)
        if route is None:
            raise DomainError("no_route", "权责清单中找不到承办单位，且未设置兜底区县")
        lead, co, entry = route.lead, route.co_units, route.entry
    else:
        lead = Org.objects.filter(pk=lead_unit_id, active=True).first()
        if lead is None or not lead.can_handle:
            raise DomainError("invalid_field", "所选主办单位不存在或不是承办单位", field="lead_unit_id")
        co = []
    if co_unit_ids is not None:
        co = list(Org.objects.filter(pk__in=co_unit_ids, active=True))
        if len(co) != len(set(co_unit_ids)) or any(not u.can_handle for u in co):
            raise DomainError("invalid_field", "协办单位中有不存在或不能承办的单位", field="co_unit_ids")
    if any(u.kind == Org.Kind.DISCIPLINE for u in [lead, *co]):
        raise DomainError("discipline_for_reports", "纪检监察机关只承办举报")
    return lead, co, entry


def _district_path(d: Demand) -> str:
    path = d.area_path or ""
    parts = [p for p in path.strip("/").split("/") if p]
    return f"/{parts[0]}/" if parts else "/"


@transaction.atomic
def dispatch(demand_id: int, user, *, lead_unit_id: int | None = None, co_unit_ids: list[int] | None = None,
             note: str = "", auto: bool = False, model_version: str = "") -> Demand:
    """Send the demand to one lead unit (and co-handling units). Without a unit, the responsibility list
    decides (the district as backstop). The handling clock starts now."""
    d = load(demand_id)
    if user is None:
        workflow.check_state("dispatch", d.state)
        role = workflow.SYSTEM
    else:
        role = policy.authorize(user, d, "dispatch")
    lead, co, entry = _resolve_units(d, lead_unit_id, co_unit_ids)
    now = clock.now()
    _set_units(d, lead, co, now)
    changes = _deadline_changes(d, now)
    model_version = model_version or hooks.model_version()
    changes.update(lead_unit=lead, lead_path=lead.path, auto_dispatched=auto,
                   model_version=model_version)
    d = _apply(d, "dispatch", actor_for(user, role), changes, to_state=State.DISPATCHED, reason=note,
               data={"lead": lead.code, "co": [u.code for u in co], "entry": entry.pk if entry else None,
                     "due_at": changes["due_at"].isoformat() if changes.get("due_at") else None, "auto": auto,
                     "deadline_pending": changes["deadline_pending"], "model_version": model_version})
    handlers = _handlers(d, include_co=True)
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "dispatched", f"新派单 {d.code}：{d.title}", link=_link(d)))
    hooks.fire("dispatched", d, user)
    return d


# --- handling ---------------------------------------------------------------------------------------

@transaction.atomic
def sign(demand_id: int, user) -> Demand:
    d, role = _load_for(user, demand_id, "sign")
    now = clock.now()
    late = bool(d.sign_due_at and now > d.sign_due_at)
    DemandUnit.objects.filter(demand=d, active=True, role=DemandUnit.Role.LEAD).update(signed_at=now)
    return _apply(d, "sign", actor_for(user, role), {"signed_at": now, "signed_late": late}, to_state=State.SIGNED,
                  data={"late": late})


@transaction.atomic
def start(demand_id: int, user, *, note: str = "") -> Demand:
    d, role = _load_for(user, demand_id, "start")
    return _apply(d, "start", actor_for(user, role), {}, to_state=State.IN_PROGRESS, reason=note.strip())


@transaction.atomic
def add_note(demand_id: int, user, *, text: str) -> Demand:
    text = _clean_text(text, "text", "办理记录不能为空")
    d, role = _load_for(user, demand_id, "note")
    return _apply(d, "note", actor_for(user, role), {}, reason=text)


@transaction.atomic
def co_opinion(demand_id: int, user, *, text: str) -> Demand:
    text = _clean_text(text, "text", "协办意见不能为空")
    d, role = _load_for(user, demand_id, "co_note")
    units = DemandUnit.objects.filter(demand=d, active=True, role=DemandUnit.Role.CO).select_related("unit")
    mine = [du for du in units if any(g.role == Role.HANDLER and du.unit_path == g.scope_path
                                      for g in policy.grants(user))]
    for du in mine:
        DemandUnit.objects.filter(pk=du.pk).update(opinion=text)
    d = _apply(d, "co_note", actor_for(user, role), {}, reason=text, data={"units": [du.unit.code for du in mine]})
    lead = _handlers(d)
    transaction.on_commit(lambda: _inbox_on_commit(lead, "co_opinion", f"{d.code} 收到协办意见", text, _link(d)))
    return d


@transaction.atomic
def request_return(demand_id: int, user, *, reason: str, cited_item: str, cited_entry_id: int | None = None,
                   suggested_unit_id: int | None = None) -> Demand:
    """A unit that is not responsible asks to return the demand, citing the catalogue item that says so.
    It cannot drop the demand silently: the dispatcher rules."""
    reason = _clean_text(reason, "reason", "退单须写明理由", 4)
    cited_item = _clean_text(cited_item, "cited_item", "退单须引用权责清单中的事项")
    d, role = _load_for(user, demand_id, "request_return")
    if d.is_report:
        raise DomainError("report_not_returnable", "举报只由纪检监察机关办理，不能退单")
    entry = Responsibility.objects.filter(pk=cited_entry_id).first() if cited_entry_id else None
    if cited_entry_id and entry is None:
        raise DomainError("invalid_field", "所引权责清单条目不存在", field="cited_entry_id")
    suggested = Org.objects.filter(pk=suggested_unit_id).first() if suggested_unit_id else None
    if suggested_unit_id and suggested is None:
        raise DomainError("invalid_field", "建议的承办单位不存在", field="suggested_unit_id")
    ReturnRequest.objects.create(
        demand=d, unit_id=d.lead_unit_id, requested_by=user, reason=reason, cited_entry=entry, cited_item=cited_item,
        suggested_unit=suggested, created_at=clock.now(),
    )
    d = _apply(d, "request_return", actor_for(user, role), {"resume_state": d.state}, to_state=State.RETURN_REQUESTED,
               reason=reason, data={"cited_item": cited_item, "cited_entry": cited_entry_id,
                                    "suggested_unit": suggested.code if suggested else None})
    dispatchers = _area_staff(d, Role.DISPATCHER)
    transaction.on_commit(lambda: _inbox_on_commit(dispatchers, "return", f"{d.code} 申请退单", reason, _link(d)))
    return d


def _pending_return(d: Demand) -> ReturnRequest:
    rr = d.returns.filter(status=ReturnRequest.Status.PENDING).order_by("-pk").first()
    if rr is None:
        raise Conflict("no_pending_return", "没有待审的退单申请")
    return rr


@transaction.atomic
def uphold_return(demand_id: int, user, *, lead_unit_id: int | None = None, co_unit_ids: list[int] | None = None,
                  note: str = "") -> Demand:
    """The dispatcher agrees and re-dispatches (to the unit given, the suggested unit, or the list's)."""
    d, role = _load_for(user, demand_id, "uphold_return")
    rr = _pending_return(d)
    target = lead_unit_id or rr.suggested_unit_id
    if target == d.lead_unit_id:
        raise DomainError("same_unit", "同意退单后须改派给其他单位")
    lead, co, entry = _resolve_units(d, target, co_unit_ids)
    if lead.pk == d.lead_unit_id:
        raise DomainError("same_unit", "权责清单仍指向原单位，请指定改派单位", field="lead_unit_id")
    now = clock.now()
    ReturnRequest.objects.filter(pk=rr.pk).update(status=ReturnRequest.Status.UPHELD, ruled_by=user, ruled_at=now,
                                                  ruling_note=note)
    _set_units(d, lead, co, now)
    changes = _deadline_changes(d, now)
    changes.update(lead_unit=lead, lead_path=lead.path, resume_state="", auto_dispatched=False)
    old = d.lead_unit.code if d.lead_unit else None
    d = _apply(d, "uphold_return", actor_for(user, role), changes, to_state=State.DISPATCHED, reason=note,
               data={"from_unit": old, "lead": lead.code, "co": [u.code for u in co], "return_id": rr.pk,
                     "entry": entry.pk if entry else None})
    handlers = _handlers(d, include_co=True)
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "dispatched", f"改派 {d.code}：{d.title}", link=_link(d)))
    hooks.fire("return_upheld", d, user)
    return d


@transaction.atomic
def overrule_return(demand_id: int, user, *, note: str) -> Demand:
    """The dispatcher refuses the return: the demand goes back to the unit where it was; its clock ran on."""
    note = _clean_text(note, "note", "驳回退单须写明理由", 4)
    d, role = _load_for(user, demand_id, "overrule_return")
    rr = _pending_return(d)
    ReturnRequest.objects.filter(pk=rr.pk).update(status=ReturnRequest.Status.OVERRULED, ruled_by=user,
                                                  ruled_at=clock.now(), ruling_note=note)
    back = d.resume_state or State.DISPATCHED
    d = _apply(d, "overrule_return", actor_for(user, role), {"resume_state": ""}, to_state=back, reason=note,
               data={"return_id": rr.pk})
    handlers = _handlers(d)
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "return_overruled", f"{d.code} 退单被驳回", note, _link(d)))
    return d


@transaction.atomic
def request_extension(demand_id: int, user, *, working_days: int, reason: str) -> ExtensionRequest:
    reason = _clean_text(reason, "reason", "申请延期须写明理由", 4)
    if not 1 <= int(working_days) <= 60:
        raise DomainError("invalid_field", "延期天数应为 1 到 60 个工作日", field="working_days")
    d, role = _load_for(user, demand_id, "request_extension")
    if d.due_at is None:
        raise DomainError("no_deadline", "该诉求尚无办理时限，无需延期")
    try:
        with transaction.atomic():
            ext = ExtensionRequest.objects.create(demand=d, unit_id=d.lead_unit_id, requested_by=user,
                                                  working_days=working_days, reason=reason, created_at=clock.now())
    except IntegrityError:
        raise Conflict("extension_pending", "已有待审批的延期申请") from None
    _apply(d, "request_extension", actor_for(user, role), {}, reason=reason,
           data={"working_days": working_days, "extension_id": ext.pk})
    sups = _area_staff(d, Role.SUPERVISOR)
    transaction.on_commit(lambda: _inbox_on_commit(sups, "extension", f"{d.code} 申请延期 {working_days} 个工作日",
                                                   reason, _link(d)))
    return ext


@transaction.atomic
def decide_extension(demand_id: int, user, *, approve: bool, note: str = "") -> Demand:
    d, role = _load_for(user, demand_id, "decide_extension")
    ext = d.extensions.filter(status=ExtensionRequest.Status.PENDING).first()
    if ext is None:
        raise Conflict("no_pending_extension", "没有待审批的延期申请")
    if not approve:
        note = _clean_text(note, "note", "不批准延期须写明理由", 2)
    now = clock.now()
    ExtensionRequest.objects.filter(pk=ext.pk, status=ExtensionRequest.Status.PENDING).update(
        status=ExtensionRequest.Status.APPROVED if approve else ExtensionRequest.Status.REFUSED,
        decided_by=user, decided_at=now, note=note,
    )
    changes: dict[str, Any] = {}
    data: dict[str, Any] = {"extension_id": ext.pk, "approved": approve}
    if approve:
        try:
            if d.state == State.SUSPENDED:
                # the clock is stopped: the extension is added to what will be left when it resumes
                changes["paused_remaining"] = (d.paused_remaining or 0) + _days_in_unit(ext.working_days,
                                                                                       d.deadline_unit)
            elif d.due_at is not None:
                new_due = deadlines.extend(d.due_at, ext.working_days)
                changes.update(due_at=new_due)
                if now < new_due:
                    # back within time: the overdue flag and the supervision it opened lift; a leader's listing
                    # or a supervisor's own supervision stays
                    changes["overdue"] = False
                    if d.overdue and d.supervision == 1:
                        changes["supervision"] = 0
                data["due_at"] = new_due.isoformat()
        except CalendarNotCovered as exc:
            workcalendar.raise_gap_alert(exc.year)
            raise DomainError("calendar_not_covered", str(exc)) from None
    d = _apply(d, "decide_extension", actor_for(user, role), changes, reason=note, data=data)
    handlers = _handlers(d)
    title = f"{d.code} 延期申请{'已批准' if approve else '未批准'}"
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "extension_decided", title, note, _link(d)))
    return d


def _days_in_unit(working_days: int, unit: str) -> float:
    hours_per_day = workcalendar.get_calendar().hours.minutes_per_day / 60
    return {"working_days": working_days, "working_hours": working_days * hours_per_day,
            "calendar_days": working_days * 7 / 5, "calendar_hours": working_days * 24 * 7 / 5}[unit]


@transaction.atomic
def suspend(demand_id: int, user, *, reason: str) -> Demand:
    """Waiting for the person (挂起): the clock stops; what was left is kept for when it resumes."""
    reason = _clean_text(reason, "reason", "挂起须写明理由（例如等待诉求人补充材料）", 4)
    d, role = _load_for(user, demand_id, "suspend")
    now = clock.now()
    left = deadlines.remaining(now, d.due_at, d.deadline_unit) if d.due_at and d.deadline_unit else None
    return _apply(d, "suspend", actor_for(user, role), {"paused_at": now, "paused_remaining": left,
                                                        "resume_state": d.state},
                  to_state=State.SUSPENDED, reason=reason, data={"remaining": left})


@transaction.atomic
def resume(demand_id: int, user, *, note: str = "") -> Demand:
    d, role = _load_for(user, demand_id, "resume")
    now = clock.now()
    changes: dict[str, Any] = {"paused_at": None, "paused_remaining": None, "resume_state": ""}
    if d.paused_remaining is not None and d.deadline_unit:
        try:
            due = deadlines.resume_due(now, d.paused_remaining, d.deadline_unit)
            changes["due_at"] = due
            if d.warn_at and not d.warned and d.paused_at and d.warn_at > d.paused_at:
                warn_left = deadlines.remaining(d.paused_at, d.warn_at, d.deadline_unit)
                changes["warn_at"] = deadlines.resume_due(now, warn_left, d.deadline_unit)
            if d.paused_remaining < 0:
                changes["due_at"] = d.due_at  # it was already overdue when suspended: nothing to give back
        except CalendarNotCovered as exc:
            workcalendar.raise_gap_alert(exc.year)
            changes["deadline_pending"] = True
    back = d.resume_state or State.IN_PROGRESS
    return _apply(d, "resume", actor_for(user, role), changes, to_state=back, reason=note,
                  data={"due_at": changes["due_at"].isoformat() if changes.get("due_at") else None})


def _propagate_reply(master: Demand, reply: Reply, now: datetime) -> None:
    """A merged demand's person still gets the answer: the reply is copied to each merged demand."""
    for child in Demand.objects.filter(merged_into=master, state=State.MERGED):
        Reply.objects.create(demand=child, round=child.round, unit=reply.unit, author=reply.author, text=reply.text,
                             public=reply.public, copied_from=reply, created_at=now)
        child = _apply(child, "reply", Actor.system(), {"replied_at": now}, to_state=State.REPLIED,
                       data={"copied_from_demand": master.code})
        _tell_person(child, f"您的诉求 {child.code} 已答复，请凭查询码查看并评价。")


@transaction.atomic
def reply(demand_id: int, user, *, text: str, public: bool = True) -> Reply:
    text = check_reply_text(text)
    d, role = _load_for(user, demand_id, "reply")
    now = clock.now()
    r = Reply.objects.create(demand=d, round=d.round, unit_id=d.lead_unit_id, author=user, text=text, public=public,
                             created_at=now)
    d = _apply(d, "reply", actor_for(user, role), {"replied_at": now}, to_state=State.REPLIED,
               data={"reply_id": r.pk, "public": public, "on_time": bool(d.due_at is None or now <= d.due_at)})
    _propagate_reply(d, r, now)
    _tell_person(d, f"您的诉求 {d.code} 已答复，请凭查询码查看并评价。")
    return r


# --- callback and closure -----------------------------------------------------------------------------

def _do_callback(d: Demand, actor: Actor, by: str, operator, resolved: bool, satisfaction: str, comment: str) -> Demand:
    if satisfaction not in Satisfaction.values:
        raise DomainError("invalid_field", "满意度应为 满意/基本满意/不满意", field="satisfaction")
    now = clock.now()
    Callback.objects.create(demand=d, round=d.round, by=by, operator=operator, resolved=resolved,
                            satisfaction=satisfaction, comment=comment.strip(), created_at=now)
    data = {"resolved": resolved, "satisfaction": satisfaction, "round": d.round}
    changes: dict[str, Any] = {"resolved": resolved, "satisfaction": satisfaction}
    if satisfaction != Satisfaction.DISSATISFIED:
        changes["closed_at"] = now
        return _apply(d, "callback", actor, changes, to_state=State.CLOSED, reason=comment.strip(), data=data)
    # dissatisfied: a second round with the same unit; beyond the configured rounds, supervision too
    max_rounds = settings.MASSLINE["MAX_ROUNDS"]
    changes.update(round=d.round + 1, replied_at=None, signed_at=None)
    changes.update(_deadline_changes(d, now))
    changes.pop("signed_late", None)
    changes["supervision"] = d.supervision  # a supervised (or listed) matter stays so in its next round
    beyond = d.round + 1 > max_rounds
    if beyond:
        changes.update(supervision=max(1, d.supervision))
        if d.supervision < 1:
            changes["supervised_at"] = now
    data["supervised"] = beyond
    d = _apply(d, "callback", actor, changes, to_state=State.REOPENED, reason=comment.strip(), data=data)
    handlers = _handlers(d)
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "reopened", f"{d.code} 群众不满意，已重办", comment, _link(d)))
    if beyond:
        sups = _area_staff(d, Role.SUPERVISOR)
        transaction.on_commit(lambda: _inbox_on_commit(sups, "supervision", f"{d.code} 多轮办理仍不满意，转督办",
                                                       comment, _link(d)))
    return d


@transaction.atomic
def callback(demand_id: int, user, *, resolved: bool, satisfaction: str, comment: str = "") -> Demand:
    """A callback (回访) by an operator, or by the person logged in as themselves."""
    d, role = _load_for(user, demand_id, "callback")
    by = Callback.By.PERSON if role == workflow.PERSON else Callback.By.OPERATOR
    return _do_callback(d, actor_for(user, role), by, user if by == Callback.By.OPERATOR else None, resolved,
                        satisfaction, comment)


def by_code(code: str, secret: str) -> Demand:
    """The demand behind a tracking code, proven by its secret (the person's own key)."""
    d = Demand.objects.select_related("person", "category", "policy", "lead_unit").filter(
        code=(code or "").strip().upper()).first()
    if d is None or not intake.secret_matches(d.code, secret, d.secret_hash):
        raise NotFound("查询码或查询密码不正确", code="bad_code_or_secret")
    return d


@transaction.atomic
def callback_by_person(code: str, secret: str, *, resolved: bool, satisfaction: str, comment: str = "") -> Demand:
    d = by_code(code, secret)
    workflow.check_state("callback", d.state)
    return _do_callback(d, PERSON_ACTOR, Callback.By.PERSON, None, resolved, satisfaction, comment)


@transaction.atomic
def withdraw_by_person(code: str, secret: str, *, reason: str = "") -> Demand:
    d = by_code(code, secret)
    workflow.check_state("withdraw", d.state)
    return _withdraw(d, PERSON_ACTOR, reason)


@transaction.atomic
def withdraw(demand_id: int, user, *, reason: str = "") -> Demand:
    d, role = _load_for(user, demand_id, "withdraw")
    if role != workflow.PERSON:
        reason = _clean_text(reason, "reason", "代群众撤回须记录撤回原因", 2)
    return _withdraw(d, actor_for(user, role), reason)


def _withdraw(d: Demand, actor: Actor, reason: str) -> Demand:
    d = _apply(d, "withdraw", actor, {"closed_at": clock.now()}, to_state=State.WITHDRAWN, reason=reason.strip())
    handlers = _handlers(d) if d.lead_unit_id else []
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "withdrawn", f"{d.code} 已被诉求人撤回", reason, _link(d)))
    return d


@transaction.atomic
def certify_close(demand_id: int, user, *, reason: str, exclude: bool = False) -> Demand:
    """The supervisor closes a demand after review (e.g. handled as far as the law allows, or an
    unreasonable demand). ``exclude`` keeps it out of the units' rates, with the reason on record."""
    reason = _clean_text(reason, "reason", "审核办结须写明理由", 4)
    d, role = _load_for(user, demand_id, "certify_close")
    return _apply(d, "certify_close", actor_for(user, role),
                  {"closed_at": clock.now(), "excluded": exclude, "excluded_reason": reason[:200] if exclude else ""},
                  to_state=State.CLOSED, reason=reason, data={"excluded": exclude})


@transaction.atomic
def merge(demand_id: int, user, *, into_id: int, note: str = "") -> Demand:
    """Merge a duplicate into a master demand; the person gets the master's answer."""
    if demand_id == into_id:
        raise DomainError("merge_into_self", "不能把诉求合并到它自己")
    d, role = _load_for(user, demand_id, "merge")
    master = load(into_id)
    if not policy.can_see(user, master):
        raise NotFound("主诉求不存在或您无权查看")
    if master.state in workflow.TERMINAL or master.state in (State.MERGED, State.REPLIED):
        raise DomainError("bad_merge_target", "主诉求已办结或已合并，不能作为合并目标")
    if master.is_report != d.is_report:
        raise DomainError("bad_merge_target", "举报与其他诉求不能互相合并")
    if Demand.objects.filter(merged_into=d).exists():
        raise DomainError("has_merged_children", "该诉求已有被合并的诉求，请把它们一并合并到新的主诉求")
    return _apply(d, "merge", actor_for(user, role), {"merged_into": master}, to_state=State.MERGED,
                  reason=note, data={"into": master.code})


# --- supervision ---------------------------------------------------------------------------------------

@transaction.atomic
def urge(demand_id: int, user, *, note: str) -> Demand:
    note = _clean_text(note, "note", "催办须写明要求")
    d, role = _load_for(user, demand_id, "urge")
    d = _apply(d, "urge", actor_for(user, role), {}, reason=note)
    handlers = _handlers(d, include_co=True)
    transaction.on_commit(lambda: _inbox_on_commit(handlers, "urge", f"催办 {d.code}", note, _link(d)))
    return d


@transaction.atomic
def supervise(demand_id: int, user, *, note: str, level: int = 1) -> Demand:
    """Open supervision (督办, level 1) or listed supervision by a leader (挂牌督办, level 2)."""
    action = "list_supervision" if level >= 2 else "supervise"
    note = _clean_text(note, "note", "督办须写明要求")
    d, role = _load_for(user, demand_id, action)
    if d.supervision >= level:
        raise Conflict("already_supervised", "该诉求已在该级别督办")
    now = clock.now()
    changes: dict[str, Any] = {"supervision": level, "supervised_at": d.supervised_at or now}
    if level >= 2:
        changes["listed_at"] = now
    d = _apply(d, action, actor_for(user, role), changes, reason=note, data={"level": level})
    handlers = _handlers(d, include_co=True)
    transaction.on_commit(lambda: _inbox_on_commit(handlers, action, f"{'挂牌督办' if level >= 2 else '督办'} {d.code}",
                                                   note, _link(d)))
    return d


# --- group visits -------------------------------------------------------------------------------------

@transaction.atomic
def open_group_visit(user, *, topic: str, headcount: int, place_id: int | None = None) -> GroupVisit:
    """Step 1, invite in (请进门)."""
    if not policy.has_role(user, Role.INTAKE, Role.LEADER):
        raise policy.PermissionDenied("只有受理员或领导可以接待集体访")
    topic = _clean_text(topic, "topic", "请填写来访事由")
    if headcount < 2:
        raise DomainError("invalid_field", "集体访至少两人", field="headcount")
    place = Org.objects.filter(pk=place_id).first() if place_id else None
    gv = GroupVisit.objects.create(topic=topic, headcount=headcount, place=place, received_by=user,
                                   created_at=clock.now())
    events.record(f"group:{gv.pk}", "group_invited", actor_for(user, policy.primary_role(user)),
                  to_state=GroupVisit.Step.INVITED, data={"headcount": headcount, "topic": topic})
    return gv


def _group_step(gv: GroupVisit, user, action: str, to_step: str, changes: dict, data: dict, reason: str = "") -> GroupVisit:
    if not policy.has_role(user, Role.INTAKE, Role.LEADER):
        raise policy.PermissionDenied("只有受理员或领导可以接待集体访")
    won = GroupVisit.objects.filter(pk=gv.pk, step=gv.step).update(step=to_step, **changes)
    if not won:
        raise Conflict("concurrent_change", "该集体访记录刚被他人更新，请刷新后重试")
    events.record(f"group:{gv.pk}", action, actor_for(user, policy.primary_role(user)), from_state=gv.step,
                  to_state=to_step, reason=reason, data=data)
    gv.refresh_from_db()
    return gv


@transaction.atomic
def choose_representatives(visit_id: int, user, people: list[dict]) -> GroupVisit:
    """Step 2, choose representatives (选代表): at most five, as the letters-and-visits rules require."""
    gv = GroupVisit.objects.select_for_update().get(pk=visit_id)
    if not people:
        raise DomainError("no_representatives", "请推选至少一名代表")
    if len(people) > MAX_REPRESENTATIVES:
        raise DomainError(
            "too_many_representatives",
            f"多人来访须推选代表，代表人数不超过 {MAX_REPRESENTATIVES} 人（《信访工作条例》），本次推选了 {len(people)} 人",
            limit=MAX_REPRESENTATIVES, given=len(people),
        )
    if len(people) > gv.headcount:
        raise DomainError("too_many_representatives", "代表人数不能多于来访人数")
    if gv.step not in (GroupVisit.Step.INVITED, GroupVisit.Step.REPRESENTED, GroupVisit.Step.FORM):
        raise Conflict("invalid_transition", f"集体访已到“{GroupVisit.Step(gv.step).label}”，不能再更换代表")
    GroupRepresentative.objects.filter(visit=gv).delete()
    persons = []
    for i, p in enumerate(people, start=1):
        person = find_or_create_person(name=str(p.get("name", "")), phone=str(p.get("phone", "")),
                                       id_number=str(p.get("id_number", "")))
        if not (person.name or person.phone):
            raise DomainError("invalid_field", f"第 {i} 位代表须有姓名或电话", field="representatives")
        GroupRepresentative.objects.create(visit=gv, person=person, position=i)
        persons.append(person.pk)
    return _group_step(gv, user, "group_representatives", GroupVisit.Step.REPRESENTED, {}, {"person_ids": persons})


@transaction.atomic
def record_group_talk(visit_id: int, user, *, minutes: str) -> GroupVisit:
    """Steps 3–4: the form is filled (the demands) and the talk's minutes (坐下谈)."""
    gv = GroupVisit.objects.get(pk=visit_id)
    minutes = _clean_text(minutes, "minutes", "请记录谈话内容", 4)
    if not gv.representatives.exists():
        raise DomainError("no_representatives", "请先推选代表")
    if gv.step not in (GroupVisit.Step.REPRESENTED, GroupVisit.Step.FORM):
        raise Conflict("invalid_transition", f"集体访当前在“{GroupVisit.Step(gv.step).label}”，不能记录谈话")
    return _group_step(gv, user, "group_talked", GroupVisit.Step.TALKED, {"minutes": minutes}, {})


@transaction.atomic
def settle_group_goals(visit_id: int, user, *, goals: str) -> GroupVisit:
    """Step 5, sort out the goals (理目标)."""
    gv = GroupVisit.objects.get(pk=visit_id)
    goals = _clean_text(goals, "goals", "请写明商定的目标", 4)
    if gv.step != GroupVisit.Step.TALKED:
        raise Conflict("invalid_transition", "请先完成“坐下谈”再理目标")
    return _group_step(gv, user, "group_goals", GroupVisit.Step.GOALS, {"goals": goals},
                       {"demands": list(gv.demands.values_list("code", flat=True))})
