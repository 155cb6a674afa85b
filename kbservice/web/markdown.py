"""Article bodies: Markdown rendered without raw HTML, then sanitized (defense in depth)."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in a body is shown as text, and markdown-it refuses javascript:/vbscript: links.
_PARSER = MarkdownIt("commonmark", {"html": False})
_TAGS = {
    "a", "blockquote", "br", "code", "em", "h3", "h4", "h5", "h6", "hr", "img", "li", "ol",
    "p", "pre", "strong", "ul",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
_SCHEMES = {"http", "https", "mailto"}


def render_markdown(source: str, heading_level: int = 3) -> Markup:
    """Safe HTML of a Markdown body whose own headings start at `heading_level` (h3 under h2)."""
    tokens = _PARSER.parse(source)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            # A body's `#` sits under the section heading, so the outline stays intact.
            token.tag = f"h{min(6, int(token.tag[1]) + heading_level - 1)}"
    html = _PARSER.renderer.render(tokens, _PARSER.options, {})
    return Markup(
        nh3.clean(
            html,
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes=_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
    )


def safe_snippet(snippet: str | None) -> Markup:
    """A search snippet: it arrives escaped with `<mark>` highlights; keep only those."""
    return Markup(nh3.clean(snippet or "", tags={"mark"}, attributes={}))
