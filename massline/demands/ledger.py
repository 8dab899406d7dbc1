"""Importing a legacy demand ledger (台账) from an ``.xlsx`` sheet.

Offices kept their demands in Excel before massline. ``import_ledger`` reads such a sheet (openpyxl, read-only),
maps its columns to a demand's fields (a default mapping from the common Chinese headers, or a mapping file /
``--map 列名=字段``), checks *every* row and collects *all* problems with their Excel row numbers, and only then
writes — all or nothing, or (``skip_bad``) the good rows only, the bad ones handed back for an error file.

What is written keeps the history: the demand's own times (received, dispatched, signed, replied, closed), its
state (an open demand stays open and workable; a closed one is closed with its callback result), its unit, and
its event record, whose events carry the historical times (``at``), one per step the ledger shows — the same
actions the services record (``receive``, ``accept``, ``dispatch``, ``sign``, ``reply``, ``callback``, …), by
the actor "原台账记载" — and last a ``ledger_import`` event at the moment of the import by whoever imported it.
The text is read as at intake (``signals.assess``): a demand with signs of escalation gets its ``risk_flagged``
event at the time it was received, as it would have then.

Deadlines come from today's policies and the working calendar, counted from the historical dispatch time; an
open demand's sweep schedule (``sweep_at``) is set from them, so the next sweep warns, supervises and lists an
open imported demand that is late, and closes an unrated reply whose callback window has passed. The import
itself tells nobody anything (no SMS to people about old matters).

Writing is direct (bulk inserts in one transaction, events appended with ``events.record_many``) rather than
through the per-step services, which check the acting user's role and notify people; the checks here replace
theirs for history. The in-transaction hooks (``hooks.changed``: insight's rollups) see the new demand and then
each step at its own historical time, as if the services had run then. A ledger's number (``Demand.ledger_no``)
is unique: importing the same rows twice is refused. See docs/ledger-import.md.
"""

from __future__ import annotations

import copy
import json
import re
import time
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from massline.core import calendar as workcalendar
from massline.core import clock, events
from massline.core.errors import DomainError
from massline.core.events import Actor, Entry
from massline.core.excel import write_xlsx
from massline.core.workcal import CalendarNotCovered
from massline.directory.models import Category, Org, Person

from . import deadlines, hooks, intake, signals
from .models import (
    Callback,
    Channel,
    DeadlinePolicy,
    Demand,
    DemandType,
    DemandUnit,
    Identity,
    Reply,
    Satisfaction,
    State,
    Urgency,
)

# ============================================================================================ the fields

# every field a column can be mapped to: its name in a mapping, and its Chinese name for people
FIELDS: dict[str, str] = {
    "ledger_no": "编号",
    "received_at": "来电时间",
    "channel": "渠道",
    "name": "诉求人",
    "phone": "联系电话",
    "content": "诉求内容",
    "title": "标题",
    "type": "类型",
    "urgency": "紧急程度",
    "category": "分类",
    "address": "地址",
    "area": "所属社区",
    "grid": "网格",
    "unit": "承办单位",
    "state": "状态",
    "dispatched_at": "派单时间",
    "signed_at": "签收时间",
    "reply": "答复内容",
    "replied_at": "答复时间",
    "closed_at": "办结时间",
    "resolved": "是否解决",
    "satisfaction": "满意度",
}
REQUIRED = ("ledger_no", "received_at", "type", "content")
TIME_FIELDS = ("received_at", "dispatched_at", "signed_at", "replied_at", "closed_at")
# the default mapping: the headers common in ledgers, for each field in order of preference (when a sheet has
# two of them, e.g. both 来电时间 and 受理时间, the first wins and the other is left unused)
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "ledger_no": ("编号", "工单号", "工单编号", "台账编号", "诉求编号", "案件编号"),
    "received_at": ("来电时间", "受理时间", "登记时间", "反映时间", "来件时间", "诉求时间"),
    "channel": ("渠道", "来源", "诉求渠道", "来源渠道", "反映渠道"),
    "name": ("诉求人", "来电人", "姓名", "反映人", "诉求人姓名"),
    "phone": ("联系电话", "电话", "手机", "手机号", "来电号码"),
    "content": ("诉求内容", "反映内容", "内容", "问题描述", "来电内容"),
    "title": ("标题", "诉求标题", "主题"),
    "type": ("类型", "诉求类型", "类别"),
    "urgency": ("紧急程度", "缓急程度"),
    "category": ("分类", "诉求分类", "问题分类", "业务分类"),
    "address": ("地址", "详细地址", "事发地址", "事发地点"),
    "area": ("所属社区", "社区", "所属街道", "街道", "所在区域", "区域"),
    "grid": ("网格", "所属网格"),
    "unit": ("承办单位", "主办单位", "责任单位", "办理单位"),
    "state": ("状态", "办理状态", "工单状态"),
    "dispatched_at": ("派单时间", "交办时间", "转办时间"),
    "signed_at": ("签收时间",),
    "reply": ("答复内容", "办理结果", "答复意见", "回复内容", "处理结果"),
    "replied_at": ("答复时间", "回复时间"),
    "closed_at": ("办结时间", "结案时间", "完成时间"),
    "resolved": ("是否解决", "解决情况"),
    "satisfaction": ("满意度", "满意情况", "回访满意度", "回访结果"),
}
ERROR_COLUMN = "错误原因"
ROW_COLUMN = "原行号"
BATCH = 1000
MAX_TITLE = intake.MAX_TITLE
LEDGER_ACTOR = Actor.system("原台账记载")
IMPORTABLE = (State.RECEIVED, State.ACCEPTED, State.REJECTED, State.DISPATCHED, State.SIGNED, State.IN_PROGRESS,
              State.REPLIED, State.CLOSED, State.WITHDRAWN)
