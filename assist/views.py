"""What panels and the supervisor wall see of a conversation: summaries and risk.

Pure functions of a `Conversation` and a time; the server sends their output in
`snapshot` and `conversation` messages.
"""

from __future__ import annotations

from typing import Any

from .conversation import Conversation

RISKY_TYPES = {"aggressive": 0.15, "ripoff": 0.1, "vip": 0.1, "chronic": 0.05}


def risk(conv: Conversation, now: float) -> tuple[float, list[str]]:
    """0..1, higher = more likely to go wrong; with the reasons, most important first."""
    parts: list[tuple[float, str]] = []
    trend = conv.trend
    if trend.turns and trend.level < 0:
        parts.append((min(0.4, -trend.level * 0.45), f"mood {trend.level:+.2f}"))
    if trend.falling_fast:
        parts.append((0.2, "mood falling fast"))
    assert conv.profiler is not None
    label = conv.profiler.estimate.label
    if label in RISKY_TYPES:
        parts.append((RISKY_TYPES[label], f"{label} customer"))
    threats = sum(conv.customer_said.get(c, 0) for c in ("cancel-threat", "legal-threat", "public-threat"))
    if threats or conv.fired.get("escalation-risk"):
        parts.append((0.25, "threat to cancel, sue or go public"))
    clocks = conv.clocks_at(now)
    waited = max(clocks.hold or 0.0, clocks.waiting or 0.0)
    if waited >= 30 and not conv.ended:
        parts.append((min(0.2, waited / 600), f"waiting {int(waited)} s"))
    parts.sort(key=lambda p: -p[0])
    return min(1.0, sum(p[0] for p in parts)), [p[1] for p in parts]


def summary(conv: Conversation, now: float, *, turns: int = 12) -> dict[str, Any]:
    """The conversation as a panel shows it: who, how they feel, type, timers, risk."""
    assert conv.profiler is not None
    score, reasons = risk(conv, now)
    clocks = conv.clocks_at(now)
    p = conv.profile
    return {
        "conversation": conv.id,
        "agent": conv.agent.id if conv.agent else None,
        "status": "ended" if conv.ended else "open",
        "outcome": conv.outcome,
        "customer": {k: v for k, v in (("name", p.name), ("tier", p.tier), ("id", p.id),
                                       ("prior_complaints", p.prior_complaints or None),
                                       ("lifetime_value", p.lifetime_value)) if v is not None},
        "channel": conv.channel,
        "turns": [t.to_json() for t in list(conv.turns)[-turns:]],
        "trend": conv.trend.to_json(),
        "customer_type": conv.profiler.estimate.to_json(),
        "timers": {"hold": None if clocks.hold is None else round(clocks.hold, 1),
                   "hold_since": conv.hold_since, "waiting_since": conv.waiting_since,
                   "waiting": None if clocks.waiting is None else round(clocks.waiting, 1)},
        "risk": round(score, 3),
        "risk_reasons": reasons,
        "updated": conv.latest_ts,
    }
