"""Reads for the residents' pages: the pickers (categories, places), the suggestion as they type, and the
public timeline of one demand (what its person may see, in plain Chinese)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from massline.core.models import Event
from massline.demands import workflow
from massline.demands.models import DeadlinePolicy, Demand, DemandType, Reply, Satisfaction, State
from massline.directory.models import Category, Org
from massline.routing import adapter
from massline.routing import queries as routing

# --- pickers ----------------------------------------------------------------------------------------------

STREET_KINDS = (Org.Kind.STREET, Org.Kind.TOWNSHIP)
COMMUNITY_KINDS = (Org.Kind.COMMUNITY, Org.Kind.VILLAGE)


def top_categories() -> list[Category]:
    """The first-level categories: residents pick a broad class; the dispatcher refines it."""
    return list(Category.objects.filter(parent__isnull=True, active=True).order_by("name"))


def streets() -> list[Org]:
    return list(Org.objects.filter(kind__in=STREET_KINDS, active=True).select_related("parent").order_by("path"))


def children(parent_id: int | None, kinds) -> list[Org]:
    if not parent_id:
        return []
    return list(Org.objects.filter(parent_id=parent_id, kind__in=kinds, active=True).order_by("path"))


@dataclass
class Place:
    """The chained choice street → community → grid, each checked against the one above it."""

    street: Org | None = None
    community: Org | None = None
    grid: Org | None = None
    streets: list[Org] = field(default_factory=list)
    communities: list[Org] = field(default_factory=list)
    grids: list[Org] = field(default_factory=list)

    @property
    def deepest(self) -> Org | None:
        return self.grid or self.community or self.street


def _id(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def place(street_id=None, community_id=None, grid_id=None) -> Place:
    """The pickers' options and the valid part of a choice (a community not under the street is dropped)."""
    p = Place(streets=streets())
    p.street = next((s for s in p.streets if s.pk == _id(street_id)), None)
    p.communities = children(p.street.pk if p.street else None, COMMUNITY_KINDS)
    p.community = next((c for c in p.communities if c.pk == _id(community_id)), None)
    p.grids = children(p.community.pk if p.community else None, (Org.Kind.GRID,))
    p.grid = next((g for g in p.grids if g.pk == _id(grid_id)), None)
    return p


def report_targets() -> list[Org]:
    """Units a report may name (areas and handling units; not discipline inspection itself)."""
    return list(Org.objects.filter(active=True).exclude(kind__in=(Org.Kind.GRID, Org.Kind.DISCIPLINE))
                .order_by("path"))


# --- the suggestion as they type -----------------------------------------------------------------------------

# plain words that usually tell the type of a message (a hint the person can change; never a report)
_TYPE_WORDS = [
    (DemandType.PRAISE, re.compile(r"表扬|感谢|谢谢|点赞|锦旗|致谢")),
    (DemandType.SUGGESTION, re.compile(r"建议|希望(能|可以)?(增设|增加|设立|开通|改进)|能否(增设|增加|设立|开通)")),
    (DemandType.COMPLAINT, re.compile(r"投诉|不作为|态度(恶劣|差)|乱收费|扰民|违规|违法")),
    (DemandType.ENQUIRY, re.compile(r"请问|咨询|怎么办理|如何办理|需要什么材料|在哪里办|[吗么][？?]?$|？$|\?$")),
]
MIN_SCORE = 0.3  # below this the model's guess is shown as a hint but not chosen for the person
HINT_SCORE = 0.1  # below this a category is not even mentioned


def guess_type(text: str) -> str:
    text = (text or "").strip()
    for kind, pattern in _TYPE_WORDS:
        if pattern.search(text):
            return str(kind)
    return str(DemandType.HELP)


@dataclass
class Suggestion:
    type: str
    categories: list[tuple[Category, float]]

    @property
    def likely(self) -> list[Category]:
        return [c for c, score in self.categories if score >= HINT_SCORE]

    @property
    def category(self) -> Category | None:
        if self.categories and self.categories[0][1] >= MIN_SCORE:
            return self.categories[0][0]
        return None


def suggest(title: str, content: str) -> Suggestion:
    return Suggestion(guess_type(f"{title}\n{content}"), routing.suggest_categories(title, content))


def classifier_on() -> bool:
    return adapter.active() is not None


# --- the public timeline ------------------------------------------------------------------------------------

