"""Benchmark: a month's ranking of every unit from the rate rollups on PostgreSQL, at the size 10,000,000
demands give them, and what keeping the rollups costs each demand change.

    .venv/bin/python bench/rankings.py            # 36 months × ~2,400 orgs (≈2.7 M rollup rows; a few minutes)
    .venv/bin/python bench/rankings.py --quick    # 6 months × ~300 orgs (seconds; a smoke test)

Builds its own database (``massline_bench_rankings`` on the private cluster of ``scripts/pg.sh``) with an
organisation tree — a district, STREETS streets × COMMUNITIES communities × GRIDS grids, DEPARTMENTS
departments — and fills the rollup table directly at the cardinality 10 M demands over MONTHS months leave in
it: one day row per org and day with counts (≈ 10 M × 1.2 signs and ≈ 0.8 ratings spread over the days and
the orgs), and the month, quarter and year rows as the sums of the day rows (as the maintenance keeps them).
Then it times, warm, with the clock at the month after the last:

  (1) ``rates.ranking(month, "unit")``: every unit's three rates, score, rank and change   target < 1 s
  (2) the same at grid level (the most rows), and the rankings page through the test client
  (3) the maintenance cost: ``services.sign`` and ``services.callback`` on demands of a small city built in
      the same database, alternately with the in-transaction rollup hook registered and unregistered; the
      ratio with/without is the overhead per demand change (20 rows upserted per fact)

and checks the maintained rows against a recomputation (``rollups.check()`` on the small city's demands).
Exit status 1 when a check fails; with ``--strict`` also 3 when the ranking target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common

DB_NAME = "massline_bench_rankings"
TZ = ZoneInfo("Asia/Shanghai")
LAST_MONTH = date(2026, 10, 1)


def _months_back(last: date, n: int) -> date:
    m = last.year * 12 + last.month - 1 - (n - 1)
    return date(m // 12, m % 12 + 1, 1)


def build_orgs(streets: int, communities: int, grids: int, departments: int) -> dict[str, list[int]]:
    """The tree, written straight into the table (paths set from the ids)."""
    from django.db import connection

    from massline.directory.models import Org

    def add(rows: list[tuple[str, str, str, Org | None]]) -> list[Org]:
        objs = Org.objects.bulk_create([Org(code=c, name=n, kind=k, parent=p, path="", depth=0) for c, n, k, p in rows],
                                       batch_size=2000)
        for o in objs:
            o.path = (o.parent.path if o.parent else "/") + f"{o.pk}/"
            o.depth = o.path.count("/") - 2
        Org.objects.bulk_update(objs, ["path", "depth"], batch_size=2000)
        return objs

    district = add([("BD1", "基准区", "district", None)])[0]
    st = add([(f"BS{i}", f"第{i}街道", "street", district) for i in range(streets)])
    co = add([(f"BS{s.code}C{j}", f"{s.name}第{j}社区", "community", s) for s in st for j in range(communities)])
    gr = add([(f"{c.code}G{k}", f"{c.name}第{k}网格", "grid", c) for c in co for k in range(grids)])
    de = add([(f"BU{i}", f"第{i}委办局", "department", district) for i in range(departments)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_org")
    return {"district": [district.pk], "street": [o.pk for o in st], "community": [o.pk for o in co],
            "grid": [o.pk for o in gr], "unit": [o.pk for o in de] + [o.pk for o in st] + [o.pk for o in co]}


def fill_rollups(orgs: dict[str, list[int]], months: int, demands: int) -> dict[str, int]:
    """Day rows for every (org, day) with counts scaled to ``demands``; month/quarter/year rows as their sums."""
    from django.db import connection

    first = _months_back(LAST_MONTH, months)
    days = (date(LAST_MONTH.year + (LAST_MONTH.month // 12), LAST_MONTH.month % 12 + 1, 1) - first).days
    signs_per_day = demands * 1.2 / days
    ratings_per_day = demands * 0.8 / days
    with connection.cursor() as cursor:
        for level, ids in orgs.items():
            # every fact has one unit and one org at each area level: spread a day's facts over the level's orgs
            s_mean = signs_per_day / len(ids)
            r_mean = ratings_per_day / len(ids)
            cursor.execute(
                """
                INSERT INTO insight_raterollup (period, start, level, org_id, signed, signed_on_time, rated, resolved,
                                                satisfied, basic)
                SELECT 'day', d, %(level)s, o, s, on_time, r, resolved, sat, floor((r - sat) * 0.6)
                FROM (SELECT d, o, s, r, floor(s * (0.75 + 0.25 * random())) AS on_time,
                             floor(r * (0.55 + 0.4 * random())) AS resolved, floor(r * (0.5 + 0.3 * random())) AS sat
                      FROM (SELECT d::date AS d, o, greatest(0, round(%(s)s * (0.4 + 1.2 * random())))::int AS s,
                                   greatest(0, round(%(r)s * (0.4 + 1.2 * random())))::int AS r
                            FROM generate_series(%(first)s::date, %(first)s::date + (%(days)s - 1),
                                                 interval '1 day') AS d,
                                 unnest(%(ids)s::bigint[]) AS o) AS a) AS b
                """, {"level": level, "first": first, "days": days, "ids": ids, "s": s_mean, "r": r_mean})
        for period, trunc in (("month", "month"), ("quarter", "quarter"), ("year", "year")):
            cursor.execute(f"""
                INSERT INTO insight_raterollup (period, start, level, org_id, signed, signed_on_time, rated, resolved,
                                                satisfied, basic)
                SELECT '{period}', date_trunc('{trunc}', start)::date, level, org_id, sum(signed), sum(signed_on_time),
                       sum(rated), sum(resolved), sum(satisfied), sum(basic)
                FROM insight_raterollup WHERE period = 'day' GROUP BY 2, 3, 4""")
        cursor.execute("ANALYZE insight_raterollup")
        cursor.execute("SELECT period, count(*), sum(signed) FROM insight_raterollup GROUP BY period")
        counts = {p: n for p, n, _ in cursor.fetchall()}
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('insight_raterollup'))")
        counts["size"] = cursor.fetchone()[0]
    return counts


def time_rankings(rounds: int) -> dict[str, list[float]]:
    from massline.insight import rates

    out: dict[str, list[float]] = {}
    for level in ("unit", "grid"):
        took = []
        for _ in range(rounds):
            t = _common.Stopwatch()
            rows = rates.ranking(LAST_MONTH, level)
            took.append(t())
        out[f"ranking_{level}"] = took
        out[f"rows_{level}"] = [float(len(rows))]
    return out


def time_page(rounds: int) -> list[float]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from massline.core.events import Actor
    from massline.directory import services as directory
    from massline.directory.models import Role

    User = get_user_model()
    user = User.objects.filter(username="bench_leader").first() or directory.create_staff(
        "bench_leader", "x-bench-password", "基准领导", Actor.system("基准"), roles=[(Role.LEADER, None)])
    client = Client()
    client.force_login(user)
    took = []
    for _ in range(rounds):
        t = _common.Stopwatch()
        r = client.get("/insight/rankings/", {"month": LAST_MONTH.strftime("%Y-%m"), "level": "unit"},
                       HTTP_HOST="127.0.0.1")
        took.append(t())
        if r.status_code != 200:
            raise SystemExit(f"rankings page answered {r.status_code}")
    return took


def time_maintenance(n: int) -> dict[str, object]:
    """Sign and rate ``n`` demands of a small city, alternately with and without the rollup hook."""
    from massline.core import clock
    from massline.demands import hooks, services
    from massline.demands.intake import IntakeData
    from massline.directory.smallcity import build
    from massline.insight import rollups

    city = build("Q")
    u = city.users
    reply = "已安排维修人员于今日下午到现场处理完毕，经检查已恢复正常，如仍有问题请再次来电。"
    t0 = datetime(2026, 11, 3, 9, 30, tzinfo=TZ)
    made = []
    with clock.frozen(t0):
        for i in range(n):
            d, secret = services.receive(IntakeData(
                channel="hotline", type="complaint", title=f"路灯不亮{i}", content="北门路灯已经坏了一周，晚上很黑，请尽快修理。",
                category_id=city.categories["市政设施"].pk, place_id=city.grids[i % 8].pk, name="陈女士",
                phone="13800001234", restatement="路灯坏了"), u["intake"])
            made.append((services.dispatch(d.pk, u["dispatcher"]), secret))
    timings: dict[str, list[float]] = {"sign_on": [], "sign_off": [], "callback_on": [], "callback_off": []}
    for i, (d, secret) in enumerate(made):
        hooked = i % 2 == 0
        if not hooked:
            hooks.unregister_in_txn("changed", rollups.on_changed)
        try:
            handler = u["handler_street1"] if d.lead_unit_id == city.streets[0].pk else u["handler_city"]
            with clock.frozen(t0 + timedelta(minutes=30)):
                t = _common.Stopwatch()
                services.sign(d.pk, handler)
                timings["sign_on" if hooked else "sign_off"].append(t())
                services.reply(d.pk, handler, text=reply)
            with clock.frozen(t0 + timedelta(days=1)):
                t = _common.Stopwatch()
                services.callback_by_person(d.code, secret, resolved=True, satisfaction="satisfied")
                timings["callback_on" if hooked else "callback_off"].append(t())
        finally:
            hooks.register_in_txn("changed", rollups.on_changed)
    # the demands changed without the hook are missing from the rollups: put them back, then verify all
    rollups.rebuild()
    diffs = rollups.check()
    med = {k: statistics.median(v) for k, v in timings.items()}
    return {"median_ms": {k: round(v * 1000, 2) for k, v in med.items()},
            "ratio_sign": round(med["sign_on"] / med["sign_off"], 3),
            "ratio_callback": round(med["callback_on"] / med["callback_off"], 3),
            "check_differences": len(diffs), "changes": n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tiny run for a smoke test")
    ap.add_argument("--demands", type=int, default=10_000_000, help="demands the rollups stand for (default 10 M)")
    ap.add_argument("--months", type=int, default=None, help="months of rollups (default 36)")
    ap.add_argument("--streets", type=int, default=None, help="streets (default 30; ×10 communities ×5 grids)")
    ap.add_argument("--departments", type=int, default=None, help="departments (default 200)")
    ap.add_argument("--changes", type=int, default=None, help="demands signed and rated for the overhead (default 200)")
    ap.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    ap.add_argument("--strict", action="store_true", help="exit 3 when the 1 s ranking target is missed")
    args = ap.parse_args(argv)
    months = args.months or (6 if args.quick else 36)
    streets = args.streets or (3 if args.quick else 30)
    departments = args.departments or (20 if args.quick else 200)
    changes = args.changes or (40 if args.quick else 200)

    admin_url = _common.start_postgres()
    url = _common.fresh_database(admin_url, DB_NAME)
    info = _common.machine(_common.pg_version(url))
    print(_common.machine_line(info), flush=True)
    status = 0
    try:
        _common.setup_django(url, MASSLINE_TASKS="immediate", MASSLINE_SMS_BACKEND="", MASSLINE_WECOM_BACKEND="")
        _common.migrate()
        t = _common.Stopwatch()
        orgs = build_orgs(streets, 10, 5, departments)
        print(f"orgs: {', '.join(f'{k} {len(v)}' for k, v in orgs.items())}", flush=True)
        counts = fill_rollups(orgs, months, args.demands)
        print(f"rollup rows for {args.demands:,} demands over {months} months: "
              f"{', '.join(f'{k} {v:,}' if isinstance(v, int) else f'{k} {v}' for k, v in counts.items())} "
              f"(built in {t():.1f} s)", flush=True)
        rk = time_rankings(7)
        page = time_page(5)
        for level in ("unit", "grid"):
            took = sorted(rk[f"ranking_{level}"])
            print(f"  month ranking, {level:4} level ({int(rk[f'rows_{level}'][0]):,} orgs): median "
                  f"{statistics.median(took) * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms (first {rk[f'ranking_{level}'][0] * 1000:.1f} ms)")
        print(f"  rankings page (unit level, rendered): median {statistics.median(page) * 1000:.1f} ms, "
              f"max {max(page) * 1000:.1f} ms", flush=True)
        m = time_maintenance(changes)
        print(f"  maintenance per change (median of {changes // 2} each): sign {m['median_ms']['sign_on']} ms with the "
              f"rollup hook vs {m['median_ms']['sign_off']} ms without (×{m['ratio_sign']}); callback "
              f"{m['median_ms']['callback_on']} vs {m['median_ms']['callback_off']} ms (×{m['ratio_callback']})")
        print(f"  check after the run: {m['check_differences']} differences")
        worst = max(rk["ranking_unit"])
        if m["check_differences"]:
            status = 1
        elif args.strict and worst >= 1.0:
            status = 3
        print(_common.json_line("rankings", {
            "demands": args.demands, "months": months, "rows": counts,
            "ranking_unit_median_ms": round(statistics.median(rk["ranking_unit"]) * 1000, 2),
            "ranking_unit_max_ms": round(worst * 1000, 2),
            "ranking_grid_median_ms": round(statistics.median(rk["ranking_grid"]) * 1000, 2),
            "page_median_ms": round(statistics.median(page) * 1000, 2), "maintenance": m}, info))
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _common.drop_database(admin_url, DB_NAME)
    return status


if __name__ == "__main__":
    sys.exit(main())
