"""What templates need to show clocks: statuses derived now, the case's clocks and their timeline."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.orm import Session

from engine.calendar_store import load_calendar
from engine.deadlines import ClockStatus, case_clocks, case_warning, clock_status
from engine.models import Case, Clock
from engine.suspensions import clock_events
from web.extensions import clock


def clock_statuses(session: Session) -> Callable[[Clock | None], ClockStatus | None]:
    """A function templates call per clock; the calendar is loaded once per page."""
    calendar, now = load_calendar(session), clock().now()
    return lambda c: clock_status(c, calendar, now) if c is not None else None


def clock_context(session: Session, case: Case) -> dict[str, Any]:
    status_of = clock_statuses(session)
    return {
        "status_of": status_of,
        "case_clocks": [(c.kind, status_of(c)) for c in case_clocks(session, case)],
        "case_warning": case_warning(session, case, clock().now()),
        "clock_events": clock_events(session, case),
    }
