"""Real support tweets and real support chats as labelled conversations, for measuring the layer
on real customers' English.

    .venv/bin/python bench/realtext.py OUT --tweets ERICSSON --chats WMT_CHAT_2024
    .venv/bin/python -m assist eval OUT/real-dev OUT/real-held OUT/real-chat-dev OUT/real-chat-held
    .venv/bin/python -m assist eval OUT/real-chat-mt-dev OUT/real-chat-mt-held

Real support chats (`--chats`): WMT_CHAT_2024 is a checkout of
https://github.com/WMT-Chat-task/chat-task-2024-data, the data of the WMT 2024 chat translation
task: real bilingual support chats of Unbabel's clients, the customer writing German, French,
Portuguese, Dutch or Korean, with a professional English translation, the agent writing
English. From each language's `valid/en-XX.csv` the ten chats of 6-60 lines whose id hashes
lowest are taken; a chat's customer lines are the English translation, its agent lines the
agent's own. The same chats are written twice: under `real-chat-*` with the professional
translation (`reference`), under `real-chat-mt-*` with the task's machine translation
(`valid/en-XX.baseline.txt`, one line for each row of the csv), the English an integrator
gets from a translating console. `real-chat2-*` and `real-chat3-*` take the first and the
next sixteen chats a language of the `train` files (professional translation only; `train`
has no machine translation), `real-chat4-*` / `real-chat4-mt-*` the next six of each `valid`
file (ranks 11-16), both ways, and `real-chat5-*` / `real-chat5-mt-*` the ten after those (ranks
17-26; Korean has 25 such chats, so nine). The data is CC BY-NC 4.0: the repository keeps only
our labels (`realchat-labels.json`, by language and chat id).

Real support tweets (`--tweets`): ERICSSON is a checkout of https://github.com/kechtel/ericsson
(the appendix of "Event Log Construction from Customer Service Conversations using Natural
Language Inference"): its
spreadsheets hold customer tweets to AmazonHelp, AppleSupport and SpotifyCares from the
"Customer Support on Twitter" dataset (Kaggle, thoughtvector), with the brands' replies.
Those texts are not ours to redistribute (CC BY-NC-SA), so the repository keeps only our
labels (`realtext-labels.json`: a mood per customer turn and a calm flag per chat, keyed by
tweet id, no text; for some chats also another reader's moods, `second_reader` and
`plain_reader`) and this script rebuilds the chats from the source:

* a thread (`data/preprocessed/*-preprocessed-<n>.xlsx`) becomes one chat per customer:
  their tweets and the brand's replies to them, in time order; mentions and links removed;
* a customer tweet of `data/labeled/*-200-inbound.xlsx` that is in no thread and is
  addressed to someone (not an advertisement) becomes a one-message chat.

Each chat falls in the development half or the held-out half by a hash of its key, fixed
before any label was read. The labels were written blind, by readers who saw only the
seeds, the label format and the chats (docs/labelled-data.md, "Real support tweets").
Reading the spreadsheets needs no library: an .xlsx is a zip of XML.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

HERE = Path(__file__).resolve().parent
LABELS = HERE / "realtext-labels.json"
CHAT_LABELS = HERE / "realchat-labels.json"
CHAT_LANGUAGES = ("de", "fr", "pt", "nl", "ko")
# each pool: the task's file it takes its chats from, and which of them by rank of the chat id's hash
CHAT_POOLS = {"valid": ("valid", slice(0, 10)), "valid2": ("valid", slice(10, 16)),
              "valid3": ("valid", slice(16, 26)),
              "train": ("train", slice(0, 16)), "train2": ("train", slice(16, 32))}
THREADS = ("twcs-AmazonHelp-preprocessed-183", "twcs-AppleSupport-preprocessed-116",
           "twcs-SpotifyCares-preprocessed-56")
SINGLES = ("twcs-AmazonHelp-200-inbound", "twcs-AppleSupport-200-inbound", "twcs-SpotifyCares-200-inbound")
_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
Chat = tuple[str, list[dict[str, Any]]]  # (key, [{role, text, ts}])


def read_xlsx(path: Path) -> list[dict[str, str]]:
    """The first sheet of a workbook as rows keyed by the header row's names."""
    with zipfile.ZipFile(path) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            for item in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{_SHEET}si"):
                shared.append("".join(t.text or "" for t in item.iter(f"{_SHEET}t")))
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows: list[dict[str, str]] = []
    for row in sheet.iter(f"{_SHEET}row"):
        cells = {}
        for cell in row.iter(f"{_SHEET}c"):
            column = re.match(r"[A-Z]+", cell.get("r", "")).group()  # type: ignore[union-attr]
            value = cell.find(f"{_SHEET}v")
            if cell.get("t") == "s" and value is not None:
                cells[column] = shared[int(value.text or 0)]
            elif cell.get("t") == "inlineStr":
                cells[column] = "".join(t.text or "" for t in cell.iter(f"{_SHEET}t"))
            elif value is not None:
                cells[column] = value.text or ""
        rows.append(cells)
    header, body = rows[0], rows[1:]
    return [{header[c]: v for c, v in r.items() if c in header} for r in body]


