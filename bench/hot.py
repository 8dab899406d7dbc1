"""Benchmark of hot-issue clustering (textclf.cluster): the real messages, then 100,000 synthetic ones.

    .venv/bin/python bench/hot.py [--data FILE.jsonl] [--n 100000] [--workers 2] [--since 2019-01-01] [--top 15]

Data: --data, else $MASSLINE_DATA_DIR_SHARED/messages/hot_messages.jsonl, else
../shared/data/messages/hot_messages.jsonl next to the repository. Prints the machine, then

1. the real messages (4,326): wall time of the whole pipeline (jieba included, jieba's dictionary load
   included) and the top clusters;
2. N synthetic messages made by resampling the real ones and perturbing each copy (a random tenth of the
   characters of the text dropped, one of the title's words dropped now and then, the time moved by up to
   ±60 days, a new user id), so that tokens and vectors differ copy by copy: wall time, split into
   tokenisation and clustering.

The synthetic set is only for timing: its clusters are the real clusters times ~23.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import machine, machine_line  # noqa: E402
from textclf import cluster as C  # noqa: E402


def default_data() -> Path:
    env = os.environ.get("MASSLINE_DATA_DIR_SHARED")
    base = Path(env) if env else ROOT.parent / "shared" / "data"
    return base / "messages" / "hot_messages.jsonl"


def synthesise(items: list[C.Item], n: int, seed: int = 0) -> list[C.Item]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        src = items[rng.randrange(len(items))]
        text = "".join(ch for ch in src.text if rng.random() >= 0.1)
        title = src.title
        if rng.random() < 0.3 and len(title) > 6:
            cut = rng.randrange(len(title) - 2)
            title = title[:cut] + title[cut + 2 :]
        when = src.time + timedelta(minutes=rng.randint(-60 * 24 * 60, 60 * 24 * 60)) if src.time else None
        out.append(C.Item(id=f"syn-{k}", title=title, text=text, time=when, person=f"U{rng.randrange(n)}",
                          likes=src.likes, place=src.place))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--since", default="2019-01-01")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args(argv)
    path = args.data or default_data()
    if not path.is_file():
        print(f"messages file not found: {path} (give --data or set MASSLINE_DATA_DIR_SHARED)", file=sys.stderr)
        return 2
    print(machine_line(machine()))
    records = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    since = C.parse_time(args.since)

    t0 = time.perf_counter()
    items = C.items_from_records(records)
    top = C.hot(items, since=since, top=args.top, by_group=False)
    t_real = time.perf_counter() - t0
    chosen = sum(1 for it in items if it.time is None or it.time >= since)
    print(f"\nreal: {len(items)} messages, {chosen} since {args.since}: {t_real:.2f} s (jieba load included)")
    for c in top:
        print(f"  heat {c.heat:5.2f}  n={c.size:3d}  people={c.people:3d}  likes={c.likes:4d}  growth={c.growth:+.2f}"
              f"  [{c.name}]  {c.representative_title}")

    syn = synthesise(items, args.n)
    t0 = time.perf_counter()
    tokens = C.tokenize_all([(it.title, it.text) for it in syn], workers=args.workers)
    t_tok = time.perf_counter() - t0
    clusters = C.cluster(syn, tokens=tokens, by_group=False)
    scored = C.score(clusters, syn, None, None)
    t_all = time.perf_counter() - t0
    print(f"\nsynthetic: {len(syn)} messages, {args.workers} worker(s): {t_all:.1f} s "
          f"(tokens {t_tok:.1f} s, clusters and heat {t_all - t_tok:.1f} s); "
          f"{len(scored)} clusters, {sum(c.size for c in scored)} messages in a cluster, "
          f"largest {max((c.size for c in scored), default=0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
