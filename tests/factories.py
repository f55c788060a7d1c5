"""Short factories for test data. Each takes a session and a clock and flushes, never commits."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.cases import accept_case
from engine.catalog import deploy_processes, ensure_departments
from engine.clock import Clock
from engine.db import Base, Database
from engine.definitions import deploy_definition
from engine.demo import ensure_demo_users
from engine.directory import create_department, create_user
from engine.models import Case, ProcessDefinition, User

BPMN_DIR = Path(__file__).resolve().parent / "engine" / "bpmn"
PASSWORD = "secret123"

TEST_DEPARTMENTS = (("window", "综合窗口"), ("alpha", "甲局"), ("beta", "乙局"), ("gamma", "丙局"))


def bpmn(name: str) -> bytes:
    return (BPMN_DIR / name).read_bytes()


def make_departments(session: Session, clock: Clock) -> None:
    for code, name in TEST_DEPARTMENTS:
        create_department(session, clock, code, name)


def make_user(session: Session, clock: Clock, username: str, roles: list[str], department: str | None = None) -> User:
    return create_user(session, clock, username, PASSWORD, roles, department)


def make_staff(session: Session, clock: Clock) -> dict[str, User]:
    """The test departments, a window clerk, one reviewer per department, and the oversight roles."""
    make_departments(session, clock)
    users = {
        "window": make_user(session, clock, "window", ["window"], "window"),
        "supervisor": make_user(session, clock, "supervisor", ["supervisor"]),
        "analyst": make_user(session, clock, "analyst", ["analyst"]),
        "admin": make_user(session, clock, "admin", ["admin"]),
    }
    for code in ("alpha", "beta", "gamma"):
        users[code] = make_user(session, clock, code, ["reviewer"], code)
    return users


def make_definition(session: Session, clock: Clock, name: str = "parallel_three.bpmn") -> ProcessDefinition:
    definition, _created = deploy_definition(session, clock, bpmn(name), filename=name)
    return definition


def make_case(session: Session, clock: Clock, clerk: User, key: str = "parallel_three", **data: object) -> Case:
    return accept_case(session, clock, clerk, key, {"name": "张三", "phone": "13800138000"}, dict(data))


def accepted_parallel_case(db: Database, clock: Clock) -> int:
    """Staff, the three-department definition and one accepted case, committed; the case's id."""
    with db.writer.begin() as session:
        staff = make_staff(session, clock)
        make_definition(session, clock)
        return make_case(session, clock, staff["window"]).id


def make_demo_site(session: Session, clock: Clock) -> dict[str, User]:
    """What `make run` sets up: the departments, every process of processes/ and the demo users, by username."""
    ensure_departments(session, clock)
    deploy_processes(session, clock)
    return {u.username: u for u in ensure_demo_users(session, clock)}


def empty_tables(db: Database) -> None:
    """Delete every row (PostgreSQL: truncate and restart the ids), children before parents."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as connection:
        if db.is_sqlite:
            for name in tables:
                connection.execute(text(f'DELETE FROM "{name}"'))
        else:
            connection.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in tables) + " RESTART IDENTITY CASCADE"))
