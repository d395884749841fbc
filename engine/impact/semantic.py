"""The exact semantic diff: every case for which two versions of a workbook answer
differently, as regions of the input space (:mod:`.space`).

The walk cuts the shared input space into regions until, inside each, both versions are
fully decided: every rule of every table either matches every case of the region or none
(a rule on another table's output is tested on the value that table gives there), and each
version either accepts every case of the region or refuses it. A decided region's answers
come from :func:`engine.hitpolicy.resolve`, the one home of hit-policy semantics, table by
table in evaluation order, so chained tables are followed exactly. Regions where the answers
differ are kept and merged.

What makes it fast on a large table with a few changed rows: a region is left as soon as
every table of the two versions is the same there — the same table, and no rule that was
added, removed or changed can match in the region (:mod:`.changes`). The walk first cuts
along the changed rules' own cells, so the only regions explored further are those where a
changed rule matches, and what reaches them through chained tables; there a table whose
changed rules add the same outputs between the same equal rules is still the same
(:meth:`_Walker._gaps_equal`), and only the others are worked out in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.conditions import AnyOf, Condition, Equals, matches
from engine.errors import HitPolicyViolation
from engine.hitpolicy import HitPolicy, default_row, priority_key, resolve, row_key, value_key
from engine.impact.changes import Changes, TableChange
from engine.impact.space import JointSpace, SideSpace, TableCells, joint_space
from engine.model import Model, Table
from engine.validation.cuts import Box, bits
from engine.validation.partition import merge_all

MAX_NODES = 400_000


class DiffTooLarge(Exception):
    """The walk needed more regions than allowed; the diff is not given rather than partial."""


@dataclass(frozen=True)
class Answer:
    """What one version gives for every case of a region: its outputs by output name (those
    of the tables that may differ there: the others are the same in both versions), or
    no answer (``refused``: the facts are not acceptable; otherwise a hit-policy violation
    named in ``reason``, of table ``violated``). ``outputs`` is None as well for a version
    that accepts the cases where the other refuses them: there its answers are not needed,
    and may vary."""

    outputs: dict[str, Any] | None
    reason: str = ""
    refused: bool = False
    violated: str = ""  # the table that gives no answer (a hit-policy violation)

    @property
    def answered(self) -> bool:
        return self.outputs is not None

    def key(self, shared: Sequence[str]) -> object:
        if self.outputs is None:  # which rules overlap is detail: no answer is the behaviour
            return ("none", self.refused, self.violated or self.reason)
        return ("outputs", tuple(freeze(self.outputs.get(n)) for n in shared))


ANSWERS_VARY = Answer(None, "answers vary")


def freeze(value: Any) -> object:
    """A hashable form with the engine's value equality (``true`` is not ``1``)."""
    if isinstance(value, list | tuple):
        return ("list", tuple(freeze(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, freeze(v)) for k, v in value.items())))
    return value_key(value)


@dataclass(frozen=True)
class Difference:
    """A region (one mask per input; :attr:`JointSpace.dims`) where the versions answer
    ``old`` and ``new``."""

    box: Box
    old: Answer
    new: Answer


@dataclass
class SemanticDiff:
    space: JointSpace
    shared_outputs: list[str]
    differences: list[Difference]
    nodes: int


def semantic_diff(old: Model, new: Model, max_nodes: int = MAX_NODES,
                  outputs: Sequence[str] = ()) -> SemanticDiff:
    """Every region where ``old`` and ``new`` answer differently: in any output both have,
    or in ``outputs`` only (and whether there is an answer at all). Raises
    :class:`DiffTooLarge` beyond ``max_nodes`` regions explored."""
    space = joint_space(old, new)
    shared = [
        o.name for t in new.tables for o in t.outputs
        if old.output(o.name) is not None and (not outputs or o.name in outputs)
    ]
    walker = _Walker(space, Changes(old, new, space), shared, max_nodes)
    leaves = walker.run()
    return SemanticDiff(space, shared, _merge(leaves, shared, len(space.dims)), walker.nodes)


