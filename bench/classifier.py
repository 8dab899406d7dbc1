"""Benchmark of the message classifier (textclf) against the plain baseline, on the real messages.

    .venv/bin/python bench/classifier.py [--data FILE.jsonl] [--folds 5] [--seed 0] [--json-out FILE]
    .venv/bin/python bench/classifier.py --ablations     # only the feature/learner comparison
    .venv/bin/python bench/classifier.py --ablations svc # the LinearSVC comparison behind textclf 0.1

Data: --data, else $MASSLINE_DATA_DIR_SHARED/messages/train.jsonl, else ../shared/data/messages/train.jsonl
next to the repository. Prints the machine, then:

1. quality — k-fold cross-validation, stratified, near-duplicate messages kept in one fold, the same
   folds for textclf and for the baseline (char 1–3-gram TF-IDF of title + detail → LinearSVC);
   every model is trained only on its training folds (vocabulary, idf, calibration included).
2. calibration — ECE (15 bins) of the calibrated probabilities on the held-out folds.
3. cost — training on all the data in a child process (wall time, peak RSS), model load time in a
   fresh process, single-message latency p50/p99 and batch throughput with the model loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

import textclf  # noqa: E402
from textclf import Classifier, cross_validate, evaluate, read_jsonl  # noqa: E402
from textclf.evaluate import duplicate_groups  # noqa: E402


def default_data() -> Path:
    env = os.environ.get("MASSLINE_DATA_DIR_SHARED")
    base = Path(env) if env else REPO.parent / "shared" / "data"
    return base / "messages" / "train.jsonl"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    import scipy
    import sklearn

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()]
        if hasattr(os, "getloadavg")
        else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit_learn": sklearn.__version__,
        "textclf": textclf.__version__,
    }


def baseline_cv(records: list[dict], folds: int, seed: int) -> dict:
    """char 1–3-gram TF-IDF (sublinear tf) of title + ' ' + detail → LinearSVC(C=1), same folds as textclf."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.svm import LinearSVC

    texts = [r["title"] + " " + (r["detail"] or "") for r in records]
    y = np.array([r["label"] for r in records])
    groups = duplicate_groups([r["title"] for r in records], [r["detail"] for r in records])
    f1s = []
    t0 = time.perf_counter()
    for tr, te in StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y, groups):
        vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        Xtr = vec.fit_transform([texts[i] for i in tr])
        clf = LinearSVC(C=1.0, random_state=seed).fit(Xtr, y[tr])
        f1s.append(
            float(f1_score(y[te], clf.predict(vec.transform([texts[i] for i in te])), average="macro"))
        )
    cv_s = time.perf_counter() - t0
    # its single-message latency, for comparison (fitted on everything)
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    clf = LinearSVC(C=1.0, random_state=seed).fit(vec.fit_transform(texts), y)
    lat = []
    for t in texts[:1000]:
        s = time.perf_counter_ns()
        clf.predict(vec.transform([t]))
        lat.append((time.perf_counter_ns() - s) / 1e6)
    return {
        "macro_f1_mean": float(np.mean(f1s)),
        "macro_f1_std": float(np.std(f1s)),
        "per_fold": f1s,
        "seconds": round(cv_s, 1),
        "latency_ms_p50": float(np.percentile(lat, 50)),
        "latency_ms_p99": float(np.percentile(lat, 99)),
    }


