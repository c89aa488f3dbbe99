"""Optional redaction of e-mail addresses, card numbers and phone numbers in chat text,
before it is analysed, stored or logged (setting `redact`). Sans-IO and small on
purpose: the words that matter to the analysis are untouched."""

from __future__ import annotations

import re

EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
# international (+44 20 7946 0958), trunk-prefixed national (020 7946 0958) or North American
# (415-555-0132, (415) 555 0132); order numbers, dates and amounts are left alone
PHONE = re.compile(r"(?<![\w+])(?:\+\d(?:[\s().-]?\d){7,14}|\(?0\d{2,4}\)?(?:[\s.-]?\d){6,10}"
                   r"|\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4})\b")


def _luhn(digits: str) -> bool:
    total = 0
    for n, ch in enumerate(reversed(digits)):
        d = int(ch)
        if n % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group()


def redact(text: str) -> str:
    """`text` with e-mails, card numbers (Luhn-valid) and phone numbers replaced by markers."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub("[phone]", text)
