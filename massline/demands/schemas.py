from __future__ import annotations

from typing import Literal

from ninja import Field, Schema

ChannelIn = Literal["hotline", "web", "mobile", "letter", "visit", "reception", "door", "box", "board", "api", "group",
                    "agent"]
TypeIn = Literal["enquiry", "help", "complaint", "report", "suggestion", "praise"]
UrgencyIn = Literal["normal", "urgent", "emergency"]
IdentityIn = Literal["named", "confidential", "anonymous"]
SatisfactionIn = Literal["satisfied", "basic", "dissatisfied"]


class DemandIn(Schema):
    channel: ChannelIn = "web"
    type: TypeIn
    title: str = Field(..., max_length=200)
    content: str = Field(..., max_length=5000)
    category_id: int | None = None
    urgency: UrgencyIn = "normal"
    identity: IdentityIn = "named"
    place_id: int | None = None
    address: str = Field("", max_length=255)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    name: str = Field("", max_length=60)
    phone: str = Field("", max_length=30)
    id_number: str = Field("", max_length=32)
    agent_name: str = Field("", max_length=60)
    agent_phone: str = Field("", max_length=30)
    group_visit_id: int | None = None
    reported_unit_id: int | None = None
    reported_person: str = Field("", max_length=100)
    restatement: str = Field("", max_length=5000)


class ReceiptOut(Schema):
    id: int
    code: str
    secret: str = Field(..., description="查询密码：只在此返回一次，请交给诉求人保存")
    state: str
    created_at: str


class PersonOut(Schema):
    identity: str
    name: str
    phone: str


class UnitRef(Schema):
    id: int
    code: str
    name: str


class DemandOut(Schema):
    id: int
    code: str
    channel: str
    type: str
    title: str
    content: str
    restatement: str
    category: str | None
    urgency: str
    state: str
    state_label: str
    round: int
    place: UnitRef | None
    address: str
    person: PersonOut
    lead_unit: UnitRef | None
    co_units: list[UnitRef]
    created_at: str
    dispatched_at: str | None
    sign_due_at: str | None
    due_at: str | None
    deadline_pending: bool
    replied_at: str | None
    closed_at: str | None
    overdue: bool
    supervision: int
    resolved: bool | None
    satisfaction: str
    merged_into: str | None
    auto_dispatched: bool
    actions: list[str]


class DemandBrief(Schema):
    id: int
    code: str
    type: str
    title: str
    state: str
    state_label: str
    category: str | None
    lead_unit: str | None
    created_at: str
    due_at: str | None
    overdue: bool
    supervision: int


class DemandPage(Schema):
    count: int
    page: int
    page_size: int
    items: list[DemandBrief]


class EventOut(Schema):
    seq: int
    at: str
    actor: str
    role: str
    action: str
    from_state: str
    to_state: str
    reason: str
    data: dict


class ReplyOut(Schema):
    text: str
    created_at: str
    unit: str | None


class TrackIn(Schema):
    code: str = Field(..., max_length=20)
    secret: str = Field(..., max_length=20)


class PublicEventOut(Schema):
    at: str
    step: str
    state: str


class TrackOut(Schema):
    code: str
    title: str
    type: str
    state: str
    state_label: str
    created_at: str
    due_at: str | None
    lead_unit: str | None
    replies: list[ReplyOut]
    timeline: list[PublicEventOut]
    can_rate: bool
    can_withdraw: bool


class CallbackIn(Schema):
    resolved: bool
    satisfaction: SatisfactionIn
    comment: str = Field("", max_length=2000)


class TrackCallbackIn(TrackIn, CallbackIn):
    pass


class ReasonIn(Schema):
    reason: str = Field("", max_length=2000)


class TrackWithdrawIn(TrackIn):
    reason: str = Field("", max_length=2000)


class NoteIn(Schema):
    note: str = Field("", max_length=2000)


class TextIn(Schema):
    text: str = Field(..., max_length=5000)


class AcceptIn(Schema):
    restatement: str = Field("", max_length=5000)
    category_id: int | None = None


class AnswerIn(Schema):
    text: str = Field(..., max_length=5000)
    public: bool = True


class DirectAnswerIn(AnswerIn):
    restatement: str = Field("", max_length=5000, description="受理员对诉求的复述（受理时未复述的必填）")


class DispatchIn(Schema):
    lead_unit_id: int | None = Field(None, description="不填则按权责清单派单（区县兜底）")
    co_unit_ids: list[int] | None = None
    note: str = Field("", max_length=2000)


class ReturnIn(Schema):
    reason: str = Field(..., max_length=2000)
    cited_item: str = Field(..., max_length=200, description="所引权责清单事项")
    cited_entry_id: int | None = None
    suggested_unit_id: int | None = None


class ExtensionIn(Schema):
    working_days: int = Field(..., ge=1, le=60)
    reason: str = Field(..., max_length=2000)


class ExtensionDecisionIn(Schema):
    approve: bool
    note: str = Field("", max_length=2000)


class MergeIn(Schema):
    into_id: int
    note: str = Field("", max_length=2000)


class SuperviseIn(Schema):
    note: str = Field(..., max_length=2000)
    level: Literal[1, 2] = 1


class CertifyIn(Schema):
    reason: str = Field(..., max_length=2000)
    exclude: bool = False


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str


class GroupVisitIn(Schema):
    topic: str = Field(..., max_length=200)
    headcount: int = Field(..., ge=2, le=100000)
    place_id: int | None = None


class RepresentativeIn(Schema):
    name: str = Field("", max_length=60)
    phone: str = Field("", max_length=30)
    id_number: str = Field("", max_length=32)


class RepresentativesIn(Schema):
    representatives: list[RepresentativeIn]


class MinutesIn(Schema):
    minutes: str = Field(..., max_length=20000)


class GoalsIn(Schema):
    goals: str = Field(..., max_length=20000)


class GroupVisitOut(Schema):
    id: int
    topic: str
    headcount: int
    step: str
    representatives: list[PersonOut]
    minutes: str
    goals: str
    demands: list[str]
