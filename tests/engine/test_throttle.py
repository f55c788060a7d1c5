"""Per-address throttles: failures counted in one-minute slots, a window that slides, old slots purged."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.models import ThrottleSlot
from engine.throttle import LOGIN_FAILURES, PROGRESS_MISSES, Throttled, failures, purge_throttle_slots, record_failure, refuse_if_throttled


def test_failures_add_up_per_address_and_bucket_and_slide_out_of_the_window(session, clock) -> None:
    for _ in range(LOGIN_FAILURES.limit - 1):
        record_failure(session, LOGIN_FAILURES, "10.0.0.1", clock.now())
        clock.advance(seconds=20)
    refuse_if_throttled(session, LOGIN_FAILURES, "10.0.0.1", clock.now())  # one short of the limit
    record_failure(session, LOGIN_FAILURES, "10.0.0.1", clock.now())
    with pytest.raises(Throttled, match="too many failed attempts") as refused:
        refuse_if_throttled(session, LOGIN_FAILURES, "10.0.0.1", clock.now())
    assert refused.value.status == 429 and refused.value.retry_after == 60
    # Another address and another bucket are untouched.
    refuse_if_throttled(session, LOGIN_FAILURES, "10.0.0.2", clock.now())
    refuse_if_throttled(session, PROGRESS_MISSES, "10.0.0.1", clock.now())
    # The first failures age out minute by minute: the window slides, it does not reset all at once.
    clock.advance(minutes=6)
    assert 0 < failures(session, LOGIN_FAILURES, "10.0.0.1", clock.now()) < LOGIN_FAILURES.limit
    refuse_if_throttled(session, LOGIN_FAILURES, "10.0.0.1", clock.now())
    clock.advance(minutes=15)
    assert failures(session, LOGIN_FAILURES, "10.0.0.1", clock.now()) == 0


def test_one_row_per_address_and_minute_and_old_rows_are_purged(session, clock) -> None:
    for _ in range(5):
        record_failure(session, PROGRESS_MISSES, "2001:db8::1", clock.now())
    assert session.scalar(select(func.count()).select_from(ThrottleSlot)) == 1
    assert failures(session, PROGRESS_MISSES, "2001:db8::1", clock.now()) == 5
    assert purge_throttle_slots(session, clock.now() + timedelta(hours=23)) == 0
    assert purge_throttle_slots(session, clock.now() + timedelta(days=1, minutes=1)) == 1
