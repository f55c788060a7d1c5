"""`make bench`: every measurement in one run, printed as one table and saved to bench/results/latest.json.

BENCH_QUICK=1 runs a much smaller version (a quick check that everything works, not numbers to quote).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from engine.clock import SystemClock
from engine.instances import workflow_cache
from bench import engine_bench, http_bench, raw_spiff, scale_bench
from bench.common import ROOT, StatementCounter, calibration_ms, load_staff, median, middle_indices, ms, open_database
from tests.pgserver import PostgresServer, find_pg_bin

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Config:
    quick: bool
    ns: tuple[int, ...]
    cases: dict[int, int]          # measured cases per N (ours and raw each)
    warmup: int                    # untimed cases per N first (spec cache, statement caches, pools)
    breakdown_cases: dict[int, int]
    http_n: int
    http_actions: int
    http_cheap_actions: int
    http_clients: int
    http_deadline_s: float
    scale_rows: int
    scale_runs: int
    soak_cases: int
    soak_checkpoints: tuple[int, ...]


FULL = Config(False, (3, 10, 50), {3: 120, 10: 40, 50: 10}, 3, {3: 10, 10: 4, 50: 2},
              3, 600, 900, 8, 60.0, 1_000_000, 7, 20_000, (2_500, 5_000, 10_000, 15_000, 20_000))
QUICK = Config(True, (3, 10, 50), {3: 15, 10: 5, 50: 2}, 1, {3: 3, 10: 1, 50: 1},
               3, 90, 200, 8, 20.0, 50_000, 3, 400, (50, 100, 200, 300, 400))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measurements


def engine_section(db_label: str, url: str, store: raw_spiff.RawStore, cfg: Config) -> dict[int, dict[str, Any]]:
    """1–4 and 5 on one database: ours and raw interleaved case by case, so drift hits both alike."""
    db = open_database(url, cfg.ns)
    staff = load_staff(db)
    counter = StatementCounter(db.engine)
    clock = SystemClock()
    results: dict[int, dict[str, Any]] = {}
    try:
        for n in cfg.ns:
            flow = raw_spiff.RawFlow.parse(n)
            for _ in range(cfg.warmup):
                engine_bench.run_case(db, clock, staff, n, counter)
                raw_spiff.run_case(store, flow)
            ours, raw = [], []
            t0 = time.perf_counter()
            hits, misses = workflow_cache.hits, workflow_cache.misses
            for _ in range(cfg.cases[n]):
                ours.append(engine_bench.run_case(db, clock, staff, n, counter))
                raw.append(raw_spiff.run_case(store, flow))
            hits, misses = workflow_cache.hits - hits, workflow_cache.misses - misses
            log(f"{db_label} N={n}: {cfg.cases[n]} cases each side in {time.perf_counter() - t0:.0f} s")
            middle = middle_indices(n)

            def stats(runs: list[raw_spiff.CaseRun]) -> dict[str, Any]:
                actions = [r.reviews[i] for r in runs for i in middle]
                return {
                    "accept_ms": ms(median([r.accept for r in runs])),
                    "action_ms": ms(median(actions)),
                    "action_ms_p90": ms(sorted(actions)[int(0.9 * (len(actions) - 1))]),
                    "actions_measured": len(actions),
                    "whole_case_ms": ms(median([r.whole for r in runs])),
                    "state_bytes_after_fanout": int(median([r.state_bytes for r in runs])),
                }

            # The same action when every case comes cold (changed by another process since this one
            # last saw it): the cache turned off for a few cases.
            saved_budget, workflow_cache.max_bytes = workflow_cache.max_bytes, 0
            workflow_cache.clear()
            try:
                cold = [engine_bench.run_case(db, clock, staff, n, counter) for _ in range(cfg.breakdown_cases[n])]
            finally:
                workflow_cache.max_bytes = saved_budget
            cold_actions = [r.reviews[i] for r in cold for i in middle]
            # The same (hot) action with its writes flushed by the ORM's unit of work, as before engine.writeout.
            with engine_bench.writes_through_the_unit_of_work():
                flushed = [engine_bench.run_case(db, clock, staff, n, counter) for _ in range(cfg.breakdown_cases[n])]
            statements = [r.statements[i] for r in ours for i in middle]
            every = [s for r in ours for s in r.statements]
            results[n] = {
                "cases": cfg.cases[n], "ours": stats(ours), "raw": stats(raw),
                "workflow_cache": {"hits": hits, "misses": misses},
                "cold_action_ms": ms(median(cold_actions)), "cold_statements_per_action": median(
                    [r.statements[i] for r in cold for i in middle]),
                "orm_flush_action_ms": ms(median([r.reviews[i] for r in flushed for i in middle])),
                "orm_flush_statements_per_action": median([r.statements[i] for r in flushed for i in middle]),
                "statements_per_action": median(statements),
                "statements_middle_range": [min(statements), max(statements)],
                "statements_all_reviews_range": [min(every), max(every)],
                "breakdown_ms": {
                    "ours": engine_bench.breakdown(db, clock, staff, n, counter, cfg.breakdown_cases[n]),
                    "raw": raw_spiff.breakdown(store, flow, cfg.breakdown_cases[n]),
                },
                "cprofile_engine_functions": engine_bench.profile_top(db, clock, staff, n, cfg.breakdown_cases[n]),
            }
    finally:
        counter.close()
        db.dispose()
    return results


def soak_section(cfg: Config) -> dict[str, Any]:
    """Runs in a fresh interpreter so its RSS is the engine's alone."""
    cmd = [sys.executable, "-m", "bench.soak_bench", "--cases", str(cfg.soak_cases),
           "--checkpoints", ",".join(map(str, cfg.soak_checkpoints))]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the table


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if value == value else "n/a"


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def build_rows(res: dict[str, Any], cfg: Config) -> list[list[str]]:
    rows: list[list[str]] = []
    dbs = [name for name in ("SQLite", "PostgreSQL") if name in res.get("engine", {})]
    for name in dbs:
        by_n = res["engine"][name]
        for n in cfg.ns:
            r = by_n[n]
            o, w = r["ours"], r["raw"]
            rows.append(["1", "start a case (accept, committed), median ms", str(n), name, fmt(o["accept_ms"]),
                         fmt(w["accept_ms"]), fmt(o["accept_ms"] / w["accept_ms"], 1), "", "",
                         f"{r['cases']} cases"])
        for n in cfg.ns:
            r = by_n[n]
            o, w = r["ours"], r["raw"]
            ratio = o["action_ms"] / w["action_ms"]
            rows.append(["2", "one reviewer action, median ms", str(n), name, fmt(o["action_ms"]), fmt(w["action_ms"]),
                         fmt(ratio, 1), "≤1.5× raw", verdict(ratio <= 1.5),
                         f"{o['actions_measured']} middle actions; state {o['state_bytes_after_fanout'] // 1024} KiB, "
                         f"raw {w['state_bytes_after_fanout'] // 1024} KiB; hot-workflow cache "
                         f"{r['workflow_cache']['hits']} hits / {r['workflow_cache']['misses']} misses"])
        for n in cfg.ns:
            r = by_n[n]
            cold_ratio = r["cold_action_ms"] / r["raw"]["action_ms"]
            rows.append(["2c", "  same, cache off (case changed by another process)", str(n), name, fmt(r["cold_action_ms"]),
                         fmt(r["raw"]["action_ms"]), fmt(cold_ratio, 1), "", "",
                         f"deserializes every time; {fmt(r['cold_statements_per_action'], 0)} statements"])
        for n in cfg.ns:
            r = by_n[n]
            flushed_ratio = r["orm_flush_action_ms"] / r["raw"]["action_ms"]
            rows.append(["2d", "  same, writes through the ORM's unit of work", str(n), name,
                         fmt(r["orm_flush_action_ms"]), fmt(r["raw"]["action_ms"]), fmt(flushed_ratio, 1), "", "",
                         f"as before engine/writeout.py; {fmt(r['orm_flush_statements_per_action'], 0)} statements"])
        for n in cfg.ns:
            b = by_n[n]["breakdown_ms"]
            ob, wb = b["ours"], b["raw"]
            rows.append(["2b", "  action parts, ms", str(n), name,
                         f"deser {fmt(ob['deserialize'])} run {fmt(ob['run'])} ser {fmt(ob['serialize'])} "
                         f"sql {fmt(ob['sql'])} other {fmt(ob['rest'])}",
                         f"deser {fmt(wb['deserialize'])} run {fmt(wb['run'])} ser {fmt(wb['serialize'])} "
                         f"write {fmt(wb['write'])}", "", "", "", "other = ORM + engine Python"])
        for n in cfg.ns:
            r = by_n[n]
            o, w = r["ours"], r["raw"]
            target, met = "", ""
            if n == 50 and name == "SQLite":
                target, met = "<1000 ms", verdict(o["whole_case_ms"] < 1000)
            rows.append(["3", f"whole case (accept + {n} reviews + delivery), ms", str(n), name, fmt(o["whole_case_ms"], 1),
                         fmt(w["whole_case_ms"], 1), fmt(o["whole_case_ms"] / w["whole_case_ms"], 1), target, met, ""])
        counts = [by_n[n]["statements_per_action"] for n in cfg.ns]
        constant = len(set(counts)) == 1
        for n in cfg.ns:
            r = by_n[n]
            lo, hi = r["statements_all_reviews_range"]
            rows.append(["4", "SQL statements per reviewer action", str(n), name, fmt(r["statements_per_action"], 0), "1",
                         "", "constant in N", verdict(constant),
                         f"all reviews {lo}–{hi} (the last one opens delivery); BEGIN not counted"])
    http = res.get("http")
    if http:
        p, c, ip = http["production_hash"], http["cheap_hash"], http["in_process_ms"]
        rows.append(["6", f"HTTP complete_task, actions/s ({http['clients']} clients, {http['server']})", str(http["n"]),
                     "PostgreSQL", fmt(p["actions_per_s"], 1), "", "", "≥200/s", verdict(p["actions_per_s"] >= 200),
                     f"{p['actions']} actions, p50 {fmt(p['latency_ms_p50'], 0)} ms, p95 {fmt(p['latency_ms_p95'], 0)} ms, "
                     f"statuses {p['statuses']}" + ("; server log tail in the JSON" if "server_log_tail" in http else "")])
        rows.append(["6b", "  same without scrypt (diagnostic)", str(http["n"]), "PostgreSQL",
                     fmt(c["actions_per_s"], 1), "", "", "", "",
                     f"{c['actions']} actions, p50 {fmt(c['latency_ms_p50'], 0)} ms, statuses {c['statuses']}; {http['diagnostic']}"])
        for label, run in (("HTTP Basic", p), ("no scrypt", c)):
            cpu = run["cpu_ms_per_action"]
            if not cpu:
                continue
            rows.append(["6c", f"  CPU ms per action, {label}", str(http["n"]), "PostgreSQL",
                         f"gunicorn {fmt(cpu['gunicorn'], 1)} postgres {fmt(cpu['postgres'], 1)} client {fmt(cpu['client'], 1)}",
                         "", "", "", "", f"2 cores ⇒ ceiling ≈ {fmt(2000 / max(sum(cpu.values()), 1e-9), 0)}/s"])
        if ip:
            rows.append(["6d", "  one request in-process (Flask test client), ms", str(http["n"]), "PostgreSQL",
                         f"scrypt {fmt(ip['password'], 1)} deser {fmt(ip['deserialize'])} run {fmt(ip['run'])} "
                         f"ser {fmt(ip['serialize'])} sql {fmt(ip['sql'])} other {fmt(ip['rest'])}",
                         "", "", "", "", f"total {fmt(ip['total'], 1)} ms, {fmt(ip['statements'], 0)} statements"])
        else:
            rows.append(["6d", "  one request in-process: failed", str(http["n"]), "PostgreSQL",
                         http.get("in_process_error", "")[:70], "", "", "", "", ""])
        for label, run in (("HTTP Basic", p), ("no scrypt", c)):
            if run.get("py_spy_share_pct"):
                top = ", ".join(f"{k} {v}%" for k, v in list(run["py_spy_share_pct"].items())[:4])
                rows.append(["6e", f"  py-spy, gunicorn workers, {label}", str(http["n"]), "PostgreSQL", top, "", "", "", "",
                             "share of sampled worker stacks"])
    for name in ("SQLite", "PostgreSQL"):
        s = res.get("scale", {}).get(name)
        if not s:
            continue
        inbox, current, scan = s["inbox"], s["engine_inbox"], s["scan"]
        rows.append(["7", f"inbox: 50 open tasks of a department by created_at, median ms, {s['rows']:,} rows", "", name,
                     fmt(inbox["ms"]), "", "", "<20 ms", verdict(inbox["ms"] < 20),
                     f"{inbox['index']}; {s['open_in_department']:,} open in the department"
                     + (f"; server executes it in {inbox['server_ms']:.1f} ms" if "server_ms" in inbox else "")])
        rows.append(["7b", "  engine.tasks.list_tasks as it is today (info)", "", name, fmt(current["ms"]), "", "", "", "",
                     f"{current['index']}; " + current["sql"].split("ORDER BY", 1)[-1].split("LIMIT")[0].strip()[:60]])
        rows.append(["7", f"scan: count open tasks created < t, median ms, {s['rows']:,} rows", "", name,
                     fmt(scan["ms"], 1), "", "", "<2000 ms", verdict(scan["ms"] < 2000),
                     f"{scan['index']}; {scan['rows']:,} matched"
                     + (f"; server {scan['server_ms']:.0f} ms" if "server_ms" in scan else "")])
    soak = res.get("soak")
    if soak:
        samples = soak["samples"]
        rss = " / ".join(f"{x['rss_mib']:.1f}" for x in samples)
        at = " / ".join(f"{x['cases']:,}" for x in samples)
        # Flat from the first sample at a quarter of the run: by then the bounded caches (hot workflows,
        # statement caches, pools) are full, and what still grows is what the soak is looking for.
        first = next(x for x in samples if x["cases"] >= samples[-1]["cases"] / 4)
        last = samples[-1]
        growth = (last["rss_mib"] - first["rss_mib"]) / first["rss_mib"]
        pace = []
        for a, b in zip(samples, samples[1:]):
            pace.append(fmt(1000 * (b["seconds"] - a["seconds"]) / (b["cases"] - a["cases"]), 1))
        cache = " / ".join(f"{x.get('cached_workflows', 0)}" for x in samples[1:])
        rows.append(["8", f"RSS MiB after {at} cases (accept + reviews)", str(soak["n"]), "SQLite", rss, "", "",
                     "flat (≤5 % after ¼)", verdict(growth <= 0.05),
                     f"{growth * 100:+.1f} % from {first['cases']:,} to {last['cases']:,}; ms/case per segment "
                     f"{' / '.join(pace)}; cached workflows {cache} (≈{last.get('cache_mib_estimate', 0)} MiB, bounded)"])
    for name, message in res.get("errors", {}).items():
        rows.append(["!", f"{name} failed", "", "", message[:60], "", "", "", "NO", "see stderr"])
    return rows


