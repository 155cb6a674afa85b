"""Rendered article responses kept per worker process, keyed by what they depend on.

A revision never changes, so its body in one locale changes only with the catalog
(product labels, lifecycle dates) and with today's date (lifecycle notices). With those
in the key an entry can never be stale; it can only stop being asked for.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ..storage.lru import LRU


@dataclass(frozen=True, slots=True)
class Rendered:
    """One article representation: its ETag, the locale served and the JSON body."""

    etag: str
    locale: str
    body: bytes


def _body_size(rendered: Rendered) -> int:
    return len(rendered.body)


# Articles remembered as rendered (a few dozen bytes each).
_ARTICLES_KEPT = 16384


class RenderedCache(LRU[Hashable, Rendered]):
    """Rendered responses, least recently used dropped first, bounded by their bytes.

    It also remembers which articles it rendered, so that the lookup of an article
    this process has not rendered yet can bring the rows along.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, weigh=_body_size)
        self._articles: LRU[str, bool] = LRU(_ARTICLES_KEPT)

    def remember(self, kb: str) -> None:
        """Note that article `kb` was rendered."""
        self._articles.put(kb, True)

    def has_rendered(self, kb: str) -> bool:
        """Whether article `kb` was rendered (as far as is remembered)."""
        return self._articles.get(kb) is not None

    def clear(self) -> None:
        super().clear()
        self._articles.clear()
