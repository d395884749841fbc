"""Cutting a table's input space into regions by the boxes that match them: the algorithm
behind gaps, overlap groups and masking.

A node is a *region* (one mask per dimension) and the set of boxes that meet it (``live``, a
Python int used as a bitset over box indices). At each node one dimension of the region is
cut in parts (:mod:`.cuts` chooses where) and each part is explored with the boxes that meet
it. A region with no live box is a gap. Where all live boxes meet, they form a group of
rules that can match one case; a larger group cannot be found below, so the search for
groups stops there.

Why it is fast enough for tables of thousands of rules:

* only boxes that do *not* cover the region in a dimension take part in cutting it, and a
  box that covers the whole region ends the search for gaps below it;
* the cut copies as few boxes as possible into more than one part: on a table built by
  refining cases it finds each refinement again, so the tree stays close to two nodes per
  rule, and overlapping or narrowed rules add only the nodes around them;
* gaps found under one node are merged at once with those of the sibling parts, so they
  come back as a few large boxes rather than many small ones.

A node budget bounds the work on pathological tables; :class:`OutOfBudget` says so, and
the caller reports the table as not (fully) analysed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from engine.validation.cuts import Box, best_cut, bits


class OutOfBudget(Exception):
    """The exploration needed more nodes than it was allowed."""


class Explorer:
    def __init__(
        self,
        boxes: list[Box],
        n_dims: int,
        max_nodes: int = 2_000_000,
        ordered: Sequence[bool] | None = None,
    ) -> None:
        """``ordered``: dimensions whose atoms lie on a line (numbers), cut at one point;
        the others (values, flags) are cut into classes."""
        self.boxes = boxes
        self.n_dims = n_dims
        self.ordered = list(ordered) if ordered is not None else [False] * n_dims
        self.max_nodes = max_nodes
        self.nodes = 0  # spent so far, over every query
        self._limit = max_nodes
        self.leaves: list[tuple[int, Box]] = []  # (live boxes, region) where they all match

    # --- queries ------------------------------------------------------------------------

    def explore(
        self,
        region: Box,
        live: int,
        want_gaps: bool,
        interesting: Callable[[int], bool] | None = None,
    ) -> list[Box]:
        """Gaps in ``region`` not covered by the ``live`` boxes (merged), if ``want_gaps``;
        leaves whose live set is ``interesting`` are added to :attr:`leaves`."""
        return self._walk(
            list(region), self._meeting(region, live), want_gaps, interesting, False, 0
        )

    def covers(self, region: Box, live: int, budget: int | None = None) -> bool:
        """Do the ``live`` boxes together cover ``region``? Stops at the first hole. At most
        ``budget`` more nodes are spent on this query (and never more than ``max_nodes`` in
        all); :class:`OutOfBudget` when that is not enough to decide."""
        self._limit = self.max_nodes if budget is None else min(self.max_nodes, self.nodes + budget)
        try:
            return not self._walk(list(region), self._meeting(region, live), True, None, True, 0)
        finally:
            self._limit = self.max_nodes

    def _meeting(self, region: Box, live: int) -> int:
        """The live boxes that meet the region (the walk keeps only those)."""
        for b in bits(live):
            if not all(m & r for m, r in zip(self.boxes[b], region, strict=True)):
                live &= ~(1 << b)
        return live

    # --- the walk -----------------------------------------------------------------------

    def _walk(
        self,
        region: list[int],
        live: int,
        want_gaps: bool,
        interesting: Callable[[int], bool] | None,
        first_gap: bool,
        depth: int,
    ) -> list[Box]:
        self.nodes += 1
        if self.nodes > self._limit or depth > 400:
            raise OutOfBudget
        if live == 0:
            return [tuple(region)] if want_gaps else []
        live_boxes = bits(live)
        if interesting is not None and interesting(live):
            common = self._common(region, live_boxes)
            if common is not None:
                # the live boxes all meet here: any group below is a subset of this one
                self.leaves.append((live, common))
                interesting = None
        elif interesting is not None and live & (live - 1) == 0:
            interesting = None  # one box: no group below
        if not want_gaps and interesting is None:
            return []
        constrained: list[list[int]] = []
        partial = 0
        for d in range(self.n_dims):
            whole = region[d]
            cut = [b for b in live_boxes if self.boxes[b][d] & whole != whole]
            constrained.append(cut)
            for b in cut:
                partial |= 1 << b
        if interesting is None and live & ~partial:
            return []  # a box covers the whole region: no gap below
        if not partial:
            return []  # every box covers the region (and they were recorded above)
        d, classes = best_cut(self.boxes, self.ordered, region, live_boxes, constrained)
        whole = region[d]
        if first_gap:  # a hole is likeliest where fewest boxes are
            classes.sort(key=lambda part: part[1].bit_count())
        gaps: list[Box] = []
        for mask, child in classes:
            region[d] = mask
            gaps.extend(self._walk(region, child, want_gaps, interesting, first_gap, depth + 1))
            if first_gap and gaps:
                break
        region[d] = whole
        return merge_on(gaps, d) if len(gaps) > 1 else gaps

    def _common(self, region: list[int], live_boxes: list[int]) -> Box | None:
        """Where all the live boxes meet inside the region, or None if they do not."""
        common = list(region)
        for b in live_boxes:
            box = self.boxes[b]
            for d in range(self.n_dims):
                common[d] &= box[d]
                if not common[d]:
                    return None
        return tuple(common)


# --- gap boxes ---------------------------------------------------------------------------


def merge_on(boxes: list[Box], d: int) -> list[Box]:
    """Join boxes that differ only in dimension ``d``."""
    joined: dict[Box, int] = {}
    for box in boxes:
        key = box[:d] + box[d + 1 :]
        joined[key] = joined.get(key, 0) | box[d]
    return [key[:d] + (mask,) + key[d:] for key, mask in joined.items()]


def merge_all(boxes: list[Box], n_dims: int) -> list[Box]:
    """Join boxes that differ in one dimension until no two do (few, large boxes)."""
    while True:
        before = len(boxes)
        for d in range(n_dims):
            boxes = merge_on(boxes, d)
        if len(boxes) == before:
            return boxes


def maximal_groups(leaves: list[tuple[int, Box]], rule_of: list[int]) -> list[tuple[int, int]]:
    """The distinct sets of rules matching together at some leaf that no other such set
    contains: ``(rules bitset, live boxes of one leaf where they meet)``, largest first."""
    seen: dict[int, int] = {}
    for live, _ in leaves:
        rules = 0
        for b in bits(live):
            rules |= 1 << rule_of[b]
        seen.setdefault(rules, live)
    ordered = sorted(seen, key=lambda r: -r.bit_count())
    kept: list[int] = []
    by_rule: dict[int, list[int]] = {}
    for rules in ordered:
        lowest = (rules & -rules).bit_length() - 1
        if any(rules & other == rules for other in by_rule.get(lowest, ())):
            continue
        kept.append(rules)
        for r in bits(rules):
            by_rule.setdefault(r, []).append(rules)
    return [(rules, seen[rules]) for rules in kept]
