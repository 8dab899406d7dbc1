"""Routing with the text classifier (smart dispatch).

Category + place → the responsibility list → the lead unit (and co-handling units), the district as
backstop. The active model reads a new demand's title and content and names its first-level category with a
calibrated score; at or above the category's threshold the demand is dispatched without a person (marked
``auto`` with the model's version on the demand and on the dispatch event); below it, it waits for the
dispatcher with the top three suggestions, their scores and the route each implies.

Automatic dispatch is conservative: never for whistle-blowing reports, never when the demand already has a
category of another first-level class than the model's (a person chose it), never for a label the platform's
category tree does not know, and never to the district only as backstop (the list names no unit for the
class: a dispatcher finds a better one than the backstop).

Every dispatcher correction of a suggestion and every upheld return becomes a labelled example;
``retrain`` builds a new model from the original data plus these examples, compares it with the active one on
examples neither has seen, and activates it only if it is not worse. With no model the platform routes by
the responsibility list alone.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from massline.core import clock, events
from massline.core.errors import Conflict, DomainError, NotFound
from massline.core.events import Actor
from massline.demands import services as demand_services
from massline.demands.models import Demand, State
from massline.directory import queries as directory
from massline.directory.models import Category, Org, Role

from . import adapter
from .models import CategoryThreshold, ClassifierModel, RoutingExample, Suggestion

log = logging.getLogger("massline.routing")

# why a demand was not dispatched automatically (Suggestion.reason)
BELOW_THRESHOLD = "below_threshold"
DISABLED = "disabled"
CATEGORY_DISAGREES = "category_disagrees"
UNKNOWN_CATEGORY = "unknown_category"
NO_ROUTE = "no_route"
BACKSTOP = "backstop_only"
REFUSED = "refused"
REASONS = {
    BELOW_THRESHOLD: "置信度低于阈值，待派单员决定",
    DISABLED: "该类已关闭自动派单",
    CATEGORY_DISAGREES: "模型分类与登记的分类不一致，待派单员决定",
    UNKNOWN_CATEGORY: "模型给出的分类不在本平台分类目录中",
    NO_ROUTE: "权责清单中找不到承办单位",
    BACKSTOP: "权责清单对该类没有明确的承办单位（只有兜底区县），待派单员决定",
    REFUSED: "派单未成功（状态已变化或不能派单）",
}


# --- categories, thresholds, routes ---------------------------------------------------------------------

def level1(category: Category | None) -> Category | None:
    node = category
    while node is not None and node.parent_id is not None:
        node = node.parent
    return node


def level1_name(category: Category | None) -> str:
    top = level1(category)
    return top.name if top is not None else ""


def category_for_label(label: str) -> Category | None:
    """The platform's first-level category named ``label`` (the classifier's labels are such names)."""
    return Category.objects.filter(parent__isnull=True, name=label, active=True).first()


def default_threshold() -> float:
    return float(settings.MASSLINE["AUTODISPATCH_THRESHOLD"])


def threshold_for(label: str) -> float:
    value = CategoryThreshold.objects.filter(category__parent__isnull=True, category__name=label).values_list(
        "threshold", flat=True).first()
    return float(value) if value is not None else default_threshold()


def _unit(org: Org) -> dict[str, Any]:
    return {"id": org.pk, "code": org.code, "name": org.name}


def route_json(route: directory.Route | None) -> dict[str, Any] | None:
    if route is None:
        return None
    return {"lead": _unit(route.lead), "co": [_unit(u) for u in route.co_units],
            "entry": route.entry.pk if route.entry else None, "backstop": route.backstop}


def route_for(demand: Demand, label: str) -> directory.Route | None:
    """The route a first-level label implies for this demand: the demand's own (more specific) category when it
    is of that class, else the first-level category itself; None for a label the category tree lacks."""
    own = demand.category if demand.category_id and level1_name(demand.category) == label else None
    category = own or category_for_label(label)
    if category is None:
        return None
    return directory.resolve_route(category, demand.place)


def list_route(demand: Demand) -> directory.Route | None:
    """What the responsibility list says for the demand's category and place (the district as backstop)."""
    return directory.resolve_route(demand.category, demand.place)


# --- suggestions -------------------------------------------------------------------------------------------

@dataclass
class Advice:
    """What the dispatcher is shown: the responsibility list's route and, with a model, its top three."""

    list_route: dict[str, Any] | None
    model_version: str = ""
    choices: list[dict[str, Any]] = field(default_factory=list)  # label, score, route
    threshold: float | None = None
    suggestion: Suggestion | None = None


def _advice(demand: Demand, s: Suggestion | None) -> Advice:
    lr = None if demand.is_report else route_json(list_route(demand))
    if s is None:
        return Advice(lr)
    return Advice(lr, s.model_version, list(s.top), s.threshold, s)


def suggest(demand: Demand, *, store: bool = True) -> Advice:
    """The suggestions for a demand. With an active model: its top three with scores and routes, stored as a
    ``Suggestion`` (once per demand and model version, while the demand waits to be dispatched). Without one:
    the responsibility list's route only.
    Whistle-blowing reports get neither (they go to discipline inspection)."""
    return suggest_many([demand], store=store)[0]


def suggest_many(demands: Sequence[Demand], *, store: bool = True) -> list[Advice]:
    """``suggest`` for a page of demands, in a bounded number of reads whatever their number: the stored
    suggestions, the first-level categories and thresholds, every route at once; new suggestions are written
    together (one made at the same moment elsewhere — the intake task and a dispatcher's read — is kept)."""
    model = adapter.active()
    routable = [d for d in demands if not d.is_report]
    existing: dict[int, Suggestion] = {}
    if model is not None and routable:
        existing = {s.demand_id: s for s in Suggestion.objects.filter(
            demand_id__in=[d.pk for d in routable], model_version=model.version)}
    new: list[tuple[Demand, adapter.Guess]] = []
    if model is not None:
        new = [(d, model.predict(d.title, d.content)) for d in routable if d.pk not in existing]
    level1s: dict[str, Category] = {}
    thresholds: dict[str, float] = {}
    if new:
        for c in Category.objects.filter(parent__isnull=True, active=True).order_by("full_name"):
            level1s.setdefault(c.name, c)
        thresholds = dict(CategoryThreshold.objects.filter(category__parent__isnull=True).values_list(
            "category__name", "threshold"))

    def category_of(d: Demand, label: str) -> Category | None:
        own = d.category if d.category_id and level1_name(d.category) == label else None
        return own or level1s.get(label)

    pairs: list[tuple[Category | None, Org | None]] = [(d.category, d.place) for d in routable]
    wanted: list[tuple[Demand, str, Category]] = []
    for d, guess in new:
        for label, _ in guess.top:
            category = category_of(d, label)
            if category is not None:
                wanted.append((d, label, category))
                pairs.append((category, d.place))
    routes = directory.resolve_routes(pairs) if pairs else []
    list_routes = {d.pk: route_json(r) for d, r in zip(routable, routes[:len(routable)], strict=True)}
    implied = {(d.pk, label): route_json(r)
               for (d, label, _), r in zip(wanted, routes[len(routable):], strict=True)}
    made: dict[int, Suggestion] = {}
    for d, guess in new:
        top = [{"label": lab, "score": round(score, 6), "route": implied.get((d.pk, lab))} for lab, score in guess.top]
        made[d.pk] = Suggestion(
            demand_id=d.pk, model_version=model.version, label=guess.label, score=guess.score, top=top,
            threshold=float(thresholds[guess.label]) if guess.label in thresholds else default_threshold(),
            created_at=clock.now())
    waiting = {d.pk for d in routable if d.state in (State.RECEIVED, State.ACCEPTED)}
    keep = [s for pk, s in made.items() if store and pk in waiting]
    if keep:  # kept only while a decision is to come
        Suggestion.objects.bulk_create(keep, ignore_conflicts=True)
        stored = {s.demand_id: s for s in Suggestion.objects.filter(
            demand_id__in=[s.demand_id for s in keep], model_version=model.version)}
        made.update(stored)
    out = []
    for d in demands:
        if d.is_report:
            out.append(Advice(None))
            continue
        s = existing.get(d.pk) or made.get(d.pk)
        lr = list_routes.get(d.pk)
        out.append(Advice(lr) if s is None else Advice(lr, s.model_version, list(s.top), s.threshold, s))
    return out


