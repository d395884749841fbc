"""Hypothesis strategies: random decision-table specs (see ``tests/reference.py``), random facts
for them, and the rendering of a spec into workbook sheets (docs/workbook-format.md).

Every random choice goes through a *chooser*: :class:`HChooser` draws from hypothesis (so that
examples shrink), :class:`RChooser` from a seeded ``random.Random`` (used for the rules of
large tables, which would otherwise exhaust hypothesis' data budget).

What is generated stays inside what the format promises to accept: ranges are never reversed,
aggregated tables have one output, PRIORITY / OUTPUT ORDER tables list Output values, a null
output is written ``null`` where Output values are listed, string outputs read downstream
without Output values are only tested with ``-``/``null``, every number is exactly
representable (ints, halves, quarters), and every cell is rendered so that it reads back with
the meaning in the spec.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from engine.workbook import Sheet
from tests.reference import (
    Cell,
    InputSpec,
    Item,
    ModelSpec,
    OutputSpec,
    RuleSpec,
    TableSpec,
)

# --- choosers --------------------------------------------------------------------------------


class HChooser:
    """Random choices drawn from hypothesis."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        self.draw = draw

    def choice(self, seq: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(list(seq)))

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def chance(self, p: float) -> bool:
        """True with probability ``p``; shrinks to False."""
        return self.draw(st.integers(0, 99)) >= 100 - round(p * 100)

    def permutation(self, seq: Sequence[Any]) -> list[Any]:
        return list(self.draw(st.permutations(list(seq))))


