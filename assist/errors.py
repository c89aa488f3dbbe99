"""Every exception the project raises, in one place.

Messages say where (file:line:column, input line, event field) and what would be right,
so that a supervisor or an integrator can act on them without reading code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Location:
    """A spot in a source file; `line` and `column` are 1-based."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Issue:
    """One problem found while loading or checking a rule file."""

    where: Location
    message: str
    severity: str = "error"  # "error" refuses the file, "warning" is reported only

    def __str__(self) -> str:
        label = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.where}: {label}{self.message}"


class AssistError(Exception):
    """Base class of every error raised by Customer Sense."""


class EventError(AssistError):
    """An input event that does not follow the contract."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RuleFileError(AssistError):
    """A phrasebook, cue or type file with errors; `issues` lists all of them."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = [i for i in issues if i.severity == "error"]
        self.warnings = [i for i in issues if i.severity != "error"]
        lines = [str(i) for i in self.issues] or ["no errors"]
        super().__init__("\n".join(lines))

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuilt from its issues when it crosses a process boundary (`assist backtest`'s workers)
        return (type(self), (self.issues + self.warnings,))


class ConditionError(AssistError):
    """A `when:` expression that cannot be compiled; `offset` is the column in it (1-based)."""

    def __init__(self, message: str, *, line: int = 1, column: int | None = None,
                 token: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.token = token  # the offending name or id, to find its exact line in the file


class LabelError(AssistError):
    """A labelled conversation (`expect`, `mood_label`) that `assist eval` cannot score."""

    def __init__(self, where: Location, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.where, self.message))
