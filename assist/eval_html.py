"""The self-contained HTML report of `assist eval`: tables and inline SVG charts, no CDN."""

from __future__ import annotations

from collections import Counter

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from .evaluate import MOODS, TYPES, GroundTruth, Report
from .moodcauses import describe

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))

PAGE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Customer Sense: evaluation</title>
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
 h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
 table{border-collapse:collapse;margin:.5rem 0} td,th{border:1px solid #dde;padding:.25rem .6rem;text-align:right}
 th:first-child,td:first-child{text-align:left} th{background:#f3f4f8}
 .cells td{width:3.2rem;text-align:center} .note{color:#667} .bad{color:#b3261e;font-weight:600}
 .grid{display:flex;gap:2rem;flex-wrap:wrap;align-items:flex-start} svg text{font:12px system-ui,sans-serif}
 .turns td,.turns th{text-align:left;vertical-align:top} .turns td:last-child{max-width:32rem}
 summary{cursor:pointer;margin:.5rem 0}
</style></head><body>
<h1>Customer Sense: evaluation</h1>
<p class="note">Prompts, mood and complainer type scored against labelled conversations, with bare VADER on
the same customer turns for comparison. Mood sign accuracy asks the panel's question: upset or not.</p>
<table><tr><th>set</th><th>chats</th><th>prompt recall</th><th>false alarms</th><th>calm chats with a negative prompt</th>
<th>mood sign (ours / VADER)</th><th>mood 3-way (ours / VADER)</th><th>type accuracy</th></tr>
{% for name, rep in sets.items() %}<tr><td>{{ name }}</td><td>{{ rep.results|length }}</td>
<td>{% if rep.expected_prompts %}{{ pct(rep.recall) }} of {{ rep.expected_prompts }}{% else %}– (no prompts labelled){% endif %}</td><td>{{ rep.false_alarms }}</td>
<td class="{{ 'bad' if rep.calm_with_negative else '' }}">{{ rep.calm_with_negative|length }}</td>
<td>{{ pct(rep.mood_sign_accuracy(1)) }} / {{ pct(rep.mood_sign_accuracy(2)) }}</td>
<td>{{ pct(rep.mood_accuracy(1)) }} / {{ pct(rep.mood_accuracy(2)) }}</td>
<td>{{ pct(rep.type_accuracy()) }} ({{ rep.type_pairs()|length }} typed)</td></tr>{% endfor %}
</table>
<h2>Mood accuracy: ours against bare VADER</h2>
{{ mood_chart|safe }}
{% for name, rep in sets.items() %}
<h2>{{ name }}: prompts</h2>
{{ prompt_charts[name]|safe }}
<p class="note">Held back: the prompt's condition held, but its cooldown, its cap a chat or the alert
budget kept it back; the other misses are conditions that did not hold.</p>
<table><tr><th>prompt</th><th>fired</th><th>hit</th><th>missed</th><th>of them held back</th><th>false alarms</th>
<th>unlisted</th></tr>
{% for pid, c in rep.per_prompt().items() %}<tr><td>{{ pid }}</td><td>{{ c.get('fired', 0) }}</td>
<td>{{ c.get('hit', 0) }}</td><td>{{ c.get('miss', 0) }}</td><td>{{ c.get('held_back', 0) }}</td>
<td class="{{ 'bad' if c.get('false_alarm') else '' }}">{{ c.get('false_alarm', 0) }}</td>
<td>{{ c.get('unlisted', 0) }}</td></tr>{% endfor %}</table>
<div class="grid">
<div><h3>Mood, ours (rows: label)</h3>{{ confusion(rep.mood_confusion(1), moods) }}</div>
<div><h3>Mood, bare VADER</h3>{{ confusion(rep.mood_confusion(2), moods) }}</div>
<div><h3>Type (rows: label)</h3>{{ confusion(rep.type_confusion(), types) }}</div>
</div>
{% set errors = rep.mood_errors() %}{% if errors %}
<h3>Why mood calls go wrong ({{ errors|length }} of {{ rep.mood_pairs(1)|length }} customer turns)</h3>
<p class="note">The step that decided a call is the last one that carried the score across the upset bound:
a cue's effect, the mood model, or else VADER's own reading. Read the cues with many wrong calls first.</p>
<div class="grid">
{% for kind, causes in rep.mood_error_causes().items() if causes %}<table><tr><th>{{ kind }}: what decided it</th><th>turns</th></tr>
{% for cause, n in causes.most_common() %}<tr><td>{{ cause }}</td><td>{{ n }}</td></tr>{% endfor %}</table>{% endfor %}
<table><tr><th>decided by</th><th>to upset: right</th><th>wrong</th><th>to calm: right</th><th>wrong</th></tr>
{% for t in rep.mood_deciders() %}<tr><td>{{ describe(t.decided_by) }}</td><td>{{ t.to_upset_right }}</td>
<td class="{{ 'bad' if t.to_upset_wrong else '' }}">{{ t.to_upset_wrong }}</td><td>{{ t.to_calm_right }}</td>
<td class="{{ 'bad' if t.to_calm_wrong else '' }}">{{ t.to_calm_wrong }}</td></tr>{% endfor %}</table>
</div>
<details><summary>The {{ errors|length }} turns</summary>
<table class="turns"><tr><th>conversation</th><th>event</th><th>label</th><th>ours</th><th>what decided it</th><th>cues</th><th>turn</th></tr>
{% for c in errors %}<tr><td>{{ c.conversation }}</td><td>{{ c.event }}</td><td>{{ c.label }}</td><td>{{ c.ours }}</td>
<td>{{ c.cause }}{% if c.effect and c.decided_by != 'VADER' %}<br><span class="note">{{ c.effect }}</span>{% endif %}</td>
<td>{{ c.cues|join(', ') }}</td><td>{{ c.text|truncate(240) }}</td></tr>{% endfor %}</table></details>
{% endif %}
{% if rep.results|selectattr('misses')|list or rep.results|selectattr('false_alarms')|list %}
<h3>Misses and false alarms</h3><table><tr><th>conversation</th><th>missed</th><th>false alarms</th></tr>
{% for r in rep.results if r.misses or r.false_alarms %}<tr><td>{{ r.conversation }}</td>
<td>{% for m in r.misses %}{{ m.prompt }}{% if m.held_back %} (held back: {{ m.held_back }}){% endif %}
{{- ', ' if not loop.last }}{% endfor %}</td>
<td>{{ r.false_alarms|map(attribute='prompt')|join(', ') }}</td></tr>{% endfor %}</table>{% endif %}
{% endfor %}
{% if truths %}<h2>Ordinary text: VADER's human-rated ground truth</h2>
<p class="note">Each line fed as a one-message customer chat; Pearson r against the mean human rating.
The layer must not lose more than 0.02 of bare VADER's r.</p>
<table><tr><th>set</th><th>items</th><th>r ours</th><th>r bare VADER</th><th>change</th></tr>
{% for t in truths %}<tr><td>{{ t.name }}</td><td>{{ t.items }}</td><td>{{ '%.3f'|format(t.ours) }}</td>
<td>{{ '%.3f'|format(t.vader) }}</td><td class="{{ 'bad' if t.loss > 0.02 else '' }}">{{ '%+.3f'|format(-t.loss) }}</td></tr>
{% endfor %}</table>{% endif %}
</body></html>
""")

CONFUSION = _ENV.from_string("""<table class="cells"><tr><th></th>{% for c in cols %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row, counts in table.items() %}<tr><th>{{ row }}</th>{% for c in cols %}
{% set n = counts.get(c, 0) %}{% set total = counts.values()|sum or 1 %}
<td style="background:rgba(46,106,208,{{ '%.2f'|format(0.08 + 0.8 * n / total) if n else 0 }})">{{ n }}</td>
{% endfor %}</tr>{% endfor %}</table>""")


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _bars(groups: list[tuple[str, list[tuple[str, float, str]]]], *, width: int = 520, unit: str = "%") -> str:
    """Horizontal grouped bars as inline SVG; values in 0..1."""
    row_h, label_w = 18, 170
    rows = sum(len(g[1]) for g in groups) + len(groups)
    height = rows * row_h + 10
    parts = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    y = 5
    scale = width - label_w - 60
    for title, bars in groups:
        parts.append(f'<text x="0" y="{y + 13}" font-weight="600">{_ENV.filters["e"](title)}</text>')
        y += row_h
        for label, value, colour in bars:
            w = max(1.0, scale * max(0.0, min(1.0, value)))
            parts.append(f'<text x="10" y="{y + 13}">{_ENV.filters["e"](label)}</text>')
            parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}">{value * 100:.1f}{unit}</text>')
            y += row_h
    parts.append("</svg>")
    return "".join(parts)


def html_report(sets: dict[str, Report], truths: list[GroundTruth]) -> str:
    mood_groups = []
    for name, rep in sets.items():
        mood_groups.append((name, [
            ("sign, ours", rep.mood_sign_accuracy(1), "#2e6ad0"), ("sign, VADER", rep.mood_sign_accuracy(2), "#a7b4c8"),
            ("3-way, ours", rep.mood_accuracy(1), "#2e6ad0"), ("3-way, VADER", rep.mood_accuracy(2), "#a7b4c8"),
        ]))
    prompt_charts = {}
    for name, rep in sets.items():
        bars = []
        for pid, c in rep.per_prompt().items():
            expected = c.get("hit", 0) + c.get("miss", 0)
            if expected:
                bars.append((pid, c.get("hit", 0) / expected, "#2f8f5b"))
        prompt_charts[name] = _bars([("recall per prompt", bars)])

    def confusion(table: dict[str, Counter[str]], cols: list[str]) -> str:
        return Markup(CONFUSION.render(table=table, cols=cols))

    return PAGE.render(sets=sets, truths=truths, pct=_pct, mood_chart=_bars(mood_groups),
                       prompt_charts=prompt_charts, confusion=confusion, moods=list(MOODS),
                       types=[str(t) for t in TYPES], describe=describe)
