"""Persistent model: departments, users, definitions, cases, task rows and the case history."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.calendar import office_day_number
from engine.db import Base
from engine.vocab import CaseStatus, Channel, TaskState


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]
    # Warning thresholds for this department's clocks, overriding the 一件事's and the defaults.
    warning_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"<Department {self.code}>"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Repeated wrong passwords lock the account for a while (see engine.directory.authenticate).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]

    department: Mapped[Department | None] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="user"
    )

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class ProcessDefinition(Base):
    """One deployed version of a 一件事 flow. Cases are pinned to the version they started on."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    # Catalog data that belongs to the whole 一件事 (promised / statutory limits, description ...).
    catalog: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deployed_at: Mapped[datetime]
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")


class Case(Base):
    """One application (办件): one running instance of a definition version."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    applicant_id_number: Mapped[str | None] = mapped_column(String(40))
    applicant_phone: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default=Channel.WINDOW)
    # Printed on the receipt; with the number it opens the public progress page.
    query_code: Mapped[str] = mapped_column(String(12))
    # Times the applicant came to a window for this case (一次办 means one); 0 for online/partner until pickup.
    visits: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # 帮办代办: the clerk who filled in the application for the applicant, if one did.
    assisted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # 一窗出件: pickup at the window or free EMS mail, with its tracking number.
    delivery_method: Mapped[str | None] = mapped_column(String(20))
    tracking_number: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.IN_PROGRESS, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Workflow instance state, without the spec (definitions are stored once).
    state: Mapped[str] = mapped_column(Text)
    state_format: Mapped[int] = mapped_column(Integer)
    # Bumped by every change; concurrent writers are caught by SQLAlchemy's version check.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    # When the earliest BPMN timer of the workflow is due, so the timer job never loads idle cases.
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    # The hash of the case's latest history event (engine.history): the next event chains onto it.
    # Kept here so every event also changes the case row, and with it the version.
    last_event_hash: Mapped[str | None] = mapped_column(String(64))

    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")
    tasks: Mapped[list[Task]] = relationship(
        back_populates="case", order_by="Task.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Case statistics by period read this index instead of the rows, which carry the workflow state.
        Index("ix_cases_stats", "accepted_at", "definition_id", "channel", "visits", "completed_at", "status"),
    )


class CaseNumberCounter(Base):
    """The last case number handed out per day, so numbers are dense and unique under concurrency."""

    __tablename__ = "case_number_counters"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Task(Base):
    """A human task of a case, mirrored from the workflow so inboxes are plain indexed queries.

    A few tasks live outside the workflow (`workflow_task_id` is NULL): an opinion asked by 加签, a
    差评 rectification and its 回访. They have the same inbox, clock and history as the others.
    """

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_department_state", "department_id", "state"),
        Index("ix_tasks_assignee_state", "assignee_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    workflow_task_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    element_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default=TaskState.OPEN)
    time_limit_days: Mapped[int | None]
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(20))
    opinion: Mapped[str | None] = mapped_column(Text)
    clock_id: Mapped[int | None] = mapped_column(ForeignKey("clocks.id"), index=True)
    # 委派: the reviewer who delegated this task and must confirm it once the delegate resolves it.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delegation: Mapped[str | None] = mapped_column(String(20))
    # 加签: the task an added signer's opinion belongs to, and whether it comes before or after it.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    signer_position: Mapped[str | None] = mapped_column(String(10))
    # A completion held until the signers added "after" have given their opinion.
    held_completion: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship(back_populates="tasks")
    clock: Mapped[Clock | None] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id], lazy="joined")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])


class CaseEvent(Base):
    """One entry of the case file (一事一档). Rows are only ever inserted."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Each event's hash covers its content and the previous event's hash of the same case.
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship(lazy="joined")


