"""Checks against the real messages; skipped where the shared data is not present."""

import os
from pathlib import Path

import pytest

from textclf import read_jsonl
from textclf.evaluate import duplicate_groups

DATA = Path(
    os.environ.get("TEXTCLF_DATA", Path(__file__).resolve().parents[3] / "shared/data/messages/train.jsonl")
)


@pytest.mark.skipif(not DATA.is_file(), reason=f"real training data not found at {DATA} (set TEXTCLF_DATA)")
def test_real_training_file_reads_cleanly():
    records = read_jsonl(DATA)
    assert len(records) > 1000
    labels = {r["label"] for r in records}
    assert len(labels) == 7
    groups = duplicate_groups([r["title"] for r in records], [r["detail"] for r in records])
    # near-duplicates exist but are a small share
    assert 0.9 * len(records) < len(set(groups.tolist())) < len(records)
