"""Reading message files: JSON lines, one object per line with ``title``, ``detail`` and ``label``."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .model import DataError


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_jsonl(path: str | os.PathLike, *, need_label: bool = True) -> list[dict[str, Any]]:
    """Read a JSON-lines file of messages. Blank lines are skipped; other keys are kept but ignored.

    Every bad line is reported (up to 20) in one :class:`DataError`, by line number.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataError(f"{p}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}: not UTF-8 ({exc})") from exc
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        problem = _problem(obj, need_label)
        if problem:
            errors.append(f"line {lineno}: {problem}")
            continue
        records.append({"title": obj["title"], "detail": obj.get("detail") or "", **_extra(obj)})
    if errors:
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise DataError(f"{p}: {len(errors)} bad line(s):\n" + "\n".join(errors[:20]) + more)
    if not records:
        raise DataError(f"{p}: no records")
    return records


def _problem(obj: Any, need_label: bool) -> str | None:
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {type(obj).__name__}"
    if not isinstance(obj.get("title"), str):
        return "'title' missing or not a string"
    if obj.get("detail") is not None and not isinstance(obj["detail"], str):
        return "'detail' must be a string or null"
    if not obj["title"].strip() and not (obj.get("detail") or "").strip():
        return "both 'title' and 'detail' are empty"
    if need_label and (not isinstance(obj.get("label"), str) or not obj["label"].strip()):
        return "'label' missing or not a non-empty string"
    return None


def _extra(obj: dict) -> dict[str, Any]:
    out = {}
    if "label" in obj:
        out["label"] = obj["label"]
    if "id" in obj:
        out["id"] = obj["id"]
    return out