def clean(text: str) -> str:
    """A tweet as a chat message: no mentions, no links, HTML entities undone, spaces squeezed."""
    text = re.sub(r"https?://\S+", "", text)
    text = re.sub(r"@\w+", "", text)
    text = text.replace("&amp;", "&").replace("&gt;", ">").replace("&lt;", "<")
    return re.sub(r"\s+", " ", text).strip()


def half(key: str) -> str:
    """'dev' or 'held', fixed by the key alone."""
    return "dev" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "held"


def tweet_chats(source: Path) -> dict[str, list[Chat]]:
    """The tweets' chats of each half (`--tweets`), in a fixed order."""
    out: dict[str, list[Chat]] = {"dev": [], "held": []}
    in_threads: set[str] = set()
    for name in THREADS:
        rows = read_xlsx(source / "data" / "preprocessed" / f"{name}.xlsx")
        by_id = {r["tweet_id"]: r for r in rows}

        def customer_of(row: dict[str, str], depth: int = 0) -> str | None:
            if row.get("inbound") == "1":
                return row["author_id"]
            parent = by_id.get(row.get("in_response_to_tweet_id") or "")
            return customer_of(parent, depth + 1) if parent is not None and depth < 20 else None

        threads: dict[tuple[str, str], list[dict[str, str]]] = {}
        for row in rows:
            author = customer_of(row)
            if author is not None:
                threads.setdefault((row["main_tweet_id"], author), []).append(row)
        for (main, author), items in threads.items():
            items.sort(key=lambda r: float(r["created_at"]))
            start = float(items[0]["created_at"])
            turns = []
            for row in items:
                text = clean(row.get("text", ""))
                if text:
                    in_threads.add(row["tweet_id"])
                    turns.append({"role": "customer" if row["inbound"] == "1" else "agent", "text": text,
                                  "ts": round((float(row["created_at"]) - start) * 86400, 1)})
            if turns and turns[0]["role"] == "customer":
                key = f"t{main}-{author}"
                out[half(key)].append((key, turns))
    for name in SINGLES:
        for row in read_xlsx(source / "data" / "labeled" / f"{name}.xlsx"):
            raw = row.get("text") or ""
            if row["tweet_id"] in in_threads or "@" not in raw or len(clean(raw)) < 3:
                continue
            key = f"s{row['tweet_id']}"
            out[half(key)].append((key, [{"role": "customer", "text": clean(raw), "ts": 0.0}]))
    return out


def events(conversation: str, turns: list[dict[str, Any]], label: dict[str, Any] | None,
           channel: str = "twitter") -> list[dict[str, Any]]:
    """A chat in the contract's events, with its labels when there are some."""
    start: dict[str, Any] = {"type": "start", "conversation": conversation, "ts": 0.0, "channel": channel}
    if label is not None:
        start["expect"] = {"calm": label["calm"]}
    out = [start]
    moods = iter(label["moods"] if label is not None else ())
    ts = 0.0
    for turn in turns:
        ts = max(ts, turn["ts"])
        message = {"type": "message", "conversation": conversation, "ts": ts, "role": turn["role"],
                   "text": turn["text"]}
        if turn["role"] == "customer" and label is not None:
            message["mood_label"] = next(moods)
        out.append(message)
    return out


