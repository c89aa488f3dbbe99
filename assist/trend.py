"""Mood trend of one conversation: smoothed level, slope and a "falling fast" signal.

Only customer turns count. The level is an exponentially weighted mean (weight
`ALPHA` on the newest turn); the slope is the change of the level over the last
customer turn. "Falling fast" means the mood is sliding, not one bad turn
after a good one: two customer turns in a row lower the level, the last by at least
`-FALL_SLOPE`, and the level is at or below `FALL_LEVEL`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .sentiment import mood_of

ALPHA = 0.5
FALL_SLOPE = -0.3
FALL_LEVEL = -0.3


@dataclass(slots=True)
class Trend:
    level: float = 0.0
    slope: float = 0.0
    turns: int = 0
    lowest: float = 0.0
    upset_turns: int = 0
    upset_streak: int = 0
    falling_fast: bool = False

    def add(self, value: float) -> None:
        previous = self.level
        previous_slope = self.slope
        self.level = value if self.turns == 0 else ALPHA * value + (1 - ALPHA) * self.level
        self.slope = self.level - previous if self.turns else min(0.0, value)
        self.turns += 1
        self.lowest = min(self.lowest, value)
        if mood_of(value) == "upset":
            self.upset_turns += 1
            self.upset_streak += 1
        else:
            self.upset_streak = 0
        self.falling_fast = (self.turns >= 3 and self.slope <= FALL_SLOPE and previous_slope < 0
                             and self.level <= FALL_LEVEL)

    def to_json(self) -> dict[str, float | int | bool]:
        return {"level": round(self.level, 3), "slope": round(self.slope, 3), "turns": self.turns,
                "lowest": round(self.lowest, 3), "upset_turns": self.upset_turns,
                "falling_fast": self.falling_fast}
