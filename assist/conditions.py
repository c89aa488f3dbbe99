"""`when:` conditions: jinja2 expressions, checked at load time and compiled to Python functions.

Supervisors write conditions in jinja2's expression syntax, e.g.

    'policy-excuse' in cues and last_customer.mood == 'upset'

jinja2 parses them (so the syntax and its error messages are jinja2's own); this module
walks the parsed tree once, rejects anything outside a small safe subset (unknown
names, unknown attributes, unknown cue or prompt ids, calls other than a few pure
helpers) with "did you mean", and writes the tree out as one Python function, compiled
once: names and attributes checked against the schema, every value the supervisor wrote
held in a constant slot, helpers the only thing it can call. Evaluating a condition is
one call, with no template rendering and no tree walk on the per-turn path.
Comparisons with a missing value (`timers.hold >= 60` while no hold runs) are false
instead of raising.

A cue group (`cue_groups:` in a phrasebook file) stands for its cues wherever a cue id
may: `'deflecting' in cues` holds when any of them is in the message, `customer_said['threats']`
counts them all. The compiler writes the group out, so a group costs what the list
written by hand would.

`references` of a compiled condition lists the cues and facts it looks at; the engine
uses it to attach evidence to each prompt.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from .errors import ConditionError
from .yamlsrc import suggest

Compiled = Callable[[Mapping[str, Any]], Any]

# What a condition may look at. A value is either the set of attributes of an object,
# or one of the markers for collections keyed by cue id / prompt id, or None (a scalar).
CUE_SET = "cue-set"          # `'x' in cues`
CUE_COUNTS = "cue-counts"    # `agent_said['apology']`, `'apology' in agent_said`
PROMPT_COUNTS = "prompt-counts"
TURN_ATTRS = {"sentiment": None, "mood": None, "cues": CUE_SET, "words": None, "event": None}
SCHEMA: dict[str, Any] = {
    "trigger": None,            # 'customer' | 'agent' | 'end' | 'hold' | 'timer'
    "role": None,               # role of the current message, or none
    "cues": CUE_SET,            # cues of the current message
    "sentiment": None,          # customer-service sentiment of the current message
    "mood": None,               # 'upset' | 'neutral' | 'positive' of the current message
    "words": None,              # number of words of the current message
    "last_customer": TURN_ATTRS,
    "last_agent": TURN_ATTRS,
    "trend": {"level": None, "slope": None, "falling_fast": None, "turns": None,
              "lowest": None, "upset_turns": None, "upset_streak": None},
    "customer_type": None,      # 'meek' | 'aggressive' | 'vip' | 'ripoff' | 'chronic' | none
    "type_confidence": None,
    "profile": {"tier": None, "lifetime_value": None, "prior_complaints": None,
                "prior_refunds": None, "name": None},
    "customer_said": CUE_COUNTS,   # customer cues over the whole conversation so far
    "agent_said": CUE_COUNTS,      # agent cues over the whole conversation so far
    "agent_said_since": CUE_COUNTS,  # agent cues since the customer's last message
    "customer_said_since": CUE_COUNTS,  # customer cues since the agent's last message
    "turns": {"customer": None, "agent": None},
    "timers": {"hold": None, "waiting": None},
    "outcome": None,            # the `end` event's outcome, or none
    "fired": PROMPT_COUNTS,     # prompts already shown in this conversation
}
FUNCTIONS: dict[str, Callable[..., Any]] = {"min": min, "max": max, "abs": abs}
TYPE_LABELS = ("meek", "aggressive", "vip", "ripoff", "chronic")
_ORDER_OPS = {"lt": operator.lt, "lteq": operator.le, "gt": operator.gt, "gteq": operator.ge}
_ARITH = {nodes.Add: operator.add, nodes.Sub: operator.sub, nodes.Mul: operator.mul,
          nodes.Div: operator.truediv}
_ENV = SandboxedEnvironment()


@dataclass
class References:
    """What a condition looks at, for evidence."""

    cues: set[str] = field(default_factory=set)        # current-turn cues
    said: set[tuple[str, str]] = field(default_factory=set)  # (mapping name, cue id)
    facts: set[str] = field(default_factory=set)       # dotted names: 'trend.level', 'customer_type'


@dataclass
class Condition:
    source: str
    run: Compiled
    references: References

    def __call__(self, context: Mapping[str, Any]) -> bool:
        return bool(self.run(context))


def _none_safe(op: Callable[[Any, Any], Any], missing: Any,
               errors: tuple[type[Exception], ...]) -> Callable[[Any, Any], Any]:
    """`op`, giving `missing` when either side is missing (None) or the values do not fit."""
    def run(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return missing
        try:
            return op(a, b)
        except errors:
            return missing
    return run


def _contains(a: Any, b: Any) -> bool:
    if b is None:
        return False
    if isinstance(b, Mapping):
        return bool(b.get(a, 0))
    try:
        return a in b
    except TypeError:
        return False


def _any_in(group: tuple[str, ...], b: Any) -> bool:
    return any(_contains(cue, b) for cue in group)


def _count_all(group: tuple[str, ...], counts: Mapping[str, int]) -> int:
    return sum(counts.get(cue, 0) for cue in group)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne,
    **{k: _none_safe(v, False, (TypeError,)) for k, v in _ORDER_OPS.items()},  # missing: false
    "in": _contains, "notin": lambda a, b: not _contains(a, b),
    "anyin": _any_in, "noneof": lambda a, b: not _any_in(a, b),  # a cue group: any of its cues
}


class _Compiler:
    def __init__(self, cue_ids: set[str], prompt_ids: set[str], groups: Mapping[str, tuple[str, ...]]) -> None:
        self.cue_ids = cue_ids
        self.prompt_ids = prompt_ids
        self.groups = groups
        self.refs = References()
        self.constants: dict[str, Any] = {}  # the constant slots of the compiled source

    def fail(self, node: nodes.Node, message: str, token: str | None = None) -> ConditionError:
        return ConditionError(message, line=getattr(node, "lineno", 1) or 1, token=token)

    # -- shapes ------------------------------------------------------------------
    def shape(self, node: nodes.Node) -> Any:
        """The schema shape of a name/attribute chain, or None for a scalar."""
        if isinstance(node, nodes.Name):
            return SCHEMA.get(node.name)
        if isinstance(node, nodes.Getattr):
            parent = self.shape(node.node)
            return parent.get(node.attr) if isinstance(parent, dict) else None
        return None

    def dotted(self, node: nodes.Node) -> str | None:
        if isinstance(node, nodes.Name):
            return node.name
        if isinstance(node, nodes.Getattr):
            base = self.dotted(node.node)
            return f"{base}.{node.attr}" if base else None
        return None

    def check_key(self, node: nodes.Node, key: Any, kind: str, holder: nodes.Node) -> tuple[str, ...] | None:
        """Check a cue or prompt id and note it as a reference; a cue group's cues, or None."""
        by_cue = kind != PROMPT_COUNTS
        ids = self.cue_ids if by_cue else self.prompt_ids
        what = "cue" if by_cue else "prompt id"  # a group is suggested like a cue when the name is near one
        if not isinstance(key, str):
            raise self.fail(node, f"{self.dotted(holder)} is keyed by {what} (a quoted text), got {key!r}")
        group = self.groups.get(key) if by_cue else None
        if ids and key not in ids and group is None:
            known = [*ids, *self.groups] if by_cue else ids
            raise self.fail(node, f"unknown {what} {key!r}{suggest(key, known)}", token=f"'{key}'")
        name = self.dotted(holder) or ""
        for cue in group or (key,):
            if kind == CUE_SET and name == "cues":
                self.refs.cues.add(cue)
            elif by_cue:
                self.refs.said.add((name, cue))
            else:
                self.refs.facts.add(f"fired.{cue}")
        return group

    # -- compile -----------------------------------------------------------------
    def compile(self, node: nodes.Node) -> str:
        """The Python expression for `node`, over `ctx` and the helpers in `_HELPERS`.

        Only checked names and attributes of the schema are written into the source;
        every value the supervisor wrote (numbers, quoted texts, cue ids) is a constant
        slot (`_k0`, `_k1`, ...), so no text of theirs is ever read as code."""
        if isinstance(node, nodes.Const):
            return self.constant(node.value)
        if isinstance(node, nodes.Name):
            if node.name in ("true", "false", "none", "True", "False", "None"):
                return {"true": "True", "false": "False", "none": "None"}[node.name.lower()]
            if node.name not in SCHEMA:
                raise self.fail(node, f"unknown name {node.name!r}{suggest(node.name, list(SCHEMA))}; "
                                      f"known names: {', '.join(sorted(SCHEMA))}", token=node.name)
            name = node.name
            if SCHEMA[name] is None:
                self.refs.facts.add(name)
            return f"ctx[{name!r}]"
        if isinstance(node, nodes.Getattr):
            inner = self.compile(node.node)
            parent = self.shape(node.node)
            if not isinstance(parent, dict):
                raise self.fail(node, f"{self.dotted(node.node) or 'this value'} has no attributes "
                                      f"(tried .{node.attr})")
            if node.attr not in parent:
                raise self.fail(node, f"{self.dotted(node.node)} has no attribute {node.attr!r}"
                                      f"{suggest(node.attr, list(parent))}; it has: {', '.join(parent)}",
                                      token=f".{node.attr}")
            attr = node.attr
            if parent[attr] is None:
                self.refs.facts.add(self.dotted(node) or attr)
            return f"_getattr({inner}, {attr!r}, None)"
        if isinstance(node, nodes.Getitem):
            kind = self.shape(node.node)
            if kind not in (CUE_COUNTS, PROMPT_COUNTS):
                raise self.fail(node, f"[...] works on agent_said, customer_said, agent_said_since, "
                                      f"customer_said_since and fired, not on {self.dotted(node.node)}")
            if not isinstance(node.arg, nodes.Const):
                raise self.fail(node, "the key in [...] must be a quoted cue or prompt id")
            group = self.check_key(node, node.arg.value, kind, node.node)
            if group is not None:  # a group counts all its cues
                return f"_count_all({self.constant(group)}, {self.compile(node.node)})"
            return f"{self.compile(node.node)}.get({self.constant(node.arg.value)}, 0)"
        if isinstance(node, nodes.Compare):
            return self.compare(node)
        if isinstance(node, nodes.And):
            return f"({self.compile(node.left)} and {self.compile(node.right)})"
        if isinstance(node, nodes.Or):
            return f"({self.compile(node.left)} or {self.compile(node.right)})"
        if isinstance(node, nodes.Not):
            return f"(not {self.compile(node.node)})"
        if isinstance(node, nodes.Neg):
            return f"(-{self.compile(node.node)})"
        if isinstance(node, nodes.Pos):
            return self.compile(node.node)
        if type(node) in _ARITH:
            op = _ARITH[type(node)]  # type: ignore[index]
            return f"_arith_{op.__name__}({self.compile(node.left)}, {self.compile(node.right)})"  # type: ignore[attr-defined]
        if isinstance(node, nodes.Tuple | nodes.List):
            return "(" + "".join(f"{self.compile(i)}, " for i in node.items) + ")"
        if isinstance(node, nodes.CondExpr):
            test, then = self.compile(node.test), self.compile(node.expr1)
            other = self.compile(node.expr2) if node.expr2 is not None else "None"
            return f"({then} if {test} else {other})"
        if isinstance(node, nodes.Test):
            if node.name not in ("none", "defined") or node.args:
                raise self.fail(node, f"only 'is none' and 'is not none' are supported, not 'is {node.name}'")
            return f"({self.compile(node.node)} is {'not ' if node.name == 'defined' else ''}None)"
        if isinstance(node, nodes.Call):
            if not isinstance(node.node, nodes.Name) or node.node.name not in FUNCTIONS:
                raise self.fail(node, f"only these functions may be called: {', '.join(FUNCTIONS)}")
            if node.kwargs or node.dyn_args or node.dyn_kwargs:
                raise self.fail(node, "functions take plain arguments only")
            args = "".join(f", {self.compile(a)}" for a in node.args)
            return f"_call(_fn_{node.node.name}{args})"
        raise self.fail(node, f"{type(node).__name__.lower()} expressions are not allowed in conditions; "
                              "use names, comparisons, and/or/not, in, numbers and quoted texts")

    def constant(self, value: Any) -> str:
        """A slot in the compiled condition's namespace holding `value`."""
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def compare(self, node: nodes.Compare) -> str:
        left_node = node.expr
        first = None
        steps = []
        for operand in node.ops:
            right_node = operand.expr
            kind = self.shape(right_node)
            op = operand.op
            if op in ("in", "notin") and kind in (CUE_SET, CUE_COUNTS, PROMPT_COUNTS):
                if not isinstance(left_node, nodes.Const):
                    raise self.fail(node, f"the left side of 'in {self.dotted(right_node)}' must be a quoted id")
                group = self.check_key(node, left_node.value, kind, right_node)
                if group is not None:  # 'group' in cues: any of its cues
                    if left_node is not node.expr:  # in a chain the left value is the step before's text
                        raise self.fail(node, f"the cue group {left_node.value!r} must open the comparison: "
                                              f"write '{left_node.value}' in {self.dotted(right_node)} on its own")
                    first = self.constant(group)
                    op = "anyin" if op == "in" else "noneof"
            if operand.op in ("eq", "ne") and isinstance(left_node, nodes.Name) and \
                    left_node.name == "customer_type" and isinstance(right_node, nodes.Const):
                if right_node.value is not None and right_node.value not in TYPE_LABELS:
                    raise self.fail(node, f"unknown customer type {right_node.value!r}"
                                          f"{suggest(str(right_node.value), TYPE_LABELS)}; "
                                          f"types: {', '.join(TYPE_LABELS)}")
            steps.append((op, self.compile(right_node)))
            left_node = right_node
        first = first or self.compile(node.expr)
        if len(steps) == 1:
            op, right = steps[0]
            return f"_cmp_{op}({first}, {right})"
        # a chain (0 < x <= 5): each operand evaluated once, left to right, stopping at the first false step
        return f"_chain({first}, (" + "".join(f"(_cmp_{op}, lambda: {right}), " for op, right in steps) + "))"


