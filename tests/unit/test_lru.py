"""The bounded mapping behind the rendered-article, search and platform caches."""

from __future__ import annotations

from kbservice.storage.lru import LRU


def test_count_bound_forgets_the_least_recently_used():
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_weight_bound_counts_what_weigh_says():
    cache: LRU[str, bytes] = LRU(10, weigh=len)
    cache.put("a", b"12345")
    cache.put("b", b"1234")
    cache.put("c", b"123")  # 12 > 10: "a" goes
    assert cache.get("a") is None and cache.get("b") == b"1234" and cache.get("c") == b"123"
    cache.put("b", b"1")  # replacing frees the old weight
    cache.put("d", b"123456")
    assert (cache.get("b"), cache.get("c"), cache.get("d")) == (b"1", b"123", b"123456")


def test_entries_heavier_than_the_capacity_are_not_kept():
    cache: LRU[str, bytes] = LRU(3, weigh=len)
    cache.put("small", b"12")
    cache.put("big", b"1234")
    assert cache.get("big") is None and cache.get("small") == b"12"
    cache.clear()
    assert len(cache) == 0 and cache.get("small") is None


def test_items_come_least_recently_used_first_and_copying_them_keeps_the_order():
    cache: LRU[str, int] = LRU(3)
    for key, value in (("a", 1), ("b", 2), ("c", 3)):
        cache.put(key, value)
    cache.get("a")
    assert cache.items() == [("b", 2), ("c", 3), ("a", 1)]
    copy: LRU[str, int] = LRU(3)
    for key, value in cache.items():
        copy.put(key, value)
    copy.put("d", 4)  # forgets "b", the least recently used of the original too
    assert copy.items() == [("c", 3), ("a", 1), ("d", 4)]
