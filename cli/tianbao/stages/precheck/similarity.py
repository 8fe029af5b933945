"""Finding sentences whose character sets are nearly the same, without comparing all pairs.

Pigeonhole partitioning (PartEnum, Arasu et al. 2006): two sets with Jaccard similarity ≥ t,
the smaller of size n, differ in at most k = ⌊n(1 − t)/t⌋ characters. Split all characters
into k + 1 fixed groups: at least one group holds none of the differing characters, so both
sets have exactly the same characters in it. Each set is filed under (k + 1, group, its
characters in that group) for every k a partner's size allows; a lookup meets only the sets
that agree with it on a whole group, and only those get the exact similarity. No pair at or
above the threshold is missed, and unlike a prefix filter on single characters (PPJoin) the
work does not grow with the square of the batch when every sentence of a district's reports
uses the same common characters.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Iterator
from functools import cache, lru_cache

_EPSILON = 1e-9
# Keys are cut to 61 bits so that they stay small integers (hashed and stored at half the cost
# of the 80-bit sums in a batch's index of millions of entries); two different groups that
# happen to share a key only add a candidate, which the exact comparison drops.
_KEY_BITS = (1 << 61) - 1


class _Spread(dict[str, int]):
    """A fixed pseudo-random 64-bit number per character (the same in every run, unlike
    hash()), made on first use; a dict lookup, as it runs for every character of every
    sentence."""

    def __missing__(self, ch: str) -> int:
        value = self[ch] = int.from_bytes(hashlib.blake2b(ch.encode("utf-8"), digest_size=8).digest(), "big")
        return value


_SPREAD = _Spread()


@cache
def _schemes(size: int, threshold: float) -> tuple[int, ...]:
    """Group counts of the pairs a set of this size can be in (as the larger or the smaller):
    k + 1 for every partner size n from ⌈t·size⌉ to size, k = ⌊n(1 − t)/t⌋."""
    smallest = max(1, math.ceil(threshold * size - _EPSILON))
    return tuple(sorted({math.floor(n * (1 - threshold) / threshold + _EPSILON) + 1
                         for n in range(smallest, size + 1)}))


@lru_cache(maxsize=1 << 16)
def signatures(chars: frozenset[str], threshold: float) -> tuple[int, ...]:
    """One key per (scheme, group): the characters of the set in that group, as the sum of
    their numbers with the scheme and group (equal groups give equal keys; a rare equal key of
    different groups only adds a candidate that the exact comparison then drops).

    A sentence's keys are made once (texts.Sentence) and handed to every index it meets; the
    same sentence in many reports (kept from last year, or wording a district shares) is
    looked up in a bounded cache instead of worked out again."""
    values = [_SPREAD[ch] for ch in chars]
    keys: list[int] = []
    for groups in _schemes(len(chars), threshold):
        sums = [0] * groups
        for value in values:
            sums[value % groups] += value
        keys += [((total << 12) | (groups << 6) | group) & _KEY_BITS for group, total in enumerate(sums)]
    return tuple(keys)


class SetIndex:
    """Character sets added one by one; `similar` yields those with Jaccard ≥ threshold."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.sets: list[frozenset[str]] = []
        self.buckets: dict[int, list[int]] = defaultdict(list)

    def add(self, chars: frozenset[str], keys: tuple[int, ...] | None = None) -> int:
        """File a set (under `keys`, its signatures at this threshold, when already made)."""
        ident = len(self.sets)
        self.sets.append(chars)
        for key in keys if keys is not None else signatures(chars, self.threshold):
            self.buckets[key].append(ident)
        return ident

    def similar(self, chars: frozenset[str], keys: tuple[int, ...] | None = None) -> Iterator[tuple[int, float]]:
        """(id, similarity) of every indexed set at or above the threshold, each once, by id."""
        size = len(chars)
        threshold = self.threshold
        low, high = threshold * size - _EPSILON, size / threshold + _EPSILON
        sets = self.sets
        seen: set[int] = set()
        found: list[tuple[int, float]] = []
        for key in keys if keys is not None else signatures(chars, threshold):
            for ident in self.buckets.get(key, ()):
                if ident in seen:
                    continue
                seen.add(ident)
                other = sets[ident]
                other_size = len(other)
                if not low <= other_size <= high:
                    continue
                shared = len(chars & other)
                score = shared / (size + other_size - shared)
                if score >= threshold - _EPSILON:
                    found.append((ident, score))
        yield from sorted(found)

    def best(self, chars: frozenset[str], keys: tuple[int, ...] | None = None) -> tuple[int, float] | None:
        """The most similar indexed set (the first added among equals)."""
        return max(self.similar(chars, keys), key=lambda item: (item[1], -item[0]), default=None)
