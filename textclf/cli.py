"""Command line: ``python -m textclf {train,evaluate,predict,cv} ...`` (later ``massline classifier ...``).

Exit status: 0 success; 1 the model directory is missing, corrupt or incompatible; 2 bad usage or
bad data (the message names the file and line).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from .io import file_sha256, read_jsonl
from .model import Classifier, DataError, ModelError, train

EXIT_OK, EXIT_MODEL, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="textclf", description="Chinese message classifier (留言分类器)")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model from a JSON-lines file and save it (训练)")
    t.add_argument("--data", required=True, help="JSON lines with title, detail, label")
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument("--seed", type=int, default=0)

    e = sub.add_parser("evaluate", help="evaluate a saved model on labelled data (评估)")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    pr = sub.add_parser(
        "predict",
        help="classify messages read from standard input (预测)",
        description=(
            "Reads standard input. By default every non-empty line is one message: a JSON object "
            'with "title" and optional "detail" (and "id", echoed back), or else plain text taken as '
            "the title. With --whole the entire input is one message: its first line is the title and "
            "the rest the detail. Prints one JSON object per message: label, score, top (3 pairs)."
        ),
    )
    pr.add_argument("--model", required=True)
    pr.add_argument("--whole", action="store_true", help="the whole input is one message")

    c = sub.add_parser("cv", help="stratified k-fold cross-validation (交叉验证)")
    c.add_argument("--data", required=True)
    c.add_argument("--folds", type=int, default=5)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument(
        "--no-group",
        action="store_true",
        help="do not keep near-duplicate messages in the same fold (less honest; for comparison)",
    )
    c.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run one sub-command; returns the exit status (see module docstring)."""
    out = stdout or sys.stdout
    inp = stdin or sys.stdin
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the reason
        return int(exc.code or 0)
    try:
        if args.command == "train":
            return _train(args, out)
        if args.command == "evaluate":
            return _evaluate(args, out)
        if args.command == "predict":
            return _predict(args, inp, out)
        return _cv(args, out)
    except ModelError as exc:
        print(f"textclf: model error: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except DataError as exc:
        print(f"textclf: data error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _dump(obj: Any, out: TextIO) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _train(args: argparse.Namespace, out: TextIO) -> int:
    records = read_jsonl(args.data)
    t0 = time.perf_counter()
    clf = train(
        records, seed=args.seed, source={"file": str(args.data), "file_sha256": file_sha256(args.data)}
    )
    seconds = time.perf_counter() - t0
    clf.save(args.out)
    cal = clf.metadata["calibration"]
    _dump(
        {
            "model": str(args.out),
            "version": clf.version,
            "n": clf.metadata["training"]["n"],
            "labels": clf.labels,
            "n_features": clf.space.n_features,
            "temperature": cal["temperature"],
            "out_of_fold": cal.get("out_of_fold"),
            "train_seconds": round(seconds, 2),
        },
        out,
    )
    return EXIT_OK


def _evaluate(args: argparse.Namespace, out: TextIO) -> int:
    from .evaluate import evaluate

    clf = Classifier.load(args.model)
    records = read_jsonl(args.data)
    result = evaluate(clf, records)
    if args.json:
        _dump(result, out)
    else:
        out.write(_table(result))
    return EXIT_OK


def _table(r: dict) -> str:
    lines = [
        f"模型 model: {r['model_version']}    样本 n = {r['n']}",
        f"准确率 accuracy      {r['accuracy']:.4f}",
        f"宏F1 macro-F1        {r['macro_f1']:.4f}",
        f"校准误差 ECE         {r['ece']:.4f}",
        f"单条延迟 latency     p50 {r['latency_ms_p50']:.2f} ms   p99 {r['latency_ms_p99']:.2f} ms",
        f"批量吞吐 throughput  {r['throughput_per_s']:.0f} /s",
        "",
        f"{'类别 label':<14}{'precision':>10}{'recall':>10}{'F1':>8}{'n':>7}",
    ]
    for lab, d in r["per_class_detail"].items():
        pad = _pad(lab, 14)
        lines.append(
            f"{lab:<{pad}}{d['precision']:>10.3f}{d['recall']:>10.3f}{d['f1']:>8.3f}{d['support']:>7}"
        )
    lines += ["", "自动分派阈值 auto-dispatch threshold: coverage / accuracy"]
    for t in r["thresholds"]:
        acc = "-" if t["accuracy"] is None else f"{t['accuracy']:.3f}"
        lines.append(f"  score ≥ {t['threshold']:.2f}: {t['coverage']:.3f} / {acc}")
    lines += ["", "混淆矩阵 confusion (rows true, columns predicted): " + " ".join(r["confusion"]["labels"])]
    for lab, row in zip(r["confusion"]["labels"], r["confusion"]["matrix"], strict=True):
        lines.append(f"  {lab:<{_pad(lab, 16)}}" + " ".join(f"{v:5d}" for v in row))
    return "\n".join(lines) + "\n"


def _pad(text: str, width: int) -> int:
    """Format width that makes ``text`` occupy ``width`` terminal columns (CJK characters take two)."""
    return width - sum(2 if ord(ch) > 0x2E80 else 1 for ch in text) + len(text)


def _predict(args: argparse.Namespace, inp: TextIO, out: TextIO) -> int:
    clf = Classifier.load(args.model)
    if args.whole:
        text = inp.read()
        title, _, detail = text.strip("\n").partition("\n")
        if not title.strip() and not detail.strip():
            raise DataError("standard input is empty")
        _dump(clf.predict(title, detail).to_dict(), out)
        return EXIT_OK
    for lineno, line in enumerate(inp, start=1):
        line = line.strip()
        if not line:
            continue
        extra: dict[str, Any] = {}
        title, detail = line, ""
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict):
                if not isinstance(obj.get("title", ""), str) or not isinstance(obj.get("detail") or "", str):
                    raise DataError(f"standard input line {lineno}: 'title' and 'detail' must be strings")
                title, detail = obj.get("title", ""), obj.get("detail") or ""
                if "id" in obj:
                    extra["id"] = obj["id"]
        _dump({**extra, **clf.predict(title, detail).to_dict()}, out)
        out.flush()
    return EXIT_OK


def _cv(args: argparse.Namespace, out: TextIO) -> int:
    from .evaluate import cross_validate

    records = read_jsonl(args.data)
    if args.folds < 2:
        raise DataError("--folds must be at least 2")

    def progress(row: dict) -> None:
        print(
            f"fold {row['fold']}: macro-F1 {row['macro_f1']:.4f}  ECE {row['ece']:.4f}  ({row['train_seconds']} s)",
            file=sys.stderr,
        )

    result = cross_validate(
        records, folds=args.folds, seed=args.seed, group_duplicates=not args.no_group, progress=progress
    )
    if args.json:
        _dump(result, out)
    else:
        pooled = result["pooled"]
        out.write(
            f"{result['folds']}-fold CV ({'near-duplicates grouped' if result['grouped'] else 'ungrouped'}), "
            f"n = {result['n']}\n"
            f"macro-F1 {result['macro_f1_mean']:.4f} ± {result['macro_f1_std']:.4f}\n"
            f"accuracy {result['accuracy_mean']:.4f}   ECE (mean of folds) {result['ece_mean']:.4f}   "
            f"pooled ECE {pooled['ece']:.4f}\n"
        )
    return EXIT_OK
