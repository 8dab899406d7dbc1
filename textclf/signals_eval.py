"""Measure the signals of :mod:`textclf.signals` on the labelled sets in ``textclf/signals_labels/``.

    python -m textclf.signals_eval                 # dev and test figures, confusion matrices
    python -m textclf.signals_eval --split test    # one split
    python -m textclf.signals_eval --errors 20     # also list up to 20 wrong answers per signal
    python -m textclf.signals_eval --json          # one JSON object instead of tables

``real.jsonl`` holds only message ids and labels; the texts are read from the shared data folder
(``$SIGNALS_DATA_DIR``, else ``$MASSLINE_DATA_DIR_SHARED/messages``, else ``../shared/data/messages`` beside
the repository). Without it the real sets are skipped with a message and only ``synthetic.jsonl`` (which
carries its own texts) is measured. See docs/signals.md for how the labels were made.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import signals

LABELS_DIR = Path(__file__).resolve().parent / "signals_labels"
REAL = LABELS_DIR / "real.jsonl"
SYNTHETIC = LABELS_DIR / "synthetic.jsonl"
PAIRS = LABELS_DIR / "duplicate_pairs.jsonl"
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)
SOURCES = ("train", "hot_messages")


# --------------------------------------------------------------------------------------------------
# metrics (pure)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Binary:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    @property
    def support(self) -> int:
        return self.tp + self.fn

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": _r(self.precision),
            "recall": _r(self.recall),
            "f1": _r(self.f1),
            "support": self.support,
        }


def binary(gold: Sequence[bool], pred: Sequence[bool]) -> Binary:
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g and p)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if not g and p)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g and not p)
    return Binary(tp, fp, fn, len(gold) - tp - fp - fn)


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """``m[i][j]``: how many of gold ``labels[i]`` were predicted ``labels[j]``."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred differ in length")
    index = {label: i for i, label in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred, strict=True):
        m[index[g]][index[p]] += 1
    return m


