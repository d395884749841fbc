"""Which boxes overlap or contain a given box, without comparing every pair.

Per dimension, each box is reduced to its *hull*: its lowest and highest atom. Boxes sorted
by lowest atom carry prefix unions (bitsets over box indices), boxes sorted by highest atom
suffix unions, so "every box starting at or before x" or "every box ending at or after y" is
one binary search and one lookup. Intersecting those bitsets over all dimensions leaves a
handful of candidates, which are then checked exactly (a hull can hide holes).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence

from engine.validation.cuts import Box, bits


class BoxIndex:
    def __init__(self, boxes: list[Box], n_dims: int) -> None:
        self.boxes = boxes
        self.n_dims = n_dims
        self.everything = (1 << len(boxes)) - 1
        self._lows: list[tuple[list[int], list[int], list[int], list[int]]] = []
        for d in range(n_dims):
            hulls = [(_low(box[d]), _high(box[d])) for box in boxes]
            by_low = sorted(range(len(boxes)), key=lambda b: hulls[b][0])
            by_high = sorted(range(len(boxes)), key=lambda b: hulls[b][1])
            prefix = [0]
            for b in by_low:
                prefix.append(prefix[-1] | 1 << b)
            suffix = [0]
            for b in reversed(by_high):
                suffix.append(suffix[-1] | 1 << b)
            suffix.reverse()
            self._lows.append(
                ([hulls[b][0] for b in by_low], prefix, [hulls[b][1] for b in by_high], suffix)
            )

    def _starting_by(self, d: int, atom: int) -> int:
        lows, prefix, _, _ = self._lows[d]
        return prefix[bisect_right(lows, atom)]

    def _ending_from(self, d: int, atom: int) -> int:
        _, _, highs, suffix = self._lows[d]
        return suffix[bisect_left(highs, atom)]

    def overlapping(self, b: int, among: int = -1) -> int:
        """Boxes (other than ``b``) sharing at least one point with box ``b``."""
        return self.meeting(self.boxes[b], among & ~(1 << b))

    def meeting(self, box: Box, among: int = -1) -> int:
        """Boxes sharing at least one point with ``box`` (any box, indexed or not)."""
        return self._exact(self.near(box, among), lambda other: overlap(box, other))

    def near(self, box: Box, among: int = -1) -> int:
        """Boxes whose hulls meet the hull of ``box``: every box meeting it, and maybe a
        few more (cheap: no box is looked at one by one)."""
        candidates = self.everything & among
        for d in range(self.n_dims):
            if not candidates:
                return 0
            low, high = _low(box[d]), _high(box[d])
            candidates &= self._starting_by(d, high) & self._ending_from(d, low)
        return candidates

    def at(self, point: Sequence[int], among: int = -1) -> int:
        """Boxes holding ``point`` (one atom per dimension)."""
        candidates = self.everything & among
        for d, atom in enumerate(point):
            if not candidates:
                return 0
            candidates &= self._starting_by(d, atom) & self._ending_from(d, atom)
        return self._exact(
            candidates, lambda box: all(m >> a & 1 for m, a in zip(box, point, strict=True))
        )

    def containing(self, b: int, among: int = -1) -> int:
        """Boxes (other than ``b``) that contain box ``b`` entirely."""
        box = self.boxes[b]
        candidates = self.everything & among & ~(1 << b)
        for d in range(self.n_dims):
            if not candidates:
                return 0
            low, high = _low(box[d]), _high(box[d])
            candidates &= self._starting_by(d, low) & self._ending_from(d, high)
        return self._exact(candidates, lambda other: inside(box, other))

    def _exact(self, candidates: int, test: Callable[[Box], bool]) -> int:
        found = 0
        for j in bits(candidates):
            if test(self.boxes[j]):
                found |= 1 << j
        return found


def _low(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def _high(mask: int) -> int:
    return mask.bit_length() - 1


def overlap(a: Box, b: Box) -> bool:
    return all(x & y for x, y in zip(a, b, strict=True))


def inside(a: Box, b: Box) -> bool:
    """Is box ``a`` inside box ``b``?"""
    return all(x & ~y == 0 for x, y in zip(a, b, strict=True))