class Clock(Base):
    """A time limit counted in working days: one per department step (环节时限) and two per case
    (承诺时限 promised, 法定时限 statutory).

    The due date is derived from the start, the limit, the paused working days and the extensions;
    it and the warning thresholds are stored only so SQL can scan and sort by them, and they are
    recomputed whenever an input (or the calendar) changes.
    """

    __tablename__ = "clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    element_id: Mapped[str | None] = mapped_column(String(120))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    limit_days: Mapped[int]
    started_at: Mapped[datetime]
    paused_since: Mapped[datetime | None]
    paused_days: Mapped[int] = mapped_column(default=0)
    extended_days: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    notice_at: Mapped[datetime]
    yellow_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    level: Mapped[str] = mapped_column(String(10), default="normal")
    next_warning_at: Mapped[datetime | None] = mapped_column(index=True)
    # The due date depends on a year whose official holiday schedule is not confirmed yet.
    unconfirmed: Mapped[bool] = mapped_column(default=False)
    # Derived on every flush (`_derive_clock_days`), for the statistics: office-local day numbers of the
    # start and stop, and whether it stopped after its due date (NULL while running). Integer columns
    # aggregate over half a million steps far cheaper than parsing and comparing timestamps.
    started_day: Mapped[int] = mapped_column(Integer, server_default="0")
    stopped_day: Mapped[int | None] = mapped_column(Integer)
    late: Mapped[bool | None]

    case: Mapped[Case] = relationship()
    department: Mapped[Department | None] = relationship()

    __table_args__ = (
        # Department / step statistics and durations read only this index, grouped in its order.
        Index("ix_clocks_stats", "kind", "department_id", "element_id", "started_day", "stopped_day", "late", "due_at",
              "paused_days", "paused_since", "level", "case_id"),
    )


@event.listens_for(Clock, "before_insert")
@event.listens_for(Clock, "before_update")
def _derive_clock_days(_mapper: Any, _connection: Any, clock: Clock) -> None:
    clock.started_day = office_day_number(clock.started_at)
    stopped = clock.stopped_at
    clock.stopped_day = office_day_number(stopped) if stopped is not None else None
    clock.late = stopped > clock.due_at if stopped is not None else None


class ClockPause(Base):
    """A stretch when a clock does not run: 补正 (waiting for the applicant) or 特别程序 (art. 45)."""

    __tablename__ = "clock_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    kind: Mapped[str] = mapped_column(String(30))
    procedure: Mapped[str | None] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The 补正 task whose completion (the applicant's resubmission) ends this pause.
    resume_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    working_days: Mapped[int | None]

    clock: Mapped[Clock] = relationship()


class ClockExtension(Base):
    """延期 (art. 42): extra working days approved by the department head, with a reason."""

    __tablename__ = "clock_extensions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    working_days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]

    clock: Mapped[Clock] = relationship()


class CalendarSchedule(Base):
    """Whether a year's official holiday schedule (published each November) is confirmed."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    confirmed: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(40))
    # Bumped on every change; with updated_at it tells each process its cached calendar is stale.
    revision: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CalendarDay(Base):
    """A day that differs from the Monday–Friday rule: a holiday or closure off, or a 调休 workday on."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(200), default="")


class Notification(Base):
    """An in-app message: a warning level change, an urge, a supervision order."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    case: Mapped[Case | None] = relationship()


class SupervisionOrder(Base):
    """督办单: a supervision order to a department, which must reply (回告) within its own limit."""

    __tablename__ = "supervision_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    text: Mapped[str] = mapped_column(Text)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime]
    reply_within_days: Mapped[int]
    reply_due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    reply_text: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    escalated_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    department: Mapped[Department] = relationship(lazy="joined")


class SchedulerLease(Base):
    """Which process runs the scheduled jobs; renewed while it lives, taken over when it expires."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]


class Rating(Base):
    """好差评: the applicant's rating of a concluded case. Levels 1–2 are a 差评 and open a rectification."""

    __tablename__ = "ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    level: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(20))
    rated_at: Mapped[datetime]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    rectification_task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    rectified_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()


class CaseMaterial(Base):
    """One file of the application's single set of materials (一套材料), or a result document (电子证照)."""

    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="application")
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime]
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class MissingMaterial(Base):
    """容缺受理: a material accepted as missing, with the date the applicant promised to bring it."""

    __tablename__ = "missing_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    promised_date: Mapped[date] = mapped_column(Date)
    supplied_at: Mapped[datetime | None]
    material_id: Mapped[int | None] = mapped_column(ForeignKey("case_materials.id"))


