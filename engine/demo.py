"""Demo data for development: accounts (one per role, and per department a reviewer, username = code,
and a head), a handful of enterprise projects at different stages, and two problem tickets.

Everything is made through the engine's services, as the window and the departments would, and
only what is missing is made, so `make run` may seed again on every start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock, FrozenClock
from engine.definitions import latest_definition
from engine.directory import WINDOW_DEPARTMENT, create_user
from engine.models import Department, Project, Task, Ticket, User
from engine.projects import PROJECT_FLOW, follow_project, register_project
from engine.tasks import complete_task
from engine.tickets import TICKET_FLOW, log_ticket
from engine.vocab import OPEN_TASK_STATES, Outcome, Role

DEMO_PASSWORD = "demo123"

_ROLE_ACCOUNTS = (
    ("window", "综合窗口受理员", [Role.WINDOW], WINDOW_DEPARTMENT),
    ("supervisor", "督办科", [Role.SUPERVISOR], None),
    ("analyst", "流程分析员", [Role.ANALYST], None),
    ("admin", "系统管理员", [Role.ADMIN], None),
)


def ensure_demo_users(session: Session, clock: Clock) -> list[User]:
    """Create the demo users that do not exist yet; return all of them, in a stable order."""
    wanted: list[tuple[str, str, list[str], str | None]] = list(_ROLE_ACCOUNTS)
    for department in session.scalars(select(Department).order_by(Department.code)):
        if department.code != WINDOW_DEPARTMENT:
            wanted.append((department.code, f"{department.name}审查员", [Role.REVIEWER], department.code))
            wanted.append((f"{department.code}_head", f"{department.name}负责人", [Role.DEPARTMENT_HEAD, Role.REVIEWER],
                           department.code))
    existing = {u.username: u for u in session.scalars(select(User))}
    users = []
    for username, display_name, roles, department in wanted:
        user = existing.get(username) or create_user(
            session, clock, username, DEMO_PASSWORD, [str(r) for r in roles], department, display_name
        )
        users.append(user)
    return users


@dataclass(frozen=True)
class DemoProject:
    fields: dict[str, Any]
    days_ago: int
    """Registered this many days before the seeding, so the plan has dates in the past."""
    steps_done: tuple[str, ...] = ()
    """Steps its departments approve, in order, two days apart from the registration on."""


_DEMO_PROJECTS = (
    # On plan and at the end of 建设落地: its 临时占路 step has opened a linked 一件事 case.
    DemoProject({"name": "新能源电池生产基地", "enterprise_name": "示例新能源科技有限公司", "kind": "investment",
                 "investment_yuan": 80_000_000, "contact_name": "王经理", "contact_phone": "13800138000",
                 "credit_code": "91120000MA05T8XX1A"},
                16, ("sign", "filing", "registration", "eia", "construction_permit", "fire_design", "utilities")),
    # Registered two months ago and nobody has acted since: behind plan and stalled.
    DemoProject({"name": "智能装备产业园", "enterprise_name": "示例装备制造有限公司", "kind": "investment",
                 "investment_yuan": 120_000_000, "contact_name": "周经理", "contact_phone": "13700137000"}, 60),
    DemoProject({"name": "冷链物流中心扩建", "enterprise_name": "示例冷链物流有限公司", "kind": "upgrade",
                 "investment_yuan": 6_500_000, "contact_name": "吴总", "contact_phone": "13600136000"}, 6, ("sign",)),
    DemoProject({"name": "包装生产线技术改造", "enterprise_name": "示例包装材料有限公司", "kind": "upgrade",
                 "investment_yuan": 2_000_000, "contact_name": "郑主任", "contact_phone": "13500135000"}, 3),
    DemoProject({"name": "社区便民连锁超市", "enterprise_name": "示例商贸有限公司", "kind": "investment",
                 "investment_yuan": 800_000, "contact_name": "孙店长", "contact_phone": "13400134000"}, 0),
)

_DEMO_TICKETS = (
    {"enterprise_name": "示例食品有限公司", "contact_name": "吴总", "contact_phone": "13600136000",
     "problem": "冷库用电增容申请已提交一个月，至今未接入", "category": "factor", "department": "power", "limit_days": 5},
    {"enterprise_name": "示例装备制造有限公司", "contact_name": "周经理", "contact_phone": "13700137000",
     "problem": "厂区门前道路破损，重型货车通行困难", "category": "other", "department": "urban", "limit_days": 10},
)


def ensure_demo_projects(session: Session, clock: Clock) -> list[Project]:
    """Register the demo projects that do not exist yet (by name); return all of them, in a stable order.

    Nothing is made before `flask deploy` has deployed the project flow."""
    if latest_definition(session, PROJECT_FLOW, required=False) is None:
        return []
    users = {u.username: u for u in session.scalars(select(User))}
    existing = {p.name: p for p in session.scalars(select(Project))}
    projects = []
    for demo in _DEMO_PROJECTS:
        project = existing.get(demo.fields["name"])
        if project is None:
            project = _seed_project(session, clock, users, demo)
        projects.append(project)
    return projects


def _seed_project(session: Session, clock: Clock, users: dict[str, User], demo: DemoProject) -> Project:
    # A clock of its own, set back, so the plan was locked in the past and the steps done since fall on it.
    past = FrozenClock(clock.now() - timedelta(days=demo.days_ago))
    project = register_project(session, past, users["window"], demo.fields)
    for element_id in demo.steps_done:
        past.advance(days=2)
        task = session.scalars(select(Task).where(Task.case_id == project.case_id, Task.element_id == element_id,
                                                  Task.state.in_(OPEN_TASK_STATES))).one()
        complete_task(session, past, users[task.department.code], task.id, Outcome.APPROVE, "同意，按计划推进")
    # The departments' decisions above went through engine.tasks; reaching a 一件事 step opens its case here.
    follow_project(session, past, project.id)
    return project


def ensure_demo_tickets(session: Session, clock: Clock) -> list[Ticket]:
    """Log the demo problem tickets that do not exist yet (by enterprise and problem); return all of them."""
    if latest_definition(session, TICKET_FLOW, required=False) is None:
        return []
    window = session.scalar(select(User).where(User.username == "window"))
    assert window is not None, "ensure_demo_users first"
    existing = {(t.enterprise_name, t.problem): t for t in session.scalars(select(Ticket))}
    return [existing.get((fields["enterprise_name"], fields["problem"])) or log_ticket(session, clock, window, fields)
            for fields in _DEMO_TICKETS]
