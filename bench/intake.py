"""Benchmark: demands POSTed through the HTTP API to gunicorn on PostgreSQL.

    .venv/bin/python bench/intake.py            # full run, about two minutes
    .venv/bin/python bench/intake.py --quick    # a few seconds per phase (a smoke test)

Builds its own database (``massline_bench_intake`` on the private cluster of ``scripts/pg.sh``), migrates
it, builds the small city, and starts ``gunicorn massline.wsgi -w 4 -b 127.0.0.1:PORT`` on it with
``MASSLINE_TASKS=immediate``. Submissions are anonymous public web-channel demands (the citizen's path:
rate-limited, so the server gets ``MASSLINE_PUBLIC_RATE_PER_MINUTE=1000000000`` to keep the limit out of
the measurement), realistic Chinese bodies, each with its own ``Idempotency-Key``.

Phase 1, closed loop at concurrency 16: ``GET /api/v1/ping`` (the ceiling), ``POST /api/v1/demands``,
then ping again; the ceiling is the mean of the two ping runs, so a change in the neighbours' load during
the run shows up instead of skewing the ratio. Target: intake ≥ 50 % of the ceiling.
Phase 2, open loop: POSTs scheduled at a fixed 50 per second for 20 s; latency counts from the scheduled
send time (a slow answer delays nothing else, so queueing shows). Target: p95 < 100 ms.

Every answer must be 2xx and every 201 must be exactly one new demand with its receive event; otherwise
the run fails loudly (exit status 1). With ``--strict`` also exit 3 when a target is missed.
Only 127.0.0.1 is contacted; gunicorn is stopped and the database dropped at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _common

DB_NAME = "massline_bench_intake"
HOST = "127.0.0.1"
RATE_LIMIT = "1000000000"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["秀英", "桂兰", "建国", "志强", "丽娟", "海燕", "文华", "明", "静", "军", "磊", "红梅", "淑珍", "国庆", "晓东"]
STREETS = ["花园路", "和平街", "光明巷", "幸福大道", "建设南路", "人民北街", "文化路", "新华街"]
# (type, category key in smallcity.CATEGORIES, title, content with {addr})
TEMPLATES = [
    ("complaint", "施工噪音", "夜间施工噪音扰民",
     "我住在{addr}，最近半个月每天晚上十点以后旁边工地还在打桩、运渣土，噪音特别大，家里老人和孩子都休息不好。"
     "白天打电话问过施工方，说是赶工期。请有关部门核实是否办理了夜间施工许可，督促他们按规定时间施工。"),
    ("help", "停水停电", "小区突然停水没有通知",
     "{addr}从今天早上六点开始停水，到现在也没有来水，小区里没有贴任何停水通知，物业也说不清楚原因。"
     "家里有卧床的老人，做饭洗漱都成问题，请帮忙联系自来水公司尽快查明原因、恢复供水，并告知大概什么时候能来水。"),
    ("complaint", "物业管理", "物业擅自提高停车费",
     "{addr}的物业公司没有召开业主大会，也没有征求业主意见，就贴出通知把地面停车费从每月一百五十元涨到三百元。"
     "很多业主不同意，去物业问也不给说法。请相关部门核查这个收费是否合规，督促物业依法依规收费。"),
    ("help", "市政设施", "路口井盖松动有安全隐患",
     "{addr}门口的十字路口有一个井盖松动了，车开过去哐哐响，晚上骑电动车经过的人很容易摔倒，已经有人差点出事。"
     "希望尽快派人来加固或者更换井盖，在修好之前先放个警示标志。"),
    ("complaint", "拖欠工资", "装修公司拖欠工资三个月",
     "我在{addr}附近的一家装修公司打工，公司已经拖欠我和十几位工友三个月的工资了，老板一直说下个月一定发，"
     "现在电话也不接了。我们都是外地来的，家里等着钱用，请劳动监察部门帮我们讨回血汗钱。"),
    ("suggestion", "园林绿化环卫", "建议增设垃圾分类投放点",
     "{addr}小区只有一个垃圾投放点，离后面几栋楼很远，很多居民图方便把垃圾放在楼道口，夏天味道很大。"
     "建议在小区北门附近再增设一个分类投放点，并安排督导员在早晚高峰时段指导分类。"),
    ("complaint", "占道停车", "人行道长期被车辆占用",
     "{addr}旁边的人行道长期被私家车占用停放，行人只能走到机动车道上，孩子上学放学特别危险。"
     "希望交管部门加强巡查，对违停车辆依法处理，能不能在人行道边设置隔离桩。"),
    ("enquiry", "医疗纠纷", "咨询医疗纠纷调解渠道",
     "我母亲上个月在{addr}附近的社区医院输液后出现过敏反应，住院花了一万多元，跟医院沟通没有结果。"
     "想咨询一下医疗纠纷可以找哪个部门调解，需要准备哪些材料。"),
]


def make_bodies(n: int, places: list[int], categories: dict[str, int], seed: int = 20260609) -> list[bytes]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        typ, cat, title, content = TEMPLATES[i % len(TEMPLATES)]
        addr = f"{rnd.choice(STREETS)}{rnd.randint(1, 300)}号{rnd.randint(1, 20)}号楼"
        anonymous = rnd.random() < 0.1
        body = {
            "channel": "web", "type": typ, "title": title, "content": content.format(addr=addr),
            "category_id": categories[cat], "place_id": rnd.choice(places), "address": addr,
            "identity": "anonymous" if anonymous else rnd.choice(["named", "named", "confidential"]),
            "name": "" if anonymous else rnd.choice(SURNAMES) + rnd.choice(GIVEN),
            "phone": "" if anonymous else f"1{rnd.choice('3456789')}{rnd.randint(0, 999_999_999):09d}",
        }
        out.append(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    return out


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    codes: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    connects: int = 0
    created: int = 0
    warm_bad: int = 0
    warm_requests: int = 0
    failed: int = 0  # no answer at all (connection refused, reset, timed out)

    def merge(self, other: Result) -> None:
        self.latencies += other.latencies
        for k, v in other.codes.items():
            self.codes[k] = self.codes.get(k, 0) + v
        self.errors += other.errors
        self.connects += other.connects
        self.created += other.created
        self.warm_bad += other.warm_bad
        self.warm_requests += other.warm_requests
        self.failed += other.failed

    @property
    def bad(self) -> int:
        return sum(v for k, v in self.codes.items() if not 200 <= k < 300) + self.failed + self.warm_bad


class Client:
    """One keep-alive connection (re-opened whenever the server closes it, as gunicorn's sync workers do)."""

    def __init__(self, port: int, bodies: list[bytes] | None, result: Result) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.bodies = bodies
        self.result = result

    def once(self, i: int) -> None:
        if self.conn.sock is None:
            self.result.connects += 1
        try:
            if self.bodies is None:
                self.conn.request("GET", "/api/v1/ping")
            else:
                self.conn.request("POST", "/api/v1/demands", body=self.bodies[i % len(self.bodies)], headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Idempotency-Key": f"bench-{uuid.uuid4().hex}",
                })
            resp = self.conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.result.failed += 1
            if len(self.result.errors) < 5:
                self.result.errors.append(f"{type(exc).__name__}: {exc}")
            return
        self.result.codes[resp.status] = self.result.codes.get(resp.status, 0) + 1
        if resp.status == 201:
            self.result.created += 1
        elif not 200 <= resp.status < 300 and len(self.result.errors) < 5:
            self.result.errors.append(f"HTTP {resp.status}: {payload[:300].decode('utf-8', 'replace')}")

    def close(self) -> None:
        self.conn.close()