def _why_not(demand: Demand, s: Suggestion) -> str:
    """Why this suggestion may not be dispatched automatically ("" when it may)."""
    if s.threshold >= 1.0:
        return DISABLED
    if s.score < s.threshold:
        return BELOW_THRESHOLD
    if demand.category_id and level1_name(demand.category) != s.label:
        return CATEGORY_DISAGREES
    if category_for_label(s.label) is None:
        return UNKNOWN_CATEGORY
    if not s.top or not s.top[0].get("route"):
        return NO_ROUTE
    if s.top[0]["route"].get("backstop"):
        return BACKSTOP
    return ""


def auto_dispatch_if_confident(demand: Demand | int) -> str:
    """Dispatch a waiting demand without a person when the model is confident enough for its category.

    Returns "dispatched" or why not: no_model, report, not_waiting, decided, or one of REASONS."""
    try:
        d = demand_services.load(demand.pk if isinstance(demand, Demand) else demand)
    except NotFound:
        return "not_found"
    if d.is_report:
        return "report"
    if d.state not in (State.RECEIVED, State.ACCEPTED) or d.lead_unit_id:
        return "not_waiting"
    advice = suggest(d)
    s = advice.suggestion
    if s is None:
        return "no_model"
    if s.decided:
        return "decided"
    reason = _why_not(d, s)
    if reason:
        Suggestion.objects.filter(pk=s.pk).update(reason=reason)
        return reason
    route = s.top[0]["route"]
    by_list = bool(d.category_id)  # the demand's own category: the list decides, and its entry goes on the record
    note = f"自动派单：模型 {s.model_version} 判断为“{s.label}”，置信度 {s.score:.2f}（阈值 {s.threshold:.2f}）"
    try:
        with transaction.atomic():
            d = demand_services.dispatch(
                d.pk, None, lead_unit_id=None if by_list else route["lead"]["id"],
                co_unit_ids=None if by_list else [u["id"] for u in route["co"]],
                note=note, auto=True, model_version=s.model_version)
            Suggestion.objects.filter(pk=s.pk, decided="").update(
                decided=Suggestion.Decided.AUTO, decided_at=clock.now(), chosen_label=s.label,
                chosen_unit=d.lead_unit.code if d.lead_unit else "", reason="")
    except DomainError as exc:  # e.g. a dispatcher was quicker (concurrent_change), or no route
        log.info("automatic dispatch of demand %s refused: %s %s", d.pk, exc.code, exc.message)
        Suggestion.objects.filter(pk=s.pk, decided="").update(reason=REFUSED)
        return REFUSED
    return "dispatched"


# --- hooks (registered in apps.py; run after the demand's change commits) ---------------------------------

def after_receive(demand: Demand, user) -> None:
    """A new demand: with an active model, route it in the background (the task dispatches if confident)."""
    if demand.is_report or demand.state != State.RECEIVED or not adapter.active_version():
        return
    from .tasks import route_new_demand

    route_new_demand.enqueue(demand.pk)


def _unit_labels(unit_id: int | None) -> set[str]:
    """The first-level categories the responsibility list gives ``unit_id`` as lead."""
    if not unit_id:
        return set()
    out = set()
    for cat in Category.objects.filter(responsibilities__lead_unit_id=unit_id).select_related(
            "parent", "parent__parent"):
        out.add(level1_name(cat))
    return out


def _model_suggestion(demand_id: int) -> Suggestion | None:
    return Suggestion.objects.filter(demand_id=demand_id).order_by("-created_at", "-pk").first()


def _dispatcher_label(d: Demand, s: Suggestion) -> str:
    """The first-level category the dispatcher's choice says the demand belongs to ("" if it cannot be told)."""
    if d.category_id:
        return level1_name(d.category)
    for choice in s.top:  # the dispatcher followed one of the suggestions' routes
        route = choice.get("route") or {}
        if (route.get("lead") or {}).get("id") == d.lead_unit_id:
            return choice["label"]
    labels = _unit_labels(d.lead_unit_id)
    return labels.pop() if len(labels) == 1 else ""


