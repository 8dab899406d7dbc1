"""Hot issues over the database's demands, and the governance topics made of them (docs/hot-issues.md).

- :func:`clusters` — clusters of similar demands received in a window, per street and first-level category,
  ranked by heat (``textclf.cluster``), among the demands the user may see (``policy.visible_q``: a
  whistle-blowing report never enters a cluster).
- :func:`create_topic` — a leader turns a cluster into a monthly problem (每月一题) or a "handle before
  asked" topic (未诉先办) with an owner, a plan and a deadline; the cluster's demands are linked to it.
- :func:`on_received` — the ``received`` hook: a new demand that matches an open topic's key terms, in the
  topic's area and category, is linked to it.
- :func:`effect` — matching demands in the same number of days before and after the topic was set.

Who: the hot page and the topics are for leaders, supervisors and administrators (within the scope of their
role); only leaders and administrators set topics or change their state.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from massline.core import clock, events
from massline.core.errors import DomainError, NotFound, PermissionDenied
from massline.demands import policy
from massline.demands.models import Demand, DemandType
from massline.demands.models import State as DemandState
from massline.directory.access import grants, has_role
from massline.directory.models import Category, Org, Role
from textclf import cluster as tc

from .models.hot import GovernanceTopic, TopicLink

log = logging.getLogger("massline.insight.hot")

VIEW_ROLES = (Role.LEADER, Role.SUPERVISOR, Role.ADMIN)
DECIDE_ROLES = (Role.LEADER, Role.ADMIN)
# a topic is public governance work: any handling unit may lead it, not discipline inspection
OWNER_KINDS = tuple(k for k in Org.HANDLING_KINDS if k != Org.Kind.DISCIPLINE)
LEFT_OUT_STATES = (DemandState.MERGED, DemandState.WITHDRAWN)  # merged ones count as their master's repeats
MAX_EFFECT_DAYS = 90
MAX_ITEMS = 20000  # a window larger than this is refused on a page (the command line has no limit)
DEFAULT_WEIGHTS = tc.HeatWeights()


# --------------------------------------------------------------------------------------------------
# who
# --------------------------------------------------------------------------------------------------


def may_view(user) -> bool:
    return has_role(user, *VIEW_ROLES)


def _scopes(user, roles) -> list[str]:
    return [g.scope_path for g in grants(user) if g.role in roles]


def _covers(scopes: list[str], path: str) -> bool:
    return any(s == "" or (path and path.startswith(s)) for s in scopes)


def _actor(user, roles):
    from massline.demands.services import actor_for

    for r in roles:
        if has_role(user, r):
            return actor_for(user, str(r))
    return actor_for(user, "system")


# --------------------------------------------------------------------------------------------------
# places and categories
# --------------------------------------------------------------------------------------------------


@dataclass
class _Places:
    streets: list[tuple[str, Org]] = field(default_factory=list)  # (path, org), longest path first

    @classmethod
    def load(cls) -> _Places:
        rows = Org.objects.filter(kind__in=(Org.Kind.STREET, Org.Kind.TOWNSHIP)).only("pk", "name", "path")
        return cls(sorted(((o.path, o) for o in rows), key=lambda p: -len(p[0])))

    def street(self, path: str) -> Org | None:
        for p, org in self.streets:
            if path.startswith(p):
                return org
        return None


def _top_categories() -> dict[int, Category]:
    """Category id → its first-level ancestor."""
    cats = {c.pk: c for c in Category.objects.only("pk", "name", "parent_id", "full_name", "level")}
    out = {}
    for pk, c in cats.items():
        node = c
        while node.parent_id and node.parent_id in cats:
            node = cats[node.parent_id]
        out[pk] = node
    return out


# --------------------------------------------------------------------------------------------------
# clusters
# --------------------------------------------------------------------------------------------------


@dataclass
class HotCluster:
    cluster: tc.Cluster
    street: Org | None
    category: Category | None
    representative: dict
    members: list[dict]

    @property
    def key_terms(self) -> list[tuple[str, float]]:
        return self.cluster.key_terms

    def as_dict(self) -> dict:
        c = self.cluster.as_dict()
        c.pop("members", None)
        c.update(street=self.street.name if self.street else "", street_id=self.street.pk if self.street else None,
                 category=self.category.name if self.category else "",
                 category_id=self.category.pk if self.category else None, representative=self.representative,
                 members=self.members)
        return c


def _demands(user, since: datetime, until: datetime, street: Org | None, category: Category | None):
    qs = Demand.objects.filter(created_at__gte=since, created_at__lt=until).exclude(state__in=LEFT_OUT_STATES)
    qs = qs.exclude(type=DemandType.REPORT)
    if user is not None:
        qs = qs.filter(policy.visible_q(user))
    if street is not None:
        qs = qs.filter(area_path__startswith=street.path)
    if category is not None:
        ids = [c.pk for c in Category.objects.filter(Q(pk=category.pk) | Q(full_name__startswith=category.full_name + "/"))]
        qs = qs.filter(category_id__in=ids)
    return qs


def demand_items(qs) -> tuple[list[tc.Item], dict[int, dict]]:
    """Items for ``textclf.cluster`` from a queryset of demands, and each demand's row by id."""
    rows = list(qs.values("pk", "code", "title", "content", "created_at", "person_id", "identity", "area_path",
                          "category_id", "group_visit__headcount", "state"))
    dup = dict(Demand.objects.filter(merged_into_id__in=[r["pk"] for r in rows]).values("merged_into_id")
               .annotate(n=Count("pk")).values_list("merged_into_id", "n"))
    places = _Places.load()
    tops = _top_categories()
    items = []
    by_id = {}
    for r in rows:
        st = places.street(r["area_path"] or "")
        top = tops.get(r["category_id"]) if r["category_id"] else None
        items.append(tc.Item(
            id=str(r["pk"]), title=r["title"], text=r["content"], time=r["created_at"],
            person=str(r["person_id"]) if r["person_id"] else "", people=r["group_visit__headcount"] or 1,
            duplicates=dup.get(r["pk"], 0), place=str(st.pk) if st else "", category=str(top.pk) if top else ""))
        r["street"], r["top"] = st, top
        by_id[r["pk"]] = r
    return items, by_id


