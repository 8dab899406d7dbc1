"""The reads behind the two dashboards (docs/dashboards.md): the leader's (领导驾驶舱) and the supervisor's
(督办驾驶舱).

Every section is a :class:`Table` — the numbers a chart draws are the rows of the table printed under it and
of the Excel file it exports — built by one function here, so a page, its charts and its exports cannot
disagree. Reads are bounded: the rates and rankings come from the rollup tables (``rates``), counts of demands
are aggregate queries over what the viewer may see (``demands.policy``), the warnings are the stored
``SafetyWarning`` rows, and the hot clusters (computed on request by ``hot``) are cached for a few minutes.
No section loads demands row by row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone

from massline.core.errors import DomainError
from massline.demands import policy
from massline.demands import queries as demand_queries
from massline.directory.access import grants
from massline.directory.models import Org, Role

from . import hot, rates, safety
from .models import SafetyWarning
from .models.rollups import Level, Period

LEADER_ROLES = (Role.LEADER, Role.ADMIN)
SUPERVISOR_ROLES = (Role.SUPERVISOR, Role.LEADER, Role.ADMIN)
OPEN_STATES = demand_queries.OPEN_STATES
MONTHS = 12
HOT_DAYS = 14
HOT_TOP = 8
HOT_CACHE_SECONDS = 600
WARNINGS_SHOWN = 10
UNITS_SHOWN = 10
DUE_SOON_SHOWN = 10
# the area below each level, for the ranking and the tile map
CHILD_LEVEL = {Level.DISTRICT: Level.STREET, Level.STREET: Level.COMMUNITY, Level.COMMUNITY: Level.GRID}
LEVEL_OF_KIND = {Org.Kind.DISTRICT: Level.DISTRICT, Org.Kind.STREET: Level.STREET, Org.Kind.TOWNSHIP: Level.STREET,
                 Org.Kind.COMMUNITY: Level.COMMUNITY, Org.Kind.VILLAGE: Level.COMMUNITY, Org.Kind.GRID: Level.GRID}
TILE_KINDS = (Org.Kind.STREET, Org.Kind.TOWNSHIP, Org.Kind.COMMUNITY, Org.Kind.VILLAGE, Org.Kind.GRID)


# --- scope ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Where the viewer holds the dashboard's role: the whole jurisdiction (no ``orgs``) or the top-most orgs of
    their grants (a grant inside another one adds nothing)."""

    orgs: tuple[Org, ...]
    name: str
    level: str  # the rollup level of the widest org (the trend sums the orgs of that level)
    child_level: str | None  # the area level below it (None: a grid or a unit)

    @property
    def org(self) -> Org | None:
        """The one org of a single-org scope (None: the whole jurisdiction, or several orgs)."""
        return self.orgs[0] if len(self.orgs) == 1 else None

    @property
    def org_ids(self) -> list[int] | None:
        if not self.orgs:
            return None
        return [o.pk for o in self.orgs if LEVEL_OF_KIND.get(o.kind, Level.UNIT) == self.level]

    def covers(self, path: str) -> bool:
        return not self.orgs or any(path.startswith(o.path) for o in self.orgs)


def scope_of(user, roles: tuple[str, ...]) -> Scope:
    """The viewer's scope among ``roles``: everywhere when any grant is unscoped, else the top-most orgs."""
    held = [g for g in grants(user) if g.role in roles]
    if not held or any(g.scope_id is None for g in held):
        return Scope((), "全辖区", Level.DISTRICT, Level.STREET)
    paths = {g.scope_path: g.scope_id for g in held}
    top = [pk for p, pk in paths.items() if not any(p != q and p.startswith(q) for q in paths)]
    orgs = tuple(Org.objects.filter(pk__in=top).order_by("depth", "path"))
    level = LEVEL_OF_KIND.get(orgs[0].kind, Level.UNIT)
    return Scope(orgs, "、".join(o.name for o in orgs), level, CHILD_LEVEL.get(level))


# --- tables ---------------------------------------------------------------------------------------------

