"""What the residents' pages do: submit a demand or a report (through ``demands.services.receive``, photos
included, all or nothing) and follow it with the tracking code and secret."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from massline.core import notify
from massline.core.events import Actor
from massline.demands import attachments, policy
from massline.demands import services as demand_services
from massline.demands.intake import MAX_TITLE, IntakeData
from massline.demands.models import Channel, Demand, DemandType, Identity
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
                att = attachments.store_with_new_demand(d, user, actor, name=f.name, chunks=f.chunks(), size=f.size)
                kept.append(attachments.path_for(att))
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
