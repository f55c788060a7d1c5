"""企业全生命周期服务: a project through its five stages, its locked plan, and who sees it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.db import Database
from engine.definitions import latest_definition
from engine.delivery import deliver
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.history import events_of
from engine.jobs import run_due_jobs
from engine.models import Project, ProjectStep, Task, User
from engine.projects import (
    ProjectFilter, follow_project, list_projects, overview, plan_template, project_progress, register_project,
    upcoming_for_department,
)
from engine.tasks import complete_task
from engine.vocab import CaseStatus, ProjectStage, TaskState
from tests.window_data import open_task_of
from tests.factories import make_demo_site


@pytest.fixture
def demo(session, clock) -> dict[str, User]:
    return make_demo_site(session, clock)


def new_project(session, clock, demo, **overrides) -> Project:
    fields = {"name": "新能源电池项目", "enterprise_name": "示例新能源有限公司", "kind": "investment",
              "investment_yuan": 80_000_000, "contact_name": "王经理", "contact_phone": "13800138000",
              "credit_code": "91120000MA05T8XX1A", **overrides}
    return register_project(session, clock, demo["window"], fields)


def open_tasks(session, project: Project) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == project.case_id, Task.state == TaskState.OPEN)
                                .order_by(Task.id)))


def test_the_plan_is_locked_when_the_project_enters(session, clock, demo) -> None:
    project = new_project(session, clock, demo, planned_days={"eia": 20})
    steps = {s.element_id: s for s in project.steps}
    assert [s.stage for s in project.steps][:2] == [ProjectStage.INVESTMENT] * 2
    assert len(steps) == len(plan_template(session)) == 12
    # 招商引资 is sequential; 审批准入's two approvals run side by side after it.
    assert steps["filing"].planned_start == steps["sign"].planned_due
    assert steps["registration"].planned_start == steps["eia"].planned_start == steps["filing"].planned_due
    assert steps["eia"].planned_days == 20 and steps["registration"].planned_days == 3
    # The next stage waits for the slower approval.
    assert steps["construction_permit"].planned_start == steps["eia"].planned_due
    assert project.major and project.case.definition.key == "qiye_xiangmu"
    assert {t.element_id for t in open_tasks(session, project)} == {"sign"}


def test_a_project_goes_through_five_stages_and_a_late_step_shows_behind_plan(session, clock, demo) -> None:
    project = new_project(session, clock, demo)
    seen_stages = []
    for _ in range(30):
        tasks = open_tasks(session, project)
        if not tasks:
            break
        progress = project_progress(session, demo["supervisor"], project.id, clock.now())
        if progress.stage not in seen_stages:
            seen_stages.append(progress.stage)
        task = tasks[0]
        if task.element_id == "road_occupation":  # stands for a 临时占路 case: it completes when that case does
            follow_project(session, clock, project.id)
            case = road_step(session, project.id).linked_case
            for element_id in ("review_urban", "review_traffic"):
                review = open_task_of(session, case, element_id)
                complete_task(session, clock, demo[review.department.code], review.id, "approve", "同意占路")
            deliver(session, clock, demo["window"], case.id, "pickup")
            follow_project(session, clock, project.id)
            continue
        if task.element_id == "fire_design":
            clock.advance(days=90)  # the fire design review takes three months instead of ten working days
        complete_task(session, clock, demo[task.department.code], task.id, "approve", "同意")
    assert seen_stages == list(ProjectStage)[:5]
    progress = project_progress(session, demo["supervisor"], project.id, clock.now())
    assert progress.stage == ProjectStage.DONE and project.case.status == "completed"
    behind = {s.element_id for s in progress.behind_steps}
    assert "fire_design" in behind and "sign" not in behind
    fire = next(s for s in progress.steps if s.element_id == "fire_design")
    assert fire.days_late > 5 and fire.completed_at is not None
    assert overview(session, demo["supervisor"], clock.now()).projects_behind == 1


def test_an_open_step_past_its_planned_due_is_behind_and_a_quiet_project_stalls(session, clock, demo) -> None:
    project = new_project(session, clock, demo)
    clock.advance(days=40)
    progress = project_progress(session, demo["supervisor"], project.id, clock.now())
    assert [s.element_id for s in progress.behind_steps][:2] == ["sign", "filing"]
    assert progress.stalled and progress.stage == ProjectStage.INVESTMENT
    assert [p.project.id for p in list_projects(session, demo["supervisor"], clock.now(), ProjectFilter(stalled=True))] == [project.id]
    summary = overview(session, demo["supervisor"], clock.now())
    assert summary.stalled[0].project.id == project.id and summary.steps_behind >= 2


def test_departments_see_the_projects_that_involve_them_before_the_application_arrives(session, clock, demo) -> None:
    project = new_project(session, clock, demo)
    fire = demo["fire"]
    mine = list_projects(session, fire, clock.now())
    assert [p.project.id for p in mine] == [project.id]
    upcoming = upcoming_for_department(mine, fire.department_id)
    assert [s.element_id for _p, s in upcoming] == ["fire_design"]
    assert list_projects(session, demo["health"], clock.now()) == []
    with pytest.raises(NotFound):
        project_progress(session, demo["health"], project.id, clock.now())


def test_overview_counts_by_stage_and_type(session, clock, demo) -> None:
    new_project(session, clock, demo)
    new_project(session, clock, demo, name="技改项目", kind="upgrade", investment_yuan=3_000_000, credit_code=None)
    summary = overview(session, demo["supervisor"], clock.now())
    assert summary.total == 2 and summary.major == 1 and summary.investment_yuan == 83_000_000
    assert summary.by_stage[ProjectStage.INVESTMENT]["count"] == 2
    assert summary.by_kind["upgrade"] == {"count": 1, "major": 0, "investment_yuan": 3_000_000}


@pytest.mark.parametrize("bad", [
    {"kind": "other"}, {"investment_yuan": -1}, {"investment_yuan": "100"}, {"name": ""},
    {"credit_code": "123"}, {"planned_days": {"nope": 3}}, {"planned_days": {"eia": 0}},
])
def test_bad_projects_are_refused(session, clock, demo, bad) -> None:
    with pytest.raises(InvalidInput):
        new_project(session, clock, demo, **bad)


def test_only_the_window_registers_projects(session, clock, demo) -> None:
    with pytest.raises(PermissionDenied):
        register_project(session, clock, demo["fire"], {})


# --- A step that stands for a 一件事 --------------------------------------------------------------------------------

def walk_to(session, clock, users: dict[str, User], project: Project, element_id: str) -> None:
    """Approve the project's steps, one department after another, until `element_id` is open."""
    for _ in range(20):
        tasks = open_tasks(session, project)
        if element_id in {t.element_id for t in tasks}:
            return
        task = tasks[0]
        complete_task(session, clock, users[task.department.code], task.id, "approve", "同意")
    raise AssertionError(f"{element_id} never opened")