def closed_loop(port: int, bodies: list[bytes] | None, concurrency: int, seconds: float, warmup: float) -> tuple[Result, float]:
    """``concurrency`` clients, each sending its next request as soon as the last is answered."""
    results = [Result() for _ in range(concurrency)]
    counter = iter(range(10**12))
    lock = threading.Lock()
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds

    def worker(res: Result) -> None:
        warm = Result()
        client = Client(port, bodies, warm)
        while True:
            with lock:
                i = next(counter)
            t0 = time.perf_counter()
            if t0 >= stop_at:
                break
            measured = t0 >= measure_from
            client.result = res if measured else warm  # warm-up answers are checked, not timed
            client.once(i)
            if measured:
                res.latencies.append(time.perf_counter() - t0)
        client.close()
        res.warm_bad += warm.bad
        res.warm_requests += sum(warm.codes.values()) + warm.failed
        res.errors += [f"warm-up {e}" for e in warm.errors]
        res.created += warm.created

    threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + warmup + 120)
    total = Result()
    for r in results:
        total.merge(r)
    return total, seconds


def open_loop(port: int, bodies: list[bytes], rate: float, seconds: float, threads_n: int = 32) -> tuple[Result, float]:
    """Requests scheduled at fixed times (i / rate); latency counts from the scheduled time."""
    n = int(rate * seconds)
    results = [Result() for _ in range(threads_n)]
    counter = iter(range(n))
    lock = threading.Lock()
    t0 = time.perf_counter() + 0.2

    def worker(res: Result) -> None:
        client = Client(port, bodies, res)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            client.once(i + 1_000_000)
            res.latencies.append(time.perf_counter() - scheduled)
        client.close()

    threads = [threading.Thread(target=worker, args=(r,), daemon=True) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    elapsed = time.perf_counter() - t0
    total = Result()
    for r in results:
        total.merge(r)
    return total, elapsed


class ServerCpu:
    """CPU seconds used by the gunicorn workers and by the PostgreSQL backends of the benchmark database:
    the work a request costs, whatever the neighbours on a shared machine do to the wall-clock figures."""

    def __init__(self, master_pid: int, admin_url: str, db_name: str) -> None:
        import psycopg

        self.master, self.db = master_pid, db_name
        self.conn = psycopg.connect(admin_url, autocommit=True)

    def _workers(self) -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()]
        except OSError:
            return []

    def sample(self) -> tuple[dict[int, float], dict[int, float]]:
        rows = self.conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.db]).fetchall()
        cpu = _common.process_cpu_seconds
        workers = {p: cpu(p) for p in self._workers()}
        backends = {r[0]: cpu(r[0]) for r in rows}
        return ({p: v for p, v in workers.items() if v is not None}, {p: v for p, v in backends.items() if v is not None})

    @staticmethod
    def used(before: tuple[dict[int, float], dict[int, float]], after: tuple[dict[int, float], dict[int, float]]):
        """(gunicorn seconds, PostgreSQL seconds) between two samples (a process born in between counts whole)."""
        return tuple(sum(v - b.get(p, 0.0) for p, v in a.items()) for b, a in zip(before, after, strict=True))

    def close(self) -> None:
        self.conn.close()


