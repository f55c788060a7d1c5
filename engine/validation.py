"""Checks of caller input shared by the engine services: each refusal is an `InvalidInput` naming the field."""
from __future__ import annotations

from typing import Any

from engine.errors import InvalidInput


def checked_text(value: Any, what: str, limit: int, required: bool = True) -> str:
    """`value` as stripped text of at most `limit` characters; "" when absent and not required."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(f"{what} is required")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value
