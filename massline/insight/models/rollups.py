"""The rollup tables behind the three rates (三率) and the rankings.

One row per (period kind, period start, level, org): the counts behind the response, resolution and
satisfaction rates of that org in that period. The rows are maintained in the transaction of every demand
change (``massline.insight.rollups``), so a ranking reads a few thousand rows instead of scanning demands.
``RateRollupCheck`` has the same shape: ``massline insight rollup --check`` recomputes into it and compares.
See docs/rates.md and docs/adr/0003-rollups.md.
"""

from __future__ import annotations

from django.db import models

from massline.directory.models import Org

__all__ = ["Level", "Period", "RateRollup", "RateRollupCheck"]


class Period(models.TextChoices):
    DAY = "day", "日"
    MONTH = "month", "月"
    QUARTER = "quarter", "季度"
    YEAR = "year", "年"


class Level(models.TextChoices):
    UNIT = "unit", "承办单位"
    DISTRICT = "district", "区县"
    STREET = "street", "街道（乡镇）"
    COMMUNITY = "community", "社区（村）"
    GRID = "grid", "网格"


COUNTERS = ("signed", "signed_on_time", "rated", "resolved", "satisfied", "basic")


class _Counts(models.Model):
    period = models.CharField("周期", max_length=8, choices=Period.choices)
    start = models.DateField("周期起始日")
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    org = models.ForeignKey(Org, verbose_name="单位或区域", on_delete=models.PROTECT, related_name="+",
                            db_constraint=False)
    signed = models.IntegerField("签收件数（响应率分母）", default=0)
    signed_on_time = models.IntegerField("按时签收件数（响应率分子）", default=0)
    rated = models.IntegerField("回访评价件数（解决率、满意率分母）", default=0)
    resolved = models.IntegerField("群众认为已解决件数（解决率分子）", default=0)
    satisfied = models.IntegerField("满意件数", default=0)
    basic = models.IntegerField("基本满意件数", default=0)

    class Meta:
        abstract = True


class RateRollup(_Counts):
    class Meta:
        verbose_name = "三率汇总"
        verbose_name_plural = "三率汇总"
        constraints = [models.UniqueConstraint(fields=["period", "start", "level", "org"],
                                               name="rate_rollup_key")]


class RateRollupCheck(_Counts):
    """Scratch table for ``rollup --check``: a full recomputation lands here and is compared with
    ``RateRollup``."""

    class Meta:
        verbose_name = "三率汇总（核对用）"
        verbose_name_plural = "三率汇总（核对用）"
        constraints = [models.UniqueConstraint(fields=["period", "start", "level", "org"],
                                               name="rate_rollup_check_key")]
