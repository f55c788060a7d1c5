"""Form data: what a task declares (camunda:formData) checked against what a person submitted."""
from __future__ import annotations

import re
from typing import Any

from engine.bpmn import TaskMeta, coerce_field
from engine.errors import InvalidInput

# Keys the engine writes itself; submitted data may not overwrite them.
RESERVED_KEYS = frozenset({"outcome", "opinion", "reviews"})
_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


READ, WRITE, HIDDEN = "read", "write", "hidden"


def field_permissions(spec: Any, element_id: str) -> dict[str, str]:
    """Per-step field permissions from the task's `fieldPermissions` property: `area:read,fee:hidden`."""
    task_spec = spec.task_specs.get(element_id)
    raw = ((getattr(task_spec, "extensions", None) or {}).get("fieldPermissions") or "") if task_spec else ""
    permissions: dict[str, str] = {}
    for item in raw.split(","):
        name, _sep, mode = item.strip().partition(":")
        if name and mode.strip() in (READ, WRITE, HIDDEN):
            permissions[name.strip()] = mode.strip()
    return permissions


def form_values(meta: TaskMeta, submitted: dict[str, Any], permissions: dict[str, str] | None = None) -> dict[str, Any]:
    """Declared fields with defaults filled in and types checked, plus any other valid keys.

    A field this step may only read (or not see) cannot be written here.
    """
    if not isinstance(submitted, dict):
        raise InvalidInput("data must be an object")
    permissions = permissions or {}
    values: dict[str, Any] = {}
    for key, value in submitted.items():
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise InvalidInput(f"data key '{key}' is not a valid field name (letters, digits and '_', starting with a letter)")
        if key in RESERVED_KEYS:
            raise InvalidInput(f"data key '{key}' is set by the engine and cannot be submitted")
        if permissions.get(key) in (READ, HIDDEN):
            raise InvalidInput(f"field '{key}' is {permissions[key]}-only at this step")
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