HEADER = ["#", "measure", "N", "database", "ours / value", "raw SpiffWorkflow", "×raw", "target", "met", "notes"]


def render(rows: list[list[str]]) -> str:
    def width(s: str) -> int:  # CJK characters take two columns in a terminal
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    table = [HEADER, *rows]
    widths = [max(width(r[i]) for r in table) for i in range(len(HEADER) - 1)]
    lines = []
    for i, row in enumerate(table):
        cells = [c + " " * (w - width(c)) for c, w in zip(row, widths)] + [row[-1]]
        lines.append(" | ".join(cells).rstrip())
        if i == 0:
            lines.append("-+-".join("-" * w for w in widths) + "-+-" + "-" * 10)
    return "\n".join(lines)


# ---------------------------------------------------------------- orchestration


def code_version() -> dict[str, Any]:
    """The commit measured and how many files differ from it (the engine is edited while benches run)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = [line for line in git("status", "--porcelain", "--", "engine", "web", "migrations").splitlines() if line]
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_engine_web_files": len(changed)}


def main() -> int:
    cfg = QUICK if os.environ.get("BENCH_QUICK") == "1" else FULL
    started = time.perf_counter()
    res: dict[str, Any] = {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "quick": cfg.quick,
        "code": code_version(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                    "calibration_ms": {"start": calibration_ms()}},
        "engine": {}, "scale": {}, "errors": {}, "section_seconds": {},
    }

    def section(name: str, fn: Callable[[], Any]) -> Any:
        log(f"{name} …")
        t0 = time.perf_counter()
        try:
            value = fn()
            res["section_seconds"][name] = round(time.perf_counter() - t0, 1)
            res["machine"]["calibration_ms"][name] = calibration_ms()
            log(f"{name} done in {time.perf_counter() - t0:.0f} s (load average {os.getloadavg()[0]:.2f}, "
                f"calibration loop {res['machine']['calibration_ms'][name]} ms)")
            return value
        except Exception as err:  # one failed section must not hide the others' numbers
            traceback.print_exc()
            res["errors"][name] = f"{type(err).__name__}: {err}"
            return None

    with tempfile.TemporaryDirectory(prefix="yjs-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # SQLite: temp files in WAL mode (engine.db.connect sets WAL for files).
        store = raw_spiff.SqliteStore(str(tmp / "raw.sqlite"))
        value = section("SQLite engine vs raw", lambda: engine_section("SQLite", f"sqlite:///{tmp / 'engine.sqlite'}", store, cfg))
        store.close()
        if value:
            res["engine"]["SQLite"] = value

        def sqlite_scale() -> dict[str, Any]:
            path = tmp / "scale.sqlite"
            db = open_database(f"sqlite:///{path}", (10,))
            now = datetime.now(timezone.utc)
            load_s = scale_bench.load_sqlite(str(path), db, cfg.scale_rows, now)
            out = {"rows": cfg.scale_rows, "load_s": round(load_s, 1), **scale_bench.measure(db, now, cfg.scale_runs)}
            db.dispose()
            path.unlink()
            return out

        value = section("SQLite inbox and scan", sqlite_scale)
        if value:
            res["scale"]["SQLite"] = value

        if find_pg_bin() is None:
            res["errors"]["PostgreSQL"] = "server binaries (initdb, postgres) not found"
        else:
            pg = PostgresServer(tmp / "pg")
            pg.start()
            try:
                def pg_engine() -> dict[int, dict[str, Any]]:
                    url = pg.create_database("bench_engine")
                    pg.create_database("bench_raw")
                    pg_store = raw_spiff.PostgresStore(pg.conninfo("bench_raw"))
                    try:
                        return engine_section("PostgreSQL", url, pg_store, cfg)
                    finally:
                        pg_store.close()

                value = section("PostgreSQL engine vs raw", pg_engine)
                if value:
                    res["engine"]["PostgreSQL"] = value
                res["http"] = section("HTTP (gunicorn, PostgreSQL)", lambda: http_bench.run(
                    pg, tmp, cfg.http_n, cfg.http_actions, cfg.http_cheap_actions, cfg.http_clients, cfg.http_deadline_s))

                def pg_scale() -> dict[str, Any]:
                    url = pg.create_database("bench_scale")
                    db = open_database(url, (10,))
                    now = datetime.now(timezone.utc)
                    load_s = scale_bench.load_postgres(pg.conninfo("bench_scale"), db, cfg.scale_rows, now)
                    out = {"rows": cfg.scale_rows, "load_s": round(load_s, 1), **scale_bench.measure(db, now, cfg.scale_runs)}
                    db.dispose()
                    return out

                value = section("PostgreSQL inbox and scan", pg_scale)
                if value:
                    res["scale"]["PostgreSQL"] = value
            finally:
                pg.stop()

        res["soak"] = section("memory soak (SQLite, own process)", lambda: soak_section(cfg))

    res["machine"]["loadavg_end"] = os.getloadavg()
    res["runtime_s"] = round(time.perf_counter() - started, 1)
    rows = build_rows(res, cfg)
    res["table"] = [dict(zip(HEADER, r)) for r in rows]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(res, indent=2, ensure_ascii=False, default=str))
    title = "yijianshi benchmark" + (" (BENCH_QUICK=1: small counts, not numbers to quote)" if cfg.quick else "")
    calib = list(res["machine"]["calibration_ms"].values())
    print(f"{title} — commit {res['code']['commit']} (+{res['code']['uncommitted_engine_web_files']} uncommitted "
          f"engine/web files), {res['started_at']}, {res['runtime_s']:.0f} s, "
          f"load average {res['machine']['loadavg_start'][0]:.2f} → {res['machine']['loadavg_end'][0]:.2f}, "
          f"calibration loop {min(calib):.0f}–{max(calib):.0f} ms (same on a quiet machine = no interference)")
    print(render(rows))
    print(f"JSON: {RESULTS.relative_to(ROOT)}")
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
