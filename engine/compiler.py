"""Model -> durable-rules ruleset definitions (plain JSON-serialisable data; no engine here).

How a table becomes rules, and why each choice keeps durable-rules 2.0.28 on safe ground:

* **Facts are encoded as small integers.** A numeric column becomes the *rank* of the value
  among the column's constants (``2i+1`` for the i-th constant, even numbers between them);
  enum, text and boolean values become codes. Comparisons on ranks are exactly comparisons
  on values, and no float, exponent or string ever reaches durable-rules' JSON parser (which
  misreads ``1e-07`` and parses numbers with the locale-dependent ``atof``).
* **A missing value is an absent property**, so every test on it is false; ``null`` cells test
  a separate flag property. No ``$nex``/``$ex``/``$or`` operator is ever emitted.
* **Cells become disjoint alternatives** and a rule becomes one durable rule (a *path*) per
  combination, each a plain ``$and`` chain of ``== != < <= > >=`` tests.
* **Paths are packed into chunks** whose alpha network provably stays inside the C core's
  fixed limits: at most 64 pending alpha matches (``MAX_STACK_SIZE``, error 303), fewer than
  512 children per node (``NEXT_BUCKET_LENGTH``, endless loop) and 256 rules ending on one
  node (``BETA_LIST_LENGTH``). Each chunk is reached through an equality test on the
  property ``j``, and 4 chunks (256 rules; ``MAX_ACTIONS`` is 4,096) make a ruleset.
  An evaluation posts one message per chunk, all of a ruleset's in one call.
* **Property names** are short generated names whose FNV-1a hashes (durable-rules identifies
  properties by hash) are checked to be distinct, and a message holds at most 250 of them
  (``MAX_OBJECT_PROPERTIES`` is 255).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from engine.conditions import (
    AnyOf,
    AnyValue,
    Between,
    Compare,
    Equals,
    IsNull,
    Item,
    NoneOf,
    Value,
    format_value,
    items_of,
)
from engine.errors import Problem, WorkbookError
from engine.hitpolicy import Aggregation
from engine.model import Kind, Model, OutputDef, Table

STACK_BUDGET = 60  # durable-rules fails with error 303 past 64 pending alpha matches
CHILD_BUDGET = 64  # a node's children live in a 512-slot hash set that must never fill
PATHS_PER_CHUNK = 64  # rules ending on one alpha node are limited to 256
# A ruleset holds at most 4,096 rules (MAX_ACTIONS). Smaller rulesets build much faster: the
# C core grows its pools one element at a time, so building costs grow with the square of
# the ruleset's size. 4 chunks of at most 64 paths: at most 256 rules per ruleset.
CHUNKS_PER_RULESET = 4
MAX_CHUNKS = 4096  # 1,024 rulesets, about 262,000 rules
MAX_ALTERNATIVES = 256  # paths one rule may expand into
MAX_PROPERTIES = 250  # durable-rules holds at most 255 properties in one message
RESERVED = ("sid", "id", "j")

Test = tuple[str, str, int]  # (property, operator, integer constant)
Alternative = tuple[Test, ...]


def fnv1a_32(text: str) -> int:
    """durable-rules' property hash (``fnv1Hash32`` in its state.c)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