def after_dispatch(demand: Demand, user) -> None:
    """A dispatcher dispatched: the suggestion is decided; a different category or unit is a correction."""
    if user is None or demand.is_report:
        return  # the system's own (automatic) dispatch is marked where it happens
    s = _model_suggestion(demand.pk)
    if s is None or s.decided:
        return
    label = _dispatcher_label(demand, s)
    lead = demand.lead_unit
    won = Suggestion.objects.filter(pk=s.pk, decided="").update(
        decided=Suggestion.Decided.DISPATCHER, decided_at=clock.now(), chosen_label=label,
        chosen_unit=lead.code if lead else "")
    if not won:
        return
    route = route_for(demand, s.label)  # as the list says now (the category may have been set since)
    suggested = route.lead.pk if route is not None else None
    if label and (label != s.label or demand.lead_unit_id != suggested):
        record_correction(demand, label, RoutingExample.Source.DISPATCHER_CORRECTION, s, user)


def _upheld_label(d: Demand, s: Suggestion | None) -> str:
    """The category of the unit the demand was re-dispatched to, if it can be told."""
    labels = _unit_labels(d.lead_unit_id)
    if len(labels) == 1:
        return next(iter(labels))
    own = level1_name(d.category) if d.category_id else ""
    if own and (not labels or own in labels):
        return own
    if s is not None:
        hits = [c["label"] for c in s.top if c["label"] in labels]
        if len(hits) == 1:
            return hits[0]
    return ""


def after_uphold(demand: Demand, user) -> None:
    """An upheld return (the first unit was wrong): a labelled example with the new unit's category."""
    if demand.is_report:
        return
    s = _model_suggestion(demand.pk)
    label = _upheld_label(demand, s)
    if label:
        record_correction(demand, label, RoutingExample.Source.UPHELD_RETURN, s, user)


def record_correction(demand: Demand, label: str, source: str, suggestion: Suggestion | None, user) -> RoutingExample:
    """Keep a labelled example (and put it on the record)."""
    actor = demand_services.actor_for(user, str(Role.DISPATCHER))
    with transaction.atomic():
        ex = RoutingExample.objects.create(
            demand_id=demand.pk, title=demand.title, content=demand.content, label=label, source=source,
            model_version=suggestion.model_version if suggestion else "",
            predicted_label=suggestion.label if suggestion else "",
            unit=demand.lead_unit.code if demand.lead_unit_id and demand.lead_unit else "",
            created_by=user if user is not None and getattr(user, "pk", None) else None, created_at=clock.now())
        events.record(f"routing_example:{ex.pk}", "routing_example", actor, new_chain=True,
                      data={"demand": demand.code, "label": label, "source": source,
                            "model_version": ex.model_version, "predicted": ex.predicted_label, "unit": ex.unit})
    return ex


# --- models: register, activate ----------------------------------------------------------------------------

def _abs(path: str | Path) -> str:
    return str(Path(path).expanduser().resolve())


def _store_dir(src: Path, version: str) -> Path:
    """Copy a model directory under DATA_DIR/models/<version>/ (unless it is there already)."""
    dest = adapter.models_dir() / version
    if src.resolve() != dest.resolve():
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("model.json", "arrays.npz"):
            shutil.copy2(src / name, dest / name)
    return dest


@transaction.atomic
def activate(version: str, actor: Actor, *, reason: str = "") -> ClassifierModel:
    """Make ``version`` the active model (the previous one is deactivated); both on the record."""
    row = ClassifierModel.objects.select_for_update().filter(version=version).first()
    if row is None:
        raise NotFound(f"没有版本为 {version} 的分类模型", code="no_such_model")
    try:
        loaded = adapter.load_dir(row.path)
    except adapter.ModelError as exc:
        raise DomainError("model_unreadable", f"模型目录无法读取：{exc}") from None
    if loaded.version != row.version:
        raise DomainError("model_mismatch", f"模型目录中的版本是 {loaded.version}，不是 {row.version}")
    if row.active:
        return row
    now = clock.now()
    old = ClassifierModel.objects.select_for_update().filter(active=True).first()
    try:
        with transaction.atomic():
            if old is not None:
                ClassifierModel.objects.filter(pk=old.pk).update(active=False)
                events.record(old.chain, "model_deactivated", actor, data={"replaced_by": row.version})
            ClassifierModel.objects.filter(pk=row.pk).update(active=True, activated_at=now)
    except IntegrityError:
        raise Conflict("concurrent_activation", "另一个模型刚被启用，请重试") from None
    events.record(row.chain, "model_activated", actor, reason=reason,
                  data={"replaces": old.version if old else None})
    row.active, row.activated_at = True, now
    return row


