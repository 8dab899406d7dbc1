"""Attachments: images and PDF, recognised by their content (not their name), size-capped, kept outside
any web root under a random name, and served only after a permission check."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from django.conf import settings
from django.db import transaction

from massline.core import clock, events
from massline.core.errors import DomainError, NotFound

from . import policy
from .models import Attachment, Demand
from .services import actor_for

SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
    (b"%PDF-", "application/pdf", ".pdf"),
]
MAX_PER_DEMAND = 20


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, ctype, ext in SIGNATURES:
        if head.startswith(magic):
            return ctype, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def _safe_name(name: str) -> str:
    name = Path(name or "file").name
    return "".join(ch for ch in name if ch.isprintable() and ch not in '\\/:*?"<>|')[:200] or "file"


def store(demand: Demand, user, *, name: str, chunks, size: int) -> Attachment:
    """Check and keep one file for ``demand``, sent by someone who may see it (or whose demand it is).
    ``chunks`` yields its bytes."""
    if not policy.can_see(user, demand) and not policy.is_own(user, demand):
        raise NotFound()
    if demand.state in ("closed", "rejected", "withdrawn", "merged"):
        raise DomainError("demand_closed", "诉求已办结，不能再上传附件", status=409)
    return _keep(demand, user, actor_for(user, policy.primary_role(user)), name=name, chunks=chunks, size=size)


def store_with_new_demand(demand: Demand, user, actor: events.Actor, *, name: str, chunks, size: int,
                          field: str = "photos") -> Attachment:
    """Keep one file sent together with a demand that is being created in this very transaction (a resident
    submitting without logging in may not *see* the demand afterwards; the proof is that they are creating it).
    The same checks as ``store``; refusals name the form's ``field``. The caller removes the stored files if
    its transaction is undone (``path_for``)."""
    return _keep(demand, user, actor, name=name, chunks=chunks, size=size, field=field)


def _keep(demand: Demand, user, actor: events.Actor, *, name: str, chunks, size: int, field: str | None = None
          ) -> Attachment:
    """The checks (size, count, content), the file under a random name, its row and its event."""
    where = {"field": field} if field else {}
    cap = settings.MAX_UPLOAD_MB * 1024 * 1024
    too_large = DomainError("file_too_large", f"文件不能超过 {settings.MAX_UPLOAD_MB} MB", status=400, **where)
    if size > cap:
        raise too_large
    if size == 0:
        raise DomainError("empty_file", f"“{_safe_name(name)}”是空文件", status=400, **where)
    if demand.attachments.count() >= MAX_PER_DEMAND:
        raise DomainError("too_many_files", f"每件诉求最多 {MAX_PER_DEMAND} 个附件", status=400, **where)
    folder = Path(settings.ATTACHMENT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    head = b""
    stored = secrets.token_hex(16)
    tmp = folder / (stored + ".part")
    written = 0
    try:
        with tmp.open("wb") as out:
            for chunk in chunks:
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                written += len(chunk)
                if written > cap:
                    raise too_large
                digest.update(chunk)
                out.write(chunk)
        kind = sniff(head)
        if kind is None:
            raise DomainError("unsupported_file", "只能上传图片（JPEG、PNG、GIF、WebP）或 PDF 文件", status=400,
                              **where)
        ctype, ext = kind
        final = folder / (stored + ext)
        tmp.rename(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        with transaction.atomic():
            att = Attachment.objects.create(
                demand=demand, original_name=_safe_name(name), content_type=ctype, size=written,
                sha256=digest.hexdigest(), stored_name=final.name,
                uploaded_by=user if getattr(user, "is_authenticated", False) else None, created_at=clock.now(),
            )
            events.record(demand.chain, "attach", actor, data={
                "attachment_id": att.pk, "sha256": att.sha256, "size": written, "content_type": ctype})
    except BaseException:
        final.unlink(missing_ok=True)
        raise
    return att


def path_for(att: Attachment) -> Path:
    return Path(settings.ATTACHMENT_DIR) / att.stored_name


def open_for(user, attachment_id: int) -> Attachment:
    att = Attachment.objects.select_related("demand", "demand__person").filter(pk=attachment_id).first()
    if att is None or not policy.can_see(user, att.demand):
        raise NotFound("附件不存在或您无权查看")
    return att