def _row(r: dict) -> dict:
    return {"id": r["pk"], "code": r["code"], "title": r["title"], "created_at": r["created_at"].isoformat(),
            "state": r["state"]}


def clusters(user, since: datetime, until: datetime, *, street: Org | None = None,
             category: Category | None = None, top: int = 20, limit: int | None = MAX_ITEMS,
             weights: tc.HeatWeights = DEFAULT_WEIGHTS) -> list[HotCluster]:
    """The ``top`` hottest clusters of the demands ``user`` may see (all demands when ``user`` is None, for
    the command line), received in [since, until), clustered within street × first-level category."""
    if user is not None and not may_view(user):
        raise PermissionDenied("只有领导、督办员和管理员可以查看热点")
    if until <= since:
        raise DomainError("invalid_window", "结束时间须晚于开始时间", field="until")
    qs = _demands(user, since, until, street, category)
    if limit is not None and qs.count() > limit:
        raise DomainError("window_too_large", f"所选时段内诉求超过{limit}件，请缩短时段或选择街道、分类",
                          field="since")
    items, by_id = demand_items(qs)
    found = tc.hot(items, since, until, top=top, weights=weights, by_group=True)
    out = []
    for c in found:
        rows = [by_id[int(i)] for i in c.ids]
        rows.sort(key=lambda r: r["created_at"], reverse=True)
        first = by_id[int(c.representative)]
        out.append(HotCluster(cluster=c, street=first["street"], category=first["top"],
                              representative=_row(first), members=[_row(r) for r in rows]))
    return out


def file_clusters(path: Path, since: datetime | None, until: datetime | None, *, top: int = 20,
                  weights: tc.HeatWeights = DEFAULT_WEIGHTS) -> tuple[int, list[tc.Cluster]]:
    """Hot clusters of a messages file (JSON lines with ``id, user, title, detail, time, likes``): (number of
    messages in the window, clusters). Times in the file are naive and compared as they are; the district
    a message names is reported but not used to split clusters (the text is not reliable enough)."""
    since = since.replace(tzinfo=None) if since else None
    until = until.replace(tzinfo=None) if until else None
    with open(path, encoding="utf-8") as f:
        items = tc.items_from_records(json.loads(line) for line in f if line.strip())
    chosen = [it for it in items if it.time is None or ((since is None or it.time >= since)
                                                         and (until is None or it.time < until))]
    return len(chosen), tc.score(tc.cluster(chosen, by_group=False, workers=2), chosen, since, until, weights)[:top]