class RChooser:
    """The same choices from a seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, seq: Sequence[Any]) -> Any:
        return self.rng.choice(list(seq))

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def permutation(self, seq: Sequence[Any]) -> list[Any]:
        items = list(seq)
        self.rng.shuffle(items)
        return items


Chooser = HChooser | RChooser

# --- values ----------------------------------------------------------------------------------

ENUM_WORDS = ("focal", "multifocal", "widespread", "a", "b", "mild", "severe", "left side",
              "right-side", "x_1")
OUTPUT_WORDS = ("LOW", "MEDIUM", "HIGH", "URGENT", "ROUTINE", "refer_gp", "self care")
TEXT_ALPHABET = "ab ,\"\\'-éZ."
NUMBER_LIMIT = 250  # |constant| <= 250; facts stay within +-260, far inside the input ranges


def number_constant(c: Chooser) -> int | float:
    """Ints, halves and quarters (exact in binary), negatives included, a few larger ones;
    sometimes an integral value as a float (rendered ``3.0``)."""
    bucket = c.integer(0, 9)
    if bucket <= 4:
        value: int | float = c.integer(-5, 12)
    elif bucket <= 6:
        value = c.integer(-10, 24) / 2
    elif bucket == 7:
        value = c.integer(-20, 48) / 4
    elif bucket == 8:
        value = c.choice([100, -100, 250, -7.5, 0.25, -0.25, 99.5])
    else:
        value = c.choice([0, 0.0, -0.5, 0.5, 1])
    if isinstance(value, float) and value.is_integer() and not c.chance(0.3):
        value = int(value)
    return value


def number_pool(c: Chooser, size_max: int = 4) -> list[int | float]:
    return [number_constant(c) for _ in range(c.integer(1, size_max))]


def text_value(c: Chooser) -> str:
    return "".join(c.choice(TEXT_ALPHABET) for _ in range(c.integer(1, 4)))


def near(c: Chooser, pool: Sequence[int | float], integer: bool) -> int | float:
    """A value at, just below or just above one of the constants, or anywhere nearby."""
    if c.chance(0.1):
        return c.integer(-30, 30)
    base = c.choice(list(pool) + [0])
    if integer:
        base = c.choice([math.floor(base), math.ceil(base)])
        return int(base + c.choice([0, 0, 0, -1, 1, 2, -2]))
    value = base + c.choice([0, 0, 0, -0.25, 0.25, -0.5, 0.5, -1, 1])
    if isinstance(value, float) and value.is_integer() and c.chance(0.5):
        value = int(value)
    elif isinstance(value, int) and c.chance(0.15):
        value = float(value)
    return value


# --- rendering single values ------------------------------------------------------------------


def render_number(c: Chooser, value: int | float, in_cell: bool = True) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    if in_cell and text.startswith("-") and c.chance(0.15):
        text = "\u2212" + text[1:]  # Excel's typographic minus
    return text


def render_string(c: Chooser, value: str) -> str:
    body = value.replace("\\", "\\\\").replace('"', '\\"')
    if c.chance(0.15):
        return "\u201c" + body + "\u201d"
    return '"' + body + '"'


def render_bool(c: Chooser, value: bool) -> str:
    text = "true" if value else "false"
    return c.choice([text, text.upper(), text.capitalize()])


def render_output(c: Chooser, kind: str, value: Any) -> Any:
    """An output, default or Output-values cell holding ``value``."""
    if value is None:
        return None
    if kind == "string":
        return c.choice([value, f'"{value}"', f"\u201c{value}\u201d", f" {value} "])
    if kind == "number":
        return value if c.chance(0.5) else render_number(c, value, in_cell=False)
    return value if c.chance(0.5) else render_bool(c, value)


def render_output_values(c: Chooser, kind: str, values: Sequence[Any]) -> Any:
    parts = []
    for v in values:
        if kind == "string":
            parts.append(f'"{v}"' if c.chance(0.3) else v)
        elif kind == "number":
            parts.append(render_number(c, v, in_cell=False))
        else:
            parts.append("true" if v else "false")
    return c.choice([", ", ",", " , "]).join(parts)


# --- columns and cells ------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """What an input column of a table sees. kind: number, enum, boolean, text; ``pool``: the
    values its tests use (None: no value may be tested, only ``-`` and ``null``)."""

    name: str
    kind: str
    is_list: bool
    pool: tuple[Any, ...] | None
    integer: bool = False  # an integer input: an equality must name a whole number


def render_item(c: Chooser, column: Column, item: Item) -> str:
    if item.kind == "null":
        return c.choice(["null", "NULL", "Null"])
    if item.kind == "range":
        left = "[" if item.low_closed else c.choice(["(", "]"])
        right = "]" if item.high_closed else c.choice([")", "["])
        sep = c.choice(["..", " .. "])
        return f"{left}{render_number(c, item.low)}{sep}{render_number(c, item.high)}{right}"
    value = render_value(c, column, item.value)
    if item.kind == "eq":
        return value
    op = item.op
    if c.chance(0.2):
        op = {"<=": "\u2264", ">=": "\u2265", "!=": "\u2260"}.get(op, op)
    return op + c.choice([" ", ""]) + value


def render_value(c: Chooser, column: Column, value: Any) -> str:
    if isinstance(value, bool):
        return render_bool(c, value)
    if isinstance(value, int | float):
        return render_number(c, value)
    if column.kind == "enum" and c.chance(0.4):
        return value  # bare words are accepted in enum columns
    return render_string(c, value)


def gen_item(c: Chooser, column: Column) -> Item:
    if column.pool is None:
        return Item("null")
    roll = c.integer(0, 99)
    if column.is_list:
        return Item("null") if roll < 12 else Item("eq", c.choice(column.pool))
    if roll < 10:
        return Item("null")
    if column.kind == "number":
        if roll < 35:
            value = c.choice(column.pool)
            if column.integer and not float(value).is_integer():
                value = math.floor(value)
            return Item("eq", value)
        if roll < 65:
            return Item("cmp", c.choice(column.pool), op=c.choice(["<", "<=", ">", ">=", "!="]))
        low = c.choice(column.pool)
        high = c.choice(list(column.pool) + [low + 1, low + 0.5, low])
        low, high = min(low, high), max(low, high)
        if low == high:
            return Item("range", low=low, high=high)
        return Item("range", low=low, high=high, low_closed=c.chance(0.5),
                    high_closed=c.chance(0.5))
    if roll < 70:
        return Item("eq", c.choice(column.pool))
    return Item("cmp", c.choice(column.pool), op="!=")


def gen_cell(c: Chooser, column: Column) -> Cell:
    roll = c.integer(0, 99)
    if roll < 30:
        return Cell("any", (), c.choice([None, "-", " - "]))
    form = "anyof" if roll < 80 else "noneof"
    count = 1 + (c.integer(0, 9) >= 7) + (c.integer(0, 9) >= 9)
    items = tuple(gen_item(c, column) for _ in range(count))
    if (form == "anyof" and len(items) == 1 and items[0].kind == "eq"
            and not isinstance(items[0].value, str) and c.chance(0.3)):
        return Cell(form, items, items[0].value)  # a number or boolean typed into the cell
    body = c.choice([", ", ",", " , "]).join(render_item(c, column, i) for i in items)
    if form == "noneof":
        body = c.choice(["not(", "not (", "NOT(", "Not( "]) + body + ")"
    return Cell(form, items, body)


# --- tables ----------------------------------------------------------------------------------

POLICIES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("UNIQUE", None, ("UNIQUE", "U")),
    ("ANY", None, ("ANY", "A")),
    ("PRIORITY", None, ("PRIORITY", "P")),
    ("FIRST", None, ("FIRST", "F")),
    ("COLLECT", None, ("COLLECT", "C")),
    ("COLLECT", "SUM", ("COLLECT SUM", "C+")),
    ("COLLECT", "MIN", ("COLLECT MIN", "C<")),
    ("COLLECT", "MAX", ("COLLECT MAX", "C>")),
    ("COLLECT", "COUNT", ("COLLECT COUNT", "C#")),
    ("RULE ORDER", None, ("RULE ORDER", "R")),
    ("OUTPUT ORDER", None, ("OUTPUT ORDER", "O")),
)


def output_pool(c: Chooser, kind: str) -> list[Any]:
    if kind == "string":
        return c.permutation(OUTPUT_WORDS)[: c.integer(1, 4)]
    if kind == "boolean":
        return c.permutation([True, False])[: c.integer(1, 2)]
    pool: list[int | float] = []
    for value in number_pool(c):
        if not any(value == v for v in pool):
            pool.append(value)
    return pool


def gen_outputs(c: Chooser, name: str, policy: str, aggregation: str | None
                ) -> list[tuple[OutputSpec, list[Any]]]:
    """Output columns (with the pool their cells draw from)."""
    if aggregation is not None:
        count = 1
    else:
        count = 1 + (c.integer(0, 9) >= 7) + (c.integer(0, 9) >= 9)
    ordered = policy in ("PRIORITY", "OUTPUT ORDER")
    with_default = c.chance(0.4)
    outputs = []
    for index in range(count):
        if aggregation in ("SUM", "MIN", "MAX"):
            kind = "number"
        else:
            kind = c.choice(["string", "string", "number", "boolean"])
        pool = output_pool(c, kind)
        listed = ordered or c.chance(0.5)
        if count == 1:
            out_name = name if c.chance(0.7) else f"{name}_out"
        else:
            out_name = f"{name}_{'abc'[index]}"
        values = tuple(pool) if listed else None
        default = c.choice(pool) if with_default else None
        outputs.append((
            OutputSpec(out_name, kind, values, with_default, default,
                       raw_values=render_output_values(c, kind, pool) if listed else None,
                       raw_default=render_output(c, kind, default)),
            pool,
        ))
    return outputs


def readable_columns(table: TableSpec, pools: dict[str, list[Any]]) -> list[Column]:
    """The columns a later table may build on ``table``'s outputs."""
    columns = []
    for out in table.outputs:
        pool = tuple(out.values if out.values is not None else pools[out.name])
        if table.aggregation == "COUNT":
            if out.kind == "number":  # the column's type is the type of the output cells
                columns.append(Column(out.name, "number", False, (0, 1, 2, 3)))
            continue
        if table.aggregation is not None:
            sums = tuple({a + b for a in pool for b in pool})
            columns.append(Column(out.name, "number", False, pool + sums[:3]))
            continue
        if out.kind == "string":
            # with Output values a string output is an enum, without them free text
            column = Column(out.name, "enum" if out.values is not None else "text",
                            table.returns_list, pool)
        else:
            column = Column(out.name, out.kind, table.returns_list, pool)
        columns.append(column)
    return columns