@dataclass(frozen=True)
class Field:
    """How one input column travels in a message."""

    prop: str  # property holding the value: a rank, a code, or a list's length
    column: int
    source: str  # the fact or upstream output it reads
    encoding: str  # "rank" (numbers), "code" (enum, text, boolean) or "list"
    constants: tuple[Value, ...]  # rank: sorted numbers; code/list: values in code order
    null_prop: str | None = None  # set to 1 when the value is missing, if a cell tests null
    flag_props: tuple[str, ...] = ()  # list encoding: 1/0 for each value of ``constants``

    def encode(self, value: Any) -> str:
        """The JSON members this field adds to a message ('' when there are none). Called for
        every field of every table on every evaluation, so each encoding's text is prepared
        once (:attr:`_members`) and this is mostly a dictionary lookup."""
        if self.encoding == "list":
            present = set(value or ())
            flags = "".join(
                f',"{p}":{int(v in present)}'
                for p, v in zip(self.flag_props, self.constants, strict=True)
            )
            return f'"{self.prop}":{len(value or ())}{flags}'
        if value is None:
            return self._absent
        if self.encoding == "rank":
            return f"{self._member_prefix}{self.code(value)}"
        member = self._members.get((value.__class__ is bool, value))
        return member if member is not None else self._unlisted

    def code(self, value: Any) -> int:
        if self.encoding == "rank":
            i = bisect_left(self.constants, value)  # type: ignore[arg-type]
            return 2 * i + 1 if i < len(self.constants) and self.constants[i] == value else 2 * i
        # text not named in any cell gets a code equal to no constant
        return self._codes.get((isinstance(value, bool), value), len(self.constants))

    @cached_property
    def _codes(self) -> dict[tuple[bool, Value], int]:
        """Code of each constant; booleans are kept apart from the numbers 0 and 1."""
        return {(isinstance(c, bool), c): i for i, c in reversed(list(enumerate(self.constants)))}

    @cached_property
    def _member_prefix(self) -> str:
        return f'"{self.prop}":'

    @cached_property
    def _members(self) -> dict[tuple[bool, Value], str]:
        """The member for each constant of a code field, keyed like :attr:`_codes`."""
        return {key: f"{self._member_prefix}{code}" for key, code in self._codes.items()}

    @cached_property
    def _unlisted(self) -> str:
        return f"{self._member_prefix}{len(self.constants)}"

    @cached_property
    def _absent(self) -> str:
        return f'"{self.null_prop}":1' if self.null_prop else ""

    @cached_property
    def top(self) -> int:
        """Largest code a present value can have."""
        return 2 * len(self.constants) if self.encoding == "rank" else len(self.constants)

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "property": self.prop,
            "reads": self.source,
            "encoding": self.encoding,
            "constants": [format_value(c) for c in self.constants],
        }
        if self.null_prop:
            described["null_flag"] = self.null_prop
        if self.flag_props:
            described["flags"] = list(self.flag_props)
        return described


@dataclass(frozen=True)
class Path:
    name: str
    rule: int
    chunk: int
    tests: Alternative