def _chain(left: Any, steps: tuple[tuple[Callable[[Any, Any], bool], Callable[[], Any]], ...]) -> bool:
    for op, right in steps:
        value = right()
        if not op(left, value):
            return False
        left = value
    return True


def _call(fn: Callable[..., Any], *values: Any) -> Any:
    if any(v is None for v in values):
        return None
    return fn(*values)


# what compiled conditions may call: nothing else is in their namespace (no builtins either)
_HELPERS: dict[str, Any] = {
    "_getattr": getattr, "_chain": _chain, "_call": _call, "_count_all": _count_all,
    **{f"_cmp_{k}": v for k, v in _COMPARE.items()},
    **{f"_arith_{op.__name__}": _none_safe(op, None, (TypeError, ZeroDivisionError))  # missing: missing
       for op in _ARITH.values()},
    **{f"_fn_{k}": v for k, v in FUNCTIONS.items()},
}


def compile_condition(source: str, *, cue_ids: set[str], prompt_ids: set[str],
                      cue_groups: Mapping[str, tuple[str, ...]] | None = None) -> Condition:
    """Parse and compile one `when:` expression; ConditionError says what is wrong.
    `cue_groups` maps a group name to its cues (checked already, by the phrasebook loader)."""
    if not source.strip():
        raise ConditionError("the condition is empty; write an expression such as "
                             "\"'policy-excuse' in cues\"")
    try:
        parser = Parser(_ENV, source, state="variable")
        tree = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            raise ConditionError(f"unexpected {token.value!r} after the end of the expression",
                                 line=token.lineno)
    except TemplateSyntaxError as exc:
        raise ConditionError(f"syntax error: {exc.message}", line=exc.lineno or 1) from exc
    compiler = _Compiler(cue_ids, prompt_ids, cue_groups or {})
    expression = compiler.compile(tree)
    namespace = {"__builtins__": {}, **_HELPERS, **compiler.constants}
    exec(compile(f"def condition(ctx):\n    return {expression}\n", "<condition>", "exec"), namespace)  # noqa: S102
    return Condition(source, namespace["condition"], compiler.refs)
