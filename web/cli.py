"""Command-line tasks: `flask --app web.app:create_app bootstrap` and friends (each one transaction)."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask

from engine.backup import backup, restore
from engine.calendar_store import seed_calendar
from engine.catalog import deploy_processes, ensure_departments
from engine.history import verify_chain
from engine.jobs import run_due_jobs
from engine.demo import DEMO_PASSWORD, ensure_demo_projects, ensure_demo_tickets, ensure_demo_users
from web.extensions import clock, database


def register_commands(app: Flask) -> None:
    @app.cli.command("deploy")
    def deploy_command() -> None:
        """Create missing departments and deploy every definition in processes/."""
        with database().writer.begin() as session:
            ensure_departments(session, clock())
            added = seed_calendar(session, clock())
            if added:
                click.echo(f"  calendar seeded for {', '.join(map(str, added))}")
            for report in deploy_processes(session, clock()):
                state = "new version" if report.created else "unchanged"
                click.echo(f"  {report.key:<24} v{report.version}  {state}")

    @app.cli.command("run-jobs")
    def run_jobs_command() -> None:
        """Run the scheduled jobs once (warnings, timers, escalations), e.g. from cron."""
        run = run_due_jobs(database(), clock(), f"cli:{os.getpid()}")
        if not run.ran:
            click.echo("another process holds the scheduler lease; nothing done")
            return
        click.echo(f"warnings: {run.warnings}, timers: {run.timers}, escalations: {run.escalations}, "
                   f"project steps: {run.project_steps}")

    @app.cli.command("verify-history")
    def verify_history_command() -> None:
        """Check the hash chain of every case file; exit 1 at the first broken link."""
        with database().reader.begin() as session:
            checked, broken = verify_chain(session)
        if broken is None:
            click.echo(f"history intact: {checked} events checked")
            return
        click.echo(f"BROKEN at case {broken.case_number}, event {broken.event_id}: {broken.reason}", err=True)
        raise SystemExit(1)

    @app.cli.command("backup")
    @click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(target: Path) -> None:
        """Write a consistent backup of the database (SQLite online backup, or pg_dump)."""
        click.echo(f"backup written to {backup(database(), target)}")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def restore_command(source: Path) -> None:
        """Replace the database's content with a backup. Stop the app first."""
        restore(database(), source)
        click.echo(f"restored from {source}")

    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo users, projects and tickets (development only) and print them."""
        with database().writer.begin() as session:
            ensure_departments(session, clock())
            users = ensure_demo_users(session, clock())
            projects = ensure_demo_projects(session, clock())
            tickets = ensure_demo_tickets(session, clock())
            click.echo("Demo accounts (development only), password for all: " + DEMO_PASSWORD)
            for user in users:
                click.echo(f"  {user.username:<14} {', '.join(sorted(user.roles)):<28} {user.department.name if user.department else ''}")
            if not projects:
                click.echo("Demo projects and tickets need the deployed flows: run `flask deploy` first")
                return
            click.echo("Demo projects (企业全生命周期服务):")
            for project in projects:
                linked = ", ".join(f"{s.name} {s.linked_case.number}" for s in project.steps if s.linked_case)
                click.echo(f"  {project.case.number}  {project.name:<12} {project.investment_yuan // 10_000:>8} 万元"
                           f"{'  重大项目' if project.major else ''}{'  一件事: ' + linked if linked else ''}")
            click.echo("Demo problem tickets (挂号 → 销号):")
            for ticket in tickets:
                click.echo(f"  {ticket.case.number}  {ticket.department.code:<8} {ticket.problem}")