def summary(res: Result, seconds: float) -> dict[str, float]:
    lat = sorted(res.latencies)
    return {
        "requests": len(lat), "rps": round(len(lat) / seconds, 1),
        "p50_ms": round(_common.percentile(lat, 50) * 1000, 1), "p95_ms": round(_common.percentile(lat, 95) * 1000, 1),
        "p99_ms": round(_common.percentile(lat, 99) * 1000, 1), "max_ms": round((lat[-1] if lat else 0) * 1000, 1),
        "non_2xx": res.bad, "connections": res.connects,
    }


def start_server(url: str, port: int, workers: int, log_path: Path, tasks: str = "immediate") -> subprocess.Popen:
    gunicorn = Path(sys.executable).parent / "gunicorn"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASSLINE_", "DATABASE_URL", "DJANGO_"))}
    # connections kept for the whole run (default 60 s), so each PostgreSQL backend's CPU can be read until the end
    env.update({"DATABASE_URL": url, "MASSLINE_TASKS": tasks, "MASSLINE_PUBLIC_RATE_PER_MINUTE": RATE_LIMIT,
                "MASSLINE_DB_CONN_MAX_AGE": "600", "DJANGO_SETTINGS_MODULE": "massline.settings"})
    cmd = [str(gunicorn), "massline.wsgi", "-w", str(workers), "-b", f"{HOST}:{port}"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=_common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log_path}:\n{log_path.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/api/v1/ping")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"gunicorn did not answer within 60 s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="two seconds per phase (a smoke test)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per closed-loop run (default 15)")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--rate", type=float, default=50.0, help="requests per second of the open-loop phase")
    ap.add_argument("--rate-seconds", type=float, default=None, help="length of the open-loop phase (default 20)")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    ap.add_argument("--tasks", choices=("immediate", "db"), default="immediate",
                    help="MASSLINE_TASKS for the server: immediate sends the SMS receipt inside the request; db only "
                         "queues it (no worker runs during the benchmark)")
    ap.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    ap.add_argument("--strict", action="store_true", help="exit 3 when a target is missed")
    args = ap.parse_args(argv)
    seconds = args.seconds or (2.0 if args.quick else 15.0)
    warmup = 1.0 if args.quick else 2.0
    rate_seconds = args.rate_seconds or (3.0 if args.quick else 20.0)

    run = _common.Stopwatch()
    admin_url = _common.start_postgres()
    url = _common.fresh_database(admin_url, DB_NAME)
    info = _common.machine(_common.pg_version(url))
    print(_common.machine_line(info), flush=True)
    _common.setup_django(url, MASSLINE_TASKS=args.tasks)
    from django.db import connection, connections
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    from massline.directory import smallcity

    _common.migrate()
    city = smallcity.build()
    places = [o.pk for o in city.communities + city.grids]
    bodies = make_bodies(4000, places, {k: c.pk for k, c in city.categories.items()})
    # what one submission costs in database round trips (in this process, before the server starts)
    with CaptureQueriesContext(connection) as queries:
        answer = DjangoClient().post("/api/v1/demands", data=bodies[-1], content_type="application/json",
                                     headers={"Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
    if answer.status_code != 201:
        raise SystemExit(f"a single submission failed: {answer.status_code} {answer.content[:300]!r}")
    queries_per_intake = len(queries.captured_queries)
    print(f"one submission = {queries_per_intake} SQL statements (transaction control included)", flush=True)
    connections.close_all()

    port = _common.free_port()
    tmp = Path(tempfile.mkdtemp(prefix="massline-bench-"))
    log_path = tmp / "gunicorn.log"
    proc = start_server(url, port, args.workers, log_path, args.tasks)
    print(f"gunicorn massline.wsgi -w {args.workers} -b {HOST}:{port} (sync workers; log {log_path}); "
          f"closed loop {seconds:g} s at concurrency {args.concurrency} after {warmup:g} s warm-up; "
          f"open loop {args.rate:g}/s for {rate_seconds:g} s", flush=True)
    sampler = ServerCpu(proc.pid, admin_url, DB_NAME)

    def phase(name: str, fn, *fargs) -> tuple[Result, float, dict[str, float]]:
        before, client0 = sampler.sample(), _common.cpu_seconds()
        res, secs = fn(*fargs)
        after, client = sampler.sample(), _common.cpu_seconds() - client0
        gunicorn_s, postgres_s = ServerCpu.used(before, after)
        n = max(1, len(res.latencies) + res.warm_requests)
        cpu = {"gunicorn_cpu_ms_per_request": round(gunicorn_s / n * 1000, 2),
               "postgres_cpu_ms_per_request": round(postgres_s / n * 1000, 2),
               "client_cpu_ms_per_request": round(client / n * 1000, 2)}
        print(f"  {name:<8} {summary(res, secs)} {cpu}", flush=True)
        return res, secs, cpu

    try:
        ping1, s1, c1 = phase("ping", closed_loop, port, None, args.concurrency, seconds, warmup)
        intake, s2, c2 = phase("intake", closed_loop, port, bodies, args.concurrency, seconds, warmup)
        ping2, s3, c3 = phase("ping", closed_loop, port, None, args.concurrency, seconds, warmup)
        fixed, s4, c4 = phase("fixed", open_loop, port, bodies, args.rate, rate_seconds)
    finally:
        sampler.close()
        stop_server(proc)

    from django.db.models import Count

    from massline.core.models import Event, IdempotencyRecord
    from massline.demands.models import Demand

    created = intake.created + fixed.created + 1  # + the one counted above
    stored = Demand.objects.count()
    receive_events = Event.objects.filter(action="receive", chain__startswith="demand:").count()
    keys = IdempotencyRecord.objects.filter(status_code=201).count()
    dup_chains = Event.objects.filter(action="receive").values("chain").annotate(n=Count("id")).filter(n__gt=1).count()
    connections.close_all()
    if not args.keep:
        _common.drop_database(admin_url, DB_NAME)

    p1, it, p2, fx = (summary(ping1, s1), summary(intake, s2), summary(ping2, s3), summary(fixed, s4))
    ceiling = (p1["rps"] + p2["rps"]) / 2
    ratio = it["rps"] / ceiling if ceiling else 0.0

    def server_ms(c: dict[str, float]) -> float:
        return c["gunicorn_cpu_ms_per_request"] + c["postgres_cpu_ms_per_request"]

    ping_cpu = (server_ms(c1) + server_ms(c3)) / 2
    cpu_ratio = ping_cpu / server_ms(c2) if server_ms(c2) else 0.0
    rows = []
    for label, loop, conc, f, c in (
        ("GET /api/v1/ping (before)", "closed", args.concurrency, p1, c1),
        ("POST /api/v1/demands", "closed", args.concurrency, it, c2),
        ("GET /api/v1/ping (after)", "closed", args.concurrency, p2, c3),
        (f"POST /api/v1/demands @ {args.rate:g}/s", "open", "-", fx, c4),
    ):
        rows.append([label, loop, conc, f["requests"], f["rps"], f["p50_ms"], f["p95_ms"], f["p99_ms"], f["non_2xx"],
                     f"{c['gunicorn_cpu_ms_per_request']:.2f}+{c['postgres_cpu_ms_per_request']:.2f}"])
    print()
    print(_common.machine_line(info))
    print(f"server: gunicorn massline.wsgi -w {args.workers} (sync workers: one connection per request), PostgreSQL on "
          f"127.0.0.1, MASSLINE_TASKS={args.tasks}, MASSLINE_DB_CONN_MAX_AGE=600, MASSLINE_PUBLIC_RATE_PER_MINUTE={RATE_LIMIT} (anonymous public web "
          f"submissions); the load generator ran on the same machine")
    print(_common.table(rows, ["endpoint", "loop", "conc", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "non-2xx",
                               "CPU ms/req gunicorn+pg"]))
    ratio_ok, p95_ok = ratio >= 0.5, fx["p95_ms"] < 100
    print(f"intake / ceiling = {it['rps']:.1f} / {ceiling:.1f} req/s = {ratio:.2f}  (target >= 0.50: "
          f"{'met' if ratio_ok else 'MISSED'}); by server CPU per request {ping_cpu:.2f} / {server_ms(c2):.2f} ms "
          f"= {cpu_ratio:.2f}")
    print(f"open loop p95 = {fx['p95_ms']:.1f} ms at {fx['rps']:.1f} req/s  (target < 100 ms: "
          f"{'met' if p95_ok else 'MISSED'})")
    figures = {"ping_before": {**p1, **c1}, "intake": {**it, **c2}, "ping_after": {**p2, **c3},
               "fixed_rate": {**fx, **c4}, "rate": args.rate, "ceiling_rps": round(ceiling, 1),
               "intake_ratio": round(ratio, 3), "intake_ratio_by_server_cpu": round(cpu_ratio, 3),
               "concurrency": args.concurrency, "workers": args.workers, "tasks": args.tasks,
               "queries_per_intake": queries_per_intake, "demands_created": created,
               "demands_stored": stored, "total_seconds": round(run(), 1)}
    print(_common.json_line("intake", figures, info))

    failures = []
    for name, res in (("ping", ping1), ("intake", intake), ("ping", ping2), ("fixed-rate intake", fixed)):
        if res.bad:
            failures.append(f"{name}: {res.bad} non-2xx answers or errors {dict(res.codes)}; first: {res.errors[:3]}")
    # every 201 (warm-up included) is exactly one stored demand with one receive event and one idempotency record
    if stored != receive_events or stored != keys or dup_chains or stored != created:
        failures.append(f"demands stored {stored}, receive events {receive_events}, idempotency records {keys}, "
                        f"chains with two receive events {dup_chains}, 201 answers counted {created}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        print(f"gunicorn log: {log_path}", file=sys.stderr)
        return 1
    if args.strict and not (ratio_ok and p95_ok):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
