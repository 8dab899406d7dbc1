"""What the residents' pages do: submit a demand or a report (through ``demands.services.receive``, photos
included, all or nothing) and follow it with the tracking code and secret."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from massline.core import clock, events, notify
from massline.core.errors import DomainError
from massline.core.events import Actor
from massline.demands import attachments, policy
from massline.demands import services as demand_services
from massline.demands.intake import MAX_TITLE, IntakeData
from massline.demands.models import Attachment, Channel, Demand, DemandType, Identity
from massline.demands.queries import mask_phone

TITLE_CHARS = 30


@dataclass
class Receipt:
    """What the person is shown once after submitting: keep the secret."""

    code: str
    secret: str
    type: str
    sms_to: str = ""  # the masked number the code was sent to ("" when no SMS)
    photos: int = 0


def title_from(content: str) -> str:
    """A title from the first sentence of the text (the person need not write one)."""
    first = re.split(r"[。！？!?\n；;]", content.strip(), maxsplit=1)[0].strip() or content.strip()
    return first[:TITLE_CHARS] + ("…" if len(first) > TITLE_CHARS else "")


def _actor(user) -> Actor:
    role = policy.intake_role(user)
    if role == "public":
        return Actor(None, "群众（网上提交）", "citizen")
    return demand_services.actor_for(user, role)


def _store_photo(d: Demand, f, actor: Actor, user) -> Path:
    """Keep one file the person sent with their demand, checked as ``demands.attachments.store`` checks a file
    (content, size, count). That function asks for a user who may see the demand, and a person who submits
    without logging in is not one: the proof here is that the demand is being created in this very request."""
    cap = settings.MAX_UPLOAD_MB * 1024 * 1024
    if f.size == 0:
        raise DomainError("empty_file", f"“{f.name}”是空文件", field="photos")
    if f.size > cap:
        raise DomainError("file_too_large", f"文件不能超过 {settings.MAX_UPLOAD_MB} MB", field="photos")
    if d.attachments.count() >= attachments.MAX_PER_DEMAND:
        raise DomainError("too_many_files", f"每件诉求最多 {attachments.MAX_PER_DEMAND} 个附件", field="photos")
    folder = Path(settings.ATTACHMENT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    digest, head, written = hashlib.sha256(), b"", 0
    stored = secrets.token_hex(16)
    tmp = folder / (stored + ".part")
    try:
        with tmp.open("wb") as out:
            for chunk in f.chunks():
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                written += len(chunk)
                if written > cap:
                    raise DomainError("file_too_large", f"文件不能超过 {settings.MAX_UPLOAD_MB} MB", field="photos")
                digest.update(chunk)
                out.write(chunk)
        kind = attachments.sniff(head)
        if kind is None:
            raise DomainError("unsupported_file", "只能上传图片（JPEG、PNG、GIF、WebP）或 PDF 文件", field="photos")
        final = folder / (stored + kind[1])
        tmp.rename(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    att = Attachment.objects.create(
        demand=d, original_name=attachments._safe_name(f.name), content_type=kind[0], size=written,
        sha256=digest.hexdigest(), stored_name=final.name,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None, created_at=clock.now())
    events.record(d.chain, "attach", actor, data={"attachment_id": att.pk, "sha256": att.sha256, "size": written,
                                                  "content_type": kind[0]})
    return final


def submit(data: IntakeData, photos: list, user=None) -> Receipt:
    """Record the demand and its photos in one transaction: a photo that cannot be kept undoes the demand
    (the person is told and sends it again), never a demand with half its evidence."""
    if not data.title.strip():
        data.title = title_from(data.content)[:MAX_TITLE]
    kept: list[Path] = []
    try:
        with transaction.atomic():
            d, secret = demand_services.receive(data, user)
            actor = _actor(user)
            for f in photos:
                kept.append(_store_photo(d, f, actor, user))
    except BaseException:
        for path in kept:
            path.unlink(missing_ok=True)
        raise
    # receive() itself texts the code and secret to a named or confidential person's phone
    sms = data.identity != Identity.ANONYMOUS and data.phone.strip() and notify.backend_for("sms") is not None
    return Receipt(d.code, secret, d.type, mask_phone(data.phone.strip()) if sms else "", len(kept))


def intake_data(form, *, type: str) -> IntakeData:
    """The form's cleaned data as ``demands.intake.IntakeData`` (web channel)."""
    cd = form.cleaned_data
    return IntakeData(
        channel=Channel.WEB, type=type, title=cd.get("title", ""), content=cd["content"],
        category_id=int(cd["category"]) if cd.get("category") else None, identity=cd["identity"],
        place_id=form.place_id, address=cd.get("address", ""), name=cd.get("name", ""), phone=cd.get("phone", ""),
        reported_unit_id=int(cd["reported_unit"]) if type == DemandType.REPORT and cd.get("reported_unit") else None,
        reported_person=cd.get("reported_person", "") if type == DemandType.REPORT else "",
    )


# --- following a demand ---------------------------------------------------------------------------------

def find(code: str, secret: str) -> Demand:
    """The demand behind a code and its secret; one refusal for every mismatch (codes are not enumerable)."""
    return demand_services.by_code(code, secret)


def rate(code: str, secret: str, *, resolved: bool, satisfaction: str, comment: str) -> Demand:
    return demand_services.callback_by_person(code, secret, resolved=resolved, satisfaction=satisfaction,
                                              comment=comment)


def withdraw(code: str, secret: str, *, reason: str) -> Demand:
    return demand_services.withdraw_by_person(code, secret, reason=reason)
