"""Finding sentences whose character sets are nearly the same, without comparing all pairs.

Prefix filtering with a positional filter (the PPJoin method): characters are put in one
global order (rarest first); a set of n characters is indexed under its first
n − ⌈t·n⌉ + 1 characters with their positions. Two sets with Jaccard similarity ≥ t always
share one of those prefix characters, and when the first one they share sits at positions
i and j, the overlap can be at most 1 + min(n − i − 1, m − j − 1): a candidate whose bound
is below the overlap that similarity t needs is dropped without comparing the sets. Only the
few candidates left get the exact similarity.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

_EPSILON = 1e-9


class CharOrder:
    """The global order of characters: rarest first, unseen characters before all others."""

    def __init__(self, sets: Iterable[frozenset[str]]) -> None:
        counts: Counter[str] = Counter()
        for chars in sets:
            counts.update(chars)
        self.rank = {ch: n for n, (ch, _) in enumerate(sorted(counts.items(), key=lambda item: (item[1], item[0])))}
        self._sorted: dict[frozenset[str], list[str]] = {}

    def sort(self, chars: frozenset[str]) -> list[str]:
        found = self._sorted.get(chars)
        if found is None:
            rank = self.rank
            found = self._sorted[chars] = sorted(chars, key=lambda ch: (rank.get(ch, -1), ch))
        return found


def prefix_length(size: int, threshold: float) -> int:
    return size - math.ceil(threshold * size - _EPSILON) + 1


def required_overlap(size: int, other: int, threshold: float) -> int:
    """The fewest shared characters for Jaccard ≥ threshold between sets of these sizes."""
    return math.ceil(threshold / (1 + threshold) * (size + other) - _EPSILON)


class SetIndex:
    """Character sets added one by one; `similar` yields those with Jaccard ≥ threshold."""

    def __init__(self, order: CharOrder, threshold: float) -> None:
        self.order = order
        self.threshold = threshold
        self.sets: list[frozenset[str]] = []
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)  # char -> (id, position)

    def add(self, chars: frozenset[str]) -> int:
        ident = len(self.sets)
        self.sets.append(chars)
        for position, ch in enumerate(self.order.sort(chars)[: prefix_length(len(chars), self.threshold)]):
            self.postings[ch].append((ident, position))
        return ident

    def similar(self, chars: frozenset[str]) -> Iterator[tuple[int, float]]:
        """(id, similarity) of every indexed set at or above the threshold, each once."""
        size = len(chars)
        threshold = self.threshold
        low, high = threshold * size - _EPSILON, size / threshold + _EPSILON
        sets = self.sets
        seen: set[int] = set()
        for position, ch in enumerate(self.order.sort(chars)[: prefix_length(size, threshold)]):
            for ident, other_position in self.postings.get(ch, ()):
                if ident in seen:
                    continue
                seen.add(ident)
                other = sets[ident]
                other_size = len(other)
                if not low <= other_size <= high:
                    continue
                bound = 1 + min(size - position - 1, other_size - other_position - 1)
                if bound < required_overlap(size, other_size, threshold):
                    continue
                shared = len(chars & other)
                score = shared / (size + other_size - shared)
                if score >= threshold - _EPSILON:
                    yield ident, score

    def best(self, chars: frozenset[str]) -> tuple[int, float] | None:
        return max(self.similar(chars), key=lambda found: found[1], default=None)
