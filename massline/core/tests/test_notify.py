"""Notifications: the inbox, and outside messages that are stored with the change, sent after it commits,
retried with back-off when the gateway fails, and given up ("dead") after the configured attempts — never
undoing the change that caused them. (The demand tests check the same through a real transition.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from conftest import at
from massline.core import clock, events, notify, tasks
from massline.core.events import Actor
from massline.core.models import Event, Notification, OutboundMessage

pytestmark = pytest.mark.django_db

T0 = at(2026, 11, 2, 10)
PHONE = "13800001234"


class FlakyBackend:
    """An SMS gateway that fails the first ``failures`` sends, then delivers."""

    failures = 1
    calls = 0
    delivered: list[tuple[str, str]] = []

    def send(self, address: str, body: str) -> None:
        cls = type(self)
        cls.calls += 1
        if cls.calls <= cls.failures:
            raise ConnectionError("短信网关超时")
        cls.delivered.append((address, body))


@pytest.fixture
def gateway(settings):
    FlakyBackend.failures, FlakyBackend.calls, FlakyBackend.delivered = 1, 0, []
    settings.MASSLINE = {**settings.MASSLINE, "SMS_BACKEND": f"{__name__}.FlakyBackend"}
    return FlakyBackend


def _change_with_sms(body: str = "您的诉求已答复，请凭查询码查看并评价。") -> OutboundMessage | None:
    """A change and the message it causes, in one transaction (as a service does it)."""
    with transaction.atomic():
        events.record("demand:1", "reply", Actor.system(), from_state="in_progress", to_state="replied")
        return notify.send_outside("sms", PHONE, body)


def test_a_failed_send_does_not_undo_the_change_and_is_retried(gateway, django_capture_on_commit_callbacks):
    with clock.frozen(T0):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            msg = _change_with_sms()
            assert msg is not None
            # stored with the change, not yet tried
            assert (msg.status, msg.attempts) == (OutboundMessage.Status.PENDING, 0)
        assert len(callbacks) == 1  # the send waits for the commit
    assert Event.objects.filter(chain="demand:1", action="reply").count() == 1  # the change stands
    msg.refresh_from_db()
    assert gateway.calls == 1 and gateway.delivered == []
    assert msg.status == OutboundMessage.Status.PENDING
    assert msg.attempts == 1
    assert "短信网关超时" in msg.last_error
    assert msg.next_attempt_at == T0 + timedelta(seconds=30)

    # not due yet: nothing is sent
    with clock.frozen(T0 + timedelta(seconds=29)):
        assert notify.retry_due() == 0
    assert gateway.calls == 1

    with clock.frozen(T0 + timedelta(seconds=30)):
        assert notify.retry_due() == 1
    msg.refresh_from_db()
    assert msg.status == OutboundMessage.Status.SENT
    assert msg.attempts == 2
    assert msg.sent_at == T0 + timedelta(seconds=30) and msg.next_attempt_at is None
    assert gateway.delivered == [(PHONE, "您的诉求已答复，请凭查询码查看并评价。")]

    # a sent message is never sent again
    with clock.frozen(T0 + timedelta(days=1)):
        assert notify.retry_due() == 0
        assert notify.attempt(msg.pk) is False
    assert gateway.calls == 2


def test_after_the_last_attempt_the_message_is_dead(gateway, settings, django_capture_on_commit_callbacks):
    gateway.failures = 100
    settings.MASSLINE = {**settings.MASSLINE, "NOTIFY_MAX_ATTEMPTS": 3}
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        msg = _change_with_sms()
    msg.refresh_from_db()
    assert (msg.attempts, msg.next_attempt_at) == (1, T0 + timedelta(seconds=30))
    with clock.frozen(T0 + timedelta(seconds=30)):
        assert notify.retry_due() == 0
    msg.refresh_from_db()
    # the back-off doubles
    assert (msg.attempts, msg.status) == (2, OutboundMessage.Status.PENDING)
    assert msg.next_attempt_at == T0 + timedelta(seconds=30 + 60)
    with clock.frozen(T0 + timedelta(seconds=90)):
        assert notify.retry_due() == 0
    msg.refresh_from_db()
    assert msg.attempts == 3
    assert msg.status == OutboundMessage.Status.DEAD
    assert msg.next_attempt_at is None and "短信网关超时" in msg.last_error
    with clock.frozen(T0 + timedelta(days=7)):
        assert notify.retry_due() == 0
    msg.refresh_from_db()
    assert msg.attempts == 3 and gateway.calls == 3


def test_a_message_whose_task_never_ran_is_picked_up_by_the_retry_pass(gateway, monkeypatch,
                                                                     django_capture_on_commit_callbacks):
    gateway.failures = 0

    class BrokenQueue:
        def enqueue(self, *args, **kwargs):
            raise RuntimeError("任务队列不可用")

    monkeypatch.setattr(tasks, "send_outbound", BrokenQueue())
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True):
        msg = _change_with_sms()
    msg.refresh_from_db()
    assert (msg.status, msg.attempts) == (OutboundMessage.Status.PENDING, 0)
    with clock.frozen(T0 + timedelta(seconds=59)):
        assert notify.retry_due() == 0
    with clock.frozen(T0 + timedelta(minutes=1)):
        assert notify.retry_due() == 1
    msg.refresh_from_db()
    assert (msg.status, msg.attempts) == (OutboundMessage.Status.SENT, 1)


def test_a_rolled_back_change_sends_nothing(gateway, django_capture_on_commit_callbacks):
    with clock.frozen(T0), django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            notify.send_outside("sms", PHONE, "不会发出")
            raise RuntimeError("办理失败")
    assert callbacks == []
    assert not OutboundMessage.objects.exists()
    assert gateway.calls == 0


def test_no_address_or_no_backend_queues_nothing(gateway, settings):
    assert notify.send_outside("sms", "", "无号码") is None
    assert notify.send_outside("fax", PHONE, "未知渠道") is None
    settings.MASSLINE = {**settings.MASSLINE, "SMS_BACKEND": ""}
    assert notify.send_outside("sms", PHONE, "短信已关闭") is None
    assert not OutboundMessage.objects.exists()


def test_the_inbox_tells_each_recipient_once():
    User = get_user_model()
    a = User.objects.create_user("inbox_a")
    b = User.objects.create_user("inbox_b")
    with clock.frozen(T0):
        notify.inbox([a.pk, b.pk, a.pk], "overdue", "超期督办 " + "长" * 300, body="请尽快办理")
    rows = Notification.objects.order_by("recipient_id")
    assert [n.recipient_id for n in rows] == [a.pk, b.pk]
    assert all(len(n.title) == 200 and n.created_at == T0 and n.read_at is None for n in rows)