def _merge(leaves: list[Difference], shared: list[str], n_dims: int) -> list[Difference]:
    groups: dict[tuple[object, object], list[Difference]] = {}
    for leaf in leaves:
        groups.setdefault((leaf.old.key(shared), leaf.new.key(shared)), []).append(leaf)
    merged = []
    for members in groups.values():
        first = members[0]
        for box in merge_all([m.box for m in members], n_dims):
            merged.append(Difference(box, first.old, first.new))
    return merged


Split = tuple[int, int]  # (dimension, the atoms of one part)


class _Walker:
    def __init__(self, space: JointSpace, changes: Changes, shared: list[str],
                 max_nodes: int) -> None:
        self.space = space
        self.changes = changes
        self.shared = shared
        self.max_nodes = max_nodes
        self.nodes = 0
        self.memo: tuple[dict[Any, Any], dict[Any, Any]] = ({}, {})  # for _live, per version
        self.orders = {
            id(side): {t.name: _order(t) for t in side.model.tables}
            for side in (space.old, space.new)
        }
        # the tables whose difference shows: those giving a compared output, and those
        # that may give no answer at all
        self.shown = {t.name for side in (space.old, space.new) for t in side.model.tables
                      if any(o.name in shared for o in t.outputs)} | changes.may_violate

    def run(self) -> list[Difference]:
        leaves: list[Difference] = []
        stack: list[list[int]] = [[d.possible for d in self.space.dims]]
        while stack:
            region = stack.pop()
            self.nodes += 1
            if self.nodes > self.max_nodes:
                raise DiffTooLarge(
                    f"the versions differ in too many separate places to list exactly "
                    f"(more than {self.max_nodes:,} regions explored)"
                )
            split = self._visit(region, leaves)
            if split is not None:
                d, part = split
                rest = region[d] & ~part
                assert part and rest, "a cut must leave two parts"
                for mask in (rest, part):
                    child = list(region)
                    child[d] = mask
                    stack.append(child)
        return leaves

    def _visit(self, region: list[int], leaves: list[Difference]) -> Split | None:
        space = self.space
        old_ok, new_ok = _acceptance(space.old, region), _acceptance(space.new, region)
        for state in (old_ok, new_ok):
            if isinstance(state, tuple):
                return state
        if not old_ok and not new_ok:
            return None  # both refuse: no answer either way
        if not old_ok or not new_ok:
            refused = Answer(None, "refused", refused=True)
            leaves.append(Difference(tuple(region), refused if not old_ok else ANSWERS_VARY,
                                     refused if not new_ok else ANSWERS_VARY))
            return None
        live_old = _live(space.old, region, self.memo[0])
        live_new = _live(space.new, region, self.memo[1])
        lazy_old = _Lazy(space.old, region, live_old, self.orders[id(space.old)], self.memo[0])
        lazy_new = _Lazy(space.new, region, live_new, self.orders[id(space.new)], self.memo[1])
        differing, split = self._same(region, live_old, live_new, lazy_old, lazy_new)
        if split is not None:
            return split
        differing &= self.shown
        if not differing:
            return None
        old = self._evaluate(lazy_old, differing)
        if not isinstance(old, Answer):
            return old
        new = self._evaluate(lazy_new, differing)
        if not isinstance(new, Answer):
            return new
        if old.key(self.shared) != new.key(self.shared):
            leaves.append(Difference(tuple(region), old, new))
        return None

    def _same(self, region: list[int], live_old: dict[str, int], live_new: dict[str, int],
              lazy_old: _Lazy, lazy_new: _Lazy) -> tuple[set[str], Split | None]:
        """The tables that may answer differently in ``region`` (none: the versions are the
        same throughout it); or a cut along a changed rule that may match in part of it.

        A table with changed rules that may match here still gives the same answer when
        what it reads is the same in both versions and its changed rules, decided, add the
        same outputs between the same equal rules (:meth:`_gaps_equal`): then the rules
        both versions share need not be decided at all. Without this, a COLLECT table with
        one changed rule would be cut by every other rule wherever that rule matches."""
        changes = self.changes
        touched: list[str] = []
        for name, change in changes.tables.items():  # in evaluation order: producers first
            reached = False
            for side, live, changed in (
                (self.space.old, live_old, change.changed_old),
                (self.space.new, live_new, change.changed_new),
            ):
                reachable = live.get(name, 0) & changed
                if not reachable:
                    continue
                reached = True
                cells = side.tables[name]
                for r in bits(reachable):
                    split = _partial(cells, r, region)
                    if split is not None:
                        return set(), split
            if reached:
                touched.append(name)
        differing = changes.downstream(set(changes.unshaped))
        for name in touched:
            if name in differing:
                continue  # it reads something that differs here: it is compared in full
            try:
                same = self._gaps_equal(changes.tables[name], lazy_old, lazy_new)
            except _NeedSplit as need:
                return set(), need.split
            except HitPolicyViolation:  # a table it reads gives no answer: compared in full
                same = False
            if not same:
                differing = changes.downstream(differing | {name})
        return differing, None

    def _gaps_equal(self, change: TableChange, lazy_old: _Lazy, lazy_new: _Lazy) -> bool:
        """Whether the changed rules that match add the same outputs, in the same order,
        between the same equal rules: the rows each version's rules give, in rule order,
        are then the same sequence, and so is the table's answer under any hit policy.
        (Not only if: False sends the table to be compared in full.)"""
        if not change.same_shape:
            return False
        old = lazy_old.side.model.table(change.name)
        new = lazy_new.side.model.table(change.name)
        assert old is not None and new is not None
        for gap in sorted(set(change.gaps_old) | set(change.gaps_new)):
            rows = []
            for lazy, table, rules in ((lazy_old, old, change.gaps_old.get(gap, [])),
                                       (lazy_new, new, change.gaps_new.get(gap, []))):
                rows.append([row_key(table.rules[r].outputs) for r in rules
                             if lazy.matches(table, r)])
            if rows[0] != rows[1]:
                return False
        return True

    def _evaluate(self, lazy: _Lazy, differing: set[str]) -> Answer | Split:
        """The outputs of the ``differing`` tables throughout the region, working out only
        what they need; and whether some table gives no answer there (a violation), which
        for a table that is the same in both versions is checked only if it can happen."""
        try:
            for table in lazy.side.model.tables:
                if table.name in differing or table.name in self.changes.may_violate:
                    lazy.table(table)
        except _NeedSplit as need:
            return need.split
        except HitPolicyViolation as violation:
            return Answer(None, str(violation), violated=violation.table)
        return Answer({n: v for n, v in lazy.values.items()
                       if lazy.producer[n].name in differing})


