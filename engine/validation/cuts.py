"""Where to cut a region of the input space, for :class:`~engine.validation.partition.Explorer`.

A cut splits one dimension of the region into parts; every live box goes into each part it
meets, so a box that straddles a cut is *copied*. Copies are what make a search tree grow,
so the cut chosen is the one with the fewest copies (then the one leaving the smallest
part). Candidates, per dimension:

* **a point** (numbers): atoms below it and from it on; the boxes' lowest and highest atoms,
  sorted, count the straddlers of every point at once;
* **a set of values** (enums, flags): every split of the values when there are few, else the
  value sets the boxes themselves use;
* **components**: values or ranges joined whenever one box spans both — a cut no box
  straddles, into as many parts as there are components;
* **classes** (when nothing else cuts): atoms grouped by exactly which boxes accept them.
"""

from __future__ import annotations

from bisect import bisect_left

from engine.validation.domains import run_mask, runs_of

Box = tuple[int, ...]


def bits(mask: int) -> list[int]:
    """Indices of the set bits of ``mask``, lowest first."""
    found = []
    while mask:
        low = mask & -mask
        found.append(low.bit_length() - 1)
        mask ^= low
    return found


def best_cut(
    boxes: list[Box],
    ordered: list[bool],
    region: list[int],
    live_boxes: list[int],
    constrained: list[list[int]],
) -> tuple[int, list[tuple[int, int]]]:
    """The cut copying the fewest boxes into more than one part, then the one leaving
    the smallest part."""
    best: tuple[tuple[int, int], int, int, list[tuple[int, int]] | None] | None = None
    count = len(live_boxes)
    live = sum(1 << b for b in live_boxes)
    for d, cut in enumerate(constrained):
        if not cut:
            continue
        if ordered[d]:
            score, left = _best_point(boxes, d, region[d], cut, count)
        else:
            score, left = _best_subset(boxes, d, region[d], cut, count)
        if left and (best is None or score < best[0]):
            best = (score, d, left, None)
        parts = _components(boxes, d, region[d], cut, live)
        if len(parts) < 2 and not left:
            parts = _classes(boxes, d, region[d], cut, live)
        if len(parts) >= 2:
            sizes = [child.bit_count() for _, child in parts]
            score = (sum(sizes) - count, max(sizes))
            if best is None or score < best[0]:
                best = (score, d, 0, parts)
    assert best is not None
    _, d, left, found = best
    if found is not None:
        return d, found
    right = region[d] & ~left
    left_live = right_live = live
    for b in constrained[d]:
        mask = boxes[b][d]
        if not mask & left:
            left_live &= ~(1 << b)
        if not mask & right:
            right_live &= ~(1 << b)
    return d, [(left, left_live), (right, right_live)]


def _best_subset(
    boxes: list[Box], d: int, whole: int, cut: list[int], count: int
) -> tuple[tuple[int, int], int]:
    """For a dimension of values, the set of atoms (and the rest) that fewest boxes
    straddle: every split when there are few atoms, else the boxes' own value sets."""
    atoms = bits(whole)
    index = {a: i for i, a in enumerate(atoms)}
    meets = [0] * len(atoms)  # per atom: the cut boxes accepting it
    masks: dict[int, int] = {}
    for b in cut:
        mask = boxes[b][d] & whole
        masks[mask] = masks.get(mask, 0) + 1
        for a in bits(mask):
            meets[index[a]] |= 1 << b
    if len(atoms) <= 6:
        candidates = [
            sum(1 << atoms[i] for i in range(len(atoms)) if pick >> i & 1)
            for pick in range(1, 1 << (len(atoms) - 1))
        ]
    else:
        candidates = sorted(masks, key=lambda m: -masks[m])[:48]
    full = count - len(cut)
    best = ((count + 1, count + 1), 0)
    for left in candidates:
        if left == whole:
            continue
        meet_left = meet_right = 0
        for i, a in enumerate(atoms):
            if left >> a & 1:
                meet_left |= meets[i]
            else:
                meet_right |= meets[i]
        lcount = full + meet_left.bit_count()
        rcount = full + meet_right.bit_count()
        score = (lcount + rcount - count, max(lcount, rcount))
        if score < best[0]:
            best = (score, left)
    return best


def _best_point(
    boxes: list[Box], d: int, whole: int, cut: list[int], count: int
) -> tuple[tuple[int, int], int]:
    """For an ordered dimension, the atoms below the point ``p`` that fewest boxes
    straddle (boxes taken by their lowest and highest atom inside the region); 0 when
    no point lies strictly inside."""
    full = count - len(cut)
    lows, highs = [], []
    for b in cut:
        mask = boxes[b][d] & whole
        lows.append((mask & -mask).bit_length() - 1)
        highs.append(mask.bit_length() - 1)
    lows.sort()
    highs.sort()
    first, last = (whole & -whole).bit_length() - 1, whole.bit_length() - 1
    best = ((count + 1, count + 1), -1)
    for point in {*lows, *(h + 1 for h in highs)}:
        if not first < point <= last:
            continue
        left = full + bisect_left(lows, point)
        right = full + len(highs) - bisect_left(highs, point)
        score = (left + right - count, max(left, right))
        if score < best[0]:
            best = (score, point)
    score, point = best
    return score, (whole & run_mask(0, point - 1)) if point > 0 else 0


def _components(
    boxes: list[Box], d: int, whole: int, cut: list[int], live: int
) -> list[tuple[int, int]]:
    """Atoms of ``whole`` joined whenever one ``cut`` box accepts both: parts that no such
    box spans, so only the boxes covering the whole region are copied into each."""
    parts: list[tuple[int, int]] = []  # (atoms, boxes)
    for b in cut:
        mask = boxes[b][d] & whole
        joined = 1 << b
        keep = []
        for atoms, members in parts:
            if atoms & mask:
                mask |= atoms
                joined |= members
            else:
                keep.append((atoms, members))
        keep.append((mask, joined))
        parts = keep
    others = live
    for b in cut:
        others &= ~(1 << b)
    rest = whole
    for atoms, _ in parts:
        rest &= ~atoms
    found = [(atoms, others | members) for atoms, members in parts]
    if rest:
        found.append((rest, others))
    return found


def _classes(
    boxes: list[Box], d: int, whole: int, cut: list[int], live: int
) -> list[tuple[int, int]]:
    """Atoms of ``whole`` grouped by the set of ``cut`` boxes accepting them, each with
    the live boxes of that class (the boxes not in ``cut`` accept every atom)."""
    events: dict[int, int] = {}
    others = live
    for b in cut:
        bit = 1 << b
        others &= ~bit
        for lo, hi in runs_of(boxes[b][d]):
            events[lo] = events.get(lo, 0) ^ bit
            events[hi + 1] = events.get(hi + 1, 0) ^ bit
    by_signature: dict[int, int] = {}
    active = start = 0
    for position in sorted(events):
        if position > start:
            segment = run_mask(start, position - 1) & whole
            if segment:
                by_signature[active] = by_signature.get(active, 0) | segment
        active ^= events[position]
        start = position
    rest = (whole >> start) << start
    if rest:
        by_signature[active] = by_signature.get(active, 0) | rest
    return [(mask, others | signature) for signature, mask in by_signature.items()]