def register(model_dir: str | Path, actor: Actor, *, activate_it: bool = False, data_path: str = "",
             note: str = "") -> ClassifierModel:
    """Register a trained model directory (copied under DATA_DIR/models/) as a ClassifierModel."""
    src = Path(model_dir)
    try:
        loaded = adapter.load_dir(src)
    except adapter.ModelError as exc:
        raise DomainError("model_unreadable", f"模型目录无法读取：{exc}") from None
    if ClassifierModel.objects.filter(version=loaded.version).exists():
        raise Conflict("model_exists", f"版本 {loaded.version} 的模型已登记", version=loaded.version)
    meta = adapter.metadata(loaded)
    training = meta.get("training") or {}
    source = training.get("source") or {}
    data_file = data_path or source.get("file") or ""
    data_sha = source.get("file_sha256") or ""
    if data_path and Path(data_path).is_file():
        data_sha = adapter.sha256_of(data_path)
    dest = _store_dir(src, loaded.version)
    with transaction.atomic():
        row = ClassifierModel.objects.create(
            version=loaded.version, path=str(dest), data_path=_abs(data_file) if data_file else "",
            data_sha256=data_sha, labels=loaded.labels, n_train=int(training.get("n") or 0),
            metrics={"out_of_fold": (meta.get("metrics") or {}).get("out_of_fold"),
                     "training": {k: training.get(k) for k in ("n", "sha256", "label_counts", "seconds")}},
            note=note[:200], created_at=clock.now())
        events.record(row.chain, "model_registered", actor, new_chain=True,
                      data={"path": row.path, "data_path": row.data_path, "data_sha256": row.data_sha256,
                            "n_train": row.n_train, "labels": row.labels})
        if activate_it:
            row = activate(row.version, actor, reason=note or "登记后启用")
    return row


# --- training data -----------------------------------------------------------------------------------------

def latest_examples() -> list[RoutingExample]:
    """The labelled examples to learn from: the latest one per demand (a later correction wins)."""
    last = RoutingExample.objects.values("demand_id").annotate(top=Max("pk")).values_list("top", flat=True)
    return list(RoutingExample.objects.filter(pk__in=list(last)).order_by("pk"))


def history_records(min_count: int = 0) -> list[dict[str, Any]]:
    """The platform's own history as training records: every demand with a category (never a whistle-blowing
    report), labelled with its first-level category — or with the latest correction's label when there is one."""
    corrected = {ex.demand_id: ex.label for ex in latest_examples()}
    qs = (Demand.objects.exclude(type="report").filter(category__isnull=False)
          .exclude(state=State.MERGED)
          .values_list("pk", "title", "content", "category__name", "category__parent__name",
                       "category__parent__parent__name").order_by("pk"))
    out = []
    for pk, title, content, c0, c1, c2 in qs.iterator(chunk_size=2000):
        label = corrected.get(pk) or c2 or c1 or c0
        if (title or "").strip() or (content or "").strip():
            out.append({"id": pk, "title": title or "", "detail": content or "", "label": label})
    return out


def write_jsonl(records: Iterable[dict[str, Any]], out: str | Path) -> int:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(path)
    return n


