"""Kernel tables: the event record, the working calendar, notifications, API tokens, idempotency."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One step on the append-only, hash-chained record.

    ``chain`` names what the step happened to ("demand:42", "org:7"); within a chain ``seq`` counts
    from 1 and ``hash`` covers the step and the previous hash, so any edit or deletion breaks the
    chain from that point on. On PostgreSQL a trigger refuses UPDATE and DELETE on this table.
    """

    chain = models.CharField(max_length=80)
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=48)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="event_chain_seq_unique")]
        ordering = ["chain", "seq"]
        verbose_name = "事件记录"
        verbose_name_plural = "事件记录"

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action}"


class CalendarYear(models.Model):
    """A year whose holidays and make-up workdays are in the table. Deadlines need their years covered."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    source = models.CharField(max_length=64, default="chinese-calendar")
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "工作日历年度"
        verbose_name_plural = "工作日历年度"

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """A day that differs from the weekday rule: a holiday on a weekday, or a make-up workday (调休)."""

    date = models.DateField(primary_key=True)
    is_workday = models.BooleanField()
    name = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = "工作日历例外日"
        verbose_name_plural = "工作日历例外日"

    def __str__(self) -> str:
        return f"{self.date} {'上班' if self.is_workday else '休息'} {self.name}"


class SystemAlert(models.Model):
    """Something an administrator must fix (e.g. a deadline in a year the calendar does not cover)."""

    kind = models.CharField(max_length=32)
    key = models.CharField(max_length=80, unique=True)
    message = models.TextField()
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "系统告警"
        verbose_name_plural = "系统告警"

    def __str__(self) -> str:
        return self.message


class Notification(models.Model):
    """The in-app inbox."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_inbox_idx")]
        ordering = ["-created_at", "-id"]
        verbose_name = "站内消息"
        verbose_name_plural = "站内消息"


class OutboundMessage(models.Model):
    """A message for an outside channel (SMS, WeCom), sent by a background task after commit."""

    class Status(models.TextChoices):
        PENDING = "pending", "待发送"
        SENT = "sent", "已发送"
        DEAD = "dead", "发送失败"

    channel = models.CharField(max_length=16)
    address = models.CharField(max_length=120)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "外发消息"
        verbose_name_plural = "外发消息"


class ApiToken(models.Model):
    """A staff member's API token. Only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, default="api")
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API 令牌"
        verbose_name_plural = "API 令牌"


class IdempotencyRecord(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for its retries."""

    key = models.CharField(max_length=120)
    principal = models.CharField(max_length=80)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique")]
