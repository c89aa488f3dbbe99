"""The coloured transcript of `assist replay` (Rich): turns, sentiment bars, cues, prompts."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

MOOD_STYLE = {"upset": "red", "neutral": "yellow", "positive": "green"}
SEVERITY_STYLE = {"critical": "bold white on red", "warn": "bold black on yellow", "info": "bold white on blue"}
BAR_CELLS = 10
LEFT = 46


def sentiment_bar(value: float) -> Text:
    """A centred bar: left half red for negative, right half green for positive."""
    cells = round(abs(value) * (BAR_CELLS // 2))
    half = BAR_CELLS // 2
    bar = Text()
    if value < 0:
        bar.append(" " * (half - cells) + "█" * cells, style="red")
        bar.append("│", style="dim")
        bar.append(" " * half)
    else:
        bar.append(" " * half)
        bar.append("│", style="dim")
        bar.append("█" * cells + " " * (half - cells), style="green")
    return bar


class Transcript:
    """Prints records as they come, with the message text from the input events."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.texts: dict[tuple[str, int], str] = {}

    def event(self, obj: dict[str, Any] | None, records: list[dict[str, Any]]) -> None:
        for rec in records:
            kind = rec.get("kind")
            if kind == "turn":
                self.turn(rec, obj)
            elif kind == "prompt":
                self.prompt(rec)
            elif kind == "error":
                self.error(rec)
        if obj is not None and obj.get("type") in ("start", "end", "hold") and not any(
                r.get("kind") == "error" for r in records):
            self.marker(obj)

    def _row(self, left: Text, right: Text) -> None:
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=LEFT, no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(left, right)
        self.console.print(grid)

    def turn(self, rec: dict[str, Any], obj: dict[str, Any] | None) -> None:
        role = rec["role"]
        left = Text()
        left.append(f"{rec['conversation'][-8:]:>8} #{rec['event']:<3}", style="dim")
        left.append(f"{_clock(rec['ts'])} ", style="dim")
        left.append(f"{role:>8} ", style="bold cyan" if role == "customer" else "bold magenta")
        left.append_text(sentiment_bar(rec["sentiment"]))
        left.append(f" {rec['sentiment']:+.2f}", style=MOOD_STYLE[rec["mood"]])
        right = Text(str(obj.get("text", "")) if obj else "")
        if rec["cues"]:
            right.append("\n" + "cues: " + ", ".join(rec["cues"]), style="italic dim")
        ctype = rec.get("customer_type")
        if role == "customer" and ctype:
            right.append(f"{'  ' if rec['cues'] else chr(10)}type: {ctype['label']} {ctype['confidence']:.0%}",
                         style="bold")
        self._row(left, right)

    def prompt(self, rec: dict[str, Any]) -> None:
        left = Text(f"{'':>13}{_clock(rec['ts'])} ", style="dim")
        style = SEVERITY_STYLE.get(rec["severity"], "bold")
        left.append(f" {rec['prompt'][:LEFT - 20]} ", style=style)
        right = Text()
        if rec.get("audience") == "supervisor":
            right.append("to supervisor: ", style="bold red")
        if rec.get("mode") == "shadow":
            right.append("(shadow) ", style="dim")
        right.append(rec["text"], style="bold")
        self._row(left, right)

    def error(self, rec: dict[str, Any]) -> None:
        style = "yellow" if rec.get("severity") == "warning" else "bold red"
        self.console.print(Text(f"  {rec.get('severity', 'error')}: {rec['message']}", style=style))

    def marker(self, obj: dict[str, Any]) -> None:
        kind = obj.get("type")
        detail = obj.get("outcome") or obj.get("state") or ""
        who = ""
        if kind == "start":
            c = obj.get("customer") or {}
            who = " ".join(str(x) for x in (c.get("name"), c.get("tier") and f"[{c.get('tier')}]") if x)
        self.console.print(Text(f"{obj.get('conversation', ''):>10} ── {kind} {detail} {who}".rstrip(),
                                style="dim"))


def _clock(ts: float) -> str:
    minutes, seconds = divmod(int(ts), 60)
    return f"{minutes:02d}:{seconds:02d}" if ts < 360000 else f"{ts:.0f}"
