"""The one bounded cache of the search package: values computed by key, least recently used first out,
safe for threads. Each entry has a weight (1 by default); the cache holds at most ``capacity`` in all."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

#: "More like this" lists each backend keeps while its index is unchanged (a few hundred bytes each).
RELATED_LISTS_KEPT = 4096


class LRU:
    """``get(key, compute)``: the value kept for ``key``, else ``compute()`` kept. When the weights of the
    entries exceed ``capacity``, the least recently used go first (the newest entry always stays, whatever
    its weight). Two threads computing one key at once both compute; the first value kept wins."""

    def __init__(self, capacity: int, weigh: Callable[[object], int] = lambda _value: 1) -> None:
        self.capacity = capacity
        self.weigh = weigh
        self.lock = threading.Lock()
        self.values: OrderedDict = OrderedDict()
        self.weight = 0

    def __len__(self) -> int:
        return len(self.values)

    def peek(self, key: Hashable):
        """The value kept for ``key`` (made the most recent), or None."""
        with self.lock:
            found = self.values.get(key)
            if found is not None:
                self.values.move_to_end(key)
            return found

    def get(self, key: Hashable, compute: Callable[[], object]):
        found = self.peek(key)
        if found is not None:
            return found
        found = compute()
        weight = self.weigh(found)
        with self.lock:
            kept = self.values.get(key)
            if kept is not None:
                return kept
            self.values[key] = found
            self.weight += weight
            while self.weight > self.capacity and len(self.values) > 1:
                _old_key, old = self.values.popitem(last=False)
                self.weight -= self.weigh(old)
        return found

    def keep_only(self, wanted: Callable[[Hashable], bool]) -> None:
        """Drop every entry whose key ``wanted`` refuses (what belongs to something gone)."""
        with self.lock:
            for key in [key for key in self.values if not wanted(key)]:
                self.weight -= self.weigh(self.values.pop(key))

    def clear(self) -> None:
        with self.lock:
            self.values.clear()
            self.weight = 0