def _read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def support_chats(source: Path, machine: bool = False, pool: str = "valid") -> dict[str, list[Chat]]:
    """The real support chats of each half (`--chats`), in a fixed order: from each language's
    `valid` file (the first ten, with `pool="valid2"` the next six, with `"valid3"` the ten
    after), or with `pool="train"` (the first sixteen) or `"train2"` (the next sixteen) from its
    `train` file (chats not also in `valid`). With `machine`, the customer's lines in the task's
    machine translation (only `valid` has one) instead of the professional one."""
    out: dict[str, list[Chat]] = {"dev": [], "held": []}
    part, ranks = CHAT_POOLS[pool]
    for language in CHAT_LANGUAGES:
        rows = _read_rows(source / part / f"en-{language}.csv")
        if machine:
            baseline = (source / part / f"en-{language}.baseline.txt").read_text(encoding="utf-8")
            translations = baseline.split("\n")[:len(rows)]
            if len(translations) != len(rows):
                raise SystemExit(f"en-{language}.baseline.txt: {len(translations)} lines for {len(rows)} rows")
            for row, translation in zip(rows, translations):
                row["reference"] = translation
        elsewhere: set[str] = set()
        if part != "valid":
            elsewhere = {row["doc_id"] for row in _read_rows(source / "valid" / f"en-{language}.csv")}
        by_doc: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            by_doc.setdefault(row["doc_id"], []).append(row)
        ranked = sorted((hashlib.sha256(doc.encode()).hexdigest(), doc) for doc, lines in by_doc.items()
                        if 6 <= len(lines) <= 60 and doc not in elsewhere)
        for _, doc in ranked[ranks]:
            turns = []
            for n, row in enumerate(by_doc[doc], 1):
                text = (row["reference"] if row["sender"] == "customer" else row["source"]).strip()
                if text:
                    turns.append({"role": row["sender"], "text": text, "ts": float(n * 20)})
            out[half(doc)].append((f"{language}:{doc}", turns))
    return out


def write(out: Path, prefix: str, halves: dict[str, list[Chat]], labels: dict[str, Any], channel: str) -> None:
    """Each half's chats as contract events under OUT/PREFIX-dev and OUT/PREFIX-held."""
    for part, items in halves.items():
        folder = out / f"{prefix}-{part}"
        folder.mkdir(parents=True, exist_ok=True)
        turns = 0
        for n, (key, chat) in enumerate(items, 1):
            conversation = f"{prefix}-{part}-{n:03d}"
            label = labels.get(key)
            customer_turns = sum(t["role"] == "customer" for t in chat)
            if label is not None and len(label["moods"]) != customer_turns:
                raise SystemExit(f"{key}: {len(label['moods'])} labels for a chat of a different length")
            lines = events(conversation, chat, label, channel)
            (folder / f"{conversation}.jsonl").write_text(
                "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in lines))
            turns += customer_turns
        print(f"{folder}: {len(items)} chats, {turns} customer turns")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="where to write the labelled chats")
    parser.add_argument("--tweets", type=Path, help="a checkout of github.com/kechtel/ericsson")
    parser.add_argument("--chats", type=Path, help="a checkout of github.com/WMT-Chat-task/chat-task-2024-data")
    args = parser.parse_args(argv)
    if args.tweets is None and args.chats is None:
        parser.error("give --tweets, --chats or both")
    if args.tweets is not None:
        write(args.out, "real", tweet_chats(args.tweets), json.loads(LABELS.read_text()), "twitter")
    if args.chats is not None:
        labels = json.loads(CHAT_LABELS.read_text())
        write(args.out, "real-chat", support_chats(args.chats), labels, "chat")
        write(args.out, "real-chat-mt", support_chats(args.chats, machine=True), labels, "chat")
        write(args.out, "real-chat2", support_chats(args.chats, pool="train"), labels, "chat")
        write(args.out, "real-chat3", support_chats(args.chats, pool="train2"), labels, "chat")
        write(args.out, "real-chat4", support_chats(args.chats, pool="valid2"), labels, "chat")
        write(args.out, "real-chat4-mt", support_chats(args.chats, machine=True, pool="valid2"), labels, "chat")
        write(args.out, "real-chat5", support_chats(args.chats, pool="valid3"), labels, "chat")
        write(args.out, "real-chat5-mt", support_chats(args.chats, machine=True, pool="valid3"), labels, "chat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
