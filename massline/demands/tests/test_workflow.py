"""The transition table, walked cell by cell: every action × every state × every role.

For each action and each state the demand is put into that state, then every user in turn calls the
service for the action. The call must succeed exactly when ``workflow.TRANSITIONS`` says it may, and
otherwise fail with the stable code: ``not_found`` (404) when the user may not even see the demand,
``invalid_transition`` (409) for a wrong state, ``role_not_allowed`` (403) for a wrong role.

What each user holds over the demand is written out below from the set-up (who has which role where), not
computed with ``policy``: the test states the rules, the code must agree. Two subjects are walked: an
ordinary demand (lead unit 城管委, co-handling unit 自来水公司) and a whistle-blowing report (举报) about
城管委, which only discipline inspection and the person who made it may see.

Speed: the jurisdiction and the demands are built once per module (inside a transaction rolled back at the
end), and the demand is put into each state with a queryset update (see ``put``). A call expected to succeed
runs in a savepoint rolled back once its effects are checked, so the next user finds the demand as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.test import override_settings

from conftest import FAST_HASHERS, at
from massline.core import clock
from massline.core.errors import DomainError
from massline.core.models import Event
from massline.demands import policy, services, workflow
from massline.demands.intake import IntakeData
from massline.demands.models import Demand, DemandUnit, ExtensionRequest, ReturnRequest, State
from massline.directory.models import Org, Role

pytestmark = pytest.mark.django_db


NOW = at(2026, 11, 4, 10, 0)  # a Wednesday, an ordinary working day
DUE = at(2026, 11, 13, 10, 0)
CJK = re.compile(r"[\u4e00-\u9fff]")
P = workflow.PERSON

USERS = ["citizen", "intake", "dispatcher", "handler_city", "handler_water", "handler_power", "supervisor",
         "supervisor_street2", "leader", "discipline", "admin", "nobody"]
# on a report every role but discipline inspection is treated alike (not found), so the report is walked with
# the person, discipline inspection, the handler of the reported unit and one of each other kind of staff;
# test_permissions checks every role against every read path of a report
REPORT_USERS = ["citizen", "discipline", "handler_city", "intake", "dispatcher", "supervisor", "leader", "admin",
                "nobody"]
# states in which no unit has been assigned yet (the demand never got past intake)
PRE_DISPATCH = {State.RECEIVED, State.ACCEPTED, State.REJECTED}
# where a demand goes back to when a return is overruled / a suspension ends (set up below)
RETURN_FROM = State.SIGNED
SUSPENDED_FROM = State.IN_PROGRESS

REPLY = "经现场核查，北门路灯线路老化，已于今日更换线路和灯具，现已恢复正常照明，欢迎继续监督。"


@dataclass
class Subject:
    name: str
    demand: Demand
    master: Demand
    lead: Org
    # user → kind of action (Transition.over) → roles held over the demand for such an action
    roles: dict[str, dict[str, set[str]]]
    always_visible: set[str]
    visible_once_dispatched: set[str]
    # what a service says *after* the gate for an allowed call that cannot succeed on this subject
    after_gate: dict[str, str] = field(default_factory=dict)
    uphold_to: int | None = None


# --- the rules, written out from the set-up --------------------------------------------------------

REPORT_ROLES = {Role.INTAKE, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR, Role.LEADER}

ORDINARY_ROLES: dict[str, dict[str, set[str]]] = {
    "citizen": {"area": {P}, "unit": {P}, "co": {P}},  # the person who raised it, logged in
    "intake": {"area": {Role.INTAKE}},
    "dispatcher": {"area": {Role.DISPATCHER}},
    "handler_city": {"unit": {Role.HANDLER}},  # the lead unit
    "handler_water": {"co": {Role.HANDLER}},  # a co-handling unit
    "handler_power": {},  # another unit, not on the demand
    "supervisor": {"area": {Role.SUPERVISOR}, "unit": {Role.SUPERVISOR}},  # may resume a suspended demand
    "supervisor_street2": {},  # the other street
    "leader": {"area": {Role.LEADER}},
    "discipline": {},
    "admin": {"area": {Role.ADMIN}},
    "nobody": {},
}
REPORT_ROLES_BY_USER: dict[str, dict[str, set[str]]] = {
    "citizen": {"area": {P}, "unit": {P}, "co": {P}},
    "discipline": {"area": REPORT_ROLES, "unit": REPORT_ROLES, "co": REPORT_ROLES},  # every staff job on a report
}


def expected(subject: Subject, user: str, action: str, state: str) -> str:
    t = workflow.TRANSITIONS[action]
    seen = user in subject.always_visible or (user in subject.visible_once_dispatched and state not in PRE_DISPATCH)
    if not seen:
        return "not_found"
    if state not in t.sources:
        return "invalid_transition"
    if not (subject.roles.get(user, {}).get(t.over, set()) & t.roles):
        return "role_not_allowed"
    return subject.after_gate.get(action, "ok")


STATUS = {"not_found": 404, "invalid_transition": 409, "role_not_allowed": 403}


# --- the world, built once per module --------------------------------------------------------------

def _submit(city, **kw) -> Demand:
    data = dict(channel="web", type="enquiry", title="北门路灯不亮", content="花园社区北门路灯已经坏了一周，晚上很黑。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[0].pk, name="陈女士",
                phone="13800001234")
    data.update(kw)
    d, secret = services.receive(IntakeData(**data), city.users["citizen"])
    d.secret = secret  # kept for the person's own calls with code and secret
    return d


def _assign(d: Demand, lead: Org, co: list[Org]) -> None:
    # set-up shortcut (the path does not matter here): the units a dispatch would have assigned
    DemandUnit.objects.create(demand=d, unit=lead, unit_path=lead.path, role=DemandUnit.Role.LEAD, assigned_at=NOW)
    for u in co:
        DemandUnit.objects.create(demand=d, unit=u, unit_path=u.path, role=DemandUnit.Role.CO, assigned_at=NOW)


def put(d: Demand, lead: Org, state: str) -> None:
    """Put ``d`` straight into ``state`` with a queryset update — NOT through the services: the table tests
    what may happen *from* a state, so how the demand got there does not matter. Deadline fields are filled
    as a dispatch would have filled them."""
    dispatched = state not in PRE_DISPATCH
    Demand.objects.filter(pk=d.pk).update(
        state=state, version=F("version") + 1,
        lead_unit=lead if dispatched else None, lead_path=lead.path if dispatched else "",
        dispatched_at=NOW - timedelta(days=1) if dispatched else None,
        due_at=DUE if dispatched else None, deadline_unit="working_days" if dispatched else "",
        deadline_amount=7 if dispatched else None,
        resume_state={State.RETURN_REQUESTED: RETURN_FROM, State.SUSPENDED: SUSPENDED_FROM}.get(state, ""),
        paused_at=NOW - timedelta(hours=2) if state == State.SUSPENDED else None,
        paused_remaining=5.0 if state == State.SUSPENDED else None,
        supervision=0, merged_into=None,
    )
    DemandUnit.objects.filter(demand=d).update(active=dispatched)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    from massline.core import calendar
    from massline.directory.smallcity import build

    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS), transaction.atomic():
        calendar.invalidate()
        with clock.frozen(NOW - timedelta(days=2)):
            city = build()
            u = city.units
            ordinary = _submit(city)
            ordinary_master = _submit(city, title="北门路灯不亮（另一位居民）", name="李先生", phone="13900005678")
            report = _submit(city, type="report", category_id=None, title="举报城管执法人员吃拿卡要",
                             content="城管委某执法人员多次向商户索要好处费。", reported_unit_id=u["city"].pk,
                             reported_person="某执法队员")
            report_master = _submit(city, type="report", category_id=None, title="举报城管执法人员索贿",
                                    content="同一执法人员另一起索要财物的情况。", reported_unit_id=u["city"].pk,
                                    name="李先生", phone="13900005678")
            _assign(ordinary, u["city"], [u["water"]])
            _assign(ordinary_master, u["city"], [])
            _assign(report, u["discipline"], [])
            _assign(report_master, u["discipline"], [])
            put(ordinary_master, u["city"], State.IN_PROGRESS)
            put(report_master, u["discipline"], State.IN_PROGRESS)
            for d, lead in ((ordinary, u["city"]), (report, u["discipline"])):
                # a pending return request, for the dispatcher's ruling
                ReturnRequest.objects.create(demand=d, unit=lead, requested_by=city.users["handler_city"],
                                             reason="不属于本单位职责", cited_item="供水供电抢修", created_at=NOW)
        subjects = {
            "ordinary": Subject(
                "ordinary", ordinary, ordinary_master, u["city"], ORDINARY_ROLES,
                always_visible={"citizen", "intake", "dispatcher", "supervisor", "leader", "admin"},
                visible_once_dispatched={"handler_city", "handler_water"},
                uphold_to=u["housing"].pk,
            ),
            "report": Subject(
                "report", report, report_master, u["discipline"], REPORT_ROLES_BY_USER,
                always_visible={"citizen", "discipline"}, visible_once_dispatched=set(),
                # a report is never answered at intake; its only possible unit is discipline inspection, so it
                # cannot be returned, and a return could never be upheld with a re-dispatch elsewhere
                after_gate={"answer_directly": "not_answerable_at_intake", "request_return": "report_not_returnable",
                            "uphold_return": "same_unit"},
            ),
        }
        yield city, subjects
        transaction.set_rollback(True)


# --- calling the service for an action -------------------------------------------------------------

def call(action: str, subject: Subject, user) -> None:
    i = subject.demand.pk
    s = services
    calls = {
        "accept": lambda: s.accept(i, user, restatement="北门路灯坏了一周"),
        "reject": lambda: s.reject(i, user, reason="不属于本平台受理范围"),
        "answer_directly": lambda: s.answer_directly(i, user, text=REPLY, restatement="询问办理流程"),
        "dispatch": lambda: s.dispatch(i, user),
        "sign": lambda: s.sign(i, user),
        "start": lambda: s.start(i, user),
        "note": lambda: s.add_note(i, user, text="已电话联系诉求人了解情况"),
        "co_note": lambda: s.co_opinion(i, user, text="同意主办单位的处理方案，配合断电检修"),
        "request_return": lambda: s.request_return(i, user, reason="该事项不属于本单位职责", cited_item="供水供电抢修"),
        "uphold_return": lambda: s.uphold_return(i, user, lead_unit_id=subject.uphold_to, note="同意改派"),
        "overrule_return": lambda: s.overrule_return(i, user, note="权责清单明确由你单位负责"),
        "request_extension": lambda: s.request_extension(i, user, working_days=3, reason="需要协调多个部门现场勘查"),
        "decide_extension": lambda: s.decide_extension(i, user, approve=True, note="同意"),
        "suspend": lambda: s.suspend(i, user, reason="等待诉求人补充材料"),
        "resume": lambda: s.resume(i, user, note="材料已补齐"),
        "reply": lambda: s.reply(i, user, text=REPLY),
        "callback": lambda: s.callback(i, user, resolved=True, satisfaction="satisfied"),
        # the sweep closes unrated replies as the system; no user-facing service exists, so the gate every
        # service goes through is asked directly
        "auto_close": lambda: policy.authorize(user, services.load(i), "auto_close"),
        "merge": lambda: s.merge(i, user, into_id=subject.master.pk, note="与另一位居民反映的是同一盏灯"),
        "withdraw": lambda: s.withdraw(i, user, reason="诉求人来电表示问题已自行解决"),
        "urge": lambda: s.urge(i, user, note="请抓紧办理"),
        "supervise": lambda: s.supervise(i, user, note="请三日内办结", level=1),
        "list_supervision": lambda: s.supervise(i, user, note="挂牌督办，限期办结", level=2),
        "certify_close": lambda: s.certify_close(i, user, reason="已依法依规处理到位"),
    }
    calls[action]()


ACTIONS_THAT_CALL = {"accept", "reject", "answer_directly", "dispatch", "sign", "start", "note", "co_note",
                     "request_return", "uphold_return", "overrule_return", "request_extension", "decide_extension",
                     "suspend", "resume", "reply", "callback", "auto_close", "merge", "withdraw", "urge", "supervise",
                     "list_supervision", "certify_close"}

# where an action whose target the service decides leaves the demand (from the set-up above)
DECIDED_TARGET = {"overrule_return": RETURN_FROM, "resume": SUSPENDED_FROM, "callback": State.CLOSED}


class _Undo(Exception):
    pass


def _check_success(action: str, d: Demand, state: str) -> str:
    if action == "auto_close":
        return ""
    after = Demand.objects.get(pk=d.pk)
    want = workflow.TRANSITIONS[action].target or DECIDED_TARGET.get(action, state)
    last = Event.objects.filter(chain=d.chain).order_by("-seq").first()
    if after.state != want:
        return f"ended in {after.state}, expected {want}"
    # the chain holds only the "receive" event outside this call, so the last one must be this call's
    if last is None or last.action != action:
        return f"no '{action}' event recorded (last: {last.action if last else None})"
    if last.from_state != state:
        return f"event from_state {last.from_state!r}, expected {state!r}"
    return ""


def _check_refusal(exc: DomainError, action: str, state: str) -> str:
    if exc.code in STATUS and exc.status != STATUS[exc.code]:
        return f"status {exc.status}, expected {STATUS[exc.code]}"
    if not CJK.search(exc.message):
        return f"message not in Chinese: {exc.message!r}"
    label = workflow.TRANSITIONS[action].label
    if exc.code == "invalid_transition" and not (State(state).label in exc.message and label in exc.message):
        return f"message does not name the state and action: {exc.message!r}"
    if exc.code == "role_not_allowed" and label not in exc.message:
        return f"message does not name the action: {exc.message!r}"
    return ""


def attempt(action: str, subject: Subject, user, state: str, want: str) -> tuple[str, str]:
    """Call the service; returns (outcome, problem). A call expected to succeed runs in a savepoint that is
    rolled back after its effects are checked. A call expected to be refused runs bare (the service's own
    atomic block undoes a refusal); should it succeed after all, the test fails and the state is put back."""
    d = subject.demand
    try:
        if want == "ok":
            with transaction.atomic():
                call(action, subject, user)
                raise _Undo(_check_success(action, d, state))
        call(action, subject, user)
        put(d, subject.lead, state)  # it went through when it should not have: restore for the next user
        return "ok", ""
    except _Undo as undo:
        return "ok", str(undo)
    except DomainError as exc:
        return exc.code, _check_refusal(exc, action, state)


def test_every_action_has_a_call():
    assert set(workflow.TRANSITIONS) == ACTIONS_THAT_CALL


@pytest.mark.parametrize("subject_name", ["ordinary", "report"])
@pytest.mark.parametrize("action", sorted(workflow.TRANSITIONS))
def test_transition_table(world, subject_name, action):
    city, subjects = world
    subject = subjects[subject_name]
    d = subject.demand
    users = REPORT_USERS if subject_name == "report" else USERS
    if action == "decide_extension":
        ExtensionRequest.objects.create(demand=d, unit=subject.lead, requested_by=city.users["handler_city"],
                                        working_days=3, reason="需要协调多个部门", created_at=NOW)
    wrong: list[str] = []
    cells = 0
    with clock.frozen(NOW):
        for state in State.values:
            put(d, subject.lead, state)
            for name in users:
                want = expected(subject, name, action, state)
                got, problem = attempt(action, subject, city.users[name], state, want)
                cells += 1
                if got != want or problem:
                    wrong.append(f"{action} × {state} × {name}: expected {want}, got {got} {problem}".rstrip())
    assert cells == len(State.values) * len(users)
    assert not wrong, "\n".join(wrong)


def test_the_table_allows_something_for_each_action_and_refuses_the_rest(world):
    """A guard on the walk itself: across the ordinary subject every action is allowed somewhere and refused
    for a wrong state and for a wrong role somewhere (otherwise the table test could pass vacuously)."""
    _, subjects = world
    subject = subjects["ordinary"]
    for action in workflow.TRANSITIONS:
        outcomes = {expected(subject, u, action, s) for u in USERS for s in State.values}
        assert "invalid_transition" in outcomes and "not_found" in outcomes, action
        if action != "auto_close":  # the system's own step: no user may do it
            assert "ok" in outcomes, action
        assert "role_not_allowed" in outcomes, action


def test_the_table_names_only_known_states_and_roles():
    known_roles = set(Role.values) | {workflow.PERSON, workflow.SYSTEM}
    for action, t in workflow.TRANSITIONS.items():
        assert t.action == action
        assert t.sources and t.sources <= set(State.values), action
        assert t.target is None or t.target in State.values, action
        assert t.roles and t.roles <= known_roles, action
        assert t.over in ("area", "unit", "co"), action
        assert CJK.search(t.label), action
        assert not (t.sources & workflow.TERMINAL), f"{action} leaves a terminal state"


@pytest.mark.parametrize("action", sorted(workflow.TRANSITIONS))
def test_refusal_messages_are_chinese_and_name_the_state_and_action(action):
    t = workflow.TRANSITIONS[action]
    wrong_state = next(s for s in State.values if s not in t.sources)
    with pytest.raises(DomainError) as exc:
        workflow.check_state(action, wrong_state)
    e = exc.value
    assert (e.code, e.status) == ("invalid_transition", 409)
    assert CJK.search(e.message)
    assert State(wrong_state).label in e.message and t.label in e.message
    assert e.detail == {"state": wrong_state, "action": action}

    with pytest.raises(DomainError) as exc:
        workflow.check_role(action, {Role.ADMIN})  # admin holds no transition
    e = exc.value
    assert (e.code, e.status) == ("role_not_allowed", 403)
    assert t.label in e.message and e.message.startswith("只有")
    # the message says who may do it
    for r in t.roles:
        who = Role(r).label if r in Role.values else ("诉求人" if r == workflow.PERSON else "系统")
        assert who in e.message, (action, who)
    assert e.detail["action"] == action


@pytest.mark.parametrize("subject_name", ["ordinary", "report"])
def test_the_system_and_the_person_with_code_and_secret(world, subject_name):
    """The two actors without a staff role: the system (dispatch by the classifier, ``user=None``) and the
    person proving the demand is theirs with code and secret (callback, withdraw)."""
    _, subjects = world
    subject = subjects[subject_name]
    d = subject.demand
    calls = {
        "dispatch": lambda: services.dispatch(d.pk, None, auto=True),
        "callback": lambda: services.callback_by_person(d.code, d.secret, resolved=True, satisfaction="satisfied"),
        "withdraw": lambda: services.withdraw_by_person(d.code, d.secret, reason="问题已自行解决"),
    }
    wrong = []
    with clock.frozen(NOW):
        for state in State.values:
            put(d, subject.lead, state)
            for action, fn in calls.items():
                want = "ok" if state in workflow.TRANSITIONS[action].sources else "invalid_transition"
                try:
                    with transaction.atomic():
                        fn()
                        raise _Undo(_check_success(action, d, state))
                except _Undo as undo:
                    got, problem = "ok", str(undo)
                except DomainError as exc:
                    got, problem = exc.code, _check_refusal(exc, action, state)
                if got != want or problem:
                    wrong.append(f"{action} × {state}: expected {want}, got {got} {problem}".rstrip())
        # a wrong secret proves nothing, whatever the state
        with pytest.raises(DomainError) as exc:
            services.withdraw_by_person(d.code, "WRONGSECRT")
        assert (exc.value.code, exc.value.status) == ("bad_code_or_secret", 404)
    assert not wrong, "\n".join(wrong)
    last = Event.objects.filter(chain=d.chain).order_by("-seq").first()
    assert last.action == "receive"  # every successful call above was rolled back
