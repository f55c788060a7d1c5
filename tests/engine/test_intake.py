"""容缺受理, 告知承诺 and 帮办代办 at acceptance, and the supervising department's commitment checks."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from engine.calendar import OFFICE_TZ
from engine.calendar_store import load_calendar
from engine.cases import accept_case, refuse_application
from engine.deadlines import local_day
from engine.definitions import deploy_definition
from engine.errors import Conflict, InvalidInput, PermissionDenied
from engine.history import events_of
from engine.intake import check_commitment, commitment_checks
from engine.models import Case, Clock, Commitment, MissingMaterial, Task
from engine.notifications import unread_count
from engine.progress import StepStatus, find_case, progress_of
from engine.stats import Period, channel_figures, monthly_by_matter
from tests.factories import bpmn, make_definition, make_staff

APPLICANT = {"name": "张三", "phone": "13800138000"}


@pytest.fixture
def staff(session, clock):
    users = make_staff(session, clock)
    make_definition(session, clock)
    return users


def accept(session, clock, staff, **extras) -> Case:
    return accept_case(session, clock, staff["window"], "parallel_three", APPLICANT, **extras)


def test_accepting_with_missing_materials_tracks_each_item(session, clock, staff) -> None:
    case = accept(session, clock, staff, missing_materials=[
        {"name": "消防验收意见书", "promised_date": "2026-11-30"}, {"name": "房屋租赁合同", "promised_date": "2026-11-23"}])
    missing = session.scalars(select(MissingMaterial).where(MissingMaterial.case_id == case.id)).all()
    assert [(m.name, m.promised_date, m.supplied_at) for m in missing] == [
        ("消防验收意见书", date(2026, 11, 30), None), ("房屋租赁合同", date(2026, 11, 23), None)]
    events = [e.details for e in events_of(session, case) if e.action == "accepted_with_missing"]
    assert events[0] == {"name": "消防验收意见书", "promised_date": "2026-11-30"}


@pytest.mark.parametrize("missing, message", [
    ([{"name": "x", "promised_date": "2026-11-22"}], "in the past"),
    ([{"name": "x", "promised_date": "2028-01-01"}], "more than a year"),
    ([{"name": "x", "promised_date": "soon"}], "must be a date"),
    ([{"name": " ", "promised_date": "2026-11-30"}], "name is required"),
    ({"name": "x"}, "list of objects"),
    (["x"], "list of objects"),
])
def test_missing_materials_are_checked_before_anything_is_created(session, clock, staff, missing, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        accept(session, clock, staff, missing_materials=missing)
    assert session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_commitment_creates_a_check_for_the_supervising_department(session, clock, staff) -> None:
    deploy_definition(session, clock, bpmn("parallel_three.bpmn"), catalog={"supervising_department": "gamma"})
    case = accept(session, clock, staff, commitments=[{"material": "消防安全检查合格证明", "text": "本人承诺符合消防安全条件"}])
    commitment = session.scalars(select(Commitment).where(Commitment.case_id == case.id)).one()
    assert commitment.department.code == "gamma" and commitment.checked_at is None
    # 30 working days from Mon 2026-11-23: New Year's Day 2027 is off
    assert local_day(commitment.check_due_at) == date(2027, 1, 5)
    assert unread_count(session, staff["gamma"]) == 1 and unread_count(session, staff["alpha"]) == 0
    assert [e.details["material"] for e in events_of(session, case) if e.action == "commitment_signed"] == ["消防安全检查合格证明"]


def test_without_a_supervising_department_the_first_reviewing_one_checks(session, clock, staff) -> None:
    case = accept(session, clock, staff, commitments=[{"material": "证明", "text": "承诺"}])
    assert session.scalars(select(Commitment).where(Commitment.case_id == case.id)).one().department.code == "alpha"


@pytest.mark.parametrize("commitments", [[{"material": "证明"}], [{"material": "", "text": "承诺"}], "承诺"])
def test_a_commitment_needs_the_material_and_the_text(session, clock, staff, commitments) -> None:
    with pytest.raises(InvalidInput):
        accept(session, clock, staff, commitments=commitments)


def test_the_supervising_department_checks_each_commitment_once(session, clock, staff) -> None:
    case = accept(session, clock, staff, commitments=[{"material": "证明", "text": "承诺"}])
    (commitment, listed_case), = commitment_checks(session, staff["alpha"])
    assert listed_case.id == case.id
    assert commitment_checks(session, staff["beta"]) == []
    assert len(commitment_checks(session, staff["supervisor"])) == 1
    with pytest.raises(PermissionDenied):
        check_commitment(session, clock, staff["beta"], commitment.id, "属实")
    with pytest.raises(PermissionDenied):
        check_commitment(session, clock, staff["window"], commitment.id, "属实")
    with pytest.raises(InvalidInput):
        check_commitment(session, clock, staff["alpha"], commitment.id, " ")
    clock.set(datetime(2026, 12, 1, 10, tzinfo=OFFICE_TZ))
    check_commitment(session, clock, staff["alpha"], commitment.id, "现场核查属实")
    assert (commitment.check_result, commitment.checked_by_id) == ("现场核查属实", staff["alpha"].id)
    with pytest.raises(Conflict):
        check_commitment(session, clock, staff["alpha"], commitment.id, "again")
    assert commitment_checks(session, staff["alpha"]) == []
    assert len(commitment_checks(session, staff["alpha"], include_done=True)) == 1
    checked = [e for e in events_of(session, case) if e.action == "commitment_checked"][0]
    assert checked.details == {"material": "证明", "result": "现场核查属实", "late": False}


def test_an_assisted_application_records_the_clerk(session, clock, staff) -> None:
    case = accept(session, clock, staff, assisted=True)
    assert case.assisted_by_id == staff["window"].id
    assert [e.details for e in events_of(session, case) if e.action == "assisted"] == [{"clerk": "window"}]
    plain = accept(session, clock, staff)
    assert plain.assisted_by_id is None and "assisted" not in [e.action for e in events_of(session, plain)]
    with pytest.raises(InvalidInput, match="assisted"):
        accept(session, clock, staff, assisted="yes")


def test_only_window_clerks_accept_even_with_extras(session, clock, staff) -> None:
    with pytest.raises(PermissionDenied):
        accept_case(session, clock, staff["alpha"], "parallel_three", APPLICANT, assisted=True)


# --- 不予受理: refused at the window ---------------------------------------------------------------

def test_an_application_not_accepted_is_filed_with_its_reasons_and_opens_nothing(session, clock, staff) -> None:

    accepted = accept(session, clock, staff)
    refused = refuse_application(session, clock, staff["window"], "parallel_three", APPLICANT,
                                 ["申请事项不属于本机关职权范围", "  ", "请向市级主管部门申请"], channel="online")
    assert refused.status == "not_accepted" and refused.number == "YJS-20261123-0002" and refused.completed_at == clock.now()
    assert session.scalar(select(func.count(Task.id)).where(Task.case_id == refused.id)) == 0
    assert session.scalar(select(func.count(Clock.id)).where(Clock.case_id == refused.id)) == 0
    (event,) = [e for e in events_of(session, refused)]
    assert (event.action, event.actor_id) == ("not_accepted", staff["window"].id)
    assert event.details["reasons"] == ["申请事项不属于本机关职权范围", "请向市级主管部门申请"]
    # The applicant checks it with the receipt's number and code and sees why.
    progress = progress_of(session, find_case(session, refused.number, refused.query_code))
    assert progress.status == StepStatus.NOT_ACCEPTED and progress.reasons == event.details["reasons"]
    assert progress.may_rate is False and [s.status for s in progress.steps] == [StepStatus.NOT_ACCEPTED]
    # 办件量 and the channel ratios count accepted applications only.
    calendar = load_calendar(session)
    assert sum(m.cases for m in monthly_by_matter(session, calendar, clock.now(), Period())) == 1
    _ratios, channels = channel_figures(session, calendar, clock.now(), Period())
    assert channels == {"window": 1, "online": 0, "partner": 0} and accepted.status == "in_progress"


@pytest.mark.parametrize(("reasons", "message"), [
    ([], "at least one reason"), (["  "], "at least one reason"), ("不属于受理范围", "list of texts"),
    ([1], "list of texts"), ({"a": 1}, "list of texts"), (["x" * 501], "at most 500 characters"),
])
def test_not_accepting_needs_reasons(session, clock, staff, reasons, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        refuse_application(session, clock, staff["window"], "parallel_three", APPLICANT, reasons)
    assert session.scalar(select(func.count(Case.id))) == 0


def test_only_the_window_decides_not_to_accept(session, clock, staff) -> None:
    with pytest.raises(PermissionDenied):
        refuse_application(session, clock, staff["alpha"], "parallel_three", APPLICANT, ["不属于受理范围"])
