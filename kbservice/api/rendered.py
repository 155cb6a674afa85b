"""Rendered article responses kept per worker process, keyed by what they depend on.

A revision never changes, so its body in one locale changes only with the catalog
(product labels, lifecycle dates) and with today's date (lifecycle notices). With those
in the key an entry can never be stale; it can only stop being asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rendered:
    """One article representation: its ETag, the locale served and the JSON body."""

    etag: str
    locale: str
    body: bytes


class RenderedCache:
    """A least-recently-used map of rendered responses, bounded by the bytes of the bodies."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._entries: OrderedDict[Hashable, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Rendered | None:
        """The entry for `key`, now the most recently used, or None."""
        with self._lock:
            rendered = self._entries.get(key)
            if rendered is not None:
                self._entries.move_to_end(key)
            return rendered

    def put(self, key: Hashable, rendered: Rendered) -> None:
        """Keep `rendered`, dropping the least recently used entries beyond the budget."""
        size = len(rendered.body)
        if size > self._max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._entries[key] = rendered
            self._bytes += size
            while self._bytes > self._max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
