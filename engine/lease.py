"""A database lease so exactly one process runs the scheduled jobs when several share a database."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.models import SchedulerLease


def acquire_lease(session: Session, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until now + ttl; False while another holder's is valid.

    One conditional UPDATE decides, so two processes racing for an expired lease cannot both win.
    """
    taken = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, or_(SchedulerLease.holder == holder, SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return True
    if session.get(SchedulerLease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(SchedulerLease(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False
    return True
