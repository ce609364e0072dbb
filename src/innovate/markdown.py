"""Markdown to safe HTML: markdown-it (no raw HTML) then nh3 with an allow-list.

``data-*`` and ``hx-*`` attributes never pass: htmx would act on them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("js-default")

TAGS = {
    "a", "p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "span",
}
ATTRIBUTES = {"a": {"href", "title", "class"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}, "span": {"class"}}
URL_SCHEMES = {"http", "https", "mailto"}

MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")


# Texts that may show pictures (stories) show only pictures uploaded here: a src anywhere
# else is dropped, so a text cannot make readers' browsers fetch from another site.
PICTURE_PREFIX = "/media/"


def render(source: str, mention_link: Callable[[str], str | None] | None = None, *, pictures: bool = False) -> str:
    """Render Markdown; ``mention_link(handle)`` returns a profile URL for room members;
    ``pictures``: keep ``![alt](/media/...)`` pictures (see :func:`pictures_in`)."""
    html = _md.render(source)
    if mention_link is not None:
        html = _link_mentions(html, mention_link)
    return nh3.clean(
        html,
        tags=TAGS | {"img"} if pictures else TAGS,
        attributes={**ATTRIBUTES, "img": {"src", "alt"}} if pictures else ATTRIBUTES,
        attribute_filter=_only_our_pictures if pictures else None,
        set_tag_attribute_values={"img": {"loading": "lazy"}} if pictures else None,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


def _only_our_pictures(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src" and not value.startswith(PICTURE_PREFIX):
        return None
    return value


def pictures_in(source: str) -> list[tuple[str, str]]:
    """Every ``![alt](src)`` picture of a Markdown text, as (src, alt)."""
    found = []
    for token in _md.parse(source):
        for child in token.children or ():
            if child.type == "image":
                found.append((str(child.attrGet("src") or ""), child.content.strip()))
    return found


def _link_mentions(html: str, mention_link: Callable[[str], str | None]) -> str:
    # Only touch text outside tags and outside <code>/<pre>/<a> so markup stays intact.
    out: list[str] = []
    skip_depth = 0
    for part in re.split(r"(<[^>]+>)", html):
        if part.startswith("<"):
            tag = re.match(r"</?\s*([a-zA-Z0-9]+)", part)
            name = tag.group(1).lower() if tag else ""
            if name in ("code", "pre", "a"):
                skip_depth += -1 if part.startswith("</") else 1
            out.append(part)
            continue
        if skip_depth > 0:
            out.append(part)
            continue

        def _sub(match: re.Match[str]) -> str:
            url = mention_link(match.group(1))
            if url is None:
                return match.group(0)
            return f'<a class="mention" href="{url}">@{match.group(1)}</a>'

        out.append(MENTION.sub(_sub, part))
    return "".join(out)
