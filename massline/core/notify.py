"""Notifications: an in-app inbox for every user, and outside channels (SMS, WeCom) behind one interface.

Outside messages are stored first, then sent by a background task after the transaction commits; a
failed send is retried with back-off and never blocks or undoes the change that caused it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from . import clock
from .models import Notification, OutboundMessage

log = logging.getLogger("massline.notify")


class Backend(Protocol):
    def send(self, address: str, body: str) -> None:
        """Deliver or raise."""


class LoggingBackend:
    """The default: writes the message to the log."""

    def send(self, address: str, body: str) -> None:
        masked = address[:3] + "****" + address[-4:] if len(address) >= 8 else "****"
        log.info("notify to=%s chars=%d", masked, len(body))


_BACKEND_SETTINGS = {"sms": "SMS_BACKEND", "wecom": "WECOM_BACKEND"}


def backend_for(channel: str) -> Backend | None:
    path = settings.MASSLINE.get(_BACKEND_SETTINGS.get(channel, ""), "")
    if not path:
        return None
    return import_string(path)()


def inbox(recipient_ids: list[int], kind: str, title: str, body: str = "", link: str = "") -> None:
    inbox_many([(recipient_ids, kind, title, body, link)])


def inbox_many(messages: list[tuple[list[int], str, str, str, str]]) -> None:
    """Many inbox messages in one insert: (recipient ids, kind, title, body, link); each recipient once."""
    now = clock.now()
    Notification.objects.bulk_create(
        [Notification(recipient_id=uid, kind=kind, title=title[:200], body=body, link=link, created_at=now)
         for recipient_ids, kind, title, body, link in messages for uid in dict.fromkeys(recipient_ids)],
        batch_size=1000,
    )


def send_outside(channel: str, address: str, body: str) -> OutboundMessage | None:
    """Queue a message for an outside channel; it is sent after commit."""
    if not address or backend_for(channel) is None:
        return None
    msg = OutboundMessage.objects.create(
        channel=channel, address=address, body=body, created_at=clock.now(),
        # the retry pass picks it up only if the task after commit has not sent it within a minute
        next_attempt_at=clock.now() + timedelta(minutes=1),
    )
    transaction.on_commit(lambda: _enqueue(msg.pk))
    return msg


def _enqueue(message_id: int) -> None:
    from .tasks import send_outbound

    try:
        send_outbound.enqueue(message_id)
    except Exception:  # the message stays pending; the retry pass picks it up
        log.exception("could not enqueue outbound message %s", message_id)


def attempt(message_id: int) -> bool:
    """Try to send one message once. True when sent. Failures schedule the next attempt.

    The message is claimed first (compare-and-swap on its attempt count), so two workers never send
    the same message at once.
    """
    msg = OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.PENDING).first()
    if msg is None:
        return False
    attempts = msg.attempts + 1
    claimed = OutboundMessage.objects.filter(
        pk=msg.pk, status=OutboundMessage.Status.PENDING, attempts=msg.attempts
    ).update(attempts=attempts, next_attempt_at=clock.now() + timedelta(minutes=5))
    if not claimed:
        return False
    backend = backend_for(msg.channel)
    try:
        if backend is None:
            raise RuntimeError(f"channel {msg.channel} has no backend")
        backend.send(msg.address, msg.body)
    except Exception as exc:
        dead = attempts >= settings.MASSLINE["NOTIFY_MAX_ATTEMPTS"]
        OutboundMessage.objects.filter(pk=msg.pk).update(
            last_error=str(exc)[:2000],
            status=OutboundMessage.Status.DEAD if dead else OutboundMessage.Status.PENDING,
            next_attempt_at=None if dead else clock.now() + timedelta(seconds=30 * 2 ** (attempts - 1)),
        )
        log.warning("send of outbound message %s failed (attempt %s): %s", msg.pk, attempts, exc)
        return False
    OutboundMessage.objects.filter(pk=msg.pk).update(
        status=OutboundMessage.Status.SENT, sent_at=clock.now(), next_attempt_at=None
    )
    return True


def retry_due(limit: int = 200) -> int:
    """Re-send the messages whose next attempt is due (the worker loop and the sweep call this)."""
    ids = list(
        OutboundMessage.objects.filter(status=OutboundMessage.Status.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for pk in ids if attempt(pk))
