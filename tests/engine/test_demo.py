"""Demo data for `make run`: made through the engine's services, and made once however often it is seeded."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.catalog import deploy_processes, ensure_departments
from engine.demo import ensure_demo_projects, ensure_demo_tickets, ensure_demo_users
from engine.models import Case, Project, Ticket, User
from engine.projects import MAJOR_PROJECT_YUAN, list_projects


def seed(session, clock) -> tuple[list[Project], list[Ticket]]:
    ensure_departments(session, clock)
    ensure_demo_users(session, clock)
    return ensure_demo_projects(session, clock), ensure_demo_tickets(session, clock)


def test_demo_projects_and_tickets_are_seeded_once(session, clock) -> None:
    ensure_departments(session, clock)
    deploy_processes(session, clock)
    projects, tickets = seed(session, clock)
    cases = session.scalar(select(func.count(Case.id)))
    again_projects, again_tickets = seed(session, clock)
    assert [p.id for p in again_projects] == [p.id for p in projects] and len(projects) == 5
    assert [t.id for t in again_tickets] == [t.id for t in tickets] and len(tickets) == 2
    assert session.scalar(select(func.count(Case.id))) == cases
    assert sum(p.investment_yuan >= MAJOR_PROJECT_YUAN for p in projects) >= 3
    supervisor = session.scalar(select(User).where(User.username == "supervisor"))
    assert any(p.behind_steps for p in list_projects(session, supervisor, clock.now()))
    assert [s.linked_case.definition.key for p in projects for s in p.steps if s.linked_case] == ["linshi_zhanlu"]


def test_without_deployed_flows_the_demo_has_accounts_only(session, clock) -> None:
    assert seed(session, clock) == ([], [])