# --------------------------------------------------------------------------------------------------
# topics
# --------------------------------------------------------------------------------------------------


def visible_topics(user):
    """The topics whose area lies in the scope where ``user`` holds a viewing role."""
    if not may_view(user):
        raise PermissionDenied("只有领导、督办员和管理员可以查看治理专题")
    scopes = _scopes(user, VIEW_ROLES)
    if "" in scopes:
        return GovernanceTopic.objects.all()
    q = Q(pk__in=[])
    for s in scopes:
        q |= Q(area_path__startswith=s)
    return GovernanceTopic.objects.filter(q)


def get_topic(user, pk: int) -> GovernanceTopic:
    topic = visible_topics(user).select_related("owner_org", "owner_user", "area", "category").filter(pk=pk).first()
    if topic is None:
        raise NotFound("专题不存在或您无权查看")
    return topic


def may_decide(user, area: Org | None) -> bool:
    return _covers(_scopes(user, DECIDE_ROLES), area.path if area else "") or "" in _scopes(user, DECIDE_ROLES)


def _district_of(demand_id: int) -> Org | None:
    """The top of the area a demand lies in (for a demand placed above any street)."""
    path = Demand.objects.filter(pk=demand_id).values_list("area_path", flat=True).first() or ""
    first = path.strip("/").split("/")[0] if path.strip("/") else ""
    return Org.objects.filter(pk=int(first)).first() if first.isdigit() else None


@transaction.atomic
def create_topic(user, *, since: datetime, until: datetime, demand_id: int, title: str, kind: str,
                 owner_org: Org, plan: str, deadline: date, owner_user=None, street: Org | None = None,
                 category: Category | None = None) -> GovernanceTopic:
    """Turn the cluster that holds ``demand_id`` (computed again now, with the same window and filters as
    the page) into a topic, and link its demands."""
    if not has_role(user, *DECIDE_ROLES):
        raise PermissionDenied("只有领导和管理员可以把热点设为治理专题")
    title, plan = (title or "").strip(), (plan or "").strip()
    if len(title) < 4:
        raise DomainError("invalid_field", "请填写专题题目（至少4个字）", field="title")
    if len(plan) < 10:
        raise DomainError("invalid_field", "请填写工作方案（至少10个字）：措施、步骤和责任分工", field="plan")
    if kind not in GovernanceTopic.Kind.values:
        raise DomainError("invalid_field", "专题类型无效", field="kind")
    today = clock.now().date()
    if deadline < today:
        raise DomainError("invalid_field", "完成时限不能早于今天", field="deadline")
    if owner_org.kind not in OWNER_KINDS or not owner_org.active:
        raise DomainError("invalid_field", "牵头单位须是承办诉求的单位（纪检监察机关除外）", field="owner_org")
    found = next((c for c in clusters(user, since, until, street=street, category=category, top=10_000)
                  if str(demand_id) in c.cluster.ids), None)
    if found is None:
        raise DomainError("cluster_gone", "该热点已不在所选时段的热点中（数据已变化），请刷新后再试", status=409)
    area = found.street or _district_of(found.representative["id"])
    if not may_decide(user, area):
        raise PermissionDenied("该热点所在区域不在您的职责范围内")
    now = clock.now()
    topic = GovernanceTopic.objects.create(
        title=title, kind=kind, owner_org=owner_org, owner_user=owner_user, plan=plan, deadline=deadline,
        area=area, area_path=area.path if area else "", category=found.category,
        key_terms=[[t, round(w, 5)] for t, w in found.key_terms[:8]], window_since=since, window_until=until,
        heat=round(found.cluster.heat, 3), created_by=user, created_at=now)
    TopicLink.objects.bulk_create([TopicLink(topic=topic, demand_id=int(i), how=TopicLink.How.CLUSTER, score=1.0,
                                             created_at=now) for i in found.cluster.ids])
    events.record(topic.chain, "topic_created", _actor(user, DECIDE_ROLES), to_state=topic.state, new_chain=True,
                  data={"kind": kind, "owner_org": owner_org.code, "owner_user": owner_user.pk if owner_user else None,
                        "deadline": deadline.isoformat(),
                        "area": area.code if area else None, "demands": len(found.cluster.ids),
                        "key_terms": [t for t, _ in found.key_terms[:8]]})
    return topic


@transaction.atomic
def set_state(user, pk: int, state: str, note: str = "") -> GovernanceTopic:
    topic = get_topic(user, pk)
    if not may_decide(user, topic.area):
        raise PermissionDenied("只有领导和管理员可以变更专题状态")
    if state not in GovernanceTopic.State.values or state == topic.state:
        raise DomainError("invalid_state", "专题状态无效或未变化", field="state")
    old = topic.state
    now = clock.now()
    closed = now if state != GovernanceTopic.State.OPEN else None
    if not GovernanceTopic.objects.filter(pk=topic.pk, state=old).update(state=state, closed_at=closed):
        raise DomainError("conflict", "专题已被他人变更，请刷新", status=409)
    events.record(topic.chain, "topic_state", _actor(user, DECIDE_ROLES), from_state=old, to_state=state,
                  reason=note.strip())
    topic.state, topic.closed_at = state, closed
    return topic


def _category_ids(category: Category | None) -> set[int] | None:
    if category is None:
        return None
    return set(Category.objects.filter(Q(pk=category.pk) | Q(full_name__startswith=category.full_name + "/"))
               .values_list("pk", flat=True))


def _fits(topic: GovernanceTopic, area_path: str, category_id: int | None, cat_ids: set[int] | None) -> bool:
    if topic.area_path and not (area_path or "").startswith(topic.area_path):
        return False
    # a demand not yet categorised (intake) may still match by its text
    return cat_ids is None or category_id is None or category_id in cat_ids


def on_received(demand, user=None) -> list[TopicLink]:
    """The ``received`` hook: link a new demand to every open topic it matches."""
    if demand.type == DemandType.REPORT:  # a whistle-blowing report is never shown to the topic's readers
        return []
    out = []
    now = clock.now()
    tokens = None
    for topic in GovernanceTopic.objects.filter(state=GovernanceTopic.State.OPEN).select_related("category"):
        if not _fits(topic, demand.area_path, demand.category_id, _category_ids(topic.category)):
            continue
        tokens = tc.match_tokens(demand.title, demand.content) if tokens is None else tokens
        if not tc.matches(topic.key_terms, tokens=tokens):
            continue
        try:
            with transaction.atomic():
                out.append(TopicLink.objects.create(topic=topic, demand_id=demand.pk, how=TopicLink.How.MATCHED,
                                                    score=tc.match_score(topic.key_terms, tokens=tokens),
                                                    created_at=now))
        except IntegrityError:  # linked already
            continue
    return out


def effect(topic: GovernanceTopic, now: datetime | None = None) -> dict:
    """Demands matching the topic (same area, category and key-term rule as the links) in the ``days``
    before the topic was set and in the same number of days after (``days`` = days since it was set, at
    most ``MAX_EFFECT_DAYS``, at least 1)."""
    now = now or clock.now()
    days = max(1, min(MAX_EFFECT_DAYS, (now - topic.created_at).days or 1))
    start, end = topic.created_at - timedelta(days=days), topic.created_at + timedelta(days=days)
    qs = Demand.objects.filter(created_at__gte=start, created_at__lt=end).exclude(state__in=LEFT_OUT_STATES)
    qs = qs.exclude(type=DemandType.REPORT)
    if topic.area_path:
        qs = qs.filter(area_path__startswith=topic.area_path)
    cat_ids = _category_ids(topic.category)
    before = after = 0
    for r in qs.values("title", "content", "created_at", "area_path", "category_id").iterator():
        if not _fits(topic, r["area_path"], r["category_id"], cat_ids):
            continue
        if not tc.matches(topic.key_terms, r["title"], r["content"]):
            continue
        if r["created_at"] < topic.created_at:
            before += 1
        else:
            after += 1
    links = dict(topic.links.values("how").annotate(n=Count("pk")).values_list("how", "n"))
    change = None if before == 0 else round((after - before) / before, 3)
    return {"days": days, "before": before, "after": after, "change": change,
            "since": start.isoformat(), "until": min(end, now).isoformat(),
            "linked_cluster": links.get(TopicLink.How.CLUSTER, 0), "linked_matched": links.get(TopicLink.How.MATCHED, 0)}


def linked_demands(user, topic: GovernanceTopic):
    """The topic's linked demands that ``user`` may see, newest first."""
    ids = topic.links.values_list("demand_id", flat=True)
    return policy.visible(user).filter(pk__in=ids).select_related("lead_unit").order_by("-created_at")