class _NeedSplit(Exception):
    """The region must be cut before this can be decided."""

    def __init__(self, split: Split) -> None:
        super().__init__("split")
        self.split = split


class _Lazy:
    """One version in one region, decided on demand: a table's outputs are resolved when
    asked for, and a test on a list another table gives ("contains x") looks only at the
    rules that can put x in the list."""

    def __init__(self, side: SideSpace, region: Sequence[int], live: dict[str, int],
                 orders: dict[str, list[int] | None], memo: dict[Any, Any]) -> None:
        self.side = side
        self.memo = memo  # the walker's, for this version (see :func:`_live`)
        self.region = region
        self.live = live
        self.orders = orders
        self.values: dict[str, Any] = {}
        self.producer = {o.name: t for t in side.model.tables for o in t.outputs}
        self._holds: dict[tuple[str, Condition], bool] = {}
        self._status: dict[tuple[str, int], bool] = {}

    def table(self, table: Table) -> None:
        if table.outputs[0].name in self.values:
            return
        order = self.orders[table.name]
        candidates = order if order is not None else range(len(table.rules))
        matched = []
        for r in candidates:
            if self.matches(table, r):
                matched.append(r)
                if order is not None:
                    break  # the first match in this order decides
        self.values.update(resolve(table, sorted(matched)).by_output)

    def value(self, name: str) -> Any:
        if name not in self.values:
            self.table(self.producer[name])
        return self.values[name]

    def matches(self, table: Table, r: int) -> bool:
        """Does rule ``r`` match every case of the region (False: none)? Raises
        :class:`_NeedSplit` when it matches some only."""
        key = (table.name, r)
        found = self._status.get(key)
        if found is not None:
            return found
        if not self.live[table.name] >> r & 1:
            found = False
        else:
            cells = self.side.tables[table.name]
            found = all(self.holds(n, c) for n, c in cells.rules[r].chained)
            if found:
                split = _partial(cells, r, self.region)
                if split is not None:
                    raise _NeedSplit(split)
        self._status[key] = found
        return found

    def holds(self, name: str, condition: Condition) -> bool:
        key = (name, condition)
        found = self._holds.get(key)
        if found is None:
            found = self._holds[key] = self._test(name, condition)
        return found

    def _test(self, name: str, condition: Condition) -> bool:
        producer = self.producer[name]
        if not (producer.returns_list and isinstance(condition, AnyOf)
                and all(isinstance(i, Equals) for i in condition.items)):
            return matches(condition, self.value(name))
        k = [o.name for o in producer.outputs].index(name)
        accepting = self.memo.get((name, condition))
        if accepting is None:
            accepting = self.memo[(name, condition)] = _accepting(producer, k, condition)
        rule_mask, default_ok = accepting
        for r in bits(rule_mask):
            if self.matches(producer, r):
                return True
        default = default_row(producer)
        if default is None or not default_ok:
            return False
        return not any(self.matches(producer, r) for r in range(len(producer.rules)))


