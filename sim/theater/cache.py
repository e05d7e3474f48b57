"""One bounded cache helper for what the theater builds once per process (grids, controls, masks)."""

from __future__ import annotations

from collections import OrderedDict


def remember(cache: OrderedDict, key, build, keep: int):
    """``cache[key]``, built by ``build()`` when missing; the cache holds the ``keep`` last used."""
    if key not in cache:
        cache[key] = build()
        while len(cache) > keep:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]
