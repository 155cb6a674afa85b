"""Where sign-in may send a browser next: only paths on this site, never a 500."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kbservice.web.redirects import safe_next

BASE = "https://kb.example/signin"
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))


def browser_resolves(location: str) -> tuple[str, str]:
    """Scheme and host a browser goes to for `Location: location` on BASE.

    The WHATWG URL parser strips leading and trailing C0 controls and spaces, drops every
    tab and newline and reads a backslash as a slash; urljoin does none of that.
    """
    cleaned = _TAB_OR_NEWLINE.sub("", location.strip(_C0_OR_SPACE)).replace("\\", "/")
    parts = urlsplit(urljoin(BASE, cleaned))
    return parts.scheme, parts.netloc


# Pieces that attackers combine: separators, controls and their percent-encoded forms.
_PIECES = st.sampled_from(
    ["/", "\\", "\t", "\n", "\r", "\x00", "\x7f", " ", ":", "@", "?", "#", ".", "%", "%2f",
     "%5c", "%09", "%0a", "%0d", "%00", "%7f", "%25", "%2509", "https:", "javascript:",
     "evil.example", "kb", "\u3000", "\u2028", "日本"]
)  # fmt: skip
hostile = st.one_of(st.text(), st.lists(_PIECES, max_size=12).map("".join))


@settings(max_examples=2000, deadline=None)
@given(hostile)
@example("/\t/evil.example")
@example("/\\evil.example")
@example("/%5cevil.example")
@example("/%2f/evil.example")
@example(" //evil.example")
def test_the_result_is_the_default_or_a_path_on_this_site(target):
    result = safe_next(target)
    if result == "/":
        return
    assert result.startswith("/") and not result.startswith(("//", "/\\"))
    assert result.isprintable() and "\\" not in result
    assert browser_resolves(result) == ("https", "kb.example")


HOSTILE_OR_BROKEN = [
    None,
    "",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "\n",
    "/%0a",
    "/%0d%0aSet-Cookie:x",
    "/%250d%250aSet-Cookie:x",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/kb/1\x7f",
    "/\u2028",
    "/" + "a" * 3000,
]
LOCAL = [
    "/",
    "/kb/885348",
    "/kb/885348/edit/rules?locale=en",
    "/?q=%E6%97%A5+ipsec",
    "/?q=日本#top",
]


def test_hostile_or_broken_targets_give_the_default_and_local_paths_are_kept():
    for target in HOSTILE_OR_BROKEN:
        assert safe_next(target) == "/", target
        assert safe_next(target, default="/check") == "/check", target
    for target in LOCAL:
        assert safe_next(target) == target