def _order(table: Table) -> list[int] | None:
    """The order in which rules decide a single-hit table that stops at the first match
    (FIRST: rule order; PRIORITY: priority order); None when every match counts."""
    if table.hit_policy is HitPolicy.FIRST:
        return list(range(len(table.rules)))
    if table.hit_policy is HitPolicy.PRIORITY:
        return sorted(range(len(table.rules)), key=lambda i: priority_key(table, table.rules[i]))
    return None


def _acceptance(side: SideSpace, region: Sequence[int]) -> bool | Split:
    """True: the version accepts every case of the region; False: none; else a cut."""
    split: Split | None = None
    for d, mask in enumerate(region):
        accepted = side.accepted[d] & mask
        if not accepted:
            return False
        if accepted != mask and split is None:
            split = (d, accepted)
    return split if split is not None else True


def _partial(cells: TableCells, r: int, region: Sequence[int]) -> Split | None:
    for d, mask in cells.rules[r].inputs:
        inside = region[d] & mask
        if inside != region[d]:
            return d, inside
    return None


def _live(side: SideSpace, region: Sequence[int],
          memo: dict[Any, Any] | None = None) -> dict[str, int]:
    """Per table, the rules that may match some case of the region: their input cells meet
    it, and each cell on another table's output accepts a value that table may give there
    (the output of one of its rules that may match, or its default).

    ``memo`` (one per version, kept across regions) holds, per output and cell, which of
    the producer's rules give a value the cell accepts (:func:`_accepting`), so that a
    test here is one AND of bitsets."""
    memo = {} if memo is None else memo
    live: dict[str, int] = {}
    producers: dict[str, tuple[Table, int, int]] = {}  # output -> (table, column, live rules)
    for table in side.model.tables:
        cells = side.tables[table.name]
        rules = cells.live_in(region)
        for r in bits(rules):
            for n, c in cells.rules[r].chained:
                found = producers.get(n)
                if found is None:
                    continue
                producer, k, producer_live = found
                accepting = memo.get((n, c))
                if accepting is None:
                    accepting = memo[(n, c)] = _accepting(producer, k, c)
                rule_mask, default_ok = accepting
                if not (default_ok or producer_live & rule_mask):
                    rules &= ~(1 << r)
                    break
        live[table.name] = rules
        producers.update((o.name, (table, k, rules)) for k, o in enumerate(table.outputs))
    return live


def _accepting(table: Table, k: int, condition: Condition) -> tuple[int, bool]:
    """The rules of ``table`` whose output ``k`` the cell ``condition`` may accept, and
    whether it may accept the value given when no rule matches (the default, else null).
    Everything may, where the value is not known from one rule (aggregates) or the test
    on a list is not a plain "contains"."""
    everything = (1 << len(table.rules)) - 1
    if table.aggregation is not None:
        return everything, True
    if table.returns_list:
        if not (isinstance(condition, AnyOf)
                and all(isinstance(i, Equals) for i in condition.items)):
            return everything, True

        def test(value: Any) -> bool:
            return matches(condition, [value])
    else:
        def test(value: Any) -> bool:
            return matches(condition, value)
    mask = 0
    for r, rule in enumerate(table.rules):
        if test(rule.outputs[k]):
            mask |= 1 << r
    default = default_row(table)
    return mask, test(default[k] if default is not None else None)