def input_column(spec: InputSpec, pools: dict[str, list[Any]]) -> Column:
    if spec.kind in ("number", "integer"):
        return Column(spec.name, "number", False, tuple(pools[spec.name]),
                      integer=spec.kind == "integer")
    if spec.kind == "enum":
        return Column(spec.name, "enum", False, spec.allowed)
    if spec.kind == "boolean":
        return Column(spec.name, "boolean", False, (True, False))
    return Column(spec.name, "text", False, tuple(pools[spec.name]))


def rule_count(c: Chooser, large: bool = False) -> int:
    if large:
        return c.integer(100, 600)
    roll = c.integer(0, 99)
    if roll < 75:
        return c.integer(1, 6)
    if roll < 95:
        return c.integer(7, 40)
    return c.integer(41, 600)


def gen_rules(c: Chooser, columns: list[Column], outputs: list[tuple[OutputSpec, list[Any]]],
              n_rules: int, policy: str, aggregation: str | None) -> list[RuleSpec]:
    nulls_ok = policy not in ("PRIORITY", "OUTPUT ORDER")
    id_style = c.choice(["R{}", "D{}", "rule-{}"])
    rules = []
    for index in range(n_rules):
        cells = tuple(gen_cell(c, col) for col in columns)
        values = []
        raws = []
        for out, pool in outputs:
            choices = list(out.values) if out.values is not None else pool
            value = None if nulls_ok and c.chance(0.1) else c.choice(choices)
            values.append(value)
            if value is None and out.values is not None:  # an empty cell would be a mistake
                raws.append(c.choice(["null", "NULL", " null "]))
            else:
                raws.append(render_output(c, out.kind, value))
        note = "a note" if c.chance(0.2) else None
        rules.append(RuleSpec(id_style.format(index + 1), cells, tuple(values), tuple(raws),
                              f"NICE NG{index % 7} 1.{index}", note))
    # without Output values the column's type comes from its cells: make sure one is filled
    for position, (out, pool) in enumerate(outputs):
        if out.values is None and rules and all(r.outputs[position] is None for r in rules):
            first = rules[0]
            value = pool[0]
            new_outputs = list(first.outputs)
            new_raws = list(first.raw_outputs)
            new_outputs[position] = value
            new_raws[position] = render_output(c, out.kind, value)
            rules[0] = replace(first, outputs=tuple(new_outputs), raw_outputs=tuple(new_raws))
    return rules


