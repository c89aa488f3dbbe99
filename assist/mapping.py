"""Mapping files: another console's webhook JSON as contract events, with no code.

A mapping is a YAML file (see docs/integrations/generic.md):

    name: acme                      # POST /integrations/webhook/acme
    source: acme                    # the ingest source whose secret signs the requests
    signature:                      # optional; omit only on a trusted network
      header: X-Acme-Signature
      timestamp_header: X-Acme-Timestamp   # optional
      signed: "{timestamp}.{body}"          # or "{body}"
      prefix: "sha256="
    items: data.events              # optional: where a list of items is (else the body is one item)
    conversation_prefix: "acme-"
    rules:                          # the first rule whose `when` matches an item maps it
      - when: {kind: chat.message}
        type: message
        conversation: ticket.ref
        role: {path: author.type, map: {visitor: customer, staff: agent}}
        text: body
        ts: {path: sent_at, format: iso}
        id: uid
      - when: {kind: ticket.closed}
        type: end
        conversation: ticket.ref
        outcome: {const: resolved}

A field is a dotted path into the item (`ticket.customer.name`, `lines.0.text`), or
`{path, map, format, default}` / `{const}`. Loading checks every field and names the
file and line of a problem; mapping an item that lacks a required field says which.
Sans-IO: the receiver (assist/integrations.py) reads the files and the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import Issue, Location, RuleFileError
from .yamlsrc import load_yaml, where

TYPES = ("start", "message", "hold", "end")
FIELDS = {
    "start": ("conversation", "id", "ts", "customer.id", "customer.name", "customer.tier", "customer.lifetime_value",
              "customer.prior_complaints", "customer.prior_refunds", "agent.id", "agent.name", "channel", "locale"),
    "message": ("conversation", "id", "ts", "role", "text"),
    "hold": ("conversation", "id", "ts", "state"),
    "end": ("conversation", "id", "ts", "outcome"),
}
REQUIRED = {"start": ("conversation",), "message": ("conversation", "role", "text"),
            "hold": ("conversation", "state"), "end": ("conversation",)}
FORMATS = ("iso", "epoch", "epoch_ms")
TOP = ("name", "source", "signature", "items", "conversation_prefix", "rules")


class MappingError(ValueError):
    """An item that this mapping cannot turn into an event (a field is missing)."""


@dataclass(frozen=True)
class Getter:
    path: tuple[str, ...] | None
    const: Any = None
    table: dict[str, Any] | None = None
    format: str | None = None
    default: Any = None

    def __call__(self, item: Any) -> Any:
        if self.path is None:
            return self.const
        value = item
        for part in self.path:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                value = None
            if value is None:
                return self.default
        if self.table is not None:
            value = self.table.get(str(value), self.default)
        if self.format is not None and value is not None:
            value = _time(value, self.format)
        return value


def _time(value: Any, fmt: str) -> float | None:
    try:
        if fmt == "iso":
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        number = float(value)
        return number / 1000 if fmt == "epoch_ms" else number
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Rule:
    when: dict[str, Getter]
    equals: dict[str, Any]
    type: str
    fields: dict[str, Getter]


@dataclass(frozen=True)
class Mapping:
    name: str
    source: str
    file: str
    rules: tuple[Rule, ...]
    items: Getter | None = None
    prefix: str = ""
    signature: dict[str, str] | None = None

    def map(self, payload: Any) -> tuple[list[dict[str, Any]], list[str]]:
        """(events, reasons for the items that were skipped or could not be mapped)."""
        items = self.items(payload) if self.items is not None else payload
        if not isinstance(items, list):
            items = [items]
        events, skipped = [], []
        for n, item in enumerate(items):
            rule = next((r for r in self.rules if all(g(item) == r.equals[k] for k, g in r.when.items())), None)
            if rule is None:
                skipped.append(f"item {n}: no rule matches it")
                continue
            event: dict[str, Any] = {"type": rule.type}
            for name, getter in rule.fields.items():
                value = getter(item)
                if value is None:
                    continue
                target = event
                *parents, last = name.split(".")
                for parent in parents:
                    target = target.setdefault(parent, {})
                target[last] = value
            missing = [f for f in REQUIRED[rule.type] if event.get(f) in (None, "")]
            if missing:
                skipped.append(f"item {n}: {', '.join(missing)} not found (mapping {self.name}, {self.file})")
                continue
            event["conversation"] = f"{self.prefix}{event['conversation']}"
            for key in ("id", "customer.id", "agent.id"):
                parent, _, leaf = key.rpartition(".")
                holder = event.get(parent) if parent else event
                if isinstance(holder, dict) and holder.get(leaf) is not None:
                    holder[leaf] = str(holder[leaf])
            events.append(event)
        return events, skipped


def _getter(file: str, node: Any, key: str, value: Any, issues: list[Issue]) -> Getter | None:
    spot = where(file, node, key)
    if isinstance(value, int) and not isinstance(value, bool):  # `text: 0`: the first item of a list
        value = str(value)
    if isinstance(value, dict) and isinstance(value.get("path"), int) and not isinstance(value["path"], bool):
        value = {**value, "path": str(value["path"])}
    if isinstance(value, str) and value.strip():
        return Getter(tuple(value.strip().split(".")))
    if isinstance(value, dict):
        unknown = set(value) - {"path", "const", "map", "format", "default"}
        if unknown:
            issues.append(Issue(spot, f"{key}: unknown key(s) {', '.join(sorted(unknown))}; "
                                      "use path, const, map, format, default"))
            return None
        if "const" in value:
            return Getter(None, const=value["const"])
        path = value.get("path")
        if not isinstance(path, str) or not path.strip():
            issues.append(Issue(spot, f"{key}: needs 'path' (a dotted path into the item) or 'const'"))
            return None
        fmt = value.get("format")
        if fmt is not None and fmt not in FORMATS:
            issues.append(Issue(spot, f"{key}: format {fmt!r} is not one of {', '.join(FORMATS)}"))
            return None
        table = value.get("map")
        if table is not None and not isinstance(table, dict):
            issues.append(Issue(spot, f"{key}: 'map' must map the console's values to ours"))
            return None
        return Getter(tuple(path.strip().split(".")), table={str(k): v for k, v in table.items()} if table else None,
                      format=fmt, default=value.get("default"))
    issues.append(Issue(spot, f"{key}: expected a dotted path or {{path, map, format, default}} or {{const}}"))
    return None


def load_mapping(path: str | Path) -> Mapping:
    file = str(path)
    data = load_yaml(Path(path))
    issues: list[Issue] = []
    if not isinstance(data, dict):
        raise RuleFileError([Issue(Location(file, 1), "a mapping file is a YAML mapping with 'name' and 'rules'")])
    for key in data:
        if key not in TOP:
            issues.append(Issue(where(file, data, key), f"unknown key {key!r}; known: {', '.join(TOP)}"))
    name = data.get("name")
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        issues.append(Issue(where(file, data, "name"), "'name' (letters, digits, - and _) is required"))
    signature = data.get("signature")
    if signature is not None and (not isinstance(signature, dict) or not isinstance(signature.get("header"), str)):
        issues.append(Issue(where(file, data, "signature"), "signature needs at least 'header'"))
    items = _getter(file, data, "items", data["items"], issues) if "items" in data else None
    rules = []
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        issues.append(Issue(where(file, data, "rules"), "'rules' must be a non-empty list"))
        raw_rules = []
    for raw in raw_rules:
        if not isinstance(raw, dict):
            issues.append(Issue(Location(file), "each rule is a mapping with type, when and fields"))
            continue
        kind = raw.get("type")
        if kind not in TYPES:
            issues.append(Issue(where(file, raw, "type"), f"type {kind!r}: one of {', '.join(TYPES)}"))
            continue
        when: dict[str, Getter] = {}
        equals: dict[str, Any] = {}
        for key, expected in (raw.get("when") or {}).items():
            when[key] = Getter(tuple(str(key).split(".")))
            equals[key] = expected
        fields: dict[str, Getter] = {}
        for key, value in raw.items():
            if key in ("type", "when"):
                continue
            if key not in FIELDS[kind]:
                issues.append(Issue(where(file, raw, key), f"{kind} has no field {key!r}; it has "
                                                           f"{', '.join(FIELDS[kind])}"))
                continue
            getter = _getter(file, raw, key, value, issues)
            if getter is not None:
                fields[key] = getter
        for required in REQUIRED[kind]:
            if required not in fields:
                issues.append(Issue(where(file, raw, "type"), f"a {kind} rule needs '{required}'"))
        rules.append(Rule(when, equals, kind, fields))
    if [i for i in issues if i.severity == "error"]:
        raise RuleFileError(issues)
    assert isinstance(name, str)
    return Mapping(name, str(data.get("source") or name), file, tuple(rules), items,
                   str(data.get("conversation_prefix") or ""),
                   {str(k): str(v) for k, v in signature.items()} if isinstance(signature, dict) else None)


def load_mappings(folder: str | Path) -> tuple[dict[str, Mapping], list[Issue]]:
    """Every *.yaml mapping in `folder` by name; problems are reported, good files still load."""
    out: dict[str, Mapping] = {}
    problems: list[Issue] = []
    for path in sorted(Path(folder).glob("*.yaml")) if Path(folder).is_dir() else []:
        try:
            mapping = load_mapping(path)
        except RuleFileError as exc:
            problems.extend(exc.issues)
            continue
        out[mapping.name] = mapping
    return out, problems
