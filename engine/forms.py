"""Form data: what a task declares (camunda:formData) checked against what a person submitted."""
from __future__ import annotations

import re
from typing import Any

from engine.bpmn import TaskMeta, coerce_field
from engine.errors import InvalidInput

# Keys the engine writes itself; submitted data may not overwrite them.
RESERVED_KEYS = frozenset({"outcome", "opinion", "reviews"})
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def form_values(meta: TaskMeta, submitted: dict[str, Any]) -> dict[str, Any]:
    """Declared fields with defaults filled in and types checked, plus any other valid keys."""
    if not isinstance(submitted, dict):
        raise InvalidInput("data must be an object")
    values: dict[str, Any] = {}
    for key, value in submitted.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise InvalidInput(f"data key '{key}' is not a valid field name (letters, digits and '_', starting with a letter)")
        if key in RESERVED_KEYS:
            raise InvalidInput(f"data key '{key}' is set by the engine and cannot be submitted")
        values[key] = value
    for field in meta.form:
        raw = submitted.get(field.id, field.default)
        try:
            value = coerce_field(field.type, raw)
        except (TypeError, ValueError):
            raise InvalidInput(f"field '{field.label}' ({field.id}) must be a {field.type}, not {raw!r}") from None
        if field.options and value not in {o[0] for o in field.options}:
            raise InvalidInput(f"field '{field.label}' ({field.id}) must be one of {', '.join(o[0] for o in field.options)}")
        values[field.id] = value
    return values
