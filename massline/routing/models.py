"""Routing with the text classifier: the models it may use, what it suggested, what people corrected."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from massline.demands.models import Demand
from massline.directory.models import Category


class ClassifierModel(models.Model):
    """A trained text classifier (a directory written by ``textclf``), registered with the platform.

    At most one is active; its version is stored on every dispatch. ``data_path`` / ``data_sha256`` name the
    file it was trained from (``retrain`` starts from it again); ``examples`` lists the ids of the labelled
    examples (dispatchers' corrections, upheld returns) it was trained on."""

    version = models.CharField("版本", max_length=64, unique=True)
    path = models.CharField("模型目录", max_length=500)
    data_path = models.CharField("训练数据文件", max_length=500, blank=True)
    data_sha256 = models.CharField("训练数据 SHA-256", max_length=64, blank=True)
    labels = models.JSONField("类别", default=list)
    n_train = models.PositiveIntegerField("训练样本数", default=0)
    examples = models.JSONField("所用纠正样本", default=list, blank=True)
    metrics = models.JSONField("评估指标", default=dict, blank=True)
    active = models.BooleanField("启用", default=False)
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("登记时间")
    activated_at = models.DateTimeField("启用时间", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="one_active_classifier"),
        ]
        ordering = ["-created_at", "-pk"]
        verbose_name = "分类模型"
        verbose_name_plural = "分类模型"

    def __str__(self) -> str:
        return f"{self.version}{'（启用中）' if self.active else ''}"

    @property
    def chain(self) -> str:
        return f"model:{self.version}"


def _level1(category: Category) -> bool:
    return category.parent_id is None


class CategoryThreshold(models.Model):
    """The score at or above which a demand of this first-level category is dispatched without a person.
    Without a row, ``MASSLINE_AUTODISPATCH_THRESHOLD`` applies; 1 turns automatic dispatch off."""

    category = models.OneToOneField(Category, verbose_name="一级分类", on_delete=models.PROTECT,
                                    limit_choices_to={"parent__isnull": True}, related_name="autodispatch_threshold")
    threshold = models.FloatField("自动派单阈值", validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
                                  help_text="模型置信度达到此值即自动派单（0–1；1 表示该类不自动派单）")

    class Meta:
        verbose_name = "自动派单阈值"
        verbose_name_plural = "自动派单阈值"
        constraints = [
            models.CheckConstraint(condition=models.Q(threshold__gte=0.0) & models.Q(threshold__lte=1.0),
                                   name="threshold_between_0_and_1"),
        ]

    def __str__(self) -> str:
        return f"{self.category.name} ≥ {self.threshold:g}"

    def clean(self) -> None:
        if self.category_id and not _level1(self.category):
            raise ValidationError({"category": "阈值按一级分类设置"})


class Suggestion(models.Model):
    """What the active model suggested for a demand: its top three first-level categories with their
    calibrated scores and the route (lead and co-handling units) each implies; then who decided."""

    class Decided(models.TextChoices):
        PENDING = "", "待派单员决定"
        AUTO = "auto", "自动派单"
        DISPATCHER = "dispatcher", "派单员派单"

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="suggestions")
    model_version = models.CharField("模型版本", max_length=64)
    label = models.CharField("首选分类", max_length=60)
    score = models.FloatField("置信度")
    top = models.JSONField("前三建议", default=list)  # [{"label", "score", "route": {...} | null}]
    threshold = models.FloatField("当时阈值")
    reason = models.CharField("未自动派单原因", max_length=32, blank=True)
    decided = models.CharField("决定方式", max_length=16, choices=Decided.choices, blank=True, default="")
    chosen_label = models.CharField("实际分类", max_length=60, blank=True)
    chosen_unit = models.CharField("实际主办单位", max_length=40, blank=True)
    created_at = models.DateTimeField("建议时间")
    decided_at = models.DateTimeField("决定时间", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["demand", "model_version"], name="one_suggestion_per_model"),
        ]
        indexes = [models.Index(fields=["decided", "label"], name="suggestion_decided_idx")]
        verbose_name = "分派建议"
        verbose_name_plural = "分派建议"

    def __str__(self) -> str:
        return f"{self.demand_id}: {self.label} {self.score:.2f}"


class RoutingExample(models.Model):
    """A labelled example for the next model: a dispatcher's correction of a suggestion, or an upheld return."""

    class Source(models.TextChoices):
        DISPATCHER_CORRECTION = "dispatcher_correction", "派单员纠正"
        UPHELD_RETURN = "upheld_return", "退单改派"

    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="routing_examples")
    title = models.CharField("标题", max_length=200)
    content = models.TextField("内容")
    label = models.CharField("正确分类（一级）", max_length=60)
    source = models.CharField("来源", max_length=32, choices=Source.choices)
    model_version = models.CharField("建议模型版本", max_length=64, blank=True)
    predicted_label = models.CharField("模型建议分类", max_length=60, blank=True)
    unit = models.CharField("实际主办单位", max_length=40, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("记录时间")

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "纠正样本"
        verbose_name_plural = "纠正样本"

    def __str__(self) -> str:
        return f"{self.demand_id} → {self.label}（{self.get_source_display()}）"
