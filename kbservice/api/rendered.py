"""Rendered article responses kept per worker process, keyed by what they depend on.

A revision never changes, so its body in one locale changes only with the catalog
(product labels, lifecycle dates) and with today's date (lifecycle notices). With those
in the key an entry can never be stale; it can only stop being asked for.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from ..lru import LRU


@dataclass(frozen=True, slots=True)
class Rendered:
    """One article representation: its ETag, the locale served and the JSON body."""

    etag: str
    locale: str
    body: bytes


def _body_size(rendered: Rendered) -> int:
    return len(rendered.body)


class RenderedCache(LRU[Hashable, Rendered]):
    """Rendered responses, least recently used dropped first, bounded by their bytes."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, weigh=_body_size)