def export_training(out: str | Path) -> tuple[int, dict[str, int]]:
    """Write the platform's history as JSON lines (title, detail, label); returns the count and label counts."""
    records = history_records()
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r["label"]] += 1
    write_jsonl(records, out)
    return len(records), dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def bootstrap(actor: Actor, *, min_count: int = 200, seed: int = 0) -> tuple[ClassifierModel | None, str]:
    """Train, register and activate a model on the platform's own history (``make run`` uses it for the demo).

    Skipped when a model is already active or there are fewer than ``min_count`` usable demands or fewer than
    two categories with at least 5 demands each."""
    if ClassifierModel.objects.filter(active=True).exists():
        return None, "已有启用的分类模型，跳过。"
    records = history_records()
    counts: dict[str, int] = defaultdict(int)
    for r in records:
        counts[r["label"]] += 1
    if len(records) < min_count or sum(1 for n in counts.values() if n >= 5) < 2:
        return None, f"历史诉求太少（{len(records)} 件，需至少 {min_count} 件、两个以上分类），未训练分类模型。"
    data = Path(settings.DATA_DIR) / "training" / f"history-{clock.now().strftime('%Y%m%d-%H%M%S')}.jsonl"
    write_jsonl(records, data)
    t0 = time.monotonic()
    sha = adapter.sha256_of(data)
    clf = adapter.train(records, seed=seed, source={"file": str(data), "file_sha256": sha})
    seconds = time.monotonic() - t0
    if ClassifierModel.objects.filter(version=clf.version).exists():
        row = activate(clf.version, actor, reason="历史数据训练")
        return row, f"同一模型已登记，已启用 {row.version}。"
    path = adapter.models_dir() / clf.version
    adapter.save(clf, path)
    row = register(path, actor, activate_it=True, data_path=str(data), note="本平台历史诉求训练")
    oof = (row.metrics.get("out_of_fold") or {})
    f1 = oof.get("macro_f1")
    return row, (f"已用 {len(records)} 件历史诉求训练并启用分类模型 {row.version}（{seconds:.1f} 秒"
                 + (f"，交叉验证宏F1 {f1:.3f}" if isinstance(f1, float) else "") + "）。")


# --- retrain: original data + corrections, compared on examples neither model has seen ---------------------

