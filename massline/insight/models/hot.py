"""Hot issues become governance topics: the monthly problem (每月一题) and "handle before asked" (未诉先办).

A leader turns a cluster of similar demands (``massline.insight.hot``) into a topic with an owner, a plan and
a deadline. The cluster's demands are linked to it at once; demands received later that match its key terms
(in its area and category) are linked as they arrive. Clusters themselves are computed on request, not
stored.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models

from massline.demands.models import Demand
from massline.directory.models import Category, Org

__all__ = ["GovernanceTopic", "TopicLink"]


class GovernanceTopic(models.Model):
    class Kind(models.TextChoices):
        MONTHLY = "monthly", "每月一题"
        PROACTIVE = "proactive", "未诉先办"

    class State(models.TextChoices):
        OPEN = "open", "推进中"
        DONE = "done", "已完成"
        CANCELLED = "cancelled", "已撤销"

    title = models.CharField("题目", max_length=200)
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.OPEN)
    owner_org = models.ForeignKey(Org, verbose_name="牵头单位", on_delete=models.PROTECT, related_name="+")
    owner_user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="责任人", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    plan = models.TextField("工作方案")
    deadline = models.DateField("完成时限")
    area = models.ForeignKey(Org, verbose_name="区域", null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    area_path = models.CharField(max_length=255, blank=True, db_index=True)
    category = models.ForeignKey(Category, verbose_name="分类", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    key_terms = models.JSONField("关键词", default=list)  # [[term, weight], ...] from the cluster
    window_since = models.DateTimeField("来源时段起")
    window_until = models.DateTimeField("来源时段止")
    heat = models.FloatField("创建时热度", default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField("创建时间")
    closed_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "治理专题"
        verbose_name_plural = "治理专题"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.title}"

    @property
    def chain(self) -> str:
        return f"topic:{self.pk}"

    @property
    def window_last(self):
        """The last moment inside the source window (``window_until`` is exclusive), for display."""
        return self.window_until - timedelta(microseconds=1)


class TopicLink(models.Model):
    class How(models.TextChoices):
        CLUSTER = "cluster", "来自热点聚类"
        MATCHED = "matched", "新诉求自动关联"

    topic = models.ForeignKey(GovernanceTopic, on_delete=models.CASCADE, related_name="links")
    demand = models.ForeignKey(Demand, on_delete=models.CASCADE, related_name="+")
    how = models.CharField(max_length=8, choices=How.choices)
    score = models.FloatField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["topic", "demand"], name="topic_link_unique")]
        ordering = ["-created_at", "-id"]
