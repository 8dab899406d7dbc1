"""The demand (诉求) and everything that happens to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from massline.directory.models import Category, Org, Person, Responsibility


class Channel(models.TextChoices):
    HOTLINE = "hotline", "热线电话"
    WEB = "web", "网站"
    MOBILE = "mobile", "移动端"
    LETTER = "letter", "来信"
    VISIT = "visit", "来访"
    RECEPTION = "reception", "领导接访"
    DOOR = "door", "入户走访"
    BOX = "box", "意见箱"
    BOARD = "board", "网上留言板"
    API = "api", "接口"
    GROUP = "group", "集体访"
    AGENT = "agent", "代理代办"


class DemandType(models.TextChoices):
    ENQUIRY = "enquiry", "咨询"
    HELP = "help", "求助"
    COMPLAINT = "complaint", "投诉"
    REPORT = "report", "举报"
    SUGGESTION = "suggestion", "建议"
    PRAISE = "praise", "表扬"


class Urgency(models.TextChoices):
    NORMAL = "normal", "一般"
    URGENT = "urgent", "加急"
    EMERGENCY = "emergency", "紧急"


class Identity(models.TextChoices):
    NAMED = "named", "实名"
    CONFIDENTIAL = "confidential", "保密"
    ANONYMOUS = "anonymous", "匿名"


class State(models.TextChoices):
    RECEIVED = "received", "已登记"
    ACCEPTED = "accepted", "已受理"
    REJECTED = "rejected", "不予受理"
    DISPATCHED = "dispatched", "已派单"
    RETURN_REQUESTED = "return_requested", "退单待审"
    SIGNED = "signed", "已签收"
    IN_PROGRESS = "in_progress", "办理中"
    SUSPENDED = "suspended", "已挂起"
    REPLIED = "replied", "已答复"
    REOPENED = "reopened", "重办"
    CLOSED = "closed", "已办结"
    MERGED = "merged", "已合并"
    WITHDRAWN = "withdrawn", "已撤回"


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", "满意"
    BASIC = "basic", "基本满意"
    DISSATISFIED = "dissatisfied", "不满意"


class DeadlineUnit(models.TextChoices):
    CALENDAR_HOURS = "calendar_hours", "自然小时"
    WORKING_HOURS = "working_hours", "工作小时"
    WORKING_DAYS = "working_days", "工作日"
    CALENDAR_DAYS = "calendar_days", "自然日"


class DeadlinePolicy(models.Model):
    """A handling time limit. The most specific active policy that matches a demand's type, category
    (a policy on a category covers its subcategories) and urgency applies."""

    name = models.CharField("名称", max_length=80)
    demand_type = models.CharField("诉求类型", max_length=16, choices=DemandType.choices, blank=True)
    category = models.ForeignKey(Category, verbose_name="分类", null=True, blank=True, on_delete=models.PROTECT)
    urgency = models.CharField("紧急程度", max_length=16, choices=Urgency.choices, blank=True)
    unit = models.CharField("办理时限单位", max_length=16, choices=DeadlineUnit.choices, default=DeadlineUnit.WORKING_DAYS)
    amount = models.DecimalField("办理时限", max_digits=6, decimal_places=2)
    sign_unit = models.CharField("签收时限单位", max_length=16, choices=DeadlineUnit.choices,
                                 default=DeadlineUnit.WORKING_HOURS)
    sign_amount = models.DecimalField("签收时限", max_digits=6, decimal_places=2, default=2)
    warn_share = models.DecimalField("预警点（占时限比例）", max_digits=3, decimal_places=2, default=0.8)
    listing_unit = models.CharField("超期后挂牌督办单位", max_length=16, choices=DeadlineUnit.choices,
                                    default=DeadlineUnit.WORKING_DAYS)
    listing_after = models.DecimalField("超期多久后挂牌督办", max_digits=6, decimal_places=2, default=3)
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "办理时限政策"
        verbose_name_plural = "办理时限政策"

    def __str__(self) -> str:
        return f"{self.name}（{self.amount:g}{self.get_unit_display()}）"


class GroupVisit(models.Model):
    """A group visit (集体访) in the seed's five steps: invite in, choose representatives, fill in the form,
    sit and talk, sort out the goals."""

    class Step(models.TextChoices):
        INVITED = "invited", "请进门"
        REPRESENTED = "represented", "选代表"
        FORM = "form", "填表格"
        TALKED = "talked", "坐下谈"
        GOALS = "goals", "理目标"

    topic = models.CharField("事由", max_length=200)
    headcount = models.PositiveIntegerField("来访人数")
    place = models.ForeignKey(Org, verbose_name="所在区域", null=True, blank=True, on_delete=models.PROTECT)
    step = models.CharField("进度", max_length=16, choices=Step.choices, default=Step.INVITED)
    minutes = models.TextField("谈话记录", blank=True)
    goals = models.TextField("商定目标", blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "集体访"
        verbose_name_plural = "集体访"

    def __str__(self) -> str:
        return f"{self.topic}（{self.headcount}人）"


class GroupRepresentative(models.Model):
    visit = models.ForeignKey(GroupVisit, on_delete=models.CASCADE, related_name="representatives")
    person = models.ForeignKey(Person, on_delete=models.PROTECT)
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["visit", "person"], name="group_rep_unique")]
        ordering = ["position"]


class Demand(models.Model):
    """One demand raised by a person through any channel, from intake to closure."""

    code = models.CharField("查询码", max_length=20, unique=True)
    secret_hash = models.CharField(max_length=64)
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices)
    type = models.CharField("类型", max_length=16, choices=DemandType.choices)
    category = models.ForeignKey(Category, verbose_name="分类", null=True, blank=True, on_delete=models.PROTECT)
    urgency = models.CharField("紧急程度", max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    identity = models.CharField("身份公开方式", max_length=16, choices=Identity.choices, default=Identity.NAMED)
    title = models.CharField("标题", max_length=200)
    content = models.TextField("内容")
    restatement = models.TextField("受理复述", blank=True)
    place = models.ForeignKey(Org, verbose_name="所在区域", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="demands_here")
    area_path = models.CharField(max_length=255, blank=True, db_index=True)
    address = models.CharField("地址", max_length=255, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    person = models.ForeignKey(Person, verbose_name="诉求人", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="demands")
    agent = models.ForeignKey(Person, verbose_name="代理人", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="demands_as_agent")
    group_visit = models.ForeignKey(GroupVisit, null=True, blank=True, on_delete=models.PROTECT, related_name="demands")
    reported_unit = models.ForeignKey(Org, verbose_name="被举报单位", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="+")
    reported_person = models.CharField("被举报人", max_length=100, blank=True)

    state = models.CharField("状态", max_length=20, choices=State.choices, default=State.RECEIVED)
    resume_state = models.CharField(max_length=20, blank=True)
    version = models.PositiveIntegerField(default=1)
    lead_unit = models.ForeignKey(Org, verbose_name="主办单位", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="lead_demands")
    lead_path = models.CharField(max_length=255, blank=True, db_index=True)
    round = models.PositiveSmallIntegerField("办理轮次", default=1)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged")
    auto_dispatched = models.BooleanField("自动派单", default=False)
    model_version = models.CharField(max_length=64, blank=True)

    policy = models.ForeignKey(DeadlinePolicy, null=True, blank=True, on_delete=models.PROTECT)
    deadline_unit = models.CharField(max_length=16, blank=True)
    deadline_amount = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    dispatched_at = models.DateTimeField("派单时间", null=True, blank=True)
    sign_due_at = models.DateTimeField("签收时限", null=True, blank=True)
    signed_at = models.DateTimeField("签收时间", null=True, blank=True)
    signed_late = models.BooleanField(default=False)
    due_at = models.DateTimeField("办理时限", null=True, blank=True)
    warn_at = models.DateTimeField(null=True, blank=True)
    deadline_pending = models.BooleanField("期限待算", default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_remaining = models.FloatField(null=True, blank=True)
    replied_at = models.DateTimeField("答复时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    warned = models.BooleanField(default=False)
    overdue = models.BooleanField("超期", default=False)
    supervision = models.PositiveSmallIntegerField("督办级别", default=0)  # 0 none, 1 督办, 2 挂牌督办
    supervised_at = models.DateTimeField(null=True, blank=True)
    listed_at = models.DateTimeField(null=True, blank=True)
    sweep_at = models.DateTimeField(null=True, blank=True, db_index=True)

    resolved = models.BooleanField("是否解决", null=True, blank=True)
    satisfaction = models.CharField("满意度", max_length=16, choices=Satisfaction.choices, blank=True)
    excluded = models.BooleanField("不计入考核", default=False)
    excluded_reason = models.CharField(max_length=200, blank=True)
    # the legacy ledger's own number (台账编号) of an imported demand; empty for demands recorded here
    ledger_no = models.CharField("台账编号", max_length=64, blank=True, default="")

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("登记时间", db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["state", "lead_unit"], name="demand_state_lead_idx"),
            models.Index(fields=["person", "created_at"], name="demand_person_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["ledger_no"], condition=~models.Q(ledger_no=""),
                                    name="demand_ledger_no_unique"),
        ]
        verbose_name = "诉求"
        verbose_name_plural = "诉求"

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def chain(self) -> str:
        return f"demand:{self.pk}"

    @property
    def is_report(self) -> bool:
        return self.type == DemandType.REPORT


class DemandUnit(models.Model):
    """A unit on a demand: the lead (主办) or a co-handling unit (协办)."""

    class Role(models.TextChoices):
        LEAD = "lead", "主办"
        CO = "co", "协办"

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="demand_units")
    unit_path = models.CharField(max_length=255, db_index=True)
    role = models.CharField(max_length=4, choices=Role.choices)
    active = models.BooleanField(default=True)
    assigned_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True, blank=True)
    opinion = models.TextField("协办意见", blank=True)

    class Meta:
        indexes = [models.Index(fields=["unit", "active"], name="demandunit_unit_idx")]


class Reply(models.Model):
    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="replies")
    round = models.PositiveSmallIntegerField()
    unit = models.ForeignKey(Org, null=True, blank=True, on_delete=models.PROTECT)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    text = models.TextField("答复内容")
    public = models.BooleanField("可公开", default=True)
    copied_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class Callback(models.Model):
    class By(models.TextChoices):
        OPERATOR = "operator", "回访员"
        PERSON = "person", "诉求人"

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="callbacks")
    round = models.PositiveSmallIntegerField()
    by = models.CharField(max_length=8, choices=By.choices)
    operator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    resolved = models.BooleanField()
    satisfaction = models.CharField(max_length=16, choices=Satisfaction.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField()


class ReturnRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "待审"
        UPHELD = "upheld", "同意退单"
        OVERRULED = "overruled", "驳回退单"

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="returns")
    unit = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField("退单理由")
    cited_entry = models.ForeignKey(Responsibility, null=True, blank=True, on_delete=models.SET_NULL,
                                    verbose_name="所引权责清单条目")
    cited_item = models.CharField("所引清单事项", max_length=200)
    suggested_unit = models.ForeignKey(Org, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    ruled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    ruling_note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    ruled_at = models.DateTimeField(null=True, blank=True)


class ExtensionRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已批准"
        REFUSED = "refused", "不批准"

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="extensions")
    unit = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    working_days = models.PositiveSmallIntegerField("延期工作日数")
    reason = models.TextField("延期理由")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["demand"], condition=models.Q(status="pending"),
                                    name="one_pending_extension"),
        ]


class Attachment(models.Model):
    """A file (image or PDF) kept outside the web root and served only through a permission check."""

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="attachments")
    reply = models.ForeignKey(Reply, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=100, unique=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField()