def road_step(session, project_id: int) -> ProjectStep:
    return session.scalars(select(ProjectStep).where(ProjectStep.project_id == project_id,
                                                     ProjectStep.element_id == "road_occupation")).one()


def people(session) -> dict[str, User]:
    return {u.username: u for u in session.scalars(select(User))}


def test_a_step_standing_for_a_one_thing_opens_its_case_and_completes_when_the_case_concludes(db: Database, clock) -> None:
    with db.writer.begin() as s:
        make_demo_site(s, clock)
        project = new_project(s, clock, people(s))
        assert road_step(s, project.id).matter == "linshi_zhanlu"
        walk_to(s, clock, people(s), project, "road_occupation")
        project_id = project.id
        # A department's decision reached the step (engine.tasks): the scheduler opens the case.
        assert road_step(s, project_id).linked_case_id is None

    clock.advance(minutes=1)
    assert run_due_jobs(db, clock, "test").project_steps == 1
    with db.writer.begin() as s:
        users, project, step = people(s), s.get(Project, project_id), road_step(s, project_id)
        case = step.linked_case
        assert case is not None and case.definition.key == "linshi_zhanlu" and case.status == CaseStatus.IN_PROGRESS
        assert (case.applicant_name, case.applicant_phone, case.applicant_id_number) == (
            "示例新能源有限公司", "13800138000", "91120000MA05T8XX1A")
        assert case.channel == "window" and case.created_by_id == users["window"].id
        assert case.assisted_by_id == users["window"].id  # 帮办代办: the clerk filled it in for the enterprise
        assert case.data["project_name"] == "新能源电池项目" and case.data["contact_name"] == "王经理"
        assert "project_case_linked" in [e.action for e in events_of(s, project.case)]
        # 主动服务: the traffic police review the linked case, so they see the project now.
        assert [p.project.id for p in list_projects(s, users["traffic"], clock.now())] == [project_id]
        progress = project_progress(s, users["supervisor"], project_id, clock.now())
        shown = next(st for st in progress.steps if st.element_id == "road_occupation")
        assert (shown.linked_case_number, shown.linked_case_status, shown.state) == (case.number, "in_progress", "open")
        assert shown.started_at == case.accepted_at and progress.stage == ProjectStage.CONSTRUCTION
        # Repeating the work changes nothing: the case is opened once.
        assert follow_project(s, clock, project_id) == 0
        # The step itself is decided by its case, not by hand from the urban department's inbox.
        step_task = open_task_of(s, project.case, "road_occupation")
        with pytest.raises(Conflict, match="completes by itself"):
            complete_task(s, clock, users["urban"], step_task.id, "approve", "直接通过")

        clock.advance(days=1)
        for element_id in ("review_urban", "review_traffic"):
            task = open_task_of(s, case, element_id)
            complete_task(s, clock, users[task.department.code], task.id, "approve", "同意占路")
        deliver(s, clock, users["window"], case.id, "pickup")
        assert case.status == CaseStatus.COMPLETED
        concluded_at = case.completed_at

    clock.advance(minutes=1)
    assert run_due_jobs(db, clock, "test").project_steps == 1
    with db.writer.begin() as s:
        project = s.get(Project, project_id)
        progress = project_progress(s, people(s)["supervisor"], project_id, clock.now())
        shown = next(st for st in progress.steps if st.element_id == "road_occupation")
        # Planned against actual uses the linked case's own dates, not the minute the job took.
        assert shown.state == "done" and shown.completed_at == concluded_at and shown.linked_case_status == "completed"
        assert progress.stage == ProjectStage.OPERATION
        assert {t.element_id for t in open_tasks(s, project)} == {"commissioning", "policy"}
        step_task = s.scalars(select(Task).where(Task.case_id == project.case_id,
                                                 Task.element_id == "road_occupation")).one()
        assert step_task.outcome == "approve" and step_task.opinion.startswith(f"一件事 {shown.linked_case_number}")
    assert run_due_jobs(db, clock, "test").project_steps == 0