def ablations(records: list[dict], folds: int, seed: int, which: str = "nbsvm") -> list[dict]:
    """Grouped k-fold macro-F1 of feature/learner variants (argmax only: calibration cannot change it).

    Each document is tokenised once per block kind; vocabulary and idf are refitted on every
    training fold, exactly as :func:`textclf.train` does.
    """
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedGroupKFold

    from textclf import BlockSpec as B
    from textclf import Component as C
    from textclf.features import FeatureSpace
    from textclf.model import DEFAULT_BLOCKS, DEFAULT_COMPONENTS, _fit_linear

    titles = [r["title"] for r in records]
    details = [r["detail"] or "" for r in records]
    labels = sorted({r["label"] for r in records})
    y = np.array([labels.index(r["label"]) for r in records])
    groups = duplicate_groups(titles, details)
    splits = list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y, groups))
    title, detail = DEFAULT_BLOCKS
    nb = DEFAULT_COMPONENTS
    svc = (C("svc", 1.0),)
    if which == "svc":
        # the comparison behind textclf 0.1's choices (LinearSVC), kept reproducible
        variants = [
            ("title char 1-4 + detail[:400] char 1-3 (min_df 2); LinearSVC C=1", DEFAULT_BLOCKS, svc),
            ("detail[:200]", (title, B("detail_char", "detail", "char", 1, 3, 200, 2)), svc),
            ("detail[:800]", (title, B("detail_char", "detail", "char", 1, 3, 800, 2)), svc),
            ("detail char 1-4", (title, B("detail_char", "detail", "char", 1, 4, 400, 2)), svc),
            ("title min_df 2", (B("title_char", "title", "char", 1, 4, 200, 2), detail), svc),
            ("title weight 1.3", (B("title_char", "title", "char", 1, 4, 200, 1, 1.3), detail), svc),
            ("+ jieba words of the title", (*DEFAULT_BLOCKS, B("title_words", "title", "words", 1, 1)), svc),
            ("LinearSVC C=0.5", DEFAULT_BLOCKS, (C("svc", 0.5),)),
            ("LinearSVC C=2", DEFAULT_BLOCKS, (C("svc", 2.0),)),
            ("ridge (alpha 1)", DEFAULT_BLOCKS, (C("ridge", 1.0),)),
            ("LinearSVC + ridge", DEFAULT_BLOCKS, (C("svc", 1.0), C("ridge", 1.0))),
            ("LinearSVC + 0.7 complement NB", DEFAULT_BLOCKS, (C("svc", 1.0), C("cnb", 0.3, 0.7))),
            (
                "LinearSVC + ridge + 0.7 complement NB",
                DEFAULT_BLOCKS,
                (C("svc", 1.0), C("ridge", 1.0), C("cnb", 0.3, 0.7)),
            ),
        ]
    else:
        variants = [
            ("default: title char 1-4 + detail[:400] char 1-3 (min_df 2); NB-SVM C=1", DEFAULT_BLOCKS, nb),
            ("LinearSVC C=1 (textclf 0.1 default)", DEFAULT_BLOCKS, svc),
            ("NB-SVM C=0.3", DEFAULT_BLOCKS, (C("nbsvm", 0.3),)),
            ("NB-SVM C=3", DEFAULT_BLOCKS, (C("nbsvm", 3.0),)),
            ("NB-SVM + LinearSVC", DEFAULT_BLOCKS, (C("nbsvm", 1.0), C("svc", 1.0))),
            ("NB-SVM, detail char 1-4", (title, B("detail_char", "detail", "char", 1, 4, 400, 2)), nb),
            ("NB-SVM, detail[:800]", (title, B("detail_char", "detail", "char", 1, 3, 800, 2)), nb),
            ("NB-SVM, detail min_df 1", (title, B("detail_char", "detail", "char", 1, 3, 400, 1)), nb),
            ("NB-SVM, title char 1-5", (B("title_char", "title", "char", 1, 5, 200, 1), detail), nb),
            ("NB-SVM, title weight 1.3", (B("title_char", "title", "char", 1, 4, 200, 1, 1.3), detail), nb),
            ("NB-SVM, title weight 0.8", (B("title_char", "title", "char", 1, 4, 200, 1, 0.8), detail), nb),
        ]
    cache: dict = {}

    def counted(spec):
        key = (spec.field, spec.analyzer, spec.ngram_min, spec.ngram_max, spec.max_chars)
        if key not in cache:
            cache[key] = FeatureSpace.count([spec], list(zip(titles, details, strict=True)))[0]
        return cache[key]

    rows = []
    for name, blocks, comps in variants:
        cnt = [counted(b) for b in blocks]
        f1s = []
        t0 = time.perf_counter()
        for tr, te in splits:
            space, X = FeatureSpace.fit_from_counts(blocks, cnt, tr)
            W, b = _fit_linear(X, y[tr], len(labels), comps, seed)
            pred = np.asarray(space.transform_counted(cnt, te) @ W + b).argmax(axis=1)
            f1s.append(float(f1_score(y[te], pred, average="macro")))
        first = rows[0]["per_fold"] if rows else f1s
        rows.append(
            {
                "variant": name,
                "macro_f1_mean": float(np.mean(f1s)),
                "macro_f1_std": float(np.std(f1s)),
                "per_fold": f1s,
                "delta_per_fold_vs_first": [a - b for a, b in zip(f1s, first, strict=True)],
            }
        )
        deltas = " ".join(f"{a - b:+.4f}" for a, b in zip(f1s, first, strict=True))
        print(
            f"  {name:<75} {np.mean(f1s):.4f} ± {np.std(f1s):.4f}  Δ per fold vs first [{deltas}]"
            f"  ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    return rows


TRAIN_SNIPPET = """
import sys
from textclf.cli import main
code = main(sys.argv[1:])
hwm = None
try:  # VmHWM: peak RSS of this process image (ru_maxrss would also count the pre-exec fork of the parent)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1]) / 1024
except OSError:
    import resource
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(hwm, file=sys.stderr)
sys.exit(code)
"""


def train_in_child(data: Path, out: Path, seed: int) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            TRAIN_SNIPPET,
            "train",
            "--data",
            str(data),
            "--out",
            str(out),
            "--seed",
            str(seed),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"training failed:\n{proc.stderr}")
    summary = json.loads(proc.stdout)
    return {
        "wall_seconds": round(wall, 2),
        "train_seconds": summary["train_seconds"],
        "peak_rss_mb": round(float(proc.stderr.strip().splitlines()[-1]), 1),
        "n_features": summary["n_features"],
        "temperature": summary["temperature"],
        "model_bytes": sum(p.stat().st_size for p in out.iterdir()),
    }


