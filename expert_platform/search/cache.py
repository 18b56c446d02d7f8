"""The one bounded cache of the search package: values computed by key, least recently used first out,
safe for threads. Each entry has a weight (1 by default); the cache holds at most ``capacity`` in all."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from ..request_log import note_cache

#: "More like this" lists each backend keeps while its index is unchanged (a few hundred bytes each).
RELATED_LISTS_KEPT = 4096
#: Each backend keeps, per query, its count, facets and first KEPT_RANKS matches while the index version
#: lasts (the first five pages of twenty): a query asked again reads no match. At most RESULTS_KEPT numbers
#: in all (``result_weight``: facet counts and matches, about 100 bytes each with their keys).
KEPT_RANKS = 100
RESULTS_KEPT = 400_000


def result_key(parsed, filters, think_tank_ids: list[int] | None) -> tuple:
    """What a query's kept results are kept under: its plan (as written out: plans hold lists), its filters
    and the think tanks they name."""
    return repr(parsed.plan), filters, None if think_tank_ids is None else tuple(think_tank_ids)


def result_weight(kept: tuple[int, dict] | list) -> int:
    """The numbers a kept result holds: a count with its facet values, or the ranked matches."""
    if isinstance(kept, list):
        return 1 + len(kept)
    return 1 + sum(len(values) for values in kept[1].values())


class LRU:
    """``get(key, compute)``: the value kept for ``key``, else ``compute()`` kept. When the weights of the
    entries exceed ``capacity``, the least recently used go first (the newest entry always stays, whatever
    its weight). Two threads computing one key at once both compute; the first value kept wins. A cache with
    a ``name`` notes each ``get`` (found or computed) on the request's log line (``request_log.note_cache``)."""

    def __init__(self, capacity: int, weigh: Callable[[object], int] = lambda _value: 1, *,
                 name: str | None = None) -> None:
        self.capacity = capacity
        self.weigh = weigh
        self.name = name
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
        if self.name is not None:
            note_cache(self.name, found is not None)
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


def kept_count(kept: LRU, query: tuple, *, with_facets: bool, counted: Callable[[], tuple[int, dict]],
               total: Callable[[], int]) -> tuple[int, dict]:
    """A query's count and, when ``with_facets``, its facets (copies: what is kept stays as it was), from
    ``kept`` or computed once there: ``counted()`` (the count with the facets) when they are asked, else
    ``total()``, unless they were counted before."""
    count = kept.peek(("counted", query))
    if count is not None and kept.name is not None:
        note_cache(kept.name, True)
    if count is None and with_facets:
        count = kept.get(("counted", query), counted)
    if count is None:
        return kept.get(("total", query), lambda: (total(), {}))[0], {}
    return count[0], ({name: dict(values) for name, values in count[1].items()} if with_facets else {})


def kept_window(kept: LRU, query: tuple, sort: str, offset: int, limit: int, *, window: int,
                ranked: Callable[[int, int], list]) -> list:
    """A query's matches ``offset`` to ``offset + limit`` in ``sort`` order: a slice of its first ``window``,
    kept in ``kept``, when the page is within them; else ``ranked(offset, limit)``, not kept."""
    if offset + limit <= window:
        return kept.get(("ranked", query, sort), lambda: ranked(0, window))[offset:offset + limit]
    return ranked(offset, limit)
