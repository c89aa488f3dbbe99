"""`assist report` output: prompt effectiveness as Markdown and as an HTML page with charts."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment, select_autoescape

from .effectiveness import HORIZON, PromptStats


def markdown(rows: Sequence[PromptStats], *, conversations: int) -> str:
    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x:.0%}"

    def num(x: float | None) -> str:
        return "–" if x is None else f"{x:+.2f}"

    out = [f"# Prompt effectiveness ({conversations} conversations)", "",
           f"Mood change = the customer's mean sentiment over the next {HORIZON} customer turns minus their "
           "sentiment at the moment. Held back = the entry's condition held but cooldown, cap or the alert budget "
           "kept it back. Lift = fired minus held back, with a bootstrap 95% interval.", "",
           "| prompt | fired | feedback | helpful | not helpful | dismissed | mood change fired (n) "
           "| held back (n) | lift | 95% interval |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in rows:
        j = s.to_json()
        interval = "–" if s.interval is None else f"{s.interval[0]:+.2f} … {s.interval[1]:+.2f}"
        out.append(f"| {s.prompt} | {s.fired} | {j['feedback']} | {pct(j['helpful'])} | {pct(j['not_helpful'])} "
                   f"| {pct(j['dismissed'])} | {num(j['mood_after_fired'])} ({j['n_fired']}) "
                   f"| {num(j['mood_after_held'])} ({j['n_held']}) | {num(s.lift)} | {interval} |")
    return "\n".join(out) + "\n"


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
PAGE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Customer Sense: which prompts help</title>
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#1d2330;padding:0 1rem}
 table{border-collapse:collapse} td,th{border:1px solid #dde;padding:.25rem .6rem;text-align:right}
 th:first-child,td:first-child{text-align:left} th{background:#f3f4f8} .note{color:#556070}
 svg text{font:12px system-ui,sans-serif}
</style></head><body>
<h1>Which prompts help</h1>
<p class="note">{{ conversations }} conversations. Mood change = the customer's mean sentiment over the next
{{ horizon }} customer turns minus their sentiment at the moment. Held back = the entry's condition held but
cooldown, cap or the alert budget kept it back. Lift = fired minus held back; the bar is its bootstrap 95%
interval: one that crosses 0 means no evidence either way yet.</p>
<table><tr><th>prompt</th><th>fired</th><th>feedback</th><th>helpful</th><th>not helpful</th><th>dismissed</th>
<th>mood change fired (n)</th><th>held back (n)</th><th>lift</th><th>95% interval</th></tr>
{% for r in rows %}<tr><td>{{ r.prompt }}</td><td>{{ r.fired }}</td><td>{{ r.feedback }}</td>
<td>{{ pct(r.helpful) }}</td><td>{{ pct(r.not_helpful) }}</td><td>{{ pct(r.dismissed) }}</td>
<td>{{ num(r.mood_after_fired) }} ({{ r.n_fired }})</td><td>{{ num(r.mood_after_held) }} ({{ r.n_held }})</td>
<td>{{ num(r.lift) }}</td><td>{{ interval(r.interval) }}</td></tr>{% endfor %}
</table>
<h2>Lift with its 95% interval</h2>
<svg width="720" height="{{ 30 + 24 * rows|length }}" role="img" aria-label="lift per prompt">
<line x1="{{ x(0) }}" x2="{{ x(0) }}" y1="10" y2="{{ 20 + 24 * rows|length }}" stroke="#889"/>
{% for r in rows %}{% set y = 24 + 24 * loop.index0 %}
<text x="0" y="{{ y + 4 }}">{{ r.prompt }}</text>
{% if r.interval %}<line x1="{{ x(r.interval[0]) }}" x2="{{ x(r.interval[1]) }}" y1="{{ y }}" y2="{{ y }}"
 stroke="#1f5fbf" stroke-width="6" stroke-linecap="round" opacity=".35"/>{% endif %}
{% if r.lift is not none %}<circle cx="{{ x(r.lift) }}" cy="{{ y }}" r="4" fill="#1f5fbf"/>{% endif %}
{% endfor %}
<text x="{{ x(-1) }}" y="{{ 28 + 24 * rows|length }}">-1</text><text x="{{ x(0) - 3 }}" y="{{ 28 + 24 * rows|length }}">0</text>
<text x="{{ x(1) - 10 }}" y="{{ 28 + 24 * rows|length }}">+1</text>
</svg>
</body></html>
""")


def html(rows: Sequence[PromptStats], *, conversations: int) -> str:
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v:.0%}"

    def num(v: float | None) -> str:
        return "–" if v is None else f"{v:+.2f}"

    def interval(v: list[float] | None) -> str:
        return "–" if not v else f"{v[0]:+.2f} … {v[1]:+.2f}"

    def x(v: float) -> float:
        return round(180 + (max(-1.0, min(1.0, v)) + 1) / 2 * 520, 1)

    return PAGE.render(rows=[s.to_json() for s in rows], conversations=conversations, horizon=HORIZON,
                       pct=pct, num=num, interval=interval, x=x)
