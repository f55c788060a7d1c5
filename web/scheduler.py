"""The in-process scheduler: the engine's due jobs under the lease, and per-process cache warming.

Every app process may start it; the database lease (`engine.lease`) lets exactly one of them do
the due jobs at a time, and the first run at start-up catches up on anything missed while down.
Each process also refreshes its own cache of step durations (the board's predictions) ahead of time.
"""
from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timezone

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from engine.calendar_store import load_calendar
from engine.jobs import run_due_jobs
from engine.notifications import SmtpSettings, send_pending_emails
from web.supervisor import duration_cache

log = logging.getLogger(__name__)
JOB_ID = "yijianshi-due-jobs"
EMAIL_JOB_ID = "yijianshi-emails"
WARM_JOB_ID = "yijianshi-step-durations"


def start_scheduler(app: Flask) -> BackgroundScheduler:
    db, clock = app.extensions["yjs_db"], app.extensions["yjs_clock"]
    holder = f"{socket.gethostname()}:{os.getpid()}"
    scheduler = BackgroundScheduler(timezone=timezone.utc)

    def due_jobs() -> None:
        run = run_due_jobs(db, clock, holder)
        if run.ran and (run.warnings or run.timers or run.escalations or run.credit_published):
            log.info("scheduler: %s warnings, %s timers, %s escalations, %s decisions published (双公示)",
                     run.warnings, run.timers, run.escalations, run.credit_published)

    scheduler.add_job(due_jobs, "interval", seconds=app.config["SCHEDULER_INTERVAL"], id=JOB_ID,
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    cache = duration_cache(app)

    def warm_durations() -> None:
        # Every process keeps its own cache warm (no lease): the board never waits for a year of steps.
        with db.reader.begin() as session:
            cache.refresh(session, load_calendar(session), clock.now())

    scheduler.add_job(warm_durations, "interval", seconds=cache.ttl.total_seconds() / 2, id=WARM_JOB_ID,
                      next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True)
    smtp_host = app.config.get("SMTP_HOST")
    if smtp_host:
        settings = SmtpSettings(host=smtp_host, port=int(app.config.get("SMTP_PORT", 25)),
                                sender=app.config.get("SMTP_SENDER", "yijianshi@localhost"),
                                username=app.config.get("SMTP_USERNAME"), password=app.config.get("SMTP_PASSWORD"),
                                starttls=bool(app.config.get("SMTP_STARTTLS")))

        def emails() -> None:
            with db.writer.begin() as session:
                send_pending_emails(session, settings, clock.now())

        scheduler.add_job(emails, "interval", seconds=60, id=EMAIL_JOB_ID, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler
