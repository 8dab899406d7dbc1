"""Every change to the directory: organisations, categories, the responsibility list, roles.

Each change records an event on the reference-data record.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from massline.core import events
from massline.core.errors import DomainError
from massline.core.events import Actor

from .models import Category, Org, Person, Responsibility, Role, RoleAssignment


def _org_event(org: Org, action: str, actor: Actor, **data) -> None:
    events.record(f"org:{org.pk}", action, actor, data={"code": org.code, "name": org.name, "kind": org.kind, **data})


@transaction.atomic
def create_org(code: str, name: str, kind: str, parent: Org | None, actor: Actor, *, phone: str = "") -> Org:
    if kind not in Org.Kind.values:
        raise DomainError("invalid_org_kind", f"组织类型“{kind}”无效")
    if Org.objects.filter(code=code).exists():
        raise DomainError("duplicate_org_code", f"组织编码“{code}”已存在")
    if parent is None and kind != Org.Kind.DISTRICT:
        raise DomainError("org_needs_parent", "除区县外，组织必须有上级")
    org = Org.objects.create(code=code, name=name, kind=kind, parent=parent, phone=phone, path="", depth=0)
    org.path = f"{parent.path if parent else '/'}{org.pk}/"
    org.depth = parent.depth + 1 if parent else 0
    Org.objects.filter(pk=org.pk).update(path=org.path, depth=org.depth)
    _org_event(org, "org_created", actor, parent=parent.code if parent else None)
    return org


@transaction.atomic
def move_org(org: Org, new_parent: Org, actor: Actor) -> Org:
    if new_parent.path.startswith(org.path):
        raise DomainError("org_cycle", "不能把组织移到它自己的下级之下")
    old_path = org.path
    new_path = f"{new_parent.path}{org.pk}/"
    delta = new_parent.depth + 1 - org.depth
    for node in Org.objects.filter(path__startswith=old_path):
        node.path = new_path + node.path[len(old_path):]
        node.depth += delta
        node.save(update_fields=["path", "depth"])
    Org.objects.filter(pk=org.pk).update(parent=new_parent)
    org.refresh_from_db()
    _org_event(org, "org_moved", actor, parent=new_parent.code)
    return org


def category_by_path(path: str) -> Category:
    try:
        return Category.objects.get(full_name=path.strip().strip("/"))
    except Category.DoesNotExist:
        raise DomainError("unknown_category", f"分类“{path}”不存在") from None


@transaction.atomic
def ensure_category(names: list[str], actor: Actor) -> Category:
    """The category at ``names`` (level 1 first), created with its parents when missing."""
    parent: Category | None = None
    for depth, name in enumerate(names, start=1):
        name = name.strip()
        if not name:
            raise DomainError("invalid_category", "分类名称不能为空")
        full = "/".join(n.strip() for n in names[:depth])
        node = Category.objects.filter(full_name=full).first()
        if node is None:
            node = Category.objects.create(name=name, parent=parent, level=depth, full_name=full)
            events.record(f"category:{node.pk}", "category_created", actor, data={"full_name": full})
        parent = node
    assert parent is not None
    return parent


@dataclass
class ImportReport:
    created: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> Iterable[tuple[int, dict]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        for n, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            yield n, row
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DomainError("bad_file", f"第 {n} 行不是有效的 JSON：{exc.msg}") from None
        if not isinstance(row, dict):
            raise DomainError("bad_file", f"第 {n} 行应为 JSON 对象")
        yield n, row


def import_categories(path: Path, actor: Actor) -> ImportReport:
    """Load a three-level category tree from JSONL lines with ``level1``, ``level2``, ``level3``
    (the format of the provincial message board's taxonomy) or a CSV with those columns. All or nothing."""
    report = ImportReport()
    rows = list(_read_rows(path))
    for n, row in rows:
        names = [str(row.get(k) or "").strip() for k in ("level1", "level2", "level3")]
        while names and not names[-1]:
            names.pop()
        if not names or any(not x for x in names):
            report.errors.append(f"第 {n} 行：level1/level2/level3 须从第一级起连续填写")
    if report.errors:
        return report
    with transaction.atomic():
        before = Category.objects.count()
        for _, row in rows:
            names = [str(row.get(k) or "").strip() for k in ("level1", "level2", "level3")]
            ensure_category([x for x in names if x], actor)
        report.created = Category.objects.count() - before
        report.unchanged = len(rows) - report.created if len(rows) > report.created else 0
    return report


def import_orgs(path: Path, actor: Actor) -> ImportReport:
    """Load organisations from JSONL/CSV rows with ``code``, ``name``, ``kind``, ``parent`` (a code).
    Rows may come in any order; all or nothing."""
    report = ImportReport()
    rows = list(_read_rows(path))
    pending = {}
    for n, row in rows:
        code = str(row.get("code") or "").strip()
        if not code or not str(row.get("name") or "").strip():
            report.errors.append(f"第 {n} 行：code 与 name 不能为空")
        elif row.get("kind") not in Org.Kind.values:
            report.errors.append(f"第 {n} 行：kind“{row.get('kind')}”无效，应为 {'/'.join(Org.Kind.values)}")
        elif code in pending:
            report.errors.append(f"第 {n} 行：编码 {code} 重复")
        else:
            pending[code] = (n, row)
    if report.errors:
        return report
    with transaction.atomic():
        existing = {o.code: o for o in Org.objects.all()}
        progress = True
        while pending and progress:
            progress = False
            for code, (_n, row) in list(pending.items()):
                parent_code = str(row.get("parent") or "").strip()
                if parent_code and parent_code not in existing:
                    continue
                if code in existing:
                    report.unchanged += 1
                else:
                    existing[code] = create_org(code, str(row["name"]).strip(), row["kind"],
                                                existing.get(parent_code) if parent_code else None, actor,
                                                phone=str(row.get("phone") or ""))
                    report.created += 1
                del pending[code]
                progress = True
        if pending:
            report.errors.extend(f"第 {n} 行：上级 {row.get('parent')} 不存在" for n, row in pending.values())
            transaction.set_rollback(True)
            report.created = 0
    return report


def _category_names(row: dict) -> str:
    if row.get("category"):
        return str(row["category"]).strip().strip("/")
    return "/".join(str(row.get(k) or "").strip() for k in ("level1", "level2", "level3") if row.get(k))


@transaction.atomic
def set_responsibility(category: Category, area: Org | None, lead: Org, co_units: list[Org], actor: Actor, *,
                       item: str = "", basis: str = "") -> Responsibility:
    if not lead.can_handle:
        raise DomainError("not_a_handling_unit", f"“{lead.name}”不是承办单位")
    if area is not None and not area.is_area:
        raise DomainError("not_an_area", f"“{area.name}”不是区域")
    if any(u.pk == lead.pk for u in co_units):
        raise DomainError("lead_in_co_units", "主办单位不能同时是协办单位")
    entry = Responsibility.objects.filter(category=category, area=area).first()
    action = "responsibility_changed" if entry else "responsibility_created"
    if entry is None:
        entry = Responsibility(category=category, area=area)
    entry.lead_unit = lead
    entry.item = item
    entry.basis = basis
    entry.save()
    entry.co_units.set(co_units)
    events.record(
        f"responsibility:{entry.pk}", action, actor,
        data={"category": category.full_name, "area": area.code if area else None, "lead": lead.code,
              "co": [u.code for u in co_units], "item": item},
    )
    return entry


def import_responsibilities(path: Path, actor: Actor) -> ImportReport:
    """Load the responsibility list from JSONL/CSV rows: ``category`` ("一级/二级/三级", or level1..3),
    ``area`` (org code, empty for the whole jurisdiction), ``lead`` (org code), ``co`` (codes separated by
    commas), ``item``, ``basis``. Every row is checked first; all or nothing."""
    report = ImportReport()
    rows = list(_read_rows(path))
    orgs = {o.code: o for o in Org.objects.all()}
    cats = {c.full_name: c for c in Category.objects.all()}
    parsed = []
    for n, row in rows:
        cat = cats.get(_category_names(row))
        area_code = str(row.get("area") or "").strip()
        lead = orgs.get(str(row.get("lead") or "").strip())
        co_codes = [c.strip() for c in str(row.get("co") or "").replace("，", ",").split(",") if c.strip()]
        problems = []
        if cat is None:
            problems.append(f"分类“{_category_names(row)}”不存在")
        if area_code and area_code not in orgs:
            problems.append(f"区域 {area_code} 不存在")
        if lead is None:
            problems.append(f"主办单位 {row.get('lead')} 不存在")
        missing = [c for c in co_codes if c not in orgs]
        if missing:
            problems.append(f"协办单位 {','.join(missing)} 不存在")
        if problems:
            report.errors.append(f"第 {n} 行：" + "；".join(problems))
            continue
        parsed.append((cat, orgs.get(area_code) if area_code else None, lead, [orgs[c] for c in co_codes],
                       str(row.get("item") or ""), str(row.get("basis") or "")))
    if report.errors:
        return report
    try:
        with transaction.atomic():
            for cat, area, lead, co, item, basis in parsed:
                set_responsibility(cat, area, lead, co, actor, item=item, basis=basis)
                report.created += 1
    except DomainError as exc:
        report.errors.append(exc.message)
        report.created = 0
    return report


@transaction.atomic
def grant_role(user, role: str, scope: Org | None, actor: Actor) -> RoleAssignment:
    if role not in Role.values:
        raise DomainError("invalid_role", f"角色“{role}”无效")
    ra, _ = RoleAssignment.objects.update_or_create(user=user, role=role, scope=scope, defaults={"active": True})
    events.record(f"user:{user.pk}", "role_granted", actor, data={"role": role, "scope": scope.code if scope else None})
    if hasattr(user, "_massline_grants"):
        del user._massline_grants
    return ra


@transaction.atomic
def revoke_role(user, role: str, scope: Org | None, actor: Actor) -> None:
    RoleAssignment.objects.filter(user=user, role=role, scope=scope).update(active=False)
    events.record(f"user:{user.pk}", "role_revoked", actor, data={"role": role, "scope": scope.code if scope else None})
    if hasattr(user, "_massline_grants"):
        del user._massline_grants


def create_staff(username: str, password: str, full_name: str, actor: Actor, *,
                 roles: Iterable[tuple[str, Org | None]] = ()):
    User = get_user_model()
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise DomainError("duplicate_username", f"用户名“{username}”已存在")
        user = User.objects.create_user(username=username, password=password, first_name=full_name[:150])
        events.record(f"user:{user.pk}", "user_created", actor, data={"username": username})
        for role, scope in roles:
            grant_role(user, role, scope, actor)
    return user


def find_or_create_person(*, name: str = "", phone: str = "", id_number: str = "", address: str = "") -> Person:
    """The person with this phone and name when one is on record, else a new one."""
    phone = phone.strip()
    if phone:
        existing = Person.objects.filter(phone=phone, name=name.strip()).order_by("pk").first()
        if existing is not None:
            return existing
    return Person.objects.create(name=name.strip(), phone=phone, id_number=id_number.strip(), address=address.strip())
