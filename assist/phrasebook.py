"""Phrasebooks: the prompt rules supervisors edit, loaded with file:line:column errors.

Theory of operation
-------------------
A phrasebook is a list of entries, each one prompt: when it fires (`on` a customer
or agent message, the `end` of a chat, a `hold` event, or `after` a timer), under
which condition (`when`, see conditions.py), what it says (`text`, a jinja2
template), how loud (`severity`), to whom (`audience`), how often (`cooldown`,
`max_per_conversation`), whether it is on (`enabled`) and live or only recorded
(`mode: shadow`), and `examples` of short chats that must fire it and must not.

Files are layered: `load_phrasebook(base, team, ...)`. The base is a directory (its
`default.yaml`, `cues/*.yaml` and `types.yaml`) or a file. A later file overrides an
entry of an earlier one field by field through its `id` (so `{id: empathize,
enabled: false}` switches one off), adds new entries, and may add `cues`. Every
value is checked where its line is still known; all problems are reported together.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from .conditions import SCHEMA, Condition, compile_condition
from .cues import Cue, CueLibrary, check_references, read_cue_file
from .spellings import Spellings
from .errors import ConditionError, Issue, Location, RuleFileError
from .moodmodel import MoodModel, load_mood_model
from .typemodel import load_type_model
from .profile import TypeRules, load_types
from .schema import Field, check_value, read_mapping
from .yamlsrc import describe, display_path, find_token, load_yaml, suggest, value_where, where

MOOD_MODEL_FILE = "mood-model.yaml"
TYPE_MODEL_FILE = "type-model.yaml"
MODEL_FILES: dict[str, Callable[..., Any]] = {MOOD_MODEL_FILE: load_mood_model, TYPE_MODEL_FILE: load_type_model}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "phrasebooks"
TRIGGERS = ("customer", "agent", "end", "hold", "timer")
TIMERS = ("hold", "waiting")
SEVERITIES = ("info", "warn", "critical")
SEVERITY_RANK = {"critical": 0, "warn": 1, "info": 2}
AUDIENCES = ("agent", "supervisor")
MODES = ("live", "shadow")
STEP_KINDS = ("customer", "agent", "wait", "hold", "end", "profile")
_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_TEXT_ENV = SandboxedEnvironment(autoescape=False, trim_blocks=True)

ENTRY_FIELDS: dict[str, Field] = {
    "id": Field("str", required=True),
    "about": Field("str"),
    "on": Field("any"),
    "after": Field("mapping"),
    "every": Field("number", minimum=1),
    "when": Field("str"),
    "text": Field("str", required=True),
    "severity": Field("choice", required=True, choices=SEVERITIES),
    "audience": Field("choice", choices=AUDIENCES, default="agent"),
    "cooldown": Field("number", minimum=0, default=60),
    "max_per_conversation": Field("int", minimum=1),
    "enabled": Field("bool", default=True),
    "mode": Field("choice", choices=MODES, default="live"),
    "drafts": Field("bool", default=False),
    "examples": Field("mapping", required=True),
}
AFTER_FIELDS = {"timer": Field("choice", required=True, choices=TIMERS),
                "seconds": Field("number", required=True, minimum=1)}
BUDGET_FIELDS = {"per_minute": Field("int", minimum=1, default=3),
                 "per_event": Field("int", minimum=1, default=2)}
SETTINGS_FIELDS = {"budget": Field("mapping", default={}),
                   "implicit_hold_cues": Field("strings", default=[]),
                   "end_horizon": Field("number", minimum=0, default=600)}
FILE_FIELDS = {"phrasebook": Field("str"), "settings": Field("mapping"), "entries": Field("list"),
               "cues": Field("mapping"), "cue_groups": Field("mapping")}


@dataclass(frozen=True)
class Example:
    steps: tuple[tuple[str, Any], ...]
    where: Location


@dataclass(frozen=True)
class Entry:
    id: str
    on: frozenset[str]
    when: Condition | None
    text: str
    template: Any
    severity: str
    audience: str
    cooldown: float
    max_per_conversation: int | None
    enabled: bool
    mode: str
    drafts: bool
    timer: str | None
    after: float | None
    every: float | None
    fire_examples: tuple[Example, ...]
    silent_examples: tuple[Example, ...]
    where: Location
    order: int
    about: str = ""

    @property
    def rank(self) -> tuple[int, int]:
        return (SEVERITY_RANK[self.severity], self.order)


@dataclass(frozen=True)
class Budget:
    per_minute: int = 3
    per_event: int = 2


@dataclass(frozen=True)
class Phrasebook:
    entries: tuple[Entry, ...]
    cues: CueLibrary
    types: TypeRules
    budget: Budget = Budget()
    implicit_hold_cues: frozenset[str] = frozenset()
    end_horizon: float = 600.0
    sources: tuple[str, ...] = ()
    fingerprint: str = ""
    warnings: tuple[Issue, ...] = ()
    by_trigger: dict[str, tuple[Entry, ...]] = field(default_factory=dict)
    mood_model: MoodModel | None = None
    cue_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> its cues, for conditions

    def entry(self, entry_id: str) -> Entry | None:
        return next((e for e in self.entries if e.id == entry_id), None)


@dataclass
class _Raw:
    """One entry's fields after layering, each with the spot it came from."""

    values: dict[str, Any] = field(default_factory=dict)
    spots: dict[str, Location] = field(default_factory=dict)
    where: Location | None = None
    order: int = 0
    layered_only: bool = False  # first seen in a later (team) file


