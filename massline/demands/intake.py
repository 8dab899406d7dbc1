"""Receiving a demand from any channel into one record."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from massline.core.errors import DomainError, PermissionDenied
from massline.directory.access import has_role
from massline.directory.models import Category, Org, Role

from .models import Channel, DemandType, GroupVisit, Identity, Urgency

# channels only staff record (the person is in front of them, on the phone, or wrote a letter)
STAFF_CHANNELS = {Channel.HOTLINE, Channel.LETTER, Channel.VISIT, Channel.RECEPTION, Channel.DOOR, Channel.BOX,
                  Channel.GROUP, Channel.AGENT}
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MAX_TITLE = 200
MAX_CONTENT = 5000


@dataclass
class IntakeData:
    channel: str
    type: str
    title: str
    content: str
    category_id: int | None = None
    urgency: str = Urgency.NORMAL
    identity: str = Identity.NAMED
    place_id: int | None = None
    address: str = ""
    latitude: Decimal | float | None = None
    longitude: Decimal | float | None = None
    name: str = ""
    phone: str = ""
    id_number: str = ""
    agent_name: str = ""
    agent_phone: str = ""
    group_visit_id: int | None = None
    reported_unit_id: int | None = None
    reported_person: str = ""
    restatement: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list, repr=False)


def new_code(created_year_month_day: str) -> str:
    return created_year_month_day + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def new_secret() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))


def hash_secret(code: str, secret: str) -> str:
    return hashlib.sha256(f"{code}:{secret.strip().upper()}".encode()).hexdigest()


def secret_matches(code: str, secret: str, stored: str) -> bool:
    return hmac.compare_digest(hash_secret(code, secret or ""), stored)


def _field_error(fieldname: str, message: str) -> DomainError:
    return DomainError("invalid_field", message, field=fieldname)


def validate(data: IntakeData, user) -> dict:
    """Check everything before anything is written; return the resolved references."""
    if data.channel not in Channel.values:
        raise _field_error("channel", f"渠道“{data.channel}”无效")
    if data.type not in DemandType.values:
        raise _field_error("type", f"诉求类型“{data.type}”无效")
    if data.urgency not in Urgency.values:
        raise _field_error("urgency", f"紧急程度“{data.urgency}”无效")
    if data.identity not in Identity.values:
        raise _field_error("identity", f"身份公开方式“{data.identity}”无效")
    title, content = data.title.strip(), data.content.strip()
    if not title:
        raise _field_error("title", "请填写诉求标题")
    if len(title) > MAX_TITLE:
        raise _field_error("title", f"标题不能超过 {MAX_TITLE} 字")
    if len(content) < 5:
        raise _field_error("content", "请把诉求内容说清楚（至少 5 个字）")
    if len(content) > MAX_CONTENT:
        raise _field_error("content", f"内容不能超过 {MAX_CONTENT} 字")
    if data.channel in STAFF_CHANNELS and not has_role(user, Role.INTAKE, Role.DISPATCHER, Role.DISCIPLINE):
        raise PermissionDenied(f"“{Channel(data.channel).label}”渠道的诉求须由受理员登记", code="channel_needs_intake")
    if data.identity != Identity.ANONYMOUS and not (data.name.strip() or data.phone.strip()):
        raise _field_error("name", "实名或保密诉求请留下姓名或电话；不愿留下的请选择匿名")
    phone = data.phone.strip()
    if phone and not (6 <= len(phone) <= 20 and phone.replace("-", "").replace("+", "").isdigit()):
        raise _field_error("phone", "电话号码格式不正确")
    out: dict = {"category": None, "place": None, "group_visit": None, "reported_unit": None}
    if data.category_id is not None:
        out["category"] = Category.objects.filter(pk=data.category_id, active=True).first()
        if out["category"] is None:
            raise _field_error("category_id", "所选分类不存在")
    if data.place_id is not None:
        place = Org.objects.filter(pk=data.place_id, active=True).first()
        if place is None or not place.is_area:
            raise _field_error("place_id", "所选区域不存在")
        out["place"] = place
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = getattr(data, name)
        if value is not None and not (low <= float(value) <= high):
            raise _field_error(name, "坐标超出范围")
    if data.channel == Channel.AGENT and not (data.agent_name.strip() or data.agent_phone.strip()):
        raise _field_error("agent_name", "代理代办须登记代理人")
    if data.channel == Channel.GROUP:
        if data.group_visit_id is None:
            raise _field_error("group_visit_id", "集体访诉求须关联集体访记录")
    if data.group_visit_id is not None:
        out["group_visit"] = GroupVisit.objects.filter(pk=data.group_visit_id).first()
        if out["group_visit"] is None:
            raise _field_error("group_visit_id", "集体访记录不存在")
    if data.reported_unit_id is not None:
        if data.type != DemandType.REPORT:
            raise _field_error("reported_unit_id", "只有举报才填写被举报单位")
        out["reported_unit"] = Org.objects.filter(pk=data.reported_unit_id).first()
        if out["reported_unit"] is None:
            raise _field_error("reported_unit_id", "被举报单位不存在")
    return out