LOAD_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
import textclf
t1 = time.perf_counter()
clf = textclf.Classifier.load(sys.argv[1])
t2 = time.perf_counter()
clf.predict("测试", "")
t3 = time.perf_counter()
loads = []
for _ in range(5):
    s = time.perf_counter(); textclf.Classifier.load(sys.argv[1]); loads.append(time.perf_counter() - s)
print(json.dumps({"import_s": t1 - t0, "first_load_s": t2 - t1, "first_predict_s": t3 - t2, "loads_s": loads}))
"""


def load_in_child(model: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_SNIPPET, str(model)], cwd=REPO, capture_output=True, text=True, check=True
    )
    r = json.loads(proc.stdout)
    return {
        "import_textclf_s": round(r["import_s"], 3),
        "first_load_s": round(r["first_load_s"], 3),
        "first_predict_ms": round(r["first_predict_s"] * 1000, 2),
        "load_s_median_of_5": round(statistics.median(r["loads_s"]), 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json-out", type=Path, default=None)
    ap.add_argument(
        "--ablations",
        nargs="?",
        const="nbsvm",
        choices=("nbsvm", "svc"),
        default=None,
        help="only compare feature/learner variants (grouped CV): 'nbsvm' (default, ~8 min) around the "
        "current model, 'svc' (~6 min) the LinearSVC comparison behind textclf 0.1",
    )
    args = ap.parse_args(argv)
    data = args.data or default_data()
    if not data.is_file():
        print(f"data file not found: {data} (use --data or MASSLINE_DATA_DIR_SHARED)", file=sys.stderr)
        return 2

    report: dict = {"machine": machine(), "data": str(data), "folds": args.folds, "seed": args.seed}
    m = report["machine"]
    print(
        f"machine: {m['cpu']} · {m['cores']} cores ({m['cores_usable']} usable) · load {m['load_average_at_start']}"
    )
    print(
        f"python {m['python']} · numpy {m['numpy']} · scipy {m['scipy']} · scikit-learn {m['scikit_learn']}"
    )
    records = read_jsonl(data)
    print(f"data: {data} · {len(records)} messages")
    if args.ablations:
        print(f"\nablations: {args.folds}-fold CV, near-duplicates grouped, macro-F1 mean ± std")
        report["ablations"] = ablations(records, args.folds, args.seed, args.ablations)
        if args.json_out:
            args.json_out.write_text(
                json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
            )
        return 0

    print(f"\n[1/4] textclf: {args.folds}-fold CV, near-duplicates grouped …", flush=True)
    cv = cross_validate(
        records,
        folds=args.folds,
        seed=args.seed,
        progress=lambda r: print(
            f"  fold {r['fold']}: macro-F1 {r['macro_f1']:.4f}  ECE {r['ece']:.4f}  T {r['temperature']:.3f}"
            f"  ({r['train_seconds']} s)",
            flush=True,
        ),
    )
    cv.pop("config")
    report["textclf_cv"] = cv

    print(f"[2/4] baseline (char 1–3 TF-IDF + LinearSVC): same {args.folds} folds …", flush=True)
    base = baseline_cv(records, args.folds, args.seed)
    report["baseline_cv"] = base

    print("[3/4] training on all messages (child process) …", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "model"
        report["train"] = train_in_child(data, model, args.seed)
        print("[4/4] load, latency, throughput …", flush=True)
        report["load"] = load_in_child(model)
        clf = Classifier.load(model)
        ev = evaluate(clf, records)
        report["serve"] = {
            k: ev[k] for k in ("latency_ms_p50", "latency_ms_p99", "latency_ms_max", "throughput_per_s")
        }
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]

    pooled = cv["pooled"]
    ratio = cv["macro_f1_mean"] / base["macro_f1_mean"]
    tr, ld, sv = report["train"], report["load"], report["serve"]
    print(
        f"""
