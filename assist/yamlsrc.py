"""Loading YAML while file, line and column are still known.

Rule files come as ruamel.yaml's round-trip loader makes them: mappings and sequences that
know the position of every key, value and item. They are built from libyaml's nodes, which
is ten times quicker than the round-trip loader itself; a file with an error, or one libyaml
reads differently, is parsed by the round-trip loader, whose messages say what and where.
Validators ask `where()` for the spot of a node or of one of its keys, so that every
error can say `phrasebooks/team.yaml:42:5: ...`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Issue, Location, RuleFileError


def load_yaml(path: Path | str, text: str | None = None, *, fast: bool = False) -> Any:
    """Parse one YAML file; a syntax error becomes a RuleFileError with its spot.

    `fast` parses with the safe loader (libyaml through ruamel.yaml.clib when installed):
    plain dicts and lists, no positions, four to ten times quicker on the machine-written
    weights files. A caller that meets a problem in such a tree parses again without it,
    so that the error names its line."""
    name = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise RuleFileError([Issue(Location(name), f"cannot read file: {exc.strerror}")]) from exc
        except UnicodeDecodeError as exc:
            raise RuleFileError([Issue(Location(name), "file is not UTF-8 text")]) from exc
    if not fast:
        try:
            return _load_with_spots(text)
        except (YAMLError, _LeftToRoundTrip):  # the round-trip loader below says what and where
            pass
    yaml = YAML(typ="safe" if fast else "rt")
    yaml.allow_duplicate_keys = False
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(name, mark.line + 1, mark.column + 1) if mark else Location(name)
        problem = exc.problem or exc.context or "invalid YAML"
        if "found duplicate key" in str(exc):
            problem = "duplicate key " + str(exc).split("found duplicate key", 1)[1].split("\n")[0].strip()
        raise RuleFileError([Issue(where, f"YAML syntax error: {problem}")]) from exc


class _LeftToRoundTrip(Exception):
    """What the quick build leaves to the round-trip loader: a key twice in one mapping (which
    it reports with its spot), merge keys, and a list or mapping used as a key."""


def _load_with_spots(text: str) -> Any:
    """The tree the round-trip loader makes (CommentedMap and CommentedSeq that know where each
    key and item is), built from libyaml's nodes: ten times quicker on the cue files, which are
    most of a phrasebook's start-up. Comments are not kept (only the editor writes YAML back, and
    it parses with the round-trip loader itself)."""
    yaml = YAML(typ="safe")
    root = yaml.compose(text)
    return None if root is None else _built(root, yaml.constructor)


def _built(node: Node, constructor: Any) -> Any:
    if isinstance(node, MappingNode):
        mapping = CommentedMap()
        mapping._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, ScalarNode):
                raise _LeftToRoundTrip("a merge key, or a list or mapping as a key")
            key = _built(key_node, constructor)
            if key in mapping:
                raise _LeftToRoundTrip(f"duplicate key {key!r}")
            mapping[key] = _built(value_node, constructor)
            mapping._yaml_set_kv_line_col(key, [key_node.start_mark.line, key_node.start_mark.column,
                                                value_node.start_mark.line, value_node.start_mark.column])
        return mapping
    if isinstance(node, SequenceNode):
        seq = CommentedSeq()
        seq._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
        for i, item in enumerate(node.value):
            seq.append(_built(item, constructor))
            seq._yaml_set_idx_line_col(i, [item.start_mark.line, item.start_mark.column])
        return seq
    return constructor.construct_object(node, deep=True)


def where(file: str, node: Any, key: Any = None) -> Location:
    """The spot of `node` (a mapping or sequence), or of its key/item `key`."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return Location(file)
    try:
        if key is not None and isinstance(node, CommentedMap) and key in node:
            line, col = lc.key(key)
            return Location(file, line + 1, col + 1)
        if key is not None and isinstance(node, CommentedSeq) and isinstance(key, int):
            line, col = lc.item(key)
            return Location(file, line + 1, col + 1)
    except (KeyError, IndexError, TypeError):
        pass
    return Location(file, lc.line + 1, lc.col + 1)


def value_where(file: str, node: Any, key: Any) -> Location:
    """The spot of the value stored under `key` in mapping `node`."""
    lc = getattr(node, "lc", None)
    if lc is not None and isinstance(node, CommentedMap) and key in node:
        try:
            line, col = lc.value(key)
            return Location(file, line + 1, col + 1)
        except (KeyError, IndexError, TypeError):
            pass
    return where(file, node, key)


def describe(value: Any) -> str:
    """A short, human description of a YAML value for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def suggest(word: str, choices: list[str] | set[str] | tuple[str, ...]) -> str:
    """' (did you mean 'x'?)' when a close choice exists, else ''."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def find_token(location: Location, token: str | None, span: int = 40) -> Location:
    """The first spot at or after `location` where `token` is written (within `span` lines).

    Multi-line YAML values are folded before they are parsed, so the parser's line
    inside the value is lost; the token's own line is what a person needs to see.
    """
    if not token or location.line is None:
        return location
    try:
        lines = Path(location.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return location
    for n in range(location.line - 1, min(len(lines), location.line - 1 + span)):
        col = lines[n].find(token)
        if col >= 0:
            return Location(location.file, n + 1, col + 1)
    return location


def display_path(path: Path | str) -> str:
    """`path` relative to the working directory when it lies inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)