DISPATCHED_STATES = {State.DISPATCHED, State.SIGNED, State.IN_PROGRESS, State.REPLIED, State.CLOSED}
BEFORE_REPLY = {State.RECEIVED, State.ACCEPTED, State.DISPATCHED, State.SIGNED, State.IN_PROGRESS}

# the words ledgers use for the values, besides our own labels (State.CLOSED.label, …) and codes
STATE_WORDS = {
    State.RECEIVED: ("待受理", "未受理", "登记", "新建"),
    State.ACCEPTED: ("受理", "待派单", "待交办"),
    State.REJECTED: ("不受理", "已驳回", "驳回"),
    State.DISPATCHED: ("待签收", "已交办", "已转办", "派单", "交办", "转办"),
    State.SIGNED: ("签收",),
    State.IN_PROGRESS: ("处理中", "正在办理", "在办", "办理", "承办中"),
    State.REPLIED: ("待回访", "已回复", "已答复待回访", "答复"),
    State.CLOSED: ("办结", "已回访", "已完成", "完成", "已结案", "结案", "已关闭", "关闭", "已办理"),
    State.WITHDRAWN: ("撤回", "撤单", "已撤销", "撤销"),
}
CHANNEL_WORDS = {
    Channel.HOTLINE: ("12345", "12345热线", "热线", "电话", "市长热线", "来电"),
    Channel.WEB: ("网络", "网上", "门户网站", "政府网站"),
    Channel.MOBILE: ("微信", "APP", "小程序", "手机", "移动客户端"),
    Channel.LETTER: ("信件", "书信", "写信"),
    Channel.VISIT: ("来访", "走访来访", "上门"),
    Channel.RECEPTION: ("接访", "领导接访日"),
    Channel.DOOR: ("走访", "入户", "下访"),
    Channel.BOARD: ("留言板", "网络问政", "网上留言"),
    Channel.GROUP: ("集体来访", "集体上访"),
    Channel.AGENT: ("代理", "代办", "代理代办"),
}
TYPE_WORDS = {
    DemandType.ENQUIRY: ("政策咨询",),
    DemandType.HELP: ("求决", "求助类"),
    DemandType.COMPLAINT: ("投诉类",),
    DemandType.REPORT: ("举报类",),
    DemandType.SUGGESTION: ("意见建议", "意见"),
    DemandType.PRAISE: ("感谢", "表扬类"),
}
URGENCY_WORDS = {Urgency.NORMAL: ("普通", "一般件"), Urgency.URGENT: ("急", "急件", "加急件"),
                 Urgency.EMERGENCY: ("特急", "紧急件")}
SATISFACTION_WORDS = {Satisfaction.SATISFIED: ("非常满意", "很满意"),
                      Satisfaction.BASIC: ("比较满意", "一般"),
                      Satisfaction.DISSATISFIED: ("非常不满意", "很不满意")}
YES = {"是", "已解决", "解决", "y", "yes", "true", "1", "√"}
NO = {"否", "未解决", "没有解决", "没解决", "部分解决", "n", "no", "false", "0", "×"}
NOT_IMPORTABLE = {State.RETURN_REQUESTED, State.SUSPENDED, State.REOPENED, State.MERGED}
_SEPARATORS = re.compile(r"\s*[/／>＞→\\]\s*")


def _norm(text: Any) -> str:
    """A header or a value as compared: NFKC (full-width to half-width), no spaces, no required-marks."""
    s = unicodedata.normalize("NFKC", str(text if text is not None else "")).strip()
    s = re.sub(r"\s+", "", s)
    return s.strip("*").strip()


