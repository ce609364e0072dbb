"""The pseudo-locale ``en_XA``: every string wrapped in brackets, its letters accented, and
lengthened by about a third, so a test can tell translated text from text that bypassed the
catalogs, and a layout meets strings as long as German ones. Placeholders, HTML tags and
entities are kept as they are: the page still works."""

from __future__ import annotations

import re

OPEN, CLOSE = "[", "]"
PAD = "~"

_ACCENTED = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "àƀçđéƒĝĥîĵķļɱñöþǫŕšţûṽŵẋýžÀƁÇĐÉƑĜĤÎĴĶĻṀÑÖÞǪŔŠŢÛṼŴẊÝŽ",
)
# What must survive untouched: printf and str.format placeholders, tags, entities.
_KEEP = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]"
    r"|\{[A-Za-z0-9_]*(?:![rsa])?(?::[^{}]*)?\}"
    r"|<[^>]*>"
    r"|&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);"
)


def pseudolocalize(text: str) -> str:
    if not text:
        return text
    parts = []
    visible = 0
    position = 0
    for match in _KEEP.finditer(text):
        plain = text[position:match.start()]
        parts.append(plain.translate(_ACCENTED))
        visible += len(plain)
        parts.append(match.group(0))
        position = match.end()
    plain = text[position:]
    parts.append(plain.translate(_ACCENTED))
    visible += len(plain)
    padding = PAD * max(1, round(visible * 0.35))
    return f"{OPEN}{''.join(parts)} {padding}{CLOSE}"


def is_pseudo(text: str) -> bool:
    """Whether ``text`` (a visible text node, stripped) came through the pseudo-locale."""
    return OPEN in text and CLOSE in text