@dataclass(frozen=True)
class CompiledTable:
    table: str
    fields: tuple[Field, ...]
    paths: tuple[Path, ...]
    chunks: int
    never_matching: tuple[int, ...] = ()  # rule indices no value can satisfy

    @property
    def rulesets(self) -> int:
        return max(1, -(-self.chunks // CHUNKS_PER_RULESET))

    def definitions(self) -> list[dict[str, Any]]:
        """The rulesets as durable-rules' ``create_ruleset`` takes them; chunk ``c`` lives in
        ruleset ``c // 4`` behind the test ``j == c % 4``."""
        rulesets: list[dict[str, Any]] = [{} for _ in range(self.rulesets)]
        for path in self.paths:
            index, j = divmod(path.chunk, CHUNKS_PER_RULESET)
            tests = [{"j": j}, *(_test_json(t) for t in path.tests)]
            rulesets[index][path.name] = {"all": [{"m": {"$and": tests}}]}
        return rulesets

    def describe(self, table: Table) -> dict[str, Any]:
        return {
            "table": self.table,
            "hit_policy": table.hit_policy.value,
            "aggregation": table.aggregation.value if table.aggregation else None,
            "chunks": self.chunks,
            "fields": [f.describe() for f in self.fields],
            "rules": [
                {
                    "durable_rule": p.name,
                    "rule_id": table.rules[p.rule].rule_id,
                    "row": table.rules[p.rule].row,
                    "chunk": p.chunk,
                    "when": _readable(p.tests, self.fields),
                }
                for p in self.paths
            ],
            "never_matching": [table.rules[i].rule_id for i in self.never_matching],
            "rulesets": self.definitions(),
        }


_OPS = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


def _test_json(test: Test) -> dict[str, Any]:
    prop, op, constant = test
    name = _OPS[op]
    return {prop: constant} if name is None else {name: {prop: constant}}


def _readable(tests: Alternative, fields: tuple[Field, ...]) -> str:
    by_prop = {f.prop: f for f in fields}
    parts = []
    for prop, op, constant in tests:
        f = by_prop.get(prop)
        parts.append(f"{f.source if f else prop} [{prop}] {op} {constant}")
    return " and ".join(parts) or "always"


# --- compiling a model ---------------------------------------------------------------------


def compile_model(model: Model) -> dict[str, CompiledTable]:
    """Compile every table; limits that a table exceeds raise :class:`WorkbookError`."""
    problems: list[Problem] = []
    compiled = {t.name: compile_table(t, model, problems) for t in model.tables}
    if problems:
        raise WorkbookError(problems, model.source)
    return compiled


def compile_table(table: Table, model: Model, problems: list[Problem]) -> CompiledTable:
    list_outputs = {o.name for t in model.tables if t.returns_list for o in t.outputs}
    fields = _fields(table, model, list_outputs)
    _check_properties(table, fields, problems)
    sizes = {f.prop: f.top + 1 for f in fields}
    paths: list[tuple[int, Alternative]] = []
    never: list[int] = []
    for rule in table.rules:
        columns = []
        for f, cell in zip(fields, rule.cells, strict=True):
            if isinstance(cell.condition, AnyValue):
                continue
            assert isinstance(cell.condition, AnyOf | NoneOf)
            columns.append(_alternatives(f, cell.condition))
        count = 1
        for alternatives in columns:
            count *= len(alternatives)
        if count == 0:
            never.append(rule.index)
            continue
        if count > MAX_ALTERNATIVES:
            problems.append(
                Problem(
                    rule.location,
                    f"rule '{rule.rule_id}' combines into {count} "
                    f"alternatives (at most {MAX_ALTERNATIVES})",
                    "split it into several rules with shorter value lists",
                    "TV116",
                )
            )
            continue
        for combination in itertools.product(*columns):
            tests = [t for alt in combination for t in alt]
            paths.append((rule.index, _selective_first(tuple(tests), sizes)))
    packed = _pack(paths)
    chunks = max((p.chunk for p in packed), default=-1) + 1
    if chunks > MAX_CHUNKS:
        problems.append(
            Problem(
                table.location,
                f"table '{table.name}' needs {chunks} rule groups (at most {MAX_CHUNKS})",
                "split the table into chained tables",
                "TV116",
            )
        )
    return CompiledTable(table.name, fields, tuple(packed), max(chunks, 1), tuple(never))


def _fields(table: Table, model: Model, list_outputs: set[str]) -> tuple[Field, ...]:
    used = {fnv1a_32(r) for r in RESERVED}

    def fresh(name: str) -> str:
        while fnv1a_32(name) in used:
            name += "_"
        used.add(fnv1a_32(name))
        return name

    fields = []
    for col, column in enumerate(table.inputs):
        source = model.input(column.name) or model.output(column.name)
        assert source is not None, "the builder resolved every column"
        conditions = [rule.cells[col].condition for rule in table.rules]
        items = [i for c in conditions for i in items_of(c)]
        tests_null = any(
            isinstance(c, AnyOf) and any(isinstance(i, IsNull) for i in c.items) for c in conditions
        )
        kind = source.kind
        if isinstance(source, OutputDef) and _counts(model, source):
            kind = Kind.INTEGER  # a COLLECT COUNT table's result is a number
        encoding, constants = _encoding(
            kind, source.allowed_values, items, column.name in list_outputs
        )
        prop = fresh(f"a{col}")
        null_prop = fresh(f"n{col}") if tests_null and encoding != "list" else None
        flags = (
            tuple(fresh(f"a{col}v{i}") for i in range(len(constants))) if encoding == "list" else ()
        )
        fields.append(Field(prop, col, column.name, encoding, constants, null_prop, flags))
    return tuple(fields)


def _counts(model: Model, output: OutputDef) -> bool:
    producer = model.table(output.table)
    return producer is not None and producer.aggregation is Aggregation.COUNT


def _encoding(
    kind: Kind, allowed: tuple[Value, ...], items: list[Item], is_list: bool
) -> tuple[str, tuple[Value, ...]]:
    if kind in (Kind.NUMBER, Kind.INTEGER):
        numbers: set[Value] = set()
        for item in items:
            if isinstance(item, Between):
                numbers.update((item.low, item.high))
            elif isinstance(item, Equals | Compare):
                numbers.add(item.value)
        return ("list" if is_list else "rank"), tuple(sorted(numbers))  # type: ignore[type-var]
    if kind is Kind.BOOLEAN:
        constants: tuple[Value, ...] = (False, True)
    elif allowed:
        constants = allowed
    else:
        seen: dict[Value, None] = {}
        for item in items:
            if isinstance(item, Equals | Compare):
                seen.setdefault(item.value)
        constants = tuple(seen)
    return ("list" if is_list else "code"), constants


def _check_properties(table: Table, fields: tuple[Field, ...], problems: list[Problem]) -> None:
    """A value and its null flag are never sent together; a list sends its length and flags."""
    count = len(RESERVED) + sum(1 + len(f.flag_props) for f in fields)
    if count > MAX_PROPERTIES:
        problems.append(
            Problem(
                table.location,
                f"table '{table.name}' needs {count} message properties (at most {MAX_PROPERTIES})",
                "use fewer input columns or shorter value lists",
                "TV116",
            )
        )


# --- cells to alternatives -----------------------------------------------------------------


def _alternatives(f: Field, condition: AnyOf | NoneOf) -> list[Alternative]:
    alternatives: list[Alternative] = []
    if isinstance(condition, AnyOf) and any(isinstance(i, IsNull) for i in condition.items):
        alternatives.append((_null_test(f),))
    values: list[Item] = [i for i in condition.items if not isinstance(i, IsNull)]
    if f.encoding == "list":
        return alternatives + _list_alternatives(f, condition, values)
    accepted = _accepted(f, values)
    if isinstance(condition, NoneOf):
        accepted = _complement(accepted, f.top)
    return alternatives + _interval_alternatives(f.prop, accepted, f.top)


def _null_test(f: Field) -> Test:
    """A missing value: the null flag, or for a list an empty list."""
    if f.encoding == "list":
        return (f.prop, "==", 0)
    assert f.null_prop is not None, "columns with null cells get a null flag"
    return (f.null_prop, "==", 1)


def _accepted(f: Field, items: list[Item]) -> list[tuple[int, int]]:
    """The codes the items accept, as merged closed intervals within [0, f.top]."""
    intervals = [iv for item in items for iv in _item_intervals(f, item)]
    intervals = [(lo, hi) for lo, hi in intervals if lo <= hi]
    intervals.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in intervals:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _item_intervals(f: Field, item: Item) -> list[tuple[int, int]]:
    top = f.top
    if isinstance(item, Equals):
        code = f.code(item.value)
        return [(code, code)] if code < top or f.encoding == "rank" else []
    if isinstance(item, Compare):
        code = f.code(item.value)
        if item.op == "!=":
            return [(0, code - 1), (code + 1, top)]
        return [
            {"<": (0, code - 1), "<=": (0, code), ">": (code + 1, top), ">=": (code, top)}[item.op]
        ]
    assert isinstance(item, Between)
    low, high = f.code(item.low), f.code(item.high)
    return [(low if item.low_closed else low + 1, high if item.high_closed else high - 1)]


def _complement(intervals: list[tuple[int, int]], top: int) -> list[tuple[int, int]]:
    result, start = [], 0
    for lo, hi in intervals:
        if lo > start:
            result.append((start, lo - 1))
        start = hi + 1
    if start <= top:
        result.append((start, top))
    return result


def _interval_alternatives(
    prop: str, accepted: list[tuple[int, int]], top: int
) -> list[Alternative]:
    if not accepted:
        return []
    if accepted == [(0, top)]:
        return [((prop, ">=", 0),)]  # any present value
    gaps = _complement(accepted, top)
    if len(accepted) > 1 and all(lo == hi for lo, hi in gaps):
        return [tuple((prop, "!=", lo) for lo, _ in gaps)]
    alternatives: list[Alternative] = []
    for lo, hi in accepted:
        if lo == hi:
            alternatives.append(((prop, "==", lo),))
        else:
            tests: list[Test] = []
            if lo > 0:
                tests.append((prop, ">=", lo))
            if hi < top:
                tests.append((prop, "<=", hi))
            alternatives.append(tuple(tests) or ((prop, ">=", 0),))
    return alternatives


def _list_alternatives(f: Field, condition: AnyOf | NoneOf, items: list[Item]) -> list[Alternative]:
    wanted = [f.code(i.value) for i in items if isinstance(i, Equals)]
    if isinstance(condition, AnyOf):
        return [
            ((f.flag_props[c], "==", 1),) for c in dict.fromkeys(wanted) if c < len(f.flag_props)
        ]
    tests: list[Test] = [
        (f.flag_props[c], "==", 0) for c in dict.fromkeys(wanted) if c < len(f.flag_props)
    ]
    if len(items) < len(condition.items):  # not(null, …): the list must not be empty
        tests.append((f.prop, ">=", 1))
    return [tuple(tests) or ((f.prop, ">=", 0),)]


def _selective_first(alternative: Alternative, sizes: dict[str, int]) -> Alternative:
    return tuple(sorted(alternative, key=lambda test: _weight((test,), sizes)))


def _weight(alternative: Alternative, sizes: dict[str, int]) -> float:
    """Rough share of values an alternative lets through; tests that pass less go first so
    that durable-rules abandons a non-matching rule as early as possible. ``sizes``: how
    many codes each property can take."""
    share = 1.0
    for prop, op, constant in alternative:
        size = sizes.get(prop, 2)
        share *= {
            "==": 1 / size,
            "!=": 1 - 1 / size,
            "<": constant / size,
            "<=": (constant + 1) / size,
            ">": 1 - (constant + 1) / size,
            ">=": 1 - constant / size,
        }[op]
    return share


# --- packing paths into chunks -------------------------------------------------------------


@dataclass
class _Node:
    """A node of the alpha network durable-rules will build for one chunk: children keyed by
    test, exactly as its ``findAlpha`` shares them."""

    children: dict[Test, _Node] = field(default_factory=dict)
    ends: int = 0  # paths ending here (rules on this node's beta list)
    stack: int = 0  # worst stack height below this node (see _stack)
    max_child_stack: int = 0
    eq_props: set[str] = field(default_factory=set)
    other_tests: int = 0

    def matchable(self) -> int:
        """Upper bound on children one message can match: equality tests on one property
        with distinct constants match at most one; any other test may match."""
        return len(self.eq_props) + self.other_tests


def _stack(matchable: int, max_child_stack: int) -> int:
    """durable-rules' handleAlpha pops a node and pushes its matching children: the stack
    peaks at the siblings still waiting plus the deepest child's own peak."""
    if matchable == 0:
        return 0
    return max(matchable, matchable - 1 + max_child_stack)


def _pack(paths: list[tuple[int, Alternative]]) -> list[Path]:
    packed: list[Path] = []
    chunk, root, count = 0, _Node(), 0
    for index, (rule, tests) in enumerate(paths):
        if count >= PATHS_PER_CHUNK or not _try_add(root, tests):
            chunk, root, count = chunk + 1, _Node(), 0
            added = _try_add(root, tests)
            assert added, "a single path always fits an empty chunk"
        count += 1
        packed.append(Path(f"p{index}", rule, chunk, tests))
    return packed


def _try_add(root: _Node, tests: Alternative) -> bool:
    trail = [root]
    node = root
    depth = 0
    while depth < len(tests) and tests[depth] in node.children:
        node = node.children[tests[depth]]
        trail.append(node)
        depth += 1
    if depth == len(tests):
        if node.ends + 1 > PATHS_PER_CHUNK:
            return False
        node.ends += 1
        return True
    if len(node.children) + 1 > CHILD_BUDGET:
        return False
    head = tests[depth]
    is_new_eq = head[1] == "==" and head[0] not in node.eq_props
    matchable = node.matchable() + (1 if head[1] != "==" or is_new_eq else 0)
    chain_stack = 1 if len(tests) - depth > 1 else 0
    # recompute the peaks up the trail without changing anything yet
    peaks = [_stack(matchable, max(node.max_child_stack, chain_stack))]
    for parent in reversed(trail[:-1]):
        peaks.append(_stack(parent.matchable(), max(parent.max_child_stack, peaks[-1])))
    if peaks[-1] > STACK_BUDGET:
        return False
    _commit(node, tests[depth:])
    for peak, parent in zip(peaks, reversed(trail), strict=True):
        parent.stack = peak
    for child, parent in itertools.pairwise(reversed(trail)):
        parent.max_child_stack = max(parent.max_child_stack, child.stack)
    node.max_child_stack = max(node.max_child_stack, chain_stack)
    return True


def _commit(node: _Node, tests: Alternative) -> None:
    """Add ``tests`` as a new chain under ``node``; each chain node has a single child, so its
    peak is 1 (0 at the leaf)."""
    chain: list[_Node] = [node]
    for test in tests:
        _note_child(chain[-1], test)
        child = _Node()
        chain[-1].children[test] = child
        chain.append(child)
    chain[-1].ends += 1
    below = 0
    for parent in reversed(chain[1:-1]):
        parent.max_child_stack = below
        parent.stack = _stack(1, below)
        below = parent.stack


def _note_child(node: _Node, test: Test) -> None:
    if test[1] == "==":
        node.eq_props.add(test[0])
    else:
        node.other_tests += 1