def _words(choices: type, extra: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, label in choices.choices:
        out[_norm(value).lower()] = value
        out[_norm(label)] = value
    for value, words in extra.items():
        for w in words:
            out[_norm(w).lower()] = value
    return out


_STATES = _words(State, STATE_WORDS)
_CHANNELS = _words(Channel, CHANNEL_WORDS)
_TYPES = _words(DemandType, TYPE_WORDS)
_URGENCIES = _words(Urgency, URGENCY_WORDS)
_SATISFACTIONS = _words(Satisfaction, SATISFACTION_WORDS)


def field_for(name: str) -> str | None:
    """A mapping target: a field name (``received_at``), its Chinese name (``来电时间``) or any default header
    (``受理时间``); ``-`` or empty means the column is ignored (returned as "")."""
    key = _norm(name)
    if key in ("", "-", "忽略"):
        return ""
    if key in FIELDS:
        return key
    for f, label in FIELDS.items():
        if key == label:
            return f
    for f, headers in DEFAULT_HEADERS.items():
        if key in headers:
            return f
    return None


# ============================================================================================ the mapping

@dataclass
class Mapping:
    """Which column is which field. ``columns``: header → field ("" ignores the column); headers not named
    here are recognised by the default mapping unless ``defaults`` is off. ``aliases``: per field, a ledger's
    own names for things (``{"unit": {"城管委": "区城市管理委员会"}}``), applied before the lookup."""

    columns: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: bool = True

    @classmethod
    def parse(cls, items: Iterable[str]) -> Mapping:
        """From ``--map`` values: ``列名=字段`` pairs and/or paths of JSON mapping files, merged in order."""
        m = cls()
        for item in items:
            if "=" in item and not item.lower().endswith(".json"):
                header, _, target = item.partition("=")
                m.add(header, target)
            else:
                m.merge(cls.load(Path(item)))
        return m

    @classmethod
    def load(cls, path: Path) -> Mapping:
        """A JSON mapping file: either ``{"列名": "字段", …}`` or ``{"columns": {…}, "aliases": {…},
        "defaults": true}``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise DomainError("bad_mapping", f"映射文件不存在：{path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DomainError("bad_mapping", f"映射文件 {path} 不是有效的 JSON：{exc}") from None
        if not isinstance(data, dict):
            raise DomainError("bad_mapping", "映射文件应为 JSON 对象：{\"列名\": \"字段\"}")
        m = cls()
        columns = data.get("columns", data) if "columns" in data else data
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise DomainError("bad_mapping", "映射文件的 columns 应为 {\"列名\": \"字段\"}")
        for header, target in columns.items():
            m.add(header, target)
        aliases = data.get("aliases", {}) if "columns" in data else {}
        if not isinstance(aliases, dict):
            raise DomainError("bad_mapping", "映射文件的 aliases 应为 {\"字段\": {\"原名称\": \"系统中的名称\"}}")
        for target, table in aliases.items():
            f = field_for(target)
            if not f or not isinstance(table, dict):
                raise DomainError("bad_mapping", f"aliases 中的“{target}”不是可映射的字段")
            m.aliases.setdefault(f, {}).update({_norm(k): str(v) for k, v in table.items()})
        if "columns" in data:
            m.defaults = bool(data.get("defaults", True))
        return m

    def add(self, header: str, target: str) -> None:
        f = field_for(target)
        if f is None:
            names = "、".join(f"{k}（{v}）" for k, v in FIELDS.items())
            raise DomainError("unknown_field", f"映射“{header}={target}”：没有字段“{target}”。可用字段：{names}")
        if not _norm(header):
            raise DomainError("bad_mapping", f"映射“{header}={target}”缺少列名")
        self.columns[_norm(header)] = f

    def merge(self, other: Mapping) -> None:
        self.columns.update(other.columns)
        for f, table in other.aliases.items():
            self.aliases.setdefault(f, {}).update(table)
        self.defaults = self.defaults and other.defaults

    def resolve(self, headers: list[Any]) -> tuple[dict[str, int], list[str]]:
        """Field → column index for a header row, and the headers left unused. Refuses a mapping that names a
        column the sheet lacks, two columns for one field, or leaves a required field without a column."""
        normed = [_norm(h) for h in headers]
        fields: dict[str, int] = {}
        for header, f in self.columns.items():
            if header not in normed:
                raise DomainError("unknown_column", f"映射中的列“{header}”在表头中不存在；表头为：{'、'.join(h for h in normed if h)}")
            if not f:
                continue
            if f in fields:
                raise DomainError("duplicate_column", f"“{FIELDS[f]}”被映射了两列：“{headers[fields[f]]}”和“{header}”")
            fields[f] = normed.index(header)
        if self.defaults:
            for f, names in DEFAULT_HEADERS.items():
                if f in fields:
                    continue
                for name in names:
                    if name in normed and name not in self.columns:
                        fields[f] = normed.index(name)
                        break
        missing = [f for f in REQUIRED if f not in fields]
        if missing:
            wanted = "；".join(f"{FIELDS[f]}（可用表头：{'/'.join(DEFAULT_HEADERS[f])}）" for f in missing)
            raise DomainError("missing_columns", f"缺少必需的列：{wanted}。可用 --map 列名=字段 指定", missing=missing)
        used = set(fields.values())
        ignored = {h for h, f in self.columns.items() if not f}
        unused = [str(h) for i, h in enumerate(headers) if i not in used and normed[i] and normed[i] not in ignored]
        return fields, unused

    def alias(self, f: str, value: str) -> str:
        table = self.aliases.get(f)
        return table.get(_norm(value), value) if table else value


# ============================================================================================ the sheet

@dataclass
class Sheet:
    name: str
    header_row: int
    headers: list[Any]
    total: int | None  # data rows below the header, as the file declares (None: unknown)
    rows: Iterator[tuple[int, tuple]]  # (Excel row number, values), empty rows skipped


def open_sheet(path: Path, sheet: str | None, mapping: Mapping) -> Sheet:
    """Open the workbook read-only; the header row is the first of the first ten rows with at least two known
    headers (a ledger often has a title row above it), else the first non-empty row."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DomainError("bad_file", f"无法读取 Excel 文件 {Path(path).name}（须为 .xlsx）：{exc}") from None
    if sheet:
        if sheet not in wb.sheetnames:
            raise DomainError("unknown_sheet", f"工作表“{sheet}”不存在；文件中有：{'、'.join(wb.sheetnames)}")
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    known = {h for names in DEFAULT_HEADERS.values() for h in names} | set(mapping.columns)
    it = enumerate(ws.iter_rows(values_only=True), start=1)
    first: tuple[int, tuple] | None = None
    buffered: list[tuple[int, tuple]] = []
    header: tuple[int, tuple] | None = None
    for n, values in it:
        buffered.append((n, values))
        if first is None and any(_norm(v) for v in values):
            first = (n, values)
        if sum(1 for v in values if _norm(v) in known) >= 2:
            header = (n, values)
            break
        if n >= 10:
            break
    header = header or first
    if header is None:
        wb.close()
        raise DomainError("empty_file", "表格是空的：没有表头")
    header_row, header_values = header
    headers = list(header_values)
    while headers and not _norm(headers[-1]):
        headers.pop()
    max_row = ws.max_row if isinstance(ws.max_row, int) else None

    def rows() -> Iterator[tuple[int, tuple]]:
        try:
            for n, values in buffered:
                if n > header_row and any(_norm(v) for v in values):
                    yield n, values
            for n, values in it:
                if any(v is not None and _norm(v) for v in values):
                    yield n, values
        finally:
            wb.close()

    return Sheet(ws.title, header_row, headers, (max_row - header_row) if max_row else None, rows())


# ============================================================================================ checking

@dataclass
class RowError:
    row: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.message}"


@dataclass
class Row:
    """One ledger row, read and checked."""

    number: int
    raw: tuple
    errors: list[RowError] = field(default_factory=list)
    ledger_no: str = ""
    received_at: datetime | None = None
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    replied_at: datetime | None = None
    closed_at: datetime | None = None
    channel: str = Channel.HOTLINE
    type: str = ""
    urgency: str = Urgency.NORMAL
    title: str = ""
    content: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""
    category: Category | None = None
    place: Org | None = None
    unit: Org | None = None
    state: str = ""
    reply: str = ""
    resolved: bool | None = None
    satisfaction: str = ""

    def fail(self, code: str, message: str) -> None:
        self.errors.append(RowError(self.number, code, message))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ")
    return str(value).strip()


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H", "%Y-%m-%d", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S",
                 "%Y%m%d %H:%M", "%Y%m%d")


