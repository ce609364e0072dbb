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


def render(source: str, mention_link: Callable[[str], str | None] | None = None) -> str:
    """Render Markdown; ``mention_link(handle)`` returns a profile URL for room members."""
    html = _md.render(source)
    if mention_link is not None:
        html = _link_mentions(html, mention_link)
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )


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
