"""Tables of the safety line (安全线): the early warnings raised when a place's accumulation of unresolved
grievances crosses its line, and the demands behind each. The relationship index is computed from the record
on the fly (massline.insight.relationship), so it has no table."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from massline.demands.models import Demand
from massline.directory.models import Category, Org

__all__ = ["SafetyWarning", "SafetyWarningDemand"]


class SafetyWarning(models.Model):
    """An early warning: at ``raised_at`` the place (level × org × category) scored ``score`` ≥ ``line``. It stays
    open (on the dashboard) until someone handles it; at most one open warning per place (database constraint,
    so concurrent raisers cannot both create one). ``cleared_at``: when the score first fell back below
    ``clear_ratio`` × line after raising; a handled place warns again only after it has cleared (a new
    crossing)."""

    class Level(models.TextChoices):
        GRID = "grid", "网格"
        COMMUNITY = "community", "社区"
        STREET = "street", "街道"

    class State(models.TextChoices):
        OPEN = "open", "待处置"
        HANDLED = "handled", "已处置"

    level = models.CharField("层级", max_length=16, choices=Level.choices)
    org = models.ForeignKey(Org, verbose_name="区域", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, verbose_name="分类", on_delete=models.PROTECT, related_name="+")
    score = models.FloatField("预警分值")
    line = models.FloatField("安全线")
    weight = models.FloatField("积累量", default=0)
    expected = models.FloatField("常态积累量", default=0)
    open_count = models.PositiveIntegerField("未办结诉求数", default=0)
    peak_score = models.FloatField("最高分值", default=0)
    last_score = models.FloatField("最近分值", default=0)
    last_seen_at = models.DateTimeField("最近评估", null=True, blank=True)
    raised_at = models.DateTimeField("预警时间", db_index=True)
    state = models.CharField("状态", max_length=8, choices=State.choices, default=State.OPEN)
    cleared_at = models.DateTimeField("回落时间", null=True, blank=True)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="处置人", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    handled_at = models.DateTimeField("处置时间", null=True, blank=True)
    note = models.TextField("处置说明", blank=True)
    demands = models.ManyToManyField(Demand, through="SafetyWarningDemand", related_name="safety_warnings")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "org", "category"], condition=models.Q(state="open"),
                                    name="safety_warning_one_open"),
        ]
        indexes = [models.Index(fields=["level", "org", "category", "raised_at"], name="safety_warning_place_idx")]
        ordering = ["-raised_at", "-id"]
        verbose_name = "安全线预警"
        verbose_name_plural = "安全线预警"

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.org} · {self.category} {self.score:.1f}/{self.line:g}"

    @property
    def chain(self) -> str:
        return f"safety:{self.pk}"


class SafetyWarningDemand(models.Model):
    """A demand behind a warning, with its weight in the accumulation when the warning was raised."""

    warning = models.ForeignKey(SafetyWarning, on_delete=models.CASCADE, related_name="links")
    demand = models.ForeignKey(Demand, on_delete=models.PROTECT, related_name="+")
    weight = models.FloatField("权重")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["warning", "demand"], name="safety_warning_demand_unique")]
        ordering = ["-weight", "demand_id"]