def parse_time(value: Any, tz: ZoneInfo) -> datetime | None:
    """A cell as an aware moment (naive values are local time); None for an empty cell. Raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 < value < 80000:  # an Excel serial date in a cell not formatted as a date (1954–2119)
            from openpyxl.utils.datetime import from_excel

            return from_excel(value).replace(tzinfo=tz)
        raise ValueError(value)
    s = unicodedata.normalize("NFKC", str(value)).strip()
    s = s.replace("年", "-").replace("月", "-").replace("日", " ").replace("号", " ")
    s = s.replace("时", ":").replace("点", ":").replace("分", ":").replace("秒", "")
    s = re.sub(r"[/.]", "-", s).replace("T", " ")
    s = re.sub(r"\s+", " ", s).strip().rstrip(":")
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise ValueError(value)


class _Lookups:
    """The directory and the category tree, loaded once, for the names a ledger uses."""

    def __init__(self, mapping: Mapping) -> None:
        self.mapping = mapping
        self.orgs = list(Org.objects.all())
        self.org_by_id = {o.pk: o for o in self.orgs}
        self.org_by_code = {_norm(o.code): o for o in self.orgs}
        self.org_by_name: dict[str, list[Org]] = {}
        for o in self.orgs:
            self.org_by_name.setdefault(_norm(o.name), []).append(o)
        cats = list(Category.objects.select_related("parent"))
        self.cat_by_full = {"/".join(_norm(p) for p in c.full_name.split("/")): c for c in cats}
        self.cat_by_name: dict[str, list[Category]] = {}
        for c in cats:
            self.cat_by_name.setdefault(_norm(c.name), []).append(c)
        self.district = Org.objects.filter(kind=Org.Kind.DISTRICT, active=True).order_by("pk").first()

    def org(self, f: str, value: str, want: Callable[[Org], bool]) -> tuple[Org | None, str]:
        """The org a name means; else ("", "unknown") / ("", "ambiguous: a, b")."""
        value = self.mapping.alias(f, value)
        key = _norm(value)
        if key in self.org_by_code and want(self.org_by_code[key]):
            return self.org_by_code[key], ""
        parts = [p for p in _SEPARATORS.split(unicodedata.normalize("NFKC", value).strip()) if p.strip()]
        candidates = [o for o in self.org_by_name.get(_norm(parts[-1]) if parts else key, []) if want(o)]
        if len(parts) > 1:  # 东城街道/花园社区: the ancestors must match, in order
            def above(o: Org) -> list[str]:
                return [_norm(self.org_by_id[i].name) for i in o.ancestor_ids()[1:] if i in self.org_by_id]
            wanted = [_norm(p) for p in parts[:-1]]
            candidates = [o for o in candidates if all(w in above(o) for w in wanted)]
        if len(candidates) == 1:
            return candidates[0], ""
        if not candidates:
            return None, "unknown"
        return None, "ambiguous:" + "、".join(f"{o.name}（{o.code}）" for o in candidates[:5])

    def category(self, value: str) -> tuple[Category | None, str]:
        value = self.mapping.alias("category", value)
        parts = [_norm(p) for p in _SEPARATORS.split(unicodedata.normalize("NFKC", value).strip()) if p.strip()]
        full = "/".join(parts)
        if full in self.cat_by_full:
            return self.cat_by_full[full], ""
        if len(parts) == 1:
            found = self.cat_by_name.get(parts[0], [])
        else:  # the tail of a path (二级/三级)
            found = [c for k, c in self.cat_by_full.items() if k.endswith("/" + full)]
        if len(found) == 1:
            return found[0], ""
        if not found:
            return None, "unknown"
        return None, "ambiguous:" + "、".join(c.full_name for c in found[:5])


def _choice(f: str, value: str, table: dict[str, str], mapping: Mapping) -> str | None:
    value = mapping.alias(f, value)
    key = _norm(value)
    return table.get(key) or table.get(key.lower())


def check_row(n: int, raw: tuple, cols: dict[str, int], look: _Lookups, now: datetime, tz: ZoneInfo) -> Row:
    """Read one row and collect every problem with it."""
    row = Row(n, raw)
    mapping = look.mapping

    def cell(f: str) -> Any:
        i = cols.get(f)
        return raw[i] if i is not None and i < len(raw) else None

    def label(f: str) -> str:
        return FIELDS[f]

    row.ledger_no = _text(cell("ledger_no"))
    if not row.ledger_no:
        row.fail("missing_field", f"{label('ledger_no')}为空")
    elif len(row.ledger_no) > 64:
        row.fail("too_long", f"{label('ledger_no')}超过 64 个字符")
    bad_times: set[str] = set()
    for f in TIME_FIELDS:
        value = cell(f)
        try:
            t = parse_time(value, tz)
        except (ValueError, OverflowError):
            row.fail("bad_date", f"{label(f)}“{_text(value)}”不是有效的时间（例：2024-05-12 09:30）")
            bad_times.add(f)
            continue
        if t is not None and t > now:
            row.fail("future_date", f"{label(f)} {timezone.localtime(t, tz):%Y-%m-%d %H:%M} 晚于当前时间")
            bad_times.add(f)
            continue
        setattr(row, f, t)
    if row.received_at is None and "received_at" not in bad_times:
        row.fail("missing_field", f"{label('received_at')}为空")

    row.content = _text(cell("content"))
    row.title = _text(cell("title"))
    if not row.content:
        row.fail("missing_text", f"{label('content')}为空")
    if not row.title and row.content:
        first = re.split(r"[。！？!?\n；;]", row.content, maxsplit=1)[0].strip()
        row.title = (first or row.content)[:30]
    if len(row.title) > MAX_TITLE:
        row.fail("too_long", f"{label('title')}超过 {MAX_TITLE} 字")

    for f, table, default in (("type", _TYPES, ""), ("channel", _CHANNELS, Channel.HOTLINE),
                              ("urgency", _URGENCIES, Urgency.NORMAL)):
        value = _text(cell(f))
        if not value:
            if default:
                setattr(row, f, default)
            else:
                row.fail("missing_field", f"{label(f)}为空（应为 {'/'.join(DemandType.labels)}）")
            continue
        found = _choice(f, value, table, mapping)
        if found is None:
            choices = {"type": DemandType, "channel": Channel, "urgency": Urgency}[f].labels
            row.fail(f"unknown_{f}", f"{label(f)}“{value}”无法识别（应为 {'/'.join(choices)}）")
        else:
            setattr(row, f, found)

    row.name = _text(cell("name"))[:60]
    row.phone = re.sub(r"\s+", "", _text(cell("phone")))
    if row.phone and not (6 <= len(row.phone) <= 20 and row.phone.replace("-", "").replace("+", "").isdigit()):
        row.fail("bad_phone", f"{label('phone')}“{row.phone}”格式不正确")
    row.address = _text(cell("address"))[:255]

    value = _text(cell("category"))
    if value:
        row.category, problem = look.category(value)
        if problem == "unknown":
            row.fail("unknown_category", f"{label('category')}“{value}”不存在（请写完整路径，如 城乡建设/城市建设和市政管理/市政设施）")
        elif problem:
            row.fail("ambiguous_category", f"{label('category')}“{value}”不唯一：{problem.split(':', 1)[1]}，请写完整路径")

    area = grid = None
    for f in ("area", "grid"):
        value = _text(cell(f))
        if not value:
            continue
        org, problem = look.org(f, value, lambda o: o.is_area)
        if problem == "unknown":
            row.fail("unknown_place", f"{label(f)}“{value}”不存在（可写名称、编码或 街道/社区 路径）")
        elif problem:
            row.fail("ambiguous_place", f"{label(f)}“{value}”有多个同名区域：{problem.split(':', 1)[1]}，请写编码或 街道/社区/网格 路径")
        elif f == "area":
            area = org
        else:
            grid = org
    if area is not None and grid is not None and area.pk not in grid.ancestor_ids():
        row.fail("place_conflict", f"{label('grid')}“{grid.name}”不在{label('area')}“{area.name}”内")
    row.place = grid or area or look.district

    value = _text(cell("unit"))
    if value:
        row.unit, problem = look.org("unit", value, lambda o: o.can_handle)
        if problem == "unknown":
            row.fail("unknown_unit", f"{label('unit')}“{value}”不存在或不是承办单位（可写名称或编码）")
        elif problem:
            row.fail("ambiguous_unit", f"{label('unit')}“{value}”有多个同名单位：{problem.split(':', 1)[1]}，请写编码")

    value = _text(cell("reply"))
    row.reply = value
    value = _text(cell("satisfaction"))
    if value:
        found = _choice("satisfaction", value, _SATISFACTIONS, mapping)
        if found is None:
            row.fail("bad_value", f"{label('satisfaction')}“{value}”无法识别（应为 满意/基本满意/不满意）")
        else:
            row.satisfaction = found
    value = cell("resolved")
    if isinstance(value, bool):
        row.resolved = value
    elif _text(value):
        key = _norm(mapping.alias("resolved", _text(value))).lower()
        if key in YES:
            row.resolved = True
        elif key in NO:
            row.resolved = False
        else:
            row.fail("bad_value", f"{label('resolved')}“{_text(value)}”无法识别（应为 是/否）")
    if row.resolved is None and row.satisfaction:
        row.resolved = row.satisfaction != Satisfaction.DISSATISFIED

    value = _text(cell("state"))
    if value:
        found = _choice("state", value, _STATES, mapping)
        if found is None:
            row.fail("unknown_state", f"{label('state')}“{value}”无法识别（可导入的状态：{'/'.join(State(s).label for s in IMPORTABLE)}）")
            return row
        if found in NOT_IMPORTABLE:
            row.fail("state_not_importable", f"{label('state')}“{State(found).label}”不能从台账导入（需要退单、挂起、重办或合并的完整记录），请改为实际所处的办理状态")
            return row
        row.state = found
    else:
        row.state = _infer_state(row)
    _check_consistency(row)
    return row


def _infer_state(row: Row) -> str:
    """A row without a state: from the furthest step it records."""
    if row.satisfaction or row.closed_at:
        return State.CLOSED
    if row.replied_at or row.reply:
        return State.REPLIED
    if row.unit or row.dispatched_at:
        return State.DISPATCHED
    return State.RECEIVED


def _check_consistency(row: Row) -> None:
    s = row.state
    label = State(s).label
    if s in DISPATCHED_STATES:
        if row.unit is None and not any(e.code in ("unknown_unit", "ambiguous_unit") for e in row.errors):
            row.fail("missing_unit", f"状态为“{label}”，须填写{FIELDS['unit']}")
        row.dispatched_at = row.dispatched_at or row.received_at
    elif row.unit is not None and s != State.WITHDRAWN:
        row.fail("state_conflict", f"状态为“{label}”，却填写了{FIELDS['unit']}“{row.unit.name}”")
    elif s == State.WITHDRAWN and row.unit is not None:
        row.dispatched_at = row.dispatched_at or row.received_at
    if row.unit is not None:
        if row.type == DemandType.REPORT and row.unit.kind != Org.Kind.DISCIPLINE:
            row.fail("report_to_discipline_only", f"举报只能由纪检监察机关办理，{FIELDS['unit']}却是“{row.unit.name}”")
        if row.type != DemandType.REPORT and row.unit.kind == Org.Kind.DISCIPLINE:
            row.fail("discipline_for_reports", "纪检监察机关只承办举报")
        if not row.unit.active and s in BEFORE_REPLY | {State.REPLIED}:
            row.fail("inactive_unit", f"{FIELDS['unit']}“{row.unit.name}”已停用，未办结的诉求不能交给它")
    if s in (State.RECEIVED, State.ACCEPTED) and row.dispatched_at:
        row.fail("state_conflict", f"状态为“{label}”，却有{FIELDS['dispatched_at']}")
    if s in BEFORE_REPLY and (row.replied_at or row.reply):
        row.fail("state_conflict", f"状态为“{label}”，却有{FIELDS['reply']}或{FIELDS['replied_at']}")
    if s in BEFORE_REPLY | {State.REPLIED} and row.closed_at:
        row.fail("state_conflict", f"状态为“{label}”，却有{FIELDS['closed_at']}")
    if s != State.CLOSED and row.satisfaction:
        row.fail("state_conflict", f"状态为“{label}”，却有{FIELDS['satisfaction']}（已回访的请将状态填为已办结）")
    if s in (State.REPLIED, State.CLOSED):
        if not row.reply:
            row.fail("missing_text", f"状态为“{label}”，{FIELDS['reply']}为空")
        row.replied_at = row.replied_at or (row.closed_at if s == State.CLOSED else None)
        if row.replied_at is None and not any(e.code == "bad_date" for e in row.errors):
            row.fail("missing_field", f"状态为“{label}”，须填写{FIELDS['replied_at']}")
    if s == State.CLOSED:
        row.closed_at = row.closed_at or row.replied_at
    if s in (State.REJECTED, State.WITHDRAWN):
        row.closed_at = row.closed_at or row.received_at
    if (s not in DISPATCHED_STATES or s == State.DISPATCHED) and s != State.WITHDRAWN and row.signed_at:
        row.fail("state_conflict", f"状态为“{label}”，却有{FIELDS['signed_at']}")
    # the steps in time order
    chain = [(f, getattr(row, f)) for f in TIME_FIELDS if getattr(row, f) is not None]
    for (f1, t1), (f2, t2) in pairwise(chain):
        if t2 < t1:
            row.fail("time_order", f"{FIELDS[f2]}早于{FIELDS[f1]}（{timezone.localtime(t2, t1.tzinfo):%Y-%m-%d %H:%M} < {timezone.localtime(t1, t1.tzinfo):%Y-%m-%d %H:%M}）")


# ============================================================================================ the report

@dataclass
class LedgerReport:
    file: str = ""
    sheet: str = ""
    headers: list[Any] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field → the header it was read from
    unused: list[str] = field(default_factory=list)
    rows: int = 0
    good: int = 0
    bad: list[Row] = field(default_factory=list)
    created: int = 0
    dry_run: bool = False
    skipped_bad: bool = False
    states: Counter = field(default_factory=Counter)  # created, by state
    open_timed: int = 0  # created open demands with a running deadline (the sweep's)
    risk_flagged: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        """Every problem of every bad row, one line each (``第 N 行：…``)."""
        return [str(e) for r in self.bad for e in r.errors]

    @property
    def error_codes(self) -> Counter:
        return Counter(e.code for r in self.bad for e in r.errors)

    def error_file(self) -> bytes:
        """The bad rows as they were, plus why (错误原因) and where they were (原行号)."""
        width = len(self.headers)
        headers = [_text(h) or f"列{i + 1}" for i, h in enumerate(self.headers)] + [ERROR_COLUMN, ROW_COLUMN]
        rows = ([*(list(r.raw[:width]) + [None] * (width - len(r.raw[:width]))),
                 "；".join(e.message for e in r.errors), r.number] for r in self.bad)
        return write_xlsx(headers, rows, title="错误行")


Progress = Callable[[str, int, "int | None"], None]


# ============================================================================================ importing

def import_ledger(path: Path, actor: Actor, *, mapping: Mapping | None = None, sheet: str | None = None,
                  dry_run: bool = False, skip_bad: bool = False, progress: Progress | None = None,
                  now: datetime | None = None) -> LedgerReport:
    """Check every row of the ledger at ``path``; then, unless ``dry_run`` or a row is bad (and ``skip_bad`` is
    off), write the good rows in one transaction. Raises DomainError for a file that cannot be read at all."""
    started = time.perf_counter()
    mapping = mapping or Mapping()
    now = now or clock.now()
    tz = ZoneInfo(settings.TIME_ZONE)
    ws = open_sheet(Path(path), sheet, mapping)
    cols, unused = mapping.resolve(ws.headers)
    report = LedgerReport(file=Path(path).name, sheet=ws.name, headers=ws.headers, unused=unused,
                          columns={f: _text(ws.headers[i]) for f, i in cols.items()}, dry_run=dry_run,
                          skipped_bad=skip_bad)
    look = _Lookups(mapping)
    good: list[Row] = []
    seen: dict[str, int] = {}
    for n, raw in ws.rows:
        row = check_row(n, raw, cols, look, now, tz)
        if row.ledger_no:
            if row.ledger_no in seen:
                row.fail("duplicate_in_file", f"{FIELDS['ledger_no']} {row.ledger_no} 与第 {seen[row.ledger_no]} 行重复")
            else:
                seen[row.ledger_no] = n
        report.rows += 1
        (report.bad if row.errors else good).append(row)
        if progress and report.rows % 200 == 0:
            progress("检查", report.rows, ws.total)
    existing = _existing_numbers(list(seen))
    if existing:
        for r in [*report.bad, *good]:
            if r.ledger_no in existing and seen.get(r.ledger_no) == r.number:
                r.fail("duplicate_in_db", f"{FIELDS['ledger_no']} {r.ledger_no} 已导入过（诉求 {existing[r.ledger_no]}）")
        report.bad += [r for r in good if r.errors]
        good = [r for r in good if not r.errors]
        report.bad.sort(key=lambda r: r.number)
    if progress:
        progress("检查", report.rows, report.rows)
    report.good = len(good)
    if dry_run or not good or (report.bad and not skip_bad):
        report.seconds = time.perf_counter() - started
        return report
    try:
        _write(good, report, actor, now, progress)
    except IntegrityError as exc:
        raise DomainError("import_conflict", f"写入时与其他数据冲突（可能有人同时导入了相同编号），未导入任何数据，请重试：{exc}") from None
    report.seconds = time.perf_counter() - started
    return report


def _existing_numbers(numbers: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for i in range(0, len(numbers), 900):
        out.update(Demand.objects.filter(ledger_no__in=numbers[i:i + 900]).values_list("ledger_no", "code"))
    return out


def check_ledger(path: Path, *, mapping: Mapping | None = None, sheet: str | None = None,
                 progress: Progress | None = None) -> LedgerReport:
    """Only check (a dry run)."""
    return import_ledger(path, Actor.system(), mapping=mapping, sheet=sheet, dry_run=True, progress=progress)


# --- writing ------------------------------------------------------------------------------------------

class _Deadlines:
    """Today's deadline policies, matched once per (type, urgency, category)."""

    def __init__(self) -> None:
        self.policies = list(DeadlinePolicy.objects.filter(active=True))
        self.cache: dict[tuple[str, str, int], DeadlinePolicy | None] = {}

    def limits(self, d: Demand, start: datetime) -> deadlines.Limits:
        key = (d.type, d.urgency, d.category_id or 0)
        if key not in self.cache:
            self.cache[key] = deadlines.policy_for(d, self.policies)
        return deadlines.compute(d, start, self.cache[key])