def _resolve(paths: Iterable[Path | str]) -> tuple[list[Path], list[Path], Path | None, dict[str, Path]]:
    """(phrasebook files, cue files, types file, learned model files by name) from the paths given."""
    books: list[Path] = []
    cue_files: list[Path] = []
    types: Path | None = None
    models: dict[str, Path] = {}
    for raw in paths:
        path = Path(display_path(raw))
        if path.is_dir():
            books.append(path / "default.yaml")
            cue_files.extend(sorted((path / "cues").glob("*.yaml")))
            if (path / "types.yaml").exists():
                types = path / "types.yaml"
            models.update({name: path / name for name in MODEL_FILES if (path / name).exists()})
        else:
            books.append(path)
    if not cue_files and books:  # a lone file: the cues and types beside it, else the defaults
        beside = books[0].parent
        default = Path(display_path(DEFAULT_DIR))
        cue_dir = beside / "cues" if (beside / "cues").is_dir() else default / "cues"
        cue_files = sorted(cue_dir.glob("*.yaml"))
        if types is None:
            types = beside / "types.yaml" if (beside / "types.yaml").exists() else default / "types.yaml"
        if not models:  # the learned weights that go with those cues
            models = {name: cue_dir.parent / name for name in MODEL_FILES if (cue_dir.parent / name).exists()}
    return books, cue_files, types, models


_CueRead = tuple[dict[str, Cue], tuple[re.Pattern[str], ...], Spellings, list[Issue]]
_CUE_CACHE: dict[str, tuple[_CueRead, CueLibrary | None, list[Issue]]] = {}


