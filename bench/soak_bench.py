"""Memory over a long in-process soak on SQLite: accept N=3 cases and complete their reviews, reading VmRSS.

Run as its own process (`python -m bench.soak_bench`) so the RSS is the engine's, not what earlier
benchmark stages left behind. Prints one JSON object. Each sample also records the hot-workflow
cache (`engine.instances.workflow_cache`): it fills up first, then its bound must hold RSS flat.
About 30 ms a case on a quiet machine, three quarters of it accepting (the step clocks' inserts).
"""
from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

from engine.cases import accept_case
from engine.clock import SystemClock
from engine.instances import workflow_cache
from engine.tasks import complete_task
from bench import flows
from bench.common import load_staff, open_database, rss_mib
from bench.engine_bench import APPLICANT, REVIEW_OPINION, open_tasks

N = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--checkpoints", default="2500,5000,10000,15000,20000")
    args = parser.parse_args(argv)
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",")} | {args.cases})
    with tempfile.TemporaryDirectory(prefix="yjs-soak-") as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'soak.sqlite'}", (N,))
        staff = load_staff(db)
        clock = SystemClock()
        key = flows.process_key(N)
        gc.collect()
        samples = [{"cases": 0, "rss_mib": round(rss_mib(), 1), "seconds": 0.0}]
        t0 = time.perf_counter()
        for done in range(1, args.cases + 1):
            # Accept, then complete every review (each its own transaction); the delivery task stays open,
            # so the window's open tasks grow with the soak as they would in a backlog.
            with db.writer.begin() as session:
                case_id = accept_case(session, clock, staff.clerk, key, APPLICANT, dict(flows.INTAKE_DATA)).id
            for task_id, department_id in open_tasks(db, case_id):
                with db.writer.begin() as session:
                    complete_task(session, clock, staff.reviewers[department_id], task_id, "approve", REVIEW_OPINION)
            if done in checkpoints:
                # Unreachable cycles would be collected anyway; collecting first shows what is really held.
                gc.collect()
                samples.append({"cases": done, "rss_mib": round(rss_mib(), 1), "seconds": round(time.perf_counter() - t0, 1),
                                "cached_workflows": len(workflow_cache),
                                "cache_mib_estimate": round(workflow_cache.bytes / 2**20, 1)})
                print(f"  soak: {done} cases, RSS {samples[-1]['rss_mib']} MiB", file=sys.stderr, flush=True)
        db.dispose()
    json.dump({"n": N, "samples": samples}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