def gen_table(c: Chooser, index: int, available: list[Column], large: bool,
              seed: int) -> tuple[TableSpec, dict[str, list[Any]]]:
    name = f"t{index + 1}"
    policy, aggregation, spellings = c.choice(POLICIES)
    outputs = gen_outputs(c, name, policy, aggregation)
    chained = [col for col in available if col.name.startswith("t")]
    columns: list[Column] = []
    n_columns = 0 if c.chance(0.04) else c.integer(1, 4)
    for _ in range(n_columns):
        if chained and c.chance(0.5):
            columns.append(c.choice(chained))
        else:
            columns.append(c.choice(available))
    n_rules = rule_count(c, large)
    rule_chooser: Chooser = RChooser(seed) if n_rules > 40 else c
    rules = gen_rules(rule_chooser, columns, outputs, n_rules, policy, aggregation)
    table = TableSpec(
        name, policy, aggregation, tuple(col.name for col in columns),
        tuple(out for out, _ in outputs), tuple(rules), c.choice(spellings),
        sheet_name=c.choice([f"Table {index + 1}", name.upper(), f"Decision {name}"]),
        description=c.choice([None, "what this table decides"]),
    )
    pools = {out.name: pool for out, pool in outputs}
    return table, pools


# --- inputs and whole models --------------------------------------------------------------------