def _persons(rows: list[Row]) -> dict[int, Person]:
    """The person of each named row (by row number): the one on record with this phone and name, else new —
    as ``find_or_create_person`` does, a batch at a time."""
    phones = {r.phone for r in rows if r.phone}
    known: dict[tuple[str, str], Person] = {}
    phone_list = sorted(phones)
    for i in range(0, len(phone_list), 900):
        for p in Person.objects.filter(phone__in=phone_list[i:i + 900]).order_by("-pk"):
            known[(p.phone, p.name)] = p  # the lowest pk wins, as in find_or_create_person
    new: dict[tuple[str, str] | int, Person] = {}
    out: dict[int, Person] = {}
    for r in rows:
        if not (r.name or r.phone):
            continue
        key: tuple[str, str] | int = (r.phone, r.name) if r.phone else r.number
        person = known.get(key) if isinstance(key, tuple) else None
        if person is None:
            person = new.get(key)
            if person is None:
                person = new[key] = Person(name=r.name, phone=r.phone)
        out[r.number] = person
    if new:
        Person.objects.bulk_create(list(new.values()), batch_size=BATCH)
    return out


def _codes(rows: list[Row], tz: ZoneInfo) -> dict[int, str]:
    """A fresh tracking code per row, dated by the day it was received."""
    out: dict[int, str] = {}
    pending = list(rows)
    for _ in range(10):
        proposed = {r.number: intake.new_code(r.received_at.astimezone(tz).strftime("%y%m%d")) for r in pending}
        taken = set(Demand.objects.filter(code__in=list(proposed.values())).values_list("code", flat=True))
        taken |= set(out.values())
        retry = []
        for r in pending:
            code = proposed[r.number]
            if code in taken:
                retry.append(r)
            else:
                out[r.number] = code
                taken.add(code)
        pending = retry
        if not pending:
            return out
    raise DomainError("code_space_exhausted", "无法生成不重复的查询码")


