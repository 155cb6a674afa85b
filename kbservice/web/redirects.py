"""Where a browser may be sent after signing in: a path on this site, or a safe default."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

# Longer targets are not worth checking: no page of ours has such a URL.
MAX_LENGTH = 2048


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default`; never raises."""
    if not target or len(target) > MAX_LENGTH:
        return default
    # Browsers drop tabs and newlines and read `\` as `/`, so `/\t/evil` and `/\evil` lead
    # off-site; and a proxy or the next hop may decode again: judge every decoding.
    form = target
    while True:
        if not form.isprintable() or "\\" in form or form.startswith("//"):
            return default
        decoded = unquote(form)
        if decoded == form:
            break
        form = decoded
    parts = urlsplit(target)  # strips leading spaces: the raw target must start with `/`
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return default
    return target
