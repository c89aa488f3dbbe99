"""Small typed checks for rule-file mappings, reporting issues with file and line.

A `Field` says what one key may hold; `read_mapping` checks a YAML mapping against a
table of fields, collects an `Issue` (file:line:column, plain words, what is allowed)
for every problem, and returns the values that passed. Nothing is raised here, so a
file with five mistakes reports five errors at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import Issue
from .yamlsrc import describe, suggest, value_where, where


@dataclass(frozen=True)
class Field:
    kind: str  # "str" | "int" | "number" | "bool" | "choice" | "strings" | "mapping" | "list" | "any"
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    default: Any = None
    help: str = ""

    def expected(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        bound = f" >= {self.minimum:g}" if self.minimum is not None else ""
        return {
            "str": "a text",
            "int": f"a whole number{bound}",
            "number": f"a number{bound}",
            "bool": "true or false",
            "strings": "a list of texts",
            "mapping": "a mapping of keys to values",
            "list": "a list",
            "any": "a value",
        }[self.kind]


def _ok(spec: Field, value: Any) -> bool:
    if spec.kind == "any":
        return True
    if spec.kind == "str":
        return isinstance(value, str)
    if spec.kind == "bool":
        return isinstance(value, bool)
    if spec.kind == "int":
        good = isinstance(value, int) and not isinstance(value, bool)
        return good and (spec.minimum is None or value >= spec.minimum)
    if spec.kind == "number":
        good = isinstance(value, int | float) and not isinstance(value, bool)
        return good and (spec.minimum is None or value >= spec.minimum)
    if spec.kind == "choice":
        return isinstance(value, str) and value in spec.choices
    if spec.kind == "strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if spec.kind == "mapping":
        return isinstance(value, dict)
    if spec.kind == "list":
        return isinstance(value, list)
    raise ValueError(spec.kind)


def read_mapping(
    file: str,
    node: Any,
    fields: Mapping[str, Field],
    issues: list[Issue],
    *,
    what: str,
    extra_ok: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Check `node` against `fields`; return the good values (defaults filled in)."""
    if not isinstance(node, dict):
        issues.append(Issue(where(file, node), f"{what} must be a mapping, got {describe(node)}"))
        return {}
    out: dict[str, Any] = {}
    for key in node:
        if not isinstance(key, str) or (key not in fields and not (extra_ok and extra_ok(key))):
            allowed = ", ".join(sorted(fields))
            hint = suggest(str(key), list(fields))
            issues.append(Issue(where(file, node, key),
                                f"{what}: unknown key {key!r}{hint}; allowed keys: {allowed}"))
    for name, spec in fields.items():
        if name not in node or node[name] is None:
            if spec.required:
                issues.append(Issue(where(file, node),
                                    f"{what}: required key {name!r} not provided ({spec.expected()})"))
            elif spec.default is not None:
                out[name] = spec.default
            continue
        value = node[name]
        if not _ok(spec, value):
            hint = suggest(value, spec.choices) if spec.kind == "choice" and isinstance(value, str) else ""
            issues.append(Issue(value_where(file, node, name),
                                f"{what}: {name!r} must be {spec.expected()}, got {describe(value)}{hint}"))
            continue
        out[name] = value
    return out


def check_value(spec: Field, value: Any) -> str | None:
    """None when `value` fits `spec`, else what was expected and what came."""
    if _ok(spec, value):
        return None
    hint = suggest(value, spec.choices) if spec.kind == "choice" and isinstance(value, str) else ""
    return f"must be {spec.expected()}, got {describe(value)}{hint}"
