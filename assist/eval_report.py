"""`assist eval` output: Markdown tables on stdout and a self-contained HTML report."""

from __future__ import annotations

from collections import Counter

from .evaluate import MOODS, TYPES, GroundTruth, Report
from .moodcauses import describe

TOP_CAUSES = 6  # causes a kind of wrong call, and deciders, in the Markdown (the HTML report has them all)


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _confusion_md(table: dict[str, Counter[str]], columns: list[str], title: str) -> list[str]:
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for row, counts in table.items():
        lines.append(f"| **{row}** | " + " | ".join(str(counts.get(c, 0)) for c in columns) + " |")
    return lines


def markdown(sets: dict[str, Report], truths: list[GroundTruth]) -> str:
    out: list[str] = []
    out.append("## Summary\n")
    out.append("| set | conversations | prompt recall | false alarms | calm chats with a negative prompt "
               "| mood sign acc. (ours / VADER) | mood 3-way acc. (ours / VADER) | type acc. |")
    out.append("|---|---|---|---|---|---|---|---|")
    for name, rep in sets.items():
        calm = sum(1 for r in rep.results if r.calm)
        out.append(
            f"| {name} | {len(rep.results)} | {_recall(rep)} "
            f"| {rep.false_alarms} | {len(rep.calm_with_negative)} of {calm} "
            f"| {_pct(rep.mood_sign_accuracy(1))} / {_pct(rep.mood_sign_accuracy(2))} "
            f"| {_pct(rep.mood_accuracy(1))} / {_pct(rep.mood_accuracy(2))} "
            f"| {_pct(rep.type_accuracy())} ({len(rep.type_pairs())} typed) |")
    for name, rep in sets.items():
        out.append(f"\n## {name}: prompts\n")
        out.append("| prompt | fired | hit | missed | of them held back | false alarms | unlisted |")
        out.append("|---|---|---|---|---|---|---|")
        for pid, c in rep.per_prompt().items():
            out.append(f"| {pid} | {c.get('fired', 0)} | {c.get('hit', 0)} | {c.get('miss', 0)} "
                       f"| {c.get('held_back', 0)} | {c.get('false_alarm', 0)} | {c.get('unlisted', 0)} |")
        out.append(f"\n## {name}: mood ({len(rep.mood_pairs(1))} customer turns; rows: label, columns: "
                   "ours | bare VADER)\n")
        ours = _confusion_md(rep.mood_confusion(1), list(MOODS), "ours")
        bare = _confusion_md(rep.mood_confusion(2), list(MOODS), "VADER")
        out.extend(f"{a} {b}" for a, b in zip(ours, bare, strict=True))
        out.extend(_mood_errors_md(name, rep))
        out.append(f"\n## {name}: complainer type (rows: label, columns: predicted at the end)\n")
        out.extend(_confusion_md(rep.type_confusion(), [str(t) for t in TYPES], "type"))
    if truths:
        out.append("\n## Ordinary text: VADER's human-rated ground truth (Pearson r)\n")
        out.append("| set | items | ours | bare VADER | change |")
        out.append("|---|---|---|---|---|")
        for t in truths:
            out.append(f"| {t.name} | {t.items} | {t.ours:.3f} | {t.vader:.3f} | {-t.loss:+.3f} |")
    return "\n".join(out) + "\n"


def _mood_errors_md(name: str, rep: Report) -> list[str]:
    """Why the wrong upset-or-not calls went wrong, and the cues that decided calls wrongly."""
    errors = rep.mood_errors()
    if not errors:
        return []
    out = [f"\n## {name}: why mood calls go wrong ({len(errors)} of {len(rep.mood_pairs(1))} turns)\n",
           "| wrong call | what decided it | turns |", "|---|---|---|"]
    for kind, causes in rep.mood_error_causes().items():
        for cause, n in causes.most_common(TOP_CAUSES):
            out.append(f"| {kind} | {cause} | {n} |")
    wrong = [t for t in rep.mood_deciders() if t.wrong][:TOP_CAUSES]
    if wrong:
        out += ["", "| decided by | to upset: right / wrong | to calm: right / wrong |", "|---|---|---|"]
        out += [f"| {describe(t.decided_by)} | {t.to_upset_right} / {t.to_upset_wrong} "
                f"| {t.to_calm_right} / {t.to_calm_wrong} |" for t in wrong]
    return out


def _recall(rep: Report) -> str:
    """Prompt recall with its base; a set that labels no prompts has none to recall."""
    if not rep.expected_prompts:
        return "– (no prompts labelled)"
    return f"{_pct(rep.recall)} ({rep.expected_prompts} expected)"