def stratified_holdout(labels: Sequence[str], share: float, seed: int) -> set[int]:
    """Indices to hold out: about ``share`` of each label (at least one of a label with two or more, never all
    of one), chosen with a seeded shuffle — the same inputs give the same split."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        by_label[lab].append(i)
    out: set[int] = set()
    for lab in sorted(by_label):
        idx = by_label[lab][:]
        rng.shuffle(idx)
        n = len(idx)
        k = int(n * share + 0.5)
        k = min(max(k, 1), n - 1) if n >= 2 else 0
        out.update(idx[:k])
    return out


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, Any]:
    """Accuracy and macro-F1 over the labels present in ``y_true`` (so that two models with different label
    sets are compared on the same classes)."""
    labels = sorted(set(y_true))
    per: dict[str, float] = {}
    for lab in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == lab and p == lab)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != lab and p == lab)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == lab and p != lab)
        per[lab] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    n = len(y_true)
    acc = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == p) / n if n else 0.0
    return {"n": n, "accuracy": round(acc, 6), "macro_f1": round(sum(per.values()) / len(per), 6) if per else 0.0,
            "per_class_f1": {k: round(v, 6) for k, v in per.items()}}


def _judge(model: adapter.Loaded, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    preds = [model.predict(r["title"], r.get("detail") or "").label for r in records]
    out = scores([r["label"] for r in records], preds)
    out["model_version"] = model.version
    return out


@dataclass
class RetrainResult:
    model: ClassifierModel
    activated: bool
    comparison: dict[str, Any]


def retrain(actor: Actor, *, data: str | None = None, holdout: float = 0.2, seed: int = 0,
            min_holdout: int = 20) -> RetrainResult:
    """Build a new model from the original data (``data``, or the file the active model was trained from) plus
    the labelled examples, compare it with the active model on a held-out part, and activate it only if its
    macro-F1 there is not lower. The comparison is stored in the new model's metrics and on the record.

    The held-out part is a stratified share of the records the *active* model never saw (examples recorded
    after it was trained; the whole data file when it is not the one the active model learned from), so that
    neither model is judged on what it learned. The new model is trained on everything else."""
    if not 0 < holdout < 1:
        raise DomainError("invalid_field", "留出比例应在 0 和 1 之间", field="holdout")
    current = ClassifierModel.objects.filter(active=True).first()
    base_path = data or (current.data_path if current else "")
    if not base_path:
        raise DomainError("no_training_data", "没有原始训练数据：当前没有启用的模型可沿用，请用 --data 指定训练数据文件")
    if not Path(base_path).is_file():
        raise DomainError("no_training_data", f"训练数据文件不存在：{base_path}（请用 --data 指定）")
    try:
        base = adapter.records_from(base_path)
    except adapter.DataError as exc:
        raise DomainError("bad_training_data", str(exc)) from None
    base_sha = adapter.sha256_of(base_path)
    examples = latest_examples()
    seen_base = current is not None and current.data_sha256 == base_sha
    seen_examples = set(current.examples or []) if current else set()
    pool: list[dict[str, Any]] = [{"title": r["title"], "detail": r.get("detail") or "", "label": r["label"]}
                                  for r in base]
    seen = [seen_base] * len(pool)
    for ex in examples:
        pool.append({"title": ex.title, "detail": ex.content, "label": ex.label, "example": ex.pk})
        seen.append(ex.pk in seen_examples)
    unseen = [i for i, s in enumerate(seen) if not s]
    held_local = stratified_holdout([pool[i]["label"] for i in unseen], holdout, seed)
    held = sorted(unseen[j] for j in held_local)
    if len(held) < min_holdout:
        raise DomainError(
            "too_few_to_compare",
            f"当前模型没见过的样本只有 {len(unseen)} 条，按 {holdout:g} 留出 {len(held)} 条，少于 {min_holdout} 条，"
            "无法可靠比较。请积累更多纠正样本，或用 --data 指定新数据，或调整 --min-holdout。",
            unseen=len(unseen), held_out=len(held), min_holdout=min_holdout)
    held_set = set(held)
    train_recs = [r for i, r in enumerate(pool) if i not in held_set]
    held_recs = [pool[i] for i in held]
    used_examples = sorted(r["example"] for r in train_recs if "example" in r)
    t0 = time.monotonic()
    try:
        clf = adapter.train([{k: r[k] for k in ("title", "detail", "label")} for r in train_recs], seed=seed,
                            source={"file": _abs(base_path), "file_sha256": base_sha, "examples": len(used_examples)})
    except adapter.DataError as exc:
        raise DomainError("bad_training_data", str(exc)) from None
    train_seconds = round(time.monotonic() - t0, 2)
    if ClassifierModel.objects.filter(version=clf.version).exists():
        raise Conflict("model_exists", f"训练结果与已登记的模型 {clf.version} 完全相同（数据没有变化）", version=clf.version)
    path = adapter.models_dir() / clf.version
    new = adapter.save(clf, path)
    new_m = _judge(new, held_recs)
    cur_m = None
    if current is not None:
        try:
            cur_m = _judge(adapter.load_dir(current.path), held_recs)
        except adapter.ModelError as exc:
            log.error("active model %s cannot be read for the comparison: %s", current.version, exc)
    not_worse = cur_m is None or new_m["macro_f1"] >= cur_m["macro_f1"]
    comparison = {
        "rule": "new.macro_f1 >= current.macro_f1 on the held-out part",
        "held_out": {"n": len(held), "share": holdout, "seed": seed, "from_examples": sum(
            1 for r in held_recs if "example" in r), "from_data": sum(1 for r in held_recs if "example" not in r)},
        "data": {"path": _abs(base_path), "sha256": base_sha, "records": len(base),
                 "seen_by_current": seen_base},
        "examples": {"total": len(examples), "trained_on": len(used_examples)},
        "train_seconds": train_seconds,
        "new": new_m,
        "current": cur_m,
        "current_version": current.version if current else None,
        "decision": "activated" if not_worse else "kept_current",
    }
    meta = adapter.metadata(new)
    training = meta.get("training") or {}
    with transaction.atomic():
        row = ClassifierModel.objects.create(
            version=new.version, path=str(path), data_path=_abs(base_path), data_sha256=base_sha,
            labels=new.labels, n_train=len(train_recs), examples=used_examples,
            metrics={"comparison": comparison, "out_of_fold": (meta.get("metrics") or {}).get("out_of_fold"),
                     "training": {k: training.get(k) for k in ("n", "sha256", "label_counts", "seconds")}},
            note="retrain", created_at=clock.now())
        events.record(row.chain, "model_trained", actor, new_chain=True, data=comparison)
        if not_worse:
            row = activate(row.version, actor, reason="重新训练后不差于当前模型")
        else:
            events.record(row.chain, "model_not_activated", actor,
                          reason="重新训练的模型在留出样本上不如当前模型", data={"current": comparison["current_version"]})
    return RetrainResult(row, not_worse, comparison)
