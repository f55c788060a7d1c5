"""The in-process scheduler: due jobs under the lease, and each process's cache of step durations kept warm."""
from __future__ import annotations

import time

from web.scheduler import start_scheduler
from web.supervisor import duration_cache


def test_the_scheduler_fills_the_step_durations_before_any_board_request(app, staff) -> None:
    cache = duration_cache(app)
    assert cache.computed_at is None
    scheduler = start_scheduler(app)
    try:
        deadline = time.monotonic() + 20
        while cache.computed_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown()
    assert cache.computed_at is not None  # a board request now reads the warm value