@dataclass
class Table:
    """A section's numbers: what its chart draws, the table under the chart and its Excel export."""

    key: str
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)
    links: list[str | None] = field(default_factory=list)  # a link for each row's first cell
    note: str = ""
    total: int | None = None  # rows in all when only some are listed

    def link(self, i: int) -> str | None:
        return self.links[i] if i < len(self.links) else None

    @property
    def display_rows(self) -> list[tuple[str | None, list[tuple[str, str]]]]:
        """Each row as (link of its first cell, [(header, shown value)]) for the page's table."""
        return [(self.link(i), [(h, _show(v)) for h, v in zip(self.headers, row, strict=True)])
                for i, row in enumerate(self.rows)]

    def column(self, header: str) -> list:
        i = self.headers.index(header)
        return [row[i] for row in self.rows]


def _show(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"
    return str(value)


def months_back(last: date, months: int = MONTHS) -> list[date]:
    """The first days of ``months`` months ending with ``last`` (oldest first)."""
    out = [last]
    for _ in range(months - 1):
        out.append(rates.previous_start(Period.MONTH, out[-1]))
    return out[::-1]


def _monthly_counts(qs, field_name: str, first: date, last: date) -> dict[date, int]:
    """One aggregate query: how many rows of ``qs`` have ``field_name`` in each month [first, end of last)."""
    since, _ = rates.window(Period.MONTH, first)
    _, until = rates.window(Period.MONTH, last)
    rows = (qs.filter(**{f"{field_name}__gte": since, f"{field_name}__lt": until}).order_by()
            .annotate(m=TruncMonth(field_name, tzinfo=rates.project_tz())).values("m").annotate(n=Count("pk")))
    out: dict[date, int] = {}
    for r in rows:
        m = r["m"]
        key = (m.date() if isinstance(m, datetime) else m).replace(day=1)
        out[key] = out.get(key, 0) + r["n"]
    return out


def _detail_url(level: str, org_id: int, month: date) -> str:
    return f"{reverse('insight:rate_detail', args=[level, org_id])}?month={month:%Y-%m}"


def demand_url(pk: int) -> str:
    return reverse("demands:detail", args=[pk])


# --- the leader's dashboard -------------------------------------------------------------------------------

def volume_trend(user, month: date) -> Table:
    """Demands received and closed per month (of those the viewer may see), twelve months up to ``month``."""
    ms = months_back(month)
    visible = policy.visible(user)
    received = _monthly_counts(visible, "created_at", ms[0], ms[-1])
    closed = _monthly_counts(visible.filter(state="closed"), "closed_at", ms[0], ms[-1])
    return Table("volume", "近十二个月诉求量", ["月份", "受理件数", "办结件数"],
                 [[f"{m:%Y-%m}", received.get(m, 0), closed.get(m, 0)] for m in ms])


def rates_trend(scope: Scope, month: date) -> Table:
    """The three rates and the composite score of the scope per month (rollups: one query)."""
    series = rates.trend(scope.level, scope.org_ids, MONTHS, month)
    rows = [[p["label"], p["figure"].response, p["figure"].resolution, p["figure"].satisfaction, p["figure"].score,
             p["figure"].signed, p["figure"].rated] for p in series]
    return Table("rates", "近十二个月三率走势", ["月份", "响应率(%)", "解决率(%)", "满意率(%)", "综合得分", "签收件次",
                                            "回访评价件次"], rows)


RANK_HEADERS = ["名次", "单位或区域", "综合得分", "响应率(%)", "解决率(%)", "满意率(%)", "上月得分", "得分变化", "上月名次",
                "名次变化"]


def _rank_table(key: str, title: str, level: str, figs: list[rates.Figure], month: date) -> Table:
    rows = [[f.rank, f.org.name, f.score, f.response, f.resolution, f.satisfaction, f.prev_score, f.score_change,
             f.prev_rank, f.rank_change] for f in figs]
    return Table(key, title, RANK_HEADERS, rows, [_detail_url(level, f.org.pk, month) for f in figs],
                 note="名次为全区同级排名；名次变化为正表示比上月上升。")


def area_ranking(scope: Scope, month: date) -> Table | None:
    """This month's ranking of the areas one level below the scope (streets of a district …), from the rollups."""
    if scope.child_level is None:
        return None
    figs = [f for f in rates.ranking(month, scope.child_level) if scope.covers(f.org.path)]
    label = Level(scope.child_level).label
    return _rank_table("rank_area", f"{month.year}年{month.month}月{label}排名", scope.child_level, figs, month)


def unit_ranking(scope: Scope, month: date) -> Table:
    """This month's ranking of the handling units inside the scope, from the rollups."""
    figs = [f for f in rates.ranking(month, Level.UNIT) if scope.covers(f.org.path)]
    return _rank_table("rank_unit", f"{month.year}年{month.month}月承办单位排名", Level.UNIT, figs, month)


@dataclass
class Tile:
    org: Org
    level: str
    open: int = 0
    overdue: int = 0
    warnings: int = 0
    shade: int = 0  # 0 (none open) … 4 (the most), relative to the busiest tile of the same level
    url: str = ""
    children: list[Tile] = field(default_factory=list)
    parent_name: str = ""

    @property
    def short(self) -> str:
        """The name without its parent's ("花园社区第1网格" under 花园社区 → "第1网格")."""
        name = self.org.name
        if self.parent_name and name.startswith(self.parent_name) and len(name) > len(self.parent_name):
            return name[len(self.parent_name):]
        return name


SHADE_LABELS = ["无积压", "较少", "中等", "较多", "最多"]


def _shade(n: int, top: int) -> int:
    if n <= 0 or top <= 0:
        return 0
    return min(4, 1 + (4 * n - 1) // top)  # (0, ¼] → 1, (¼, ½] → 2, (½, ¾] → 3, (¾, 1] → 4


def area_tiles(user, scope: Scope, month: date) -> tuple[list[Tile], Table]:
    """The tile map: the scope's streets → communities → grids as nested cells with their backlog (open demands
    the viewer may see, placed there or below), the overdue among them and the open early warnings raised
    there. Three queries: the orgs, the open demands grouped by place path, the open warnings grouped by org."""
    within = Q()
    for o in scope.orgs:
        within |= Q(path__startswith=o.path)
    orgs = list(Org.objects.filter(within, kind__in=TILE_KINDS, active=True)
                .only("pk", "name", "kind", "path", "parent_id").order_by("path"))
    if scope.org is not None and scope.org.kind in TILE_KINDS:  # one street: its communities are the top row
        orgs = [o for o in orgs if o.pk != scope.org.pk] or orgs
    counts: dict[int, list[int]] = {}
    backlog = (policy.visible(user).filter(state__in=OPEN_STATES).exclude(area_path="").order_by()
               .values("area_path").annotate(n=Count("pk"), late=Count("pk", filter=Q(overdue=True))))
    for r in backlog:
        for part in r["area_path"].strip("/").split("/"):
            if part:
                c = counts.setdefault(int(part), [0, 0])
                c[0] += r["n"]
                c[1] += r["late"]
    warned = dict(safety.visible(user).filter(state=SafetyWarning.State.OPEN).order_by().values("org_id")
                  .annotate(n=Count("pk")).values_list("org_id", "n"))
    tiles = {o.pk: Tile(o, LEVEL_OF_KIND[o.kind], *counts.get(o.pk, [0, 0]), warned.get(o.pk, 0),
                        url=_detail_url(LEVEL_OF_KIND[o.kind], o.pk, month)) for o in orgs}
    roots = []
    for t in tiles.values():
        parent = tiles.get(t.org.parent_id)
        (parent.children if parent else roots).append(t)
        t.parent_name = parent.org.name if parent else ""
    top: dict[str, int] = {}
    for t in tiles.values():
        top[t.level] = max(top.get(t.level, 0), t.open)
    for t in tiles.values():
        t.shade = _shade(t.open, top[t.level])
    table = Table("tiles", "网格积压分布", ["区域", "层级", "在办件数", "其中超期", "待处置预警", "积压程度"])

    def walk(ts: list[Tile], depth: int) -> None:
        for t in ts:
            table.rows.append(["　" * depth + t.org.name, Level(t.level).label, t.open, t.overdue, t.warnings,
                               SHADE_LABELS[t.shade]])
            table.links.append(t.url)
            walk(t.children, depth + 1)

    walk(roots, 0)
    table.note = "在办件数含下级区域；颜色深浅按同级区域中在办件数最多者分为五档。"
    return roots, table


def hot_clusters(user, now: datetime) -> Table:
    """The hottest clusters of the last ``HOT_DAYS`` days (``hot.clusters``, cached per viewer for a few minutes:
    clustering reads the window's texts, which is too much for every page view)."""
    since = now - timedelta(days=HOT_DAYS)
    key = f"insight:dash:hot:{user.pk}:{now:%Y%m%d%H}:{now.minute // 10}"
    rows = cache.get(key)
    table = Table("hot", f"近{HOT_DAYS}天热点诉求", ["热度", "关键词", "街道", "分类", "件数", "涉及人数", "重复", "代表诉求"])
    if rows is None:
        try:
            found = hot.clusters(user, since, now, top=HOT_TOP)
        except DomainError as err:
            table.note = err.message
            return table
        rows = [{"heat": round(c.cluster.heat, 2), "name": "、".join(t for t, _ in c.key_terms[:4]), "street": c.street.name if c.street else "",
                 "category": c.category.name if c.category else "", "size": c.cluster.size,
                 "people": c.cluster.people, "repeats": c.cluster.repeats,
                 "title": c.representative["title"], "demand": c.representative["id"]} for c in found]
        cache.set(key, rows, HOT_CACHE_SECONDS)
    for r in rows:
        table.rows.append([r["heat"], r["name"], r["street"], r["category"], r["size"], r["people"], r["repeats"],
                           r["title"]])
        table.links.append(demand_url(r["demand"]))
    table.note = f"按热度排列（{since:%m月%d日}起，最多 {HOT_TOP} 个）；结果最多缓存 10 分钟。"
    return table


def standing_warnings(user) -> Table:
    """The open early warnings of the safety line in the viewer's scope, highest score first."""
    qs = safety.visible(user).filter(state=SafetyWarning.State.OPEN)
    total = qs.count()
    shown = list(qs.order_by("-score", "-raised_at")[:WARNINGS_SHOWN])
    url = reverse("insight:warnings")
    table = Table("warnings", "待处置的安全线预警", ["层级", "区域", "分类", "分值", "安全线", "未办结件数", "预警时间"],
                  [[w.get_level_display(), w.org.name, w.category.full_name, round(w.score, 2), w.line, w.open_count,
                    w.raised_at] for w in shown], [f"{url}#warning-{w.pk}" for w in shown])
    table.total = total
    table.note = f"共 {total} 条待处置预警" + (f"，这里列出分值最高的 {WARNINGS_SHOWN} 条" if total > WARNINGS_SHOWN else "")
    return table


LEADER_TABLES = ("volume", "rates", "rank_area", "rank_unit", "tiles", "hot", "warnings")


def leader_table(key: str, user, scope: Scope, month: date, now: datetime) -> Table | None:
    builders: dict[str, Callable[[], Table | None]] = {
        "volume": lambda: volume_trend(user, month),
        "rates": lambda: rates_trend(scope, month),
        "rank_area": lambda: area_ranking(scope, month),
        "rank_unit": lambda: unit_ranking(scope, month),
        "tiles": lambda: area_tiles(user, scope, month)[1],
        "hot": lambda: hot_clusters(user, now),
        "warnings": lambda: standing_warnings(user),
    }
    return builders[key]() if key in builders else None


# --- the supervisor's dashboard ---------------------------------------------------------------------------

SUPERVISION_COUNTS = [("overdue", "已超期"), ("supervised", "督办中"), ("listed", "挂牌督办"), ("due_soon", "即将到期"),
                      ("open", "在办")]


def supervision_counts(user) -> Table:
    """The open demands the viewer may see: overdue, supervised (督办), listed (挂牌督办), due soon (one query)."""
    open_q = Q(state__in=OPEN_STATES)
    agg = policy.visible(user).order_by().aggregate(
        n_open=Count("pk", filter=open_q),
        n_overdue=Count("pk", filter=open_q & Q(overdue=True)),
        n_supervised=Count("pk", filter=open_q & Q(supervision=1)),
        n_listed=Count("pk", filter=open_q & Q(supervision__gte=2)),
        n_due_soon=Count("pk", filter=open_q & Q(warned=True, overdue=False)),
    )
    desk = reverse("demands:supervisor")  # each count but "open" is a tab of the supervisor's desk of that name
    return Table("counts", "当前督办概况", ["类别", "件数"], [[label, agg[f"n_{k}"]] for k, label in SUPERVISION_COUNTS],
                 [f"{desk}?tab={k}" if k != "open" else None for k, _ in SUPERVISION_COUNTS])


def supervision_trend(user, month: date) -> Table:
    """Per month: demands whose deadline fell in the month and that went past it (as the record stands now),
    demands put under supervision (督办) and listed (挂牌督办) in the month. Three aggregate queries."""
    ms = months_back(month)
    visible = policy.visible(user)
    overdue = _monthly_counts(visible.filter(overdue=True), "due_at", ms[0], ms[-1])
    supervised = _monthly_counts(visible.filter(supervision__gte=1), "supervised_at", ms[0], ms[-1])
    listed = _monthly_counts(visible.filter(supervision__gte=2), "listed_at", ms[0], ms[-1])
    return Table("trend", "近十二个月超期与督办", ["月份", "到期超期件数", "进入督办件数", "挂牌督办件数"],
                 [[f"{m:%Y-%m}", overdue.get(m, 0), supervised.get(m, 0), listed.get(m, 0)] for m in ms],
                 note="到期超期：办理时限在该月、至今仍记为超期的诉求；督办、挂牌：按首次督办、挂牌的时间计入月份。")


def overdue_units(user) -> Table:
    """The units with the most open overdue demands (one grouped query)."""
    rows = (policy.visible(user).filter(state__in=OPEN_STATES, overdue=True, lead_unit__isnull=False).order_by()
            .values("lead_unit_id", "lead_unit__name")
            .annotate(n=Count("pk"), listed=Count("pk", filter=Q(supervision__gte=2)))
            .order_by("-n", "lead_unit__name")[:UNITS_SHOWN])
    search = reverse("demands:search")
    return Table("units", "超期件数最多的承办单位", ["承办单位", "超期在办件数", "其中挂牌督办"],
                 [[r["lead_unit__name"], r["n"], r["listed"]] for r in rows],
                 [f"{search}?unit={r['lead_unit_id']}&overdue=1" for r in rows],
                 note=f"最多列出 {UNITS_SHOWN} 个单位。")


def due_soon(user, now: datetime) -> Table:
    """The open demands nearest their deadline that have passed the warning point, with the time left as the
    handler's desk says it (working time on the working calendar)."""
    shown = list(demand_queries.supervision_list(user, "due_soon")[:DUE_SOON_SHOWN])
    return Table("due_soon", "即将到期的诉求", ["查询码", "标题", "主办单位", "办理时限", "剩余时间"],
                 [[d.code, d.title, d.lead_unit.name if d.lead_unit else "", d.due_at,
                   demand_queries.time_left(d, now)["text"] or None] for d in shown],
                 [demand_url(d.pk) for d in shown], note=f"时限最早的 {DUE_SOON_SHOWN} 件；全部见督办工作台。")


SUPERVISOR_TABLES = ("counts", "trend", "units", "due_soon", "warnings")


def supervisor_table(key: str, user, month: date, now: datetime) -> Table | None:
    builders: dict[str, Callable[[], Table]] = {
        "counts": lambda: supervision_counts(user),
        "trend": lambda: supervision_trend(user, month),
        "units": lambda: overdue_units(user),
        "due_soon": lambda: due_soon(user, now),
        "warnings": lambda: standing_warnings(user),
    }
    return builders[key]() if key in builders else None