RANGES = (
    ("[-1000..1000]", Item("range", low=-1000, high=1000)),
    (">= -1000", Item("cmp", -1000, op=">=")),
    ("< 5000", Item("cmp", 5000, op="<")),
    ("(-1001..1001)", Item("range", low=-1001, high=1001, low_closed=False, high_closed=False)),
)


def gen_input(c: Chooser, index: int) -> tuple[InputSpec, list[Any]]:
    kind = c.choice(["number", "number", "integer", "enum", "boolean", "text"])
    name = f"x{index + 1}"
    required = c.chance(0.5)
    if kind in ("number", "integer"):
        raw_range, value_range = c.choice(RANGES) if c.chance(0.3) else (None, None)
        return InputSpec(name, kind, required, value_range=value_range, raw_range=raw_range), \
            number_pool(c)
    if kind == "enum":
        allowed = tuple(c.permutation(ENUM_WORDS)[: c.integer(2, 5)])
        quoted = c.chance(0.3)
        raw = ", ".join(f'"{v}"' if quoted else v for v in allowed)
        return InputSpec(name, kind, required, allowed=allowed, raw_allowed=raw), list(allowed)
    if kind == "text":
        return InputSpec(name, kind, required), [text_value(c) for _ in range(c.integer(1, 3))]
    return InputSpec(name, kind, required), [True, False]


@dataclass(frozen=True)
class Generated:
    spec: ModelSpec
    pools: dict[str, list[Any]]  # input name -> constants its cells use (facts aim at them)


@st.composite
def models(draw: Callable[[Any], Any], max_tables: int = 3, large: bool = False) -> Generated:
    c = HChooser(draw)
    inputs = []
    pools: dict[str, list[Any]] = {}
    for index in range(c.integer(1, 5)):
        spec, pool = gen_input(c, index)
        inputs.append(spec)
        pools[spec.name] = pool
    available = [input_column(i, pools) for i in inputs]
    tables = []
    n_tables = c.integer(1, max_tables)
    large_index = c.integer(0, n_tables - 1) if large else -1
    for index in range(n_tables):
        seed = c.integer(0, 2**32 - 1)
        table, out_pools = gen_table(c, index, available, index == large_index, seed)
        tables.append(table)
        available.extend(readable_columns(table, out_pools))
    sheet_order = tuple(c.permutation(range(2 + len(tables))))
    names = (c.choice(["About", "about", " ABOUT "]), c.choice(["Inputs", "inputs", "INPUTS "]))
    return Generated(ModelSpec(tuple(inputs), tuple(tables), sheet_order, names), pools)


def gen_fact(c: Chooser, spec: InputSpec, pool: list[Any]) -> Any:
    if spec.kind == "number":
        return near(c, pool, integer=False)
    if spec.kind == "integer":
        return near(c, pool, integer=True)
    if spec.kind == "text":
        return c.choice(pool) if c.chance(0.7) else text_value(c)
    return c.choice(pool)


@st.composite
def facts_for(draw: Callable[[Any], Any], generated: Generated) -> dict[str, Any]:
    """Valid facts: every required input, most optional ones (missing ones omitted or None)."""
    return gen_facts(HChooser(draw), generated)


def gen_facts(c: Chooser, generated: Generated) -> dict[str, Any]:
    """The same from a chooser. Tests draw facts with ``gen_facts(HChooser(data.draw), ...)``
    rather than ``data.draw(facts_for(...))``: hypothesis keeps every strategy object drawn
    from, and a strategy holding the spec would keep every spec of the run alive."""
    facts: dict[str, Any] = {}
    for spec in generated.spec.inputs:
        if not spec.required and c.chance(0.3):
            if c.chance(0.5):
                facts[spec.name] = None
            continue
        facts[spec.name] = gen_fact(c, spec, generated.pools[spec.name])
    return facts