def _cue_key(cue_files: list[Path], texts: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in cue_files:
        content = texts.get(str(path))
        try:
            data = content.encode() if content is not None else Path(path).read_bytes()
        except OSError:
            data = b"\0missing"
        digest.update(str(path).encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def _read_cue_files(cue_files: list[Path], texts: dict[str, str]) -> _CueRead:
    """The cues of the cue files (a copy: phrasebook files may add to it), their masked-data
    patterns, their chat spellings and the problems found. Parsing and compiling them is most of a load, so the
    result is kept while their bytes stay the same."""
    key = _cue_key(cue_files, texts)
    if key not in _CUE_CACHE:
        issues: list[Issue] = []
        cues: dict[str, Cue] = {}
        masked: list[re.Pattern[str]] = []
        spellings: dict[str, str] = {}
        for path in cue_files:
            try:
                read_cue_file(str(path), load_yaml(path, texts.get(str(path))), issues, cues, masked, spellings)
            except RuleFileError as exc:
                issues.extend(exc.issues)
        if len(_CUE_CACHE) > 8:
            _CUE_CACHE.clear()
        _CUE_CACHE[key] = ((cues, tuple(masked), Spellings(spellings), issues), None, [])
    (cues, masked_data, spelling, issues), _, _ = _CUE_CACHE[key]
    return dict(cues), masked_data, spelling, list(issues)


def _library(cue_files: list[Path], texts: dict[str, str], cues: dict[str, Cue],
             masked: tuple[re.Pattern[str], ...], spellings: Spellings) -> tuple[CueLibrary, list[Issue]]:
    key = _cue_key(cue_files, texts)
    cached = _CUE_CACHE.get(key)
    if cached is not None and cached[1] is not None:
        return cached[1], list(cached[2])
    references = check_references(cues)
    library = CueLibrary(cues, masked, spellings)
    if cached is not None:
        _CUE_CACHE[key] = (cached[0], library, references)
    return library, list(references)


def load_phrasebook(*paths: Path | str, texts: dict[str, str] | None = None) -> Phrasebook:
    """Load and layer phrasebook files; RuleFileError lists every problem found.

    With no paths, the shipped `phrasebooks/` directory. `texts` maps a path to its
    content, for checking an edit before it is written (the editor, `assist check -`).
    """
    books, cue_files, types_file, model_files = _resolve(paths or (DEFAULT_DIR,))
    texts = texts or {}
    issues: list[Issue] = []
    cues, masked, spellings, cue_issues = _read_cue_files(cue_files, texts)
    issues.extend(cue_issues)
    book_cues = False
    parsed = []
    for path in books:
        try:
            data = load_yaml(path, texts.get(str(path)))
        except RuleFileError as exc:
            issues.extend(exc.issues)
            continue
        if data is None:
            issues.append(Issue(Location(str(path)), "the file is empty; expected 'entries:' with a list"))
            continue
        parsed.append((str(path), data))
        if isinstance(data, dict) and isinstance(data.get("cues"), dict):
            read_cue_file(str(path), {"cues": data["cues"]}, issues, cues)
            book_cues = True
    if book_cues:
        issues.extend(check_references(cues))
        library = CueLibrary(cues, masked, spellings)
    else:  # the cue files alone: the same library as last time when they did not change
        library, reference_issues = _library(cue_files, texts, cues, masked, spellings)
        issues.extend(reference_issues)
    raws: dict[str, _Raw] = {}
    groups: dict[str, tuple[str, ...]] = {}
    settings: dict[str, Any] = {}
    settings_spot: dict[str, Location] = {}
    for file, data in parsed:
        top = read_mapping(file, data, FILE_FIELDS, issues, what="phrasebook file")
        if "settings" in top:
            for key, value in read_mapping(file, data["settings"], SETTINGS_FIELDS, issues,
                                           what="settings").items():
                if key in data["settings"]:
                    settings[key] = value
                    settings_spot[key] = value_where(file, data["settings"], key)
        if "cue_groups" in top:
            _read_cue_groups(file, data["cue_groups"], library.ids(), groups, issues)
        for i, node in enumerate(top.get("entries") or []):
            _layer_entry(file, data["entries"], i, node, raws, issues, layered=file != parsed[0][0])
    prompt_ids = set(raws)
    entries = []
    for entry_id, raw in raws.items():
        entry = _build_entry(entry_id, raw, library, prompt_ids, issues, groups)
        if entry is not None:
            entries.append(entry)
    budget_values = read_mapping(paths_label(books), settings.get("budget") or {}, BUDGET_FIELDS, issues,
                                 what="settings budget") if settings.get("budget") else {}
    hold_cues = settings.get("implicit_hold_cues", [])
    for cue in hold_cues:
        if cue not in library.cues:
            issues.append(Issue(settings_spot.get("implicit_hold_cues", Location(paths_label(books))),
                                f"settings: implicit_hold_cues names unknown cue {cue!r}"
                                f"{suggest(cue, library.ids())}"))
    types = TypeRules({})
    if types_file is not None:
        try:
            types = load_types(types_file, library.ids(), prompt_ids, groups)
        except RuleFileError as exc:
            issues.extend(exc.issues)
    learned: dict[str, Any] = {}
    for name, model_file in model_files.items():
        try:
            learned[name] = _learned(model_file, texts, MODEL_FILES[name])
        except RuleFileError as exc:
            issues.extend(exc.issues)
    mood_model = learned.get(MOOD_MODEL_FILE)
    if TYPE_MODEL_FILE in learned:
        types = replace(types, model=learned[TYPE_MODEL_FILE])
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise RuleFileError(issues)
    entries.sort(key=lambda e: e.order)
    digest = hashlib.sha256()
    extra = [p for p in (types_file, *model_files.values()) if p is not None]
    for path in [*cue_files, *books, *extra]:
        content = texts.get(str(path))
        digest.update(content.encode() if content is not None else Path(path).read_bytes())
    live = tuple(entries)
    by_trigger = {t: tuple(e for e in live if e.enabled and t in e.on) for t in TRIGGERS}
    return Phrasebook(
        entries=live, cues=library, types=types,
        budget=Budget(**{k: int(v) for k, v in budget_values.items()}),
        implicit_hold_cues=frozenset(hold_cues), end_horizon=float(settings.get("end_horizon", 600)),
        sources=tuple(str(p) for p in [*books, *cue_files, *extra]), mood_model=mood_model,
        fingerprint=digest.hexdigest()[:12],
        warnings=tuple(i for i in issues if i.severity != "error"), by_trigger=by_trigger, cue_groups=groups,
    )


_MODEL_CACHE: dict[str, Any] = {}


def _learned(path: Path, texts: dict[str, str], load: Callable[..., Any]) -> Any:
    """A learned model's weights file, parsed once while its bytes stay the same.

    Machine-written and thousands of lines long, it is parsed the fast way (no positions);
    only when that finds a problem is it parsed again with positions, for file and line."""
    key = _cue_key([path], texts)  # the same content key as the cue files
    if key not in _MODEL_CACHE:
        if len(_MODEL_CACHE) > 4:
            _MODEL_CACHE.clear()
        text = texts.get(str(path))
        try:
            _MODEL_CACHE[key] = load(path, text, fast=True)
        except RuleFileError:
            _MODEL_CACHE[key] = load(path, text)  # raises again, now with lines
    return _MODEL_CACHE[key]


def paths_label(books: list[Path]) -> str:
    return str(books[-1]) if books else "phrasebook"


def _layer_entry(file: str, seq: Any, i: int, node: Any, raws: dict[str, _Raw], issues: list[Issue],
                 *, layered: bool) -> None:
    if not isinstance(node, dict):
        issues.append(Issue(where(file, seq, i), f"entry {i + 1} must be a mapping with an 'id', "
                                                 f"got {describe(node)}"))
        return
    entry_id = node.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        issues.append(Issue(value_where(file, node, "id") if "id" in node else where(file, seq, i),
                            f"entry {i + 1}: 'id' must be lower-case words joined by '-', "
                            f"e.g. 'no-excuses'; got {describe(entry_id)}"))
        return
    raw = raws.get(entry_id)
    if raw is None:
        raw = raws[entry_id] = _Raw(where=where(file, seq, i), order=len(raws), layered_only=layered)
    elif raw.where is not None and raw.where.file == file:
        issues.append(Issue(where(file, seq, i), f"entry {entry_id!r} appears twice in this file "
                                                 f"(first at line {raw.where.line})"))
        return
    for key in node:
        if key not in ENTRY_FIELDS:
            issues.append(Issue(where(file, node, key),
                                f"entry {entry_id!r}: unknown key {key!r}{suggest(str(key), list(ENTRY_FIELDS))}; "
                                f"allowed keys: {', '.join(ENTRY_FIELDS)}"))
            continue
        raw.values[key] = node[key]
        raw.spots[key] = value_where(file, node, key)
        if key == "examples":
            raw.spots["examples:node"] = where(file, node, key)


def _read_cue_groups(file: str, node: Any, cue_ids: set[str], groups: dict[str, tuple[str, ...]],
                     issues: list[Issue]) -> None:
    """`cue_groups:` of one phrasebook file into `groups`: a name and the cues it stands for in
    conditions. A later file's group of the same name replaces the earlier one."""
    for name, members in node.items():
        spot = where(file, node, name)
        if not isinstance(name, str) or not name:
            issues.append(Issue(spot, f"cue_groups: {describe(name)} is not a group name; "
                                      "write a name such as 'deflecting'"))
        elif name in cue_ids:
            issues.append(Issue(spot, f"cue_groups: {name!r} is already a cue; give the group a name of its own"))
        elif not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
            issues.append(Issue(value_where(file, node, name),
                                f"cue_groups: {name!r} must be a list of cue ids, e.g. [policy-excuse, blame-system]"))
        else:
            unknown = [(i, m) for i, m in enumerate(members) if m not in cue_ids]
            for i, m in unknown:
                issues.append(Issue(where(file, members, i), f"cue_groups: {name!r}: unknown cue {m!r}"
                                                             f"{suggest(m, cue_ids)}"))
            if not unknown:
                groups[name] = tuple(dict.fromkeys(members))


def _build_entry(entry_id: str, raw: _Raw, cues: CueLibrary, prompt_ids: set[str],
                 issues: list[Issue], groups: dict[str, tuple[str, ...]]) -> Entry | None:
    start = len(issues)
    what = f"entry {entry_id!r}"
    home = raw.where or Location("phrasebook")
    v: dict[str, Any] = {}
    close = suggest(entry_id, prompt_ids - {entry_id})
    new_hint = (f"; no earlier file has this id, so it is a new entry{close.replace(' (', ' ').rstrip(')')}"
                if close and raw.layered_only else "")
    for name, spec in ENTRY_FIELDS.items():
        if name not in raw.values or raw.values[name] is None:
            if spec.required:
                issues.append(Issue(home, f"{what}: required key {name!r} not provided "
                                          f"({spec.expected()}){new_hint}"))
            elif spec.default is not None:
                v[name] = spec.default
            continue
        problem = check_value(spec, raw.values[name])
        if problem:
            issues.append(Issue(raw.spots[name], f"{what}: {name!r} {problem}"))
        else:
            v[name] = raw.values[name]
    timer = after = None
    if "after" in v:
        a = raw.values["after"]
        good = read_mapping(raw.spots["after"].file, a, AFTER_FIELDS, issues, what=f"{what} after")
        if len(good) == 2:
            timer, after = good["timer"], float(good["seconds"])
    on_raw = raw.values.get("on", ["timer"] if "after" in raw.values else None)
    on: list[str] = []
    if on_raw is None:
        issues.append(Issue(home, f"{what}: required key 'on' not provided "
                                  f"(one or more of {', '.join(TRIGGERS)}), or give 'after' for a timer"))
    else:
        for t in [on_raw] if isinstance(on_raw, str) else on_raw if isinstance(on_raw, list) else [on_raw]:
            if t not in TRIGGERS:
                issues.append(Issue(raw.spots.get("on", home),
                                    f"{what}: 'on' {describe(t)} is not a trigger{suggest(str(t), TRIGGERS)}; "
                                    f"triggers: {', '.join(TRIGGERS)}"))
            else:
                on.append(t)
    if "timer" in on and after is None and "after" not in raw.values:
        issues.append(Issue(raw.spots.get("on", home), f"{what}: 'on: timer' needs 'after' "
                                                       "({timer: hold|waiting, seconds: N})"))
    if "every" in v and after is None:
        issues.append(Issue(raw.spots["every"], f"{what}: 'every' repeats a timer; give 'after' too"))
    when = None
    if "when" in v:
        try:
            when = compile_condition(v["when"], cue_ids=cues.ids(), prompt_ids=prompt_ids, cue_groups=groups)
        except ConditionError as exc:
            spot = raw.spots["when"]
            line = (spot.line or 1) + (exc.line - 1 if exc.line else 0)
            issues.append(Issue(find_token(Location(spot.file, line, spot.column), exc.token),
                                f"{what}: when: {exc.message}"))
    template = None
    if "text" in v:
        template = _compile_text(v["text"], raw.spots["text"], what, issues)
    examples = _read_examples(raw, what, issues) if "examples" in v else ((), ())
    if len(issues) > start:
        return None
    return Entry(
        id=entry_id, on=frozenset(on), when=when, text=v["text"], template=template,
        severity=v["severity"], audience=v["audience"], cooldown=float(v["cooldown"]),
        max_per_conversation=v.get("max_per_conversation"), enabled=v["enabled"], mode=v["mode"],
        drafts=v["drafts"], timer=timer, after=after,
        every=float(v["every"]) if "every" in v else None,
        fire_examples=examples[0], silent_examples=examples[1], where=home, order=raw.order,
        about=v.get("about", ""),
    )


def _compile_text(text: str, spot: Location, what: str, issues: list[Issue]) -> Any:
    if not text.strip():
        issues.append(Issue(spot, f"{what}: 'text' is empty; write what the agent should read"))
        return None
    try:
        tree = _TEXT_ENV.parse(text)
    except TemplateSyntaxError as exc:
        line = (spot.line or 1) + (exc.lineno - 1 if exc.lineno else 0)
        issues.append(Issue(Location(spot.file, line, spot.column), f"{what}: text: template error: {exc.message}"))
        return None
    unknown = sorted(meta.find_undeclared_variables(tree) - set(SCHEMA))
    if unknown:
        name = unknown[0]
        issues.append(Issue(spot, f"{what}: text uses unknown name {name!r}{suggest(name, list(SCHEMA))}; "
                                  f"known names: {', '.join(sorted(SCHEMA))}"))
        return None
    return _TEXT_ENV.from_string(text)


def _read_examples(raw: _Raw, what: str, issues: list[Issue]) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    node = raw.values["examples"]
    spot = raw.spots["examples"]
    file = spot.file
    values = read_mapping(file, node, {"fire": Field("list", default=[]), "silent": Field("list", default=[])},
                          issues, what=f"{what} examples")
    out: dict[str, list[Example]] = {"fire": [], "silent": []}
    for kind in ("fire", "silent"):
        seq = values.get(kind) or []
        for i, chat in enumerate(seq):
            ex_where = where(file, node[kind], i)
            if not isinstance(chat, list) or not chat:
                issues.append(Issue(ex_where, f"{what} examples {kind}[{i + 1}]: an example is a list of steps "
                                              f"such as '- customer: ...' and '- agent: ...', got {describe(chat)}"))
                continue
            steps = []
            for j, step in enumerate(chat):
                step_where = where(file, chat, j)
                if not isinstance(step, dict) or len(step) != 1:
                    issues.append(Issue(step_where, f"{what} examples {kind}[{i + 1}] step {j + 1}: a step is one "
                                                    f"key ({', '.join(STEP_KINDS)}), got {describe(step)}"))
                    continue
                (key, value), = step.items()
                problem = _step_problem(key, value)
                if problem:
                    issues.append(Issue(step_where, f"{what} examples {kind}[{i + 1}] step {j + 1}: {problem}"))
                    continue
                steps.append((key, _plain(value)))
            out[kind].append(Example(tuple(steps), ex_where))
    if not out["fire"]:
        issues.append(Issue(raw.spots.get("examples:node", spot),
                            f"{what}: examples need at least one chat under 'fire'"))
    if not out["silent"]:
        issues.append(Issue(raw.spots.get("examples:node", spot),
                            f"{what}: examples need at least one chat under 'silent'"))
    return tuple(out["fire"]), tuple(out["silent"])


def _step_problem(key: Any, value: Any) -> str | None:
    if key in ("customer", "agent"):
        return None if isinstance(value, str) and value.strip() else f"'{key}' needs the message text"
    if key == "wait":
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return None if ok else "'wait' needs a number of seconds > 0"
    if key == "hold":
        return None if value in ("start", "end") else "'hold' must be 'start' or 'end'"
    if key == "end":
        return None if value in (None, "resolved", "unresolved", "escalated", "abandoned") else \
            "'end' must be empty or one of resolved, unresolved, escalated, abandoned"
    if key == "profile":
        return None if isinstance(value, dict) else "'profile' needs a mapping such as {tier: vip}"
    return f"unknown step {key!r}{suggest(str(key), STEP_KINDS)}; steps: {', '.join(STEP_KINDS)}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