== results ({len(records)} messages, {args.folds} folds, seed {args.seed}) ==
textclf  macro-F1 {cv["macro_f1_mean"]:.4f} ± {cv["macro_f1_std"]:.4f}   accuracy {cv["accuracy_mean"]:.4f}   (target ≥ 0.94)
baseline macro-F1 {base["macro_f1_mean"]:.4f} ± {base["macro_f1_std"]:.4f}   ratio textclf/baseline {ratio:.4f}
ECE held-out folds: mean {cv["ece_mean"]:.4f}, pooled {pooled["ece"]:.4f}
per class F1 (pooled): {", ".join(f"{k} {v:.3f}" for k, v in pooled["per_class"].items())}
auto-dispatch (pooled held-out): {"; ".join(f"≥{t['threshold']}: {t['coverage']:.1%} at {t['accuracy']:.1%}" for t in pooled["thresholds"] if t["accuracy"] is not None)}
train (all data): {tr["wall_seconds"]} s wall, peak RSS {tr["peak_rss_mb"]} MB, {tr["n_features"]} features, model {tr["model_bytes"] / 1e6:.1f} MB
load: {ld["load_s_median_of_5"]} s (first in a fresh process {ld["first_load_s"]} s; import textclf {ld["import_textclf_s"]} s)
latency one message: p50 {sv["latency_ms_p50"]:.2f} ms, p99 {sv["latency_ms_p99"]:.2f} ms (baseline p50 {base["latency_ms_p50"]:.2f} ms, p99 {base["latency_ms_p99"]:.2f} ms)
throughput batch: {sv["throughput_per_s"]:.0f} messages/s
load average at end: {report["machine"]["load_average_at_end"]}"""
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
