"""The transition table: action × state × role → next state.

This is the single statement of what may happen to a demand. ``services`` asks it before every change;
the tests walk it cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from massline.core.errors import Conflict, PermissionDenied
from massline.directory.models import Role

from .models import State

S = State
OPEN_BEFORE_REPLY = frozenset({S.RECEIVED, S.ACCEPTED, S.DISPATCHED, S.RETURN_REQUESTED, S.SIGNED, S.IN_PROGRESS,
                               S.SUSPENDED, S.REOPENED})
HANDLING = frozenset({S.SIGNED, S.IN_PROGRESS})
TIMED = frozenset({S.DISPATCHED, S.RETURN_REQUESTED, S.SIGNED, S.IN_PROGRESS, S.REOPENED})
TERMINAL = frozenset({S.CLOSED, S.REJECTED, S.WITHDRAWN})

# who acts on a demand's behalf: "unit" means the role must be held over the demand's lead unit
# (co-handling units for "co_note"), "area" over the demand's place or its lead unit.
SYSTEM = "system"
PERSON = "person"  # the person who raised it, proven by the tracking code's secret or their own login


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change, or the service decides (documented per action)
    roles: frozenset[str]
    over: str = "area"  # "area" | "unit" | "co"


def _t(action: str, label: str, sources, target, roles, over: str = "area") -> Transition:
    return Transition(action, label, frozenset(sources), target, frozenset(roles), over)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        _t("accept", "受理", {S.RECEIVED}, S.ACCEPTED, {Role.INTAKE, Role.DISPATCHER}),
        _t("reject", "不予受理", {S.RECEIVED, S.ACCEPTED}, S.REJECTED, {Role.INTAKE, Role.DISPATCHER}),
        _t("answer_directly", "直接办结", {S.RECEIVED, S.ACCEPTED}, S.REPLIED, {Role.INTAKE}),
        _t("dispatch", "派单", {S.RECEIVED, S.ACCEPTED}, S.DISPATCHED, {Role.DISPATCHER, SYSTEM}),
        _t("sign", "签收", {S.DISPATCHED, S.REOPENED}, S.SIGNED, {Role.HANDLER}, "unit"),
        _t("start", "开始办理", {S.SIGNED}, S.IN_PROGRESS, {Role.HANDLER}, "unit"),
        _t("note", "办理记录", HANDLING | {S.SUSPENDED}, None, {Role.HANDLER}, "unit"),
        _t("co_note", "协办意见", {S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.REOPENED}, None, {Role.HANDLER}, "co"),
        # target decided by the ruling: re-dispatched (upheld) or back where it was (overruled)
        _t("request_return", "申请退单", {S.DISPATCHED, S.SIGNED, S.REOPENED}, S.RETURN_REQUESTED, {Role.HANDLER},
           "unit"),
        _t("uphold_return", "同意退单并改派", {S.RETURN_REQUESTED}, S.DISPATCHED, {Role.DISPATCHER}),
        _t("overrule_return", "驳回退单", {S.RETURN_REQUESTED}, None, {Role.DISPATCHER}),
        _t("request_extension", "申请延期", HANDLING, None, {Role.HANDLER}, "unit"),
        _t("decide_extension", "审批延期", HANDLING | {S.SUSPENDED}, None, {Role.SUPERVISOR, Role.DISPATCHER}),
        _t("suspend", "挂起", HANDLING, S.SUSPENDED, {Role.HANDLER}, "unit"),
        _t("resume", "恢复办理", {S.SUSPENDED}, None, {Role.HANDLER, Role.SUPERVISOR}, "unit"),
        _t("reply", "答复", HANDLING, S.REPLIED, {Role.HANDLER}, "unit"),
        # target: closed (satisfied, basically satisfied) or reopened (dissatisfied)
        _t("callback", "回访", {S.REPLIED}, None, {Role.INTAKE, PERSON}),
        _t("auto_close", "回访期满办结", {S.REPLIED}, S.CLOSED, {SYSTEM}),
        _t("merge", "合并", {S.RECEIVED, S.ACCEPTED, S.DISPATCHED, S.SIGNED, S.IN_PROGRESS}, S.MERGED,
           {Role.DISPATCHER}),
        _t("withdraw", "撤回", OPEN_BEFORE_REPLY, S.WITHDRAWN, {PERSON, Role.INTAKE}),
        _t("urge", "催办", TIMED | {S.SUSPENDED}, None, {Role.SUPERVISOR, Role.LEADER}),
        _t("supervise", "督办", TIMED | {S.SUSPENDED}, None, {Role.SUPERVISOR, Role.LEADER, SYSTEM}),
        _t("list_supervision", "挂牌督办", TIMED | {S.SUSPENDED}, None, {Role.LEADER, SYSTEM}),
        _t("certify_close", "审核办结", {S.REPLIED, S.REOPENED, S.SIGNED, S.IN_PROGRESS}, S.CLOSED, {Role.SUPERVISOR}),
    ]
}

LABELS = {a: t.label for a, t in TRANSITIONS.items()}


def transition(action: str) -> Transition:
    return TRANSITIONS[action]


def check_state(action: str, state: str) -> Transition:
    """The transition, or a refusal naming the state and the action."""
    t = TRANSITIONS[action]
    if state not in t.sources:
        raise Conflict(
            "invalid_transition",
            f"诉求当前状态为“{State(state).label}”，不能{t.label}",
            state=state, action=action,
        )
    return t


def check_role(action: str, roles_held: set[str]) -> str:
    """The role under which ``action`` is done, or a refusal. ``roles_held`` are the actor's roles that
    cover the demand."""
    t = TRANSITIONS[action]
    allowed = [r for r in t.roles if r in roles_held]
    if not allowed:
        names = "、".join(sorted(Role(r).label if r in Role.values else ("诉求人" if r == PERSON else "系统")
                                for r in t.roles))
        raise PermissionDenied(f"只有{names}可以{t.label}", code="role_not_allowed", action=action)
    return sorted(allowed)[0]


def allowed_actions(state: str, roles_held: set[str]) -> list[str]:
    return [a for a, t in TRANSITIONS.items() if state in t.sources and t.roles & roles_held]


def allowed_actions_over(state: str, held: dict[str, set[str]]) -> list[str]:
    """The actions open in ``state`` to someone holding ``held[over]`` roles over each kind of scope
    ("area", "unit", "co"): a co-handling unit's handler may give an opinion, not reply for the lead unit."""
    return [a for a, t in TRANSITIONS.items() if state in t.sources and t.roles & held.get(t.over, set())]
