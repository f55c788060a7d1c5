"""Status vocabularies: stable ASCII codes stored in the database.

Labels for people live in the templates (zh-CN and English); these docstrings say what each
state means.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    WINDOW = "window"
    """Comprehensive-window clerk (综合窗口): accepts applications, hands out results."""
    REVIEWER = "reviewer"
    """Department reviewer: acts on their own department's tasks."""
    DEPARTMENT_HEAD = "department_head"
    """Head of a department: a reviewer who also approves extensions and transfers out."""
    SUPERVISOR = "supervisor"
    """Supervision office (督办科, 电子监察): sees every department, urges and supervises."""
    ANALYST = "analyst"
    """Designs and deploys process definitions."""
    ADMIN = "admin"
    """Manages departments, users and the calendar."""


class CaseStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    """Accepted (受理) and being handled by the departments."""
    COMPLETED = "completed"
    """Concluded with every department approving (办结)."""
    REJECTED = "rejected"
    """Concluded with a refusal (不予许可) by at least one department."""
    CANCELLED = "cancelled"
    """Stopped before it concluded (withdrawn by the applicant or terminated)."""
    NOT_ACCEPTED = "not_accepted"
    """Refused at the window (不予受理): outside the office's remit or not an application it may take;
    numbered, with a printed decision, but never handled by a department nor counted as 办件."""


class TaskState(StrEnum):
    OPEN = "open"
    """Waiting in the department's inbox, nobody has claimed it."""
    CLAIMED = "claimed"
    """Claimed by one reviewer (认领); others in the department see it but cannot act."""
    COMPLETED = "completed"
    """Done, with an outcome where the task is a review."""
    CANCELLED = "cancelled"
    """Withdrawn by the flow (e.g. an interrupting timer) before anyone completed it."""


OPEN_TASK_STATES = (TaskState.OPEN, TaskState.CLAIMED)


class TaskKind(StrEnum):
    INTAKE = "intake"
    """The window's acceptance of the application (一窗受理)."""
    REVIEW = "review"
    """A department's decision on its service item; takes an outcome."""
    SUPPLEMENT = "supplement"
    """The applicant supplies missing materials (补正), handled at the window."""
    DELIVERY = "delivery"
    """Handing out the results at one window (一窗出件)."""
    NOTICE = "notice"
    """Serving a decision notice, e.g. 不予许可决定书."""
    WINDOW = "window"
    """Any other task done at the window."""


class Outcome(StrEnum):
    APPROVE = "approve"
    """通过."""
    REJECT = "reject"
    """不予许可; a reason is required."""
    RETURN = "return"
    """退回补正: the applicant must supply materials; a reason is required."""


OUTCOMES_NEEDING_REASON = (Outcome.REJECT, Outcome.RETURN)


class Channel(StrEnum):
    WINDOW = "window"
    """Applied in person at the comprehensive window."""
    ONLINE = "online"
    """Applied through the online service hall (网上办)."""
    PARTNER = "partner"
    """Forwarded by a partner region (跨省通办)."""


class ClockKind(StrEnum):
    TASK = "task"
    """A department step's own limit (环节时限)."""
    PROMISED = "promised"
    """The case's promised limit (承诺时限)."""
    STATUTORY = "statutory"
    """The case's statutory limit (法定时限)."""


class PauseKind(StrEnum):
    SUPPLEMENT = "supplement"
    """补正: waiting for the applicant's materials; ends when they resubmit at the window."""
    SPECIAL_PROCEDURE = "special_procedure"
    """特别程序 (行政许可法 art. 45): not counted in the limit; started and ended by the reviewer."""


class SpecialProcedure(StrEnum):
    HEARING = "hearing"
    """听证."""
    INSPECTION = "inspection"
    """检验 / 检查."""
    TESTING = "testing"
    """检测."""
    EXPERT_REVIEW = "expert_review"
    """专家评审."""
    SITE_SURVEY = "site_survey"
    """现场踏勘."""


class WarningLevel(StrEnum):
    NORMAL = "normal"
    """Within the limit with time to spare."""
    NOTICE = "notice"
    """提示: the last working day(s) before the due date."""
    YELLOW = "yellow"
    """黄牌: due today, or most of the limit used."""
    RED = "red"
    """红牌: past the due date."""


WARNING_RANK = {WarningLevel.NORMAL: 0, WarningLevel.NOTICE: 1, WarningLevel.YELLOW: 2, WarningLevel.RED: 3}


class OrderStatus(StrEnum):
    OPEN = "open"
    """Issued; the department has not replied yet."""
    REPLIED = "replied"
    """The department replied (回告)."""
    ESCALATED = "escalated"
    """The reply is overdue; escalated to the supervisors' leadership."""


class ProjectKind(StrEnum):
    INVESTMENT = "investment"
    """招商: a new investment brought in by the district."""
    UPGRADE = "upgrade"
    """技改: technical renovation of an existing enterprise."""


class ProjectStage(StrEnum):
    """The five stages of a project's life, in order; each is a sub-process of qiye_xiangmu.bpmn."""

    INVESTMENT = "zhaoshang"
    """招商引资: negotiation, signing, filing."""
    ADMISSION = "zhunru"
    """审批准入: registration and the approvals the project needs."""
    CONSTRUCTION = "jianshe"
    """建设落地: permits and connections for construction."""
    OPERATION = "yunying"
    """生产运营: commissioning and the support policies."""
    EXIT = "tuichu"
    """清算退出: clearance and deregistration."""
    DONE = "done"
    """Every stage is behind the project (not a stage of the flow)."""


class TicketStatus(StrEnum):
    ASSIGNED = "assigned"
    """挂号 and 交办: the responsible department is working on it (落实)."""
    ESCALATED = "escalated"
    """督办: the department's limit passed; a supervision order is out."""
    REPLIED = "replied"
    """反馈: the department replied; waiting for the enterprise's confirmation."""
    CLOSED = "closed"
    """销号: the enterprise confirmed the problem solved."""


class DisclosureAnswer(StrEnum):
    """依申请公开: the kinds of answer counted in the annual report (条例 art. 36)."""

    PUBLIC = "public"
    """予以公开."""
    PARTIAL = "partial"
    """部分公开."""
    EXEMPT = "exempt"
    """不予公开."""
    NOT_EXIST = "not_exist"
    """信息不存在."""
    NOT_OURS = "not_ours"
    """非本机关负责公开."""