def multiclass(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 over the labels present in gold, per-class precision/recall/F1, the confusion matrix."""
    per = {label: binary([g == label for g in gold], [p == label for p in pred]) for label in labels}
    present = [label for label in labels if per[label].support]
    f1s = [per[label].f1 or 0.0 for label in present]
    n = len(gold)
    return {
        "n": n,
        "accuracy": _r(sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / n) if n else None,
        "macro_f1": _r(sum(f1s) / len(f1s)) if f1s else None,
        "per_class": {label: per[label].as_dict() for label in labels},
        "labels": list(labels),
        "confusion": confusion(gold, pred, labels),
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------


def data_dir() -> Path:
    env = os.environ.get("SIGNALS_DATA_DIR")
    if env:
        return Path(env)
    shared = os.environ.get("MASSLINE_DATA_DIR_SHARED")
    if shared:
        return Path(shared) / "messages"
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "messages"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: {exc.msg}") from None
    return out


def month_of(time_text: str | None) -> int | None:
    """The month of a message's time stamp ("2019/8/7 20:28:05", "2019-08"), or None."""
    if not time_text:
        return None
    m = re.match(r"\s*\d{4}[/-](\d{1,2})", time_text)
    if not m:
        return None
    month = int(m.group(1))
    return month if 1 <= month <= 12 else None


def load_texts(directory: Path, wanted: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    """id -> {title, detail, month} for the messages of the shared data folder (only ``wanted`` ids if given)."""
    want = set(wanted) if wanted is not None else None
    texts: dict[str, dict[str, Any]] = {}
    for source in SOURCES:
        path = directory / f"{source}.jsonl"
        if not path.is_file():
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                obj = json.loads(line)
                if want is not None and obj.get("id") not in want:
                    continue
                texts[obj["id"]] = {
                    "title": obj.get("title") or "",
                    "detail": obj.get("detail") or "",
                    "month": month_of(obj.get("time")),
                }
    return texts


def attach_texts(
    rows: Sequence[Mapping[str, Any]], texts: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict], list[str]]:
    """The labelled rows with their texts, and the ids whose text was not found."""
    out, missing = [], []
    for row in rows:
        t = texts.get(row["id"])
        if t is None:
            missing.append(row["id"])
            continue
        out.append({**row, **t})
    return out, missing


# --------------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------------


def predict(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        u = signals.detect_urgency(row["title"], row["detail"], month=row.get("month"))
        r = signals.detect_risk(row["title"], row["detail"])
        t = signals.classify_type(row["title"], row["detail"], urgency=u.level)
        out.append(
            {
                "urgency": u.level,
                "urgency_reasons": u.reasons,
                "risk": r.flag,
                "risk_kinds": r.kinds,
                "risk_reasons": r.reasons,
                "type": t.type,
            }
        )
    return out


def evaluate(rows: Sequence[Mapping[str, Any]], *, errors: int = 0) -> dict[str, Any]:
    """Every measure the rows have labels for. ``rows`` carry title, detail, month and the labels."""
    preds = predict(rows)
    result: dict[str, Any] = {"n": len(rows)}
    typed = [(r, p) for r, p in zip(rows, preds, strict=True) if r.get("type")]
    if typed:
        result["type"] = multiclass(
            [r["type"] for r, _ in typed], [p["type"] for _, p in typed], signals.TYPES
        )
        result["type"]["errors"] = _errors(
            [(r, p["type"], r["type"]) for r, p in typed if p["type"] != r["type"]], errors
        )
    urg = [(r, p) for r, p in zip(rows, preds, strict=True) if r.get("urgency")]
    if urg:
        gold = [r["urgency"] for r, _ in urg]
        pred = [p["urgency"] for _, p in urg]
        result["urgency"] = {
            "n": len(urg),
            "emergency": binary([g == "emergency" for g in gold], [p == "emergency" for p in pred]).as_dict(),
            "urgent_or_above": binary([g != "normal" for g in gold], [p != "normal" for p in pred]).as_dict(),
            "levels": multiclass(gold, pred, signals.LEVELS),
            "errors": _errors(
                [
                    (r, f"{p['urgency']} {p['urgency_reasons']}", r["urgency"])
                    for r, p in urg
                    if p["urgency"] != r["urgency"]
                ],
                errors,
            ),
        }
    risk = [(r, p) for r, p in zip(rows, preds, strict=True) if r.get("risk") is not None]
    if risk:
        result["risk"] = {
            "n": len(risk),
            "flag": binary([bool(r["risk"]) for r, _ in risk], [p["risk"] for _, p in risk]).as_dict(),
            "kinds": {
                k: binary(
                    [k in (r.get("risk_kinds") or []) for r, _ in risk],
                    [k in p["risk_kinds"] for _, p in risk],
                ).as_dict()
                for k in signals.RISK_KINDS
            },
            "errors": _errors(
                [
                    (r, f"{p['risk']} {p['risk_reasons']}", r.get("risk_kinds") or "none")
                    for r, p in risk
                    if p["risk"] != bool(r["risk"])
                ],
                errors,
            ),
        }
    return result


def _errors(items: list[tuple[Mapping[str, Any], Any, Any]], limit: int) -> list[dict[str, Any]]:
    return [{"id": r["id"], "title": r["title"][:40], "predicted": p, "gold": g} for r, p, g in items[:limit]]


def evaluate_pairs(
    pairs: Sequence[Mapping[str, Any]], texts: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Precision and recall of "similar enough to propose" against labelled same-matter pairs, at the chosen
    threshold and at a few others."""
    scored = []
    for p in pairs:
        a, b = texts.get(p["a"]), texts.get(p["b"])
        if a is None or b is None:
            continue
        s = signals.similarity(
            signals.fingerprint(a["title"], a["detail"]), signals.fingerprint(b["title"], b["detail"])
        )
        scored.append((s, bool(p["same"])))
    gold = [g for _, g in scored]
    return {
        "n": len(scored),
        "threshold": signals.DUPLICATE_THRESHOLD,
        "at_threshold": binary(gold, [s >= signals.DUPLICATE_THRESHOLD for s, _ in scored]).as_dict(),
        "by_threshold": {str(t): binary(gold, [s >= t for s, _ in scored]).as_dict() for t in THRESHOLDS},
    }


def selections(rows: Sequence[Mapping[str, Any]], split: str) -> dict[str, list[Mapping[str, Any]]]:
    """The groups the figures are reported for. The enriched samples were drawn and read for one signal each, so
    only that signal's labels are scored in them."""
    chosen = [r for r in rows if split == "all" or r.get("split") == split]

    def only(rs: list[Mapping[str, Any]], keep: str) -> list[Mapping[str, Any]]:
        blank = {"type": None, "urgency": None, "risk": None}
        blank.pop(keep)
        return [{**r, **blank} for r in rs]

    groups = {
        "random": [r for r in chosen if r.get("sample") == "random"],
        "enriched urgency (net_urgency + kw_emergency)": only(
            [r for r in chosen if r.get("sample") in ("net_urgency", "kw_emergency")], "urgency"
        ),
        "enriched risk (net_risk + kw_threat)": only(
            [r for r in chosen if r.get("sample") in ("net_risk", "kw_threat")], "risk"
        ),
        "praise keywords (kw_praise)": only([r for r in chosen if r.get("sample") == "kw_praise"], "type"),
    }
    return {k: v for k, v in groups.items() if v}


# --------------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    return "  —  " if x is None else f"{x:5.3f}"


def _binary_line(name: str, b: Mapping[str, Any]) -> str:
    return (
        f"  {name:<34} P {_fmt(b['precision'])}  R {_fmt(b['recall'])}  F1 {_fmt(b['f1'])}  "
        f"(tp {b['tp']}, fp {b['fp']}, fn {b['fn']}, positives {b['support']})"
    )


def _matrix(res: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[str]:
    labels = res["labels"]
    short = [(names or {}).get(lab, lab)[:10] for lab in labels]
    lines = ["    gold \\ predicted " + " ".join(f"{s:>10}" for s in short)]
    for s, row in zip(short, res["confusion"], strict=True):
        lines.append(f"    {s:>18} " + " ".join(f"{v:>10}" for v in row))
    return lines


def render(title: str, res: Mapping[str, Any]) -> list[str]:
    lines = [f"== {title}: {res['n']} messages"]
    if "type" in res:
        t = res["type"]
        lines.append(
            f"  type: accuracy {_fmt(t['accuracy'])}, macro-F1 {_fmt(t['macro_f1'])} over {t['n']} messages"
        )
        for label in t["labels"]:
            b = t["per_class"][label]
            if b["support"] or b["fp"]:
                lines.append(_binary_line(f"{label} ({signals.TYPE_LABELS[label]})", b))
        lines += _matrix(t, signals.TYPE_LABELS)
        for e in t["errors"]:
            lines.append(f"    ✗ {e['id']} {e['title']} — predicted {e['predicted']}, labelled {e['gold']}")
    if "urgency" in res:
        u = res["urgency"]
        lines.append(f"  urgency over {u['n']} messages (levels accuracy {_fmt(u['levels']['accuracy'])})")
        lines.append(_binary_line("emergency", u["emergency"]))
        lines.append(_binary_line("urgent or emergency", u["urgent_or_above"]))
        lines += _matrix(u["levels"])
        for e in u["errors"]:
            lines.append(f"    ✗ {e['id']} {e['title']} — predicted {e['predicted']}, labelled {e['gold']}")
    if "risk" in res:
        r = res["risk"]
        lines.append(f"  risk over {r['n']} messages")
        lines.append(_binary_line("flag", r["flag"]))
        for k, b in r["kinds"].items():
            lines.append(_binary_line(f"kind {k}", b))
        for e in r["errors"]:
            lines.append(f"    ✗ {e['id']} {e['title']} — predicted {e['predicted']}, labelled {e['gold']}")
    return lines


def run(split: str = "all", *, errors: int = 0, directory: Path | None = None) -> dict[str, Any]:
    directory = directory or data_dir()
    report: dict[str, Any] = {
        "rules_version": signals.RULES_VERSION,
        "data_dir": str(directory),
        "groups": {},
        "duplicates": {},
    }
    real = read_jsonl(REAL)
    splits = ["dev", "test"] if split == "all" else [split]
    if not directory.is_dir():
        report["skipped_real"] = f"shared data folder not found at {directory} (set SIGNALS_DATA_DIR)"
    else:
        pairs = read_jsonl(PAIRS)
        wanted = {r["id"] for r in real} | {p["a"] for p in pairs} | {p["b"] for p in pairs}
        texts = load_texts(directory, wanted)
        rows, missing = attach_texts(real, texts)
        if missing:
            report["missing_ids"] = len(missing)
        for sp in splits:
            for name, group in selections(rows, sp).items():
                report["groups"][f"{sp} · {name}"] = evaluate(group, errors=errors)
            report["duplicates"][sp] = evaluate_pairs([p for p in pairs if p.get("split") == sp], texts)
    synth = read_jsonl(SYNTHETIC)
    for row in synth:
        row.setdefault("detail", "")
    report["groups"]["synthetic (written to the rules; a regression check, not an estimate)"] = evaluate(
        synth, errors=errors
    )
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m textclf.signals_eval", description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=("dev", "test", "all"), default="all")
    ap.add_argument("--errors", type=int, default=0, help="list up to N wrong answers per signal and group")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--data", type=Path, default=None, help="folder with train.jsonl and hot_messages.jsonl")
    args = ap.parse_args(argv)
    report = run(args.split, errors=args.errors, directory=args.data)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return 0
    print(f"signals rules {report['rules_version']}; data {report['data_dir']}")
    if "skipped_real" in report:
        print(f"SKIPPED the real labelled sets: {report['skipped_real']}")
    if report.get("missing_ids"):
        print(f"warning: {report['missing_ids']} labelled ids not found in the data folder")
    for name, res in report["groups"].items():
        print()
        print("\n".join(render(name, res)))
    for sp, res in report["duplicates"].items():
        print()
        print(f"== {sp} · duplicate pairs (same matter at the same place?): {res['n']} labelled pairs")
        print(_binary_line(f"similar at >= {res['threshold']:.2f} (chosen)", res["at_threshold"]))
        for t, b in res["by_threshold"].items():
            print(_binary_line(f"  at >= {float(t):.2f}", b))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
