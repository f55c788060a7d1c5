"""The engine's error hierarchy.

Each error carries what a caller needs to answer well: `web/` maps the class to an HTTP status in
one handler, and BPMN errors name the element (and file) so a modeler can find it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


class EngineError(Exception):
    """Base class: a request the engine refused; nothing was changed."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict:
        return {"error": self.message}


class NotFound(EngineError):
    status = 404


class PermissionDenied(EngineError):
    status = 403


class Conflict(EngineError):
    """The action no longer applies: someone else acted first (task already done, case moved on)."""

    status = 409


class InvalidInput(EngineError):
    """The input is well-formed but breaks a rule (missing reason, unknown outcome, bad field)."""

    status = 422


@dataclass
class ElementProblem:
    element_id: str | None
    message: str
    file: str | None = None
    level: str = "error"

    def to_dict(self) -> dict:
        out: dict = {"element_id": self.element_id, "message": self.message}
        if self.file:
            out["file"] = self.file
        return out


class BpmnInvalid(InvalidInput):
    """A definition failed to parse or lint; `problems` lists each with its element id."""

    def __init__(self, problems: list[ElementProblem], warnings: list[ElementProblem] | None = None) -> None:
        self.problems = problems
        self.warnings = warnings or []
        first = problems[0]
        where = f" (element {first.element_id})" if first.element_id else ""
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        super().__init__(f"{first.message}{where}{more}")

    def to_dict(self) -> dict:
        return {
            "error": self.message,
            "errors": [p.to_dict() for p in self.problems],
            "warnings": [w.to_dict() for w in self.warnings],
        }


class WorkflowFailed(InvalidInput):
    """Running the flow failed at an element: a condition met missing data, a script raised.

    The action is rolled back, so the case stays where it was.
    """

    def __init__(self, element_id: str | None, message: str) -> None:
        self.element_id = element_id
        where = f"at element {element_id}: " if element_id else ""
        super().__init__(f"the flow could not continue {where}{message}")

    def to_dict(self) -> dict:
        return {"error": self.message, "element_id": self.element_id}


@dataclass
class ScriptRejected(Exception):
    """A BPMN script or condition tried something the restricted engine forbids."""

    reason: str
    details: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return self.reason