def _write(rows: list[Row], report: LedgerReport, actor: Actor, now: datetime, progress: Progress | None) -> None:
    tz = ZoneInfo(settings.TIME_ZONE)
    limits = _Deadlines()
    source = {"file": report.file, "sheet": report.sheet}
    with transaction.atomic():
        for start in range(0, len(rows), BATCH):
            batch = rows[start:start + BATCH]
            people = _persons(batch)
            codes = _codes(batch, tz)
            demands = [_demand(r, people.get(r.number), codes[r.number], limits, now) for r in batch]
            Demand.objects.bulk_create(demands, batch_size=BATCH)
            units = [DemandUnit(demand=d, unit=r.unit, unit_path=r.unit.path, role=DemandUnit.Role.LEAD,
                                assigned_at=r.dispatched_at, signed_at=r.signed_at)
                     for r, d in zip(batch, demands, strict=True) if r.unit is not None]
            DemandUnit.objects.bulk_create(units, batch_size=BATCH)
            replies = {r.number: Reply(demand=d, round=1, unit=r.unit, text=r.reply, public=False,
                                       created_at=r.replied_at)
                       for r, d in zip(batch, demands, strict=True) if r.state in (State.REPLIED, State.CLOSED)}
            Reply.objects.bulk_create(list(replies.values()), batch_size=BATCH)
            Callback.objects.bulk_create(
                [Callback(demand=d, round=1, by=Callback.By.OPERATOR, resolved=bool(r.resolved),
                          satisfaction=r.satisfaction, created_at=r.closed_at)
                 for r, d in zip(batch, demands, strict=True) if r.state == State.CLOSED and r.satisfaction],
                batch_size=BATCH)
            entries: list[Entry] = []
            changes: list[hooks.Change] = []
            for r, d in zip(batch, demands, strict=True):
                steps = _history(r, d, replies.get(r.number), actor, now, {**source, "row": r.number})
                if any(e.action == signals.RISK_FLAGGED for e in steps):
                    report.risk_flagged += 1
                entries += steps
                # for the in-transaction hooks (insight's rollups): the new demand, then each step at its own
                # historical time (``before`` is the demand as imported: its unit and counting do not change)
                snapshot = copy.copy(d)
                changes.append(hooks.Change(None, d, (steps[0].action,), steps[0].at or now))
                changes += [hooks.Change(snapshot, d, (e.action,), e.at or now) for e in steps[1:]]
                report.states[d.state] += 1
                if d.state in deadlines.TIMED:
                    report.open_timed += 1
            events.record_many(entries)
            hooks.changed(changes)
            report.created += len(demands)
            if progress:
                progress("写入", report.created, len(rows))


