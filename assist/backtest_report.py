"""`assist backtest` output: a Markdown summary with the changes, and an HTML report."""

from __future__ import annotations

from jinja2 import Environment, select_autoescape

from .backtest import Backtest, call_word
from .moodcauses import describe

KIND_MARK = {"added": "+", "removed": "-", "moved": "~"}


def markdown(result: Backtest, old_name: str, new_name: str, *, limit: int = 200) -> str:
    out = [f"# Backtest: {old_name} -> {new_name}", "",
           f"{result.conversations} conversations, {result.events} events replayed through both.", "",
           "| prompt | old | new | added | removed | moved | chats changed |", "|---|---|---|---|---|---|---|"]
    for row in result.by_prompt():
        out.append(f"| {row['prompt']} | {row['old']} | {row['new']} | {row['added']} | {row['removed']} "
                   f"| {row['moved']} | {row['conversations']} |")
    out += ["", _mood_line(result)]
    if result.mood_changes:
        out += ["", f"## Mood calls changed ({len(result.mood_changes)})", ""]
        for m in result.mood_changes[:limit]:
            out.append(f"- {m.conversation} #{m.event}: {call_word(m.old.upset)} -> {call_word(m.new.upset)} "
                       f"({describe(m.new.decided_by)})"
                       f"{_verdict(m.label, m.verdict)}: {m.text}")
        if len(result.mood_changes) > limit:
            out.append(f"\n... and {len(result.mood_changes) - limit} more (see --html or --json)")
    if not result.changes:
        out += ["", "No prompt changes."]
        return "\n".join(out) + "\n"
    out += ["", f"## Changes ({len(result.changes)})"]
    current = None
    for change in result.changes[:limit]:
        if change.conversation != current:
            current = change.conversation
            out += ["", f"### {current}"]
        where = (f"event {change.new_event}" if change.kind == "added" else f"event {change.old_event}"
                 if change.kind == "removed" else f"event {change.old_event} -> {change.new_event}")
        shadow = " (shadow)" if change.mode == "shadow" else ""
        out.append(f"- **{KIND_MARK[change.kind]} {change.prompt}**{shadow} {change.kind} at {where}")
        for turn in change.context:
            out.append(f"  - #{turn['event']} {turn['role']}: {turn['text']}")
    if len(result.changes) > limit:
        out.append(f"\n... and {len(result.changes) - limit} more (see --html or --json)")
    return "\n".join(out) + "\n"


def _verdict(label: str | None, verdict: str | None) -> str:
    return f", labelled {label}: {verdict}" if verdict else ""


def _mood_line(result: Backtest) -> str:
    m = result.mood_summary()
    line = (f"Mood calls: {m['changed']} of {m['customer_turns']} customer turns changed "
            f"({m['to_upset']} to upset, {m['to_calm']} to not upset)")
    if m["fixed"] or m["broken"]:
        line += f"; on labelled turns {m['fixed']} fixed, {m['broken']} broken"
    return line + "."


_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
PAGE = _ENV.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Customer Sense: backtest {{ old }} -> {{ new }}</title>
<style>
 body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#1d2330;padding:0 1rem}
 table{border-collapse:collapse} td,th{border:1px solid #dde;padding:.25rem .6rem;text-align:right}
 th:first-child,td:first-child{text-align:left} th{background:#f3f4f8}
 .added{color:#1e7a46} .removed{color:#b3261e} .moved{color:#8a5a00}
 .turn{color:#556070;margin-left:1.5rem} .bar{display:inline-block;height:10px;background:#1f5fbf}
 .bar.new{background:#e08a00} .moods td,.moods th{text-align:left;vertical-align:top}
</style></head><body>
<h1>Backtest: {{ old }} &rarr; {{ new }}</h1>
<p>{{ r.conversations }} conversations, {{ r.events }} events replayed through both phrasebooks.</p>
<table><tr><th>prompt</th><th>old</th><th>new</th><th>added</th><th>removed</th><th>moved</th><th>chats changed</th>
<th>old / new</th></tr>
{% for row in rows %}<tr><td>{{ row.prompt }}</td><td>{{ row.old }}</td><td>{{ row.new }}</td>
<td class="added">{{ row.added }}</td><td class="removed">{{ row.removed }}</td><td class="moved">{{ row.moved }}</td>
<td>{{ row.conversations }}</td>
<td style="text-align:left"><span class="bar" style="width:{{ (120 * row.old / top)|round(1) }}px"></span><br>
<span class="bar new" style="width:{{ (120 * row.new / top)|round(1) }}px"></span></td></tr>{% endfor %}
</table>
<p>{{ mood_line }}</p>
{% if r.mood_changes %}<h2>Mood calls changed ({{ r.mood_changes|length }})</h2>
<table class="moods"><tr><th>conversation</th><th>event</th><th>old</th><th>new</th><th>decided by</th><th>label</th>
<th>turn</th></tr>
{% for m in r.mood_changes %}<tr><td>{{ m.conversation }}</td><td>{{ m.event }}</td>
<td>{{ call(m.old.upset) }} ({{ '%+.2f'|format(m.old.sentiment) }})</td>
<td>{{ call(m.new.upset) }} ({{ '%+.2f'|format(m.new.sentiment) }})</td>
<td>{{ describe(m.new.decided_by) }}</td>
<td class="{{ 'added' if m.verdict == 'fixed' else 'removed' if m.verdict == 'broken' else '' }}">
{{- m.label or '' }}{% if m.verdict %} ({{ m.verdict }}){% endif %}</td>
<td>{{ m.text }}</td></tr>{% endfor %}</table>{% endif %}
<h2>Changes ({{ r.changes|length }})</h2>
{% for c in r.changes %}<div class="{{ c.kind }}"><strong>{{ c.kind }} {{ c.prompt }}</strong>
{% if c.mode == 'shadow' %}(shadow){% endif %} in {{ c.conversation }},
{% if c.kind == 'moved' %}event {{ c.old_event }} &rarr; {{ c.new_event }}{% elif c.kind == 'added' %}event
{{ c.new_event }}{% else %}event {{ c.old_event }}{% endif %}: <em>{{ c.text }}</em></div>
{% for t in c.context %}<div class="turn">#{{ t.event }} {{ t.role }}: {{ t.text }}</div>{% endfor %}
{% endfor %}
</body></html>
""")


def html(result: Backtest, old_name: str, new_name: str) -> str:
    rows = result.by_prompt()
    top = max([1, *(max(r["old"], r["new"]) for r in rows)])
    return PAGE.render(r=result, rows=rows, top=top, old=old_name, new=new_name, mood_line=_mood_line(result),
                       call=call_word, describe=describe)
