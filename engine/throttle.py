"""Per-address throttles against guessing: wrong passwords (login form, HTTP Basic, bearer tokens)
and wrong progress queries (case number + query code).

The per-account lockout (`engine.directory.authenticate`) stops guessing one account's password;
it cannot stop one address trying a few passwords on every account, or walking case numbers on
the public progress page. Failures are counted per address in one-minute slots in the database,
so every worker and every host shares the count; an address with `limit` failures inside the
`window` is refused until the oldest of them ages out. Successes are never counted, so a citizen
re-reading their own case or a clerk signing in is never slowed down.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.errors import EngineError
from engine.models import ThrottleSlot

SLOT = timedelta(minutes=1)
KEEP = timedelta(days=1)
MAX_ADDRESS = 64


@dataclass(frozen=True)
class Throttle:
    bucket: str
    limit: int
    window: timedelta

    @property
    def minutes(self) -> int:
        return int(self.window.total_seconds() // 60)


LOGIN_FAILURES = Throttle("login", 30, timedelta(minutes=15))
PROGRESS_MISSES = Throttle("progress", 20, timedelta(minutes=15))


class Throttled(EngineError):
    """Too many failed attempts from this address; `retry_after` seconds until one ages out."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _slot_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def failures(session: Session, throttle: Throttle, address: str, now: datetime) -> int:
    """Failures from `address` in the throttle's window up to now."""
    since = _slot_of(now - throttle.window + SLOT)
    total = session.scalar(select(func.coalesce(func.sum(ThrottleSlot.hits), 0)).where(
        ThrottleSlot.bucket == throttle.bucket, ThrottleSlot.address == address[:MAX_ADDRESS],
        ThrottleSlot.slot >= since, ThrottleSlot.slot <= now))
    return int(total or 0)


def refuse_if_throttled(session: Session, throttle: Throttle, address: str, now: datetime) -> None:
    """Raise `Throttled` when `address` has used up its failures for the window."""
    if failures(session, throttle, address, now) >= throttle.limit:
        raise Throttled(f"too many failed attempts from this address; try again within {throttle.minutes} minutes",
                        int(SLOT.total_seconds()))


def record_failure(session: Session, throttle: Throttle, address: str, now: datetime) -> None:
    """Count one failure; concurrent failures from the same address add up (one upsert)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(ThrottleSlot)
        .values(bucket=throttle.bucket, address=address[:MAX_ADDRESS], slot=_slot_of(now), hits=1)
        .on_conflict_do_update(index_elements=["bucket", "address", "slot"], set_={"hits": ThrottleSlot.hits + 1})
    )


def purge_throttle_slots(session: Session, now: datetime) -> int:
    """Forget slots older than a day (longer than any window)."""
    return session.execute(delete(ThrottleSlot).where(ThrottleSlot.slot < now - KEEP)).rowcount or 0
