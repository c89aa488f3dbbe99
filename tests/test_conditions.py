"""`when:` conditions as compiled functions: what they return, and what they refuse to compile."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from assist.conditions import compile_condition
from assist.errors import ConditionError

CUES = {"policy-excuse", "apology", "shouting", "demand"}
PROMPTS = {"empathize", "be-firm"}


def check(source: str, **context: Any) -> bool:
    return compile_condition(source, cue_ids=CUES, prompt_ids=PROMPTS)(context)


def turn(sentiment: float | None = -0.4, mood: str = "upset", cues: frozenset[str] = frozenset()) -> SimpleNamespace:
    return SimpleNamespace(sentiment=sentiment, mood=mood, cues=cues, words=5, event=1)


def test_cues_counts_and_attributes() -> None:
    ctx = {"cues": frozenset({"policy-excuse"}), "customer_said": Counter(shouting=2),
           "last_customer": turn(), "fired": Counter(empathize=1)}
    assert check("'policy-excuse' in cues and last_customer.mood == 'upset'", **ctx)
    assert check("customer_said['shouting'] >= 2 and not customer_said['demand']", **ctx)
    assert check("'shouting' in customer_said and 'demand' not in customer_said", **ctx)
    assert check("fired['empathize'] == 1 and not fired['be-firm']", **ctx)
    assert not check("'apology' in cues or last_customer.sentiment > 0", **ctx)


def test_a_missing_value_makes_a_comparison_false_not_an_error() -> None:
    ctx = {"timers": SimpleNamespace(hold=None, waiting=30.0), "last_agent": turn(sentiment=None)}
    assert not check("timers.hold >= 60", **ctx)
    assert not check("timers.hold < 60", **ctx)
    assert check("timers.hold is none and timers.waiting is not none", **ctx)
    assert not check("last_agent.sentiment + 1 > 0", **ctx)  # arithmetic on a missing value stays missing
    assert not check("min(timers.hold, 5) < 10", **ctx)  # so does a helper given one
    assert check("max(timers.waiting, 5) == 30", **ctx)


def test_chains_arithmetic_helpers_and_choices() -> None:
    ctx = {"words": 12, "sentiment": -0.5, "trend": SimpleNamespace(level=-0.2, slope=-0.3), "mood": "upset"}
    assert check("5 < words <= 12", **ctx)
    assert not check("5 < words < 12", **ctx)
    assert not check("20 < words < sentiment", **ctx)  # the chain stops at its first false step
    assert check("trend.level + trend.slope * 2 <= -0.8 and abs(sentiment) == 0.5", **ctx)
    assert check("-sentiment > 0.4 and words / 4 == 3 and words - 2 == 10", **ctx)
    assert not check("words / 0 > 1", **ctx)  # division by zero is missing, and missing compares false
    assert check("mood in ('upset', 'neutral')", **ctx)
    assert check("(1 if mood == 'upset' else 0) == 1", **ctx)


def test_quoted_text_is_data_never_code() -> None:
    sneaky = "x') or __import__('os').system('true') or ('"
    ctx = {"profile": SimpleNamespace(name=sneaky, tier=None)}
    assert check(f'profile.name == "{sneaky}"', **ctx)
    assert not check('profile.name == "someone else"', **ctx)


GROUPS = {"dodging": ("policy-excuse", "apology"), "loud": ("shouting", "demand")}


def test_a_cue_group_stands_for_any_of_its_cues_and_counts_them_all() -> None:
    def grouped(source: str, **context: Any) -> bool:
        return compile_condition(source, cue_ids=CUES, prompt_ids=PROMPTS, cue_groups=GROUPS)(context)

    ctx = {"cues": frozenset({"apology"}), "customer_said": Counter(shouting=2, demand=1),
           "last_agent": turn(cues=frozenset({"policy-excuse"}))}
    assert grouped("'dodging' in cues and 'dodging' in last_agent.cues", **ctx)
    assert not grouped("'dodging' not in cues", **ctx)
    assert grouped("'loud' not in cues and 'loud' in customer_said", **ctx)
    assert grouped("customer_said['loud'] == 3 and customer_said['loud'] + customer_said['demand'] == 4", **ctx)
    assert not grouped("'dodging' in cues", cues=frozenset({"shouting"}))
    cond = compile_condition("'dodging' in cues or customer_said['loud'] >= 2", cue_ids=CUES,
                             prompt_ids=PROMPTS, cue_groups=GROUPS)
    assert cond.references.cues == {"policy-excuse", "apology"}  # evidence names the cues, not the group
    assert cond.references.said == {("customer_said", "shouting"), ("customer_said", "demand")}
    with pytest.raises(ConditionError, match=r"unknown cue 'dodgin' \(did you mean 'dodging'"):
        compile_condition("'dodgin' in cues", cue_ids=CUES, prompt_ids=PROMPTS, cue_groups=GROUPS)
    with pytest.raises(ConditionError, match="must open the comparison"):  # a chain would pass it the text
        compile_condition("'dodging' == 'dodging' in cues", cue_ids=CUES, prompt_ids=PROMPTS, cue_groups=GROUPS)


@pytest.mark.parametrize(("source", "message"), [
    ("'policy-excuse' in cuez", "unknown name 'cuez'"),
    ("last_customer.feeling == 'upset'", "has no attribute 'feeling'"),
    ("'polcy-excuse' in cues", "unknown cue 'polcy-excuse'"),
    ("customer_type == 'angry'", "unknown customer type 'angry'"),
    ("__import__('os')", "only these functions may be called"),
    ("last_customer.__class__", "has no attribute '__class__'"),
    ("cues[0]", "[...] works on"),
])
def test_what_falls_outside_the_language_is_refused_with_a_reason(source: str, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(source, cue_ids=CUES, prompt_ids=PROMPTS)
    assert message in str(caught.value)