def _demand(r: Row, person: Person | None, code: str, limits: _Deadlines, now: datetime) -> Demand:
    """The demand as the services would have left it after the steps the row records."""
    assert r.received_at is not None
    d = Demand(
        code=code, secret_hash=intake.hash_secret(code, intake.new_secret()), channel=r.channel, type=r.type,
        category=r.category, urgency=r.urgency,
        identity=Identity.NAMED if person is not None else Identity.ANONYMOUS, title=r.title, content=r.content,
        place=r.place, area_path=r.place.path if r.place else "", address=r.address, person=person,
        state=r.state, ledger_no=r.ledger_no, created_at=r.received_at,
    )
    if r.unit is not None:
        d.lead_unit, d.lead_path = r.unit, r.unit.path
        d.dispatched_at = r.dispatched_at
        try:
            lim = limits.limits(d, r.dispatched_at)
            d.policy, d.deadline_unit, d.deadline_amount = lim.policy, lim.unit, Decimal(str(lim.amount))
            d.due_at, d.warn_at, d.sign_due_at = lim.due_at, lim.warn_at, lim.sign_due_at
        except CalendarNotCovered as exc:
            if r.state in deadlines.TIMED:  # open: computed by the sweep once the year is loaded
                workcalendar.raise_gap_alert(exc.year)
                d.deadline_pending = True
    d.signed_at = r.signed_at
    d.signed_late = bool(r.signed_at and d.sign_due_at and r.signed_at > d.sign_due_at)
    d.replied_at = r.replied_at
    d.closed_at = r.closed_at if r.state in (State.CLOSED, State.REJECTED, State.WITHDRAWN) else None
    if r.state == State.CLOSED:
        d.resolved, d.satisfaction = r.resolved, r.satisfaction
    elif r.resolved is not None:
        d.resolved = r.resolved
    finished = r.replied_at
    if finished is not None and d.due_at is not None:  # what the deadline said about the answer, as a fact
        d.warned = bool(d.warn_at and d.warn_at <= finished)
        d.overdue = d.due_at < finished
    d.updated_at = max(t for t in (r.received_at, r.dispatched_at, r.signed_at, r.replied_at, d.closed_at) if t)
    d.sweep_at = deadlines.safe_next_sweep(d, now)
    return d