def test_a_refused_one_thing_case_completes_its_step_with_a_refusal(session, clock, demo) -> None:
    project = new_project(session, clock, demo)
    walk_to(session, clock, demo, project, "road_occupation")
    assert follow_project(session, clock, project.id) == 1  # the service the job calls, in the caller's transaction
    case = road_step(session, project.id).linked_case
    assert case is not None
    complete_task(session, clock, demo["urban"], open_task_of(session, case, "review_urban").id, "reject", "路段禁止占用")
    complete_task(session, clock, demo["traffic"], open_task_of(session, case, "review_traffic").id, "approve", "同意")
    for task in session.scalars(select(Task).where(Task.case_id == case.id, Task.state == TaskState.OPEN)):
        complete_task(session, clock, demo["window"], task.id)  # the refusal notice handed out
    assert case.status == CaseStatus.REJECTED
    assert follow_project(session, clock, project.id) == 1
    step_task = session.scalars(select(Task).where(Task.case_id == project.case_id,
                                                   Task.element_id == "road_occupation")).one()
    assert step_task.state == TaskState.COMPLETED and step_task.outcome == "reject"
    assert {t.element_id for t in open_tasks(session, project)} == {"commissioning", "policy"}


def test_a_step_naming_an_undeployed_one_thing_is_refused_at_registration(session, clock, demo) -> None:
    latest_definition(session, "linshi_zhanlu").key = "linshi_zhanlu_old"  # as if it was never deployed
    with pytest.raises(InvalidInput, match="road_occupation"):
        new_project(session, clock, demo)