class Commitment(Base):
    """告知承诺: the applicant's signed commitment replacing a proof, and the follow-up check it needs."""

    __tablename__ = "commitments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    material: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    check_due_at: Mapped[datetime]
    checked_at: Mapped[datetime | None]
    checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    check_result: Mapped[str | None] = mapped_column(Text)

    department: Mapped[Department] = relationship(lazy="joined")


class CarbonCopy(Base):
    """抄送: a task shown for information to a person or a whole department."""

    __tablename__ = "carbon_copies"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]

    task: Mapped[Task] = relationship()


class OpinionPhrase(Base):
    """A reusable 审批意见; shared when `user_id` is NULL."""

    __tablename__ = "opinion_phrases"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))


class SupervisionFeedItem(Base):
    """审管联动: an approval result pushed to the supervising department's feed."""

    __tablename__ = "supervision_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    result: Mapped[str] = mapped_column(String(20))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for a system or a person; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class IdempotentRequest(Base):
    """The first answer to a request sent with an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotent_requests"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(200))
    status: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ThrottleSlot(Base):
    """Failed guesses (wrong passwords, wrong progress queries) from one address in one minute, shared
    by every worker and host; see `engine.throttle`."""

    __tablename__ = "throttle_slots"

    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int]


# --- Enterprise services (issue 9): project lifecycle, problem tickets, the 双公示 credit feed ---------------
# Each project and each ticket is a case of its own flow (processes/qiye_xiangmu.bpmn, wenti_gongdan.bpmn), so
# steps, clocks, warnings and supervision are the engine's; these rows hold only what the flow does not.


class Project(Base):
    """An enterprise's investment project followed from 招商引资 to 清算退出 (企业全生命周期服务)."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    # Yuan, whole: 900 projects of up to hundreds of millions fit a 64-bit integer with room to spare.
    investment_yuan: Mapped[int] = mapped_column(BigInteger)
    # ≥ 5 million yuan (重大项目); stored so the overview filters and counts it in SQL.
    major: Mapped[bool] = mapped_column(default=False, index=True)
    contact_name: Mapped[str] = mapped_column(String(80))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    registered_at: Mapped[datetime]
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship(lazy="joined")
    steps: Mapped[list[ProjectStep]] = relationship(
        back_populates="project", order_by="ProjectStep.position", cascade="all, delete-orphan"
    )


class ProjectStep(Base):
    """One step of a project's plan, locked when the project entered the platform (锁定每一个环节的办理时间).

    The actual dates are the flow's task rows for the same element, or the linked 一件事 case's
    acceptance and conclusion for a step that stands for one; the plan never moves with them.
    """

    __tablename__ = "project_steps"
    __table_args__ = (UniqueConstraint("project_id", "element_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    stage: Mapped[str] = mapped_column(String(20))
    element_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    planned_days: Mapped[int]
    planned_start: Mapped[date] = mapped_column(Date)
    planned_due: Mapped[date] = mapped_column(Date)
    # The 一件事 (definition key) this step stands for, locked with the plan like its working days.
    matter: Mapped[str | None] = mapped_column(String(60))
    # The case of that 一件事 accepted for the enterprise when the flow reached the step; one step per case.
    linked_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), unique=True)

    project: Mapped[Project] = relationship(back_populates="steps")
    department: Mapped[Department] = relationship(lazy="joined")
    linked_case: Mapped[Case | None] = relationship(foreign_keys=[linked_case_id])


class Ticket(Base):
    """A problem an enterprise raised (挂号 → 交办 → 落实 → 督办 → 反馈 → 销号); its steps are its case's tasks."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    enterprise_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(40))
    contact_name: Mapped[str] = mapped_column(String(80))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    problem: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    limit_days: Mapped[int]
    logged_at: Mapped[datetime]
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # 督办: when the latest overdue round was escalated, and the supervision order it raised.
    escalated_at: Mapped[datetime | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("supervision_orders.id"))

    case: Mapped[Case] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")


class CreditFeedItem(Base):
    """双公示: one approval decision (行政许可) as the credit-information platform takes it, once per case."""

    __tablename__ = "credit_feed_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    decision: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime]
    # The platform must have it within 7 working days of the decision.
    due_by: Mapped[datetime]
    published_at: Mapped[datetime] = mapped_column(index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