def _history(r: Row, d: Demand, reply: Reply | None, actor: Actor, now: datetime, source: dict) -> list[Entry]:
    """The demand's events: each step the row records, at its historical time, then the import itself."""
    ledger = {"ledger_no": r.ledger_no, **source}
    out: list[Entry] = []
    state = State.RECEIVED

    def step(action: str, at: datetime, to: str, *, who: Actor = LEDGER_ACTOR, reason: str = "",
             data: dict | None = None) -> None:
        nonlocal state
        out.append(Entry(d.chain, action, who, from_state=state if out else "", to_state=to, reason=reason,
                         data={**(data or {}), "ledger": ledger}, at=at))
        state = to

    received = r.received_at
    assert received is not None
    step("receive", received, State.RECEIVED, data={
        "channel": d.channel, "type": d.type, "urgency": d.urgency, "identity": d.identity,
        "category": d.category.full_name if d.category else None, "place": d.place.code if d.place else None,
        "person_id": d.person_id, "agent_id": None, "group_visit_id": None})
    assessment = signals.assess(d)
    if assessment["risk"]:
        reasons = list(assessment["risk_reasons"])
        step(signals.RISK_FLAGGED, received, State.RECEIVED, who=signals.ACTOR, reason="；".join(reasons),
             data={"score": assessment["risk_score"], "kinds": assessment["risk_kinds"], "reasons": reasons,
                   "rules_version": signals.textsignals.RULES_VERSION})
    if r.state != State.RECEIVED:
        step("accept", received, State.ACCEPTED)
    if r.state == State.REJECTED:
        assert d.closed_at is not None
        step("reject", d.closed_at, State.REJECTED, reason=r.reply or "原台账记载：不予受理")
    if r.unit is not None and d.dispatched_at is not None:
        step("dispatch", d.dispatched_at, State.DISPATCHED, data={
            "lead": r.unit.code, "co": [], "entry": None, "due_at": d.due_at.isoformat() if d.due_at else None,
            "auto": False, "deadline_pending": d.deadline_pending, "model_version": ""})
    if r.signed_at is not None:
        step("sign", r.signed_at, State.SIGNED, data={"late": d.signed_late})
    if reply is not None and r.replied_at is not None:
        step("reply", r.replied_at, State.REPLIED, data={
            "reply_id": reply.pk, "public": False, "on_time": bool(d.due_at is None or r.replied_at <= d.due_at)})
    if r.state == State.CLOSED:
        assert d.closed_at is not None
        if r.satisfaction:
            step("callback", d.closed_at, State.CLOSED,
                 data={"resolved": bool(r.resolved), "satisfaction": r.satisfaction, "round": 1})
        else:
            step("close", d.closed_at, State.CLOSED, reason="原台账记载已办结（无回访结果）")
    if r.state == State.WITHDRAWN:
        assert d.closed_at is not None
        step("withdraw", d.closed_at, State.WITHDRAWN, reason=r.reply or "原台账记载：已撤回")
    step("ledger_import", now, r.state, who=actor, reason=f"从台账 {source['file']} 第 {r.number} 行导入")
    return out
