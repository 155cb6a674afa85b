"""A bounded, thread-safe mapping that forgets its least recently used entries."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


class LRU(Generic[_K, _V]):
    """At most `capacity` worth of entries: each weighs 1, or what `weigh` says (bytes)."""

    def __init__(self, capacity: int, weigh: Callable[[_V], int] | None = None) -> None:
        self._capacity = capacity
        self._weigh = weigh
        self._weight = 0
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        """The value of `key`, now the most recently used, or None."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: _K, value: _V) -> None:
        """Keep `value`, forgetting the least recently used entries beyond the capacity."""
        weight = self._weight_of(value)
        if weight > self._capacity:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._weight -= self._weight_of(previous)
            self._entries[key] = value
            self._weight += weight
            while self._weight > self._capacity:
                _, dropped = self._entries.popitem(last=False)
                self._weight -= self._weight_of(dropped)

    def items(self) -> list[tuple[_K, _V]]:
        """The entries, least recently used first."""
        with self._lock:
            return list(self._entries.items())

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _weight_of(self, value: _V) -> int:
        return 1 if self._weigh is None else self._weigh(value)