def wrong_values(spec: InputSpec) -> list[Any]:
    """Values of the wrong type (or out of the declared range) for an input."""
    common: list[Any] = [["a"], {"v": 1}]
    if spec.kind == "number":
        values: list[Any] = ["5", True, False, "abc"]
    elif spec.kind == "integer":
        values = [2.5, -0.5, "3", True]
    elif spec.kind == "boolean":
        values = [1, 0, "true", "yes", 2.5]
    elif spec.kind == "enum":
        values = ["not_allowed", 1, True, spec.allowed[0].upper() + "!"]
    else:
        values = [5, 2.5, True]
    if spec.value_range is not None:
        values += [-5000, 5000] if spec.value_range.kind == "range" else [
            -5000 if spec.value_range.op == ">=" else 9000]
    return [v for v in values + common if v is not None]


@st.composite
def bad_facts_for(draw: Callable[[Any], Any], generated: Generated) -> dict[str, Any]:
    """Facts with at least one unknown name, wrong value or missing required fact."""
    return gen_bad_facts(HChooser(draw), generated)


def gen_bad_facts(c: Chooser, generated: Generated) -> dict[str, Any]:
    facts = gen_facts(c, generated)
    spoiled = False
    for spec in generated.spec.inputs:
        roll = c.integer(0, 9)
        if roll < 3:
            facts[spec.name] = c.choice(wrong_values(spec))
            spoiled = True
        elif roll < 5 and spec.required:
            if c.chance(0.5):
                facts.pop(spec.name, None)
            else:
                facts[spec.name] = None
            spoiled = True
    for _ in range(c.integer(0 if spoiled else 1, 2)):
        facts[c.choice(["unknown", "zz_9", "X1", "x1 ", "age"])] = c.choice([1, "a", True, None])
    return facts


# --- rendering a spec into sheets -------------------------------------------------------------


def render(spec: ModelSpec) -> list[Sheet]:
    about = Sheet(spec.sheet_names[0], (
        ("Field", "Value"),
        ("Table id", "differential_test"),
        ("Version", "1.0.0"),
        ("Owner", "property tests"),
        ("Clinical reviewer", "Dr Reference"),
        ("Review date", "2024-01-15"),
    ))
    input_rows: list[tuple[Any, ...]] = [
        ("Name", "Type", "Unit", "Allowed values", "Required", "Description")]
    for i in spec.inputs:
        allowed = i.raw_allowed if i.kind == "enum" else i.raw_range
        unit = "mmol/L" if i.kind == "number" else None
        input_rows.append((i.name, i.kind, unit, allowed, "yes" if i.required else "no",
                           f"fact {i.name}"))
    inputs = Sheet(spec.sheet_names[1], tuple(input_rows))
    sheets = [about, inputs] + [render_table(t) for t in spec.tables]
    order = spec.sheet_order or tuple(range(len(sheets)))
    return [sheets[i] for i in order]


def render_table(table: TableSpec) -> Sheet:
    n_in = len(table.inputs)
    has_note = any(r.note for r in table.rules)
    kinds = ["Input"] * n_in + ["Output"] * len(table.outputs) + ["Citation"]
    names: list[Any] = [*table.inputs, *(o.name for o in table.outputs)]
    if has_note:
        kinds.append("Note")
    rows: list[tuple[Any, ...]] = [
        ("Table", table.name),
        ("Hit policy", table.policy_text),
        ("Description", table.description),
        (),
        ("Kind", *kinds),
        ("Name", *names),
        ("Output values", *[None] * n_in, *(o.raw_values for o in table.outputs)),
        ("Default", *[None] * n_in, *(o.raw_default for o in table.outputs)),
    ]
    for rule in table.rules:
        row: list[Any] = [rule.rule_id, *(cell.raw for cell in rule.cells), *rule.raw_outputs,
                          rule.citation]
        if has_note:
            row.append(rule.note)
        rows.append(tuple(row))
    return Sheet(table.sheet_name, tuple(rows))