# what the person is told about each step (steps not listed — internal notes, attachments, risk flags,
# return and extension requests between staff, the clock's bookkeeping — are not shown)
STEPS = {
    "receive": "诉求已登记",
    "urgency_raised": "经研判为紧急事项，加快办理",
    "accept": "工作人员已受理",
    "reject": "不予受理",
    "answer_directly": "工作人员已直接答复",
    "dispatch": "已派给承办单位办理",
    "uphold_return": "已改派给更合适的承办单位",
    "sign": "承办单位已签收",
    "start": "承办单位开始办理",
    "suspend": "暂停办理（等待补充情况，期间不计时限）",
    "resume": "恢复办理",
    "reply": "承办单位已答复",
    "callback": "已评价",
    "auto_close": "评价期满，自动办结",
    "certify_close": "经督办人员审核办结",
    "withdraw": "已撤回",
    "merge": "与同一事项合并办理",
    "urge": "督办人员已催办",
    "supervise": "已列入督办",
    "list_supervision": "已由领导挂牌督办",
    "overdue": "已超过办理时限，转入督办",
    "listed_supervision": "超期未办结，已由领导挂牌督办",
}
# what happens next, by state, in one plain sentence
NEXT = {
    State.RECEIVED: "工作人员会尽快核实受理，并按权责清单派给负责的单位。",
    State.ACCEPTED: "已受理，正在确定承办单位。",
    State.DISPATCHED: "承办单位须在签收时限内签收，并在办理时限内答复您。",
    State.RETURN_REQUESTED: "正在确定最合适的承办单位，时限照常计算。",
    State.SIGNED: "承办单位已签收，将在办理时限内答复您。",
    State.IN_PROGRESS: "承办单位正在办理，将在办理时限内答复您。",
    State.SUSPENDED: "办理暂停，承办单位可能需要您补充情况，请留意来电或短信。",
    State.REPLIED: "已答复。请告诉我们问题是否解决、您是否满意；不满意的会重新办理。",
    State.REOPENED: "您对答复不满意，已重新办理；多次仍不满意的转督办。",
    State.CLOSED: "已办结。感谢您的监督。",
    State.REJECTED: "不予受理，理由见下方记录。如有疑问可重新提交或拨打热线。",
    State.MERGED: "与同一事项合并办理，答复会同步给您。",
    State.WITHDRAWN: "您已撤回此诉求。",
}

# a report is handled inside discipline inspection: no "unit" is mentioned
REPORT_STEPS = {"dispatch": "纪检监察机关已安排办理", "uphold_return": "纪检监察机关已重新安排办理",
                "sign": "办理人员已签收", "start": "开始办理", "reply": "纪检监察机关已答复"}
REPORT_NEXT = "举报由纪检监察机关直接办理，被举报的单位和街道看不到；办理结果会在这里答复您。"


@dataclass
class Step:
    at: datetime
    text: str
    state: str
    detail: str = ""
    detail_label: str = "理由"  # how the detail is introduced: a rejection's reason, the person's own comment


@dataclass
class Timeline:
    demand: Demand
    state_label: str
    next_step: str
    unit: str
    steps: list[Step]
    replies: list[Reply]
    can_rate: bool
    can_withdraw: bool


def _step_text(e: Event, is_report: bool) -> tuple[str, str, str]:
    text = REPORT_STEPS.get(e.action, STEPS[e.action]) if is_report else STEPS[e.action]
    detail, label = "", "理由"
    if e.action == "callback":
        sat = e.data.get("satisfaction", "")
        label = Satisfaction(sat).label if sat in Satisfaction.values else ""
        solved = "已解决" if e.data.get("resolved") else "未解决"
        text = f"已评价：{solved}，{label}" if label else text
        detail, label = e.reason, "您的意见"  # what the person said with the rating, shown back to them
    elif e.action == "reject":
        detail = e.reason  # the person is told the reason (services.reject sends it by SMS too)
    return text, detail, label


def public_timeline(d: Demand) -> Timeline:
    """The demand as its person may see it: state changes in plain words, the replies to them, no staff notes,
    no staff names; for a whistle-blowing report no unit names either."""
    events = Event.objects.filter(chain=d.chain, action__in=list(STEPS)).order_by("seq")
    steps = []
    for e in events:
        text, detail, label = _step_text(e, d.is_report)
        state = State(e.to_state).label if e.to_state in State.values else ""
        steps.append(Step(e.at, text, state, detail, label))
    replies = list(d.replies.select_related("unit").order_by("created_at"))
    if d.is_report:
        for r in replies:
            r.unit = None
    unit = "" if d.is_report or d.lead_unit_id is None else d.lead_unit.name
    next_step = NEXT.get(d.state, "")
    if d.is_report and d.state in workflow.OPEN_BEFORE_REPLY:
        next_step = REPORT_NEXT
    return Timeline(
        demand=d, state_label=State(d.state).label, next_step=next_step, unit=unit, steps=steps,
        replies=replies, can_rate=d.state in workflow.TRANSITIONS["callback"].sources,
        can_withdraw=d.state in workflow.TRANSITIONS["withdraw"].sources,
    )


# --- the time limits, in plain words --------------------------------------------------------------------------

_UNIT_WORDS = {"working_days": "个工作日", "working_hours": "个工作小时", "calendar_days": "天", "calendar_hours": "小时"}


def time_limits() -> list[tuple[str, str]]:
    """The active handling limits as (name, "7 个工作日"), shortest first (policies are data, not text)."""
    rows = DeadlinePolicy.objects.filter(active=True, category__isnull=True).order_by("name")
    hours = {"working_days": 8, "calendar_days": 24, "working_hours": 1, "calendar_hours": 1}
    rows = sorted(rows, key=lambda p: float(p.amount) * hours.get(p.unit, 1))
    return [(p.name, f"{p.amount.normalize():f} {_UNIT_WORDS.get(p.unit, p.get_unit_display())}") for p in rows]
