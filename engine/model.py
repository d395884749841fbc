"""The immutable model of a workbook: what the loader produces and every later stage reads.

Frozen dataclasses and tuples only; no pandas types pass the loader. Every element keeps the
:class:`~engine.errors.Location` it was read from, so any later finding can point at a cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from engine.conditions import Condition, Value
from engine.errors import Location
from engine.hitpolicy import Aggregation, HitPolicy, returns_list  # their meaning lives there


class Kind(StrEnum):
    BOOLEAN = "boolean"
    NUMBER = "number"
    INTEGER = "integer"
    ENUM = "enum"
    TEXT = "text"


@dataclass(frozen=True)
class InputDef:
    """One row of the Inputs sheet: a fact the integrator supplies."""

    name: str
    kind: Kind
    unit: str = ""
    allowed_values: tuple[str, ...] = ()  # enum values, in the order written
    value_range: Condition | None = None  # numeric range, as a unary test such as [16..120]
    required: bool = True
    description: str = ""
    location: Location | None = None
    label: str = ""  # words for people: "Temperature"; empty means the name
    value_labels: tuple[str, ...] = ()  # words for each allowed value, in the same order


@dataclass(frozen=True)
class OutputDef:
    """One output column of a decision table. ``allowed_values`` are in priority order
    (first = highest) for PRIORITY and OUTPUT ORDER."""

    name: str
    table: str
    kind: Kind
    allowed_values: tuple[Value, ...] = ()
    default: Value | None = None
    has_default: bool = False
    location: Location | None = None
    labels: tuple[str, ...] = ()  # words for each allowed value ("See a doctor today")


@dataclass(frozen=True)
class Cell:
    """An input entry of a rule: the text as written, its parsed condition, and where."""

    text: str
    condition: Condition
    location: Location | None = None


@dataclass(frozen=True)
class InputColumn:
    """An input column of a decision table; ``name`` is an Inputs-sheet name or the name of an
    output of another table (chaining)."""

    name: str
    location: Location | None = None


@dataclass(frozen=True)
class Rule:
    index: int  # 0-based position in the table; rule order for FIRST and RULE ORDER
    rule_id: str
    row: int  # 1-based sheet row
    cells: tuple[Cell, ...]  # one per input column
    outputs: tuple[Value | None, ...]  # one per output column
    citation: str = ""
    note: str = ""
    location: Location | None = None


@dataclass(frozen=True)
class Table:
    name: str
    sheet: str
    hit_policy: HitPolicy
    aggregation: Aggregation | None
    inputs: tuple[InputColumn, ...]
    outputs: tuple[OutputDef, ...]
    rules: tuple[Rule, ...]
    description: str = ""
    location: Location | None = None

    @property
    def returns_list(self) -> bool:
        """Multi-hit tables without an aggregation return a list."""
        return returns_list(self.hit_policy, self.aggregation)


@dataclass(frozen=True)
class Vignette:
    """One row of the Tests sheet: facts and the outputs a reviewer expects."""

    vignette_id: str
    row: int
    facts: Mapping[str, Any]
    expected: Mapping[str, Any]
    note: str = ""
    location: Location | None = None


class Role(StrEnum):
    """What a Safety-sheet column does in a property: the case it is about, or what must
    then hold."""

    WHEN = "When"
    THEN = "Then"


@dataclass(frozen=True)
class PropertyCell:
    """One non-empty cell of a property: a unary test on an input or an output."""

    name: str
    role: Role
    text: str
    condition: Condition
    location: Location | None = None


@dataclass(frozen=True)
class SafetyProperty:
    """One row of the Safety sheet: for every case the Inputs sheet allows, if every
    ``when`` cell holds, every ``then`` cell must hold."""

    property_id: str
    row: int
    when: tuple[PropertyCell, ...]
    then: tuple[PropertyCell, ...]
    severity: str = "error"  # "error" or "warning"
    citation: str = ""
    note: str = ""
    location: Location | None = None


@dataclass(frozen=True)
class About:
    table_id: str
    title: str = ""
    version: str = ""
    owner: str = ""
    clinical_reviewer: str = ""
    review_date: str = ""
    description: str = ""
    cds_hook: str = ""  # the CDS Hooks hook the table answers; empty: patient-view
    card_indicators: str = ""  # "EMERGENCY: critical, ...": overrides of the card indicator
    # (field, where its value is written): where it came from, not what it says
    cells: tuple[tuple[str, Location], ...] = field(default=(), compare=False)

    def location(self, name: str) -> Location | None:
        """Where field ``name`` (``clinical_reviewer``) is written, when known."""
        return next((where for field, where in self.cells if field == name), None)


@dataclass(frozen=True)
class MatchedCondition:
    input: str
    test: str
    value: Any

    def as_dict(self) -> dict[str, Any]:
        return {"input": self.input, "test": self.test, "value": self.value}


@dataclass(frozen=True)
class FiredRule:
    table: str
    rule_id: str
    sheet: str
    row: int
    citation: str
    conditions: tuple[MatchedCondition, ...]
    outputs: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rule_id": self.rule_id,
            "sheet": self.sheet,
            "row": self.row,
            "citation": self.citation,
            "conditions": [c.as_dict() for c in self.conditions],
            "outputs": dict(self.outputs),
        }


@dataclass(frozen=True)
class Decision:
    """The result of one evaluation. ``outputs`` maps each table's name to its result: a value
    for one output column, a dict for several, a list for multi-hit policies."""

    version: str
    outputs: Mapping[str, Any]
    fired: tuple[FiredRule, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "outputs": dict(self.outputs),
            "fired": [f.as_dict() for f in self.fired],
        }


@dataclass(frozen=True, eq=False)
class Model:
    """A loaded and checked workbook, as plain data. ``tables`` are in evaluation order.
    :func:`engine.load` returns it compiled (:class:`engine.evaluator.CompiledModel`)."""

    about: About
    inputs: tuple[InputDef, ...]
    tables: tuple[Table, ...]
    vignettes: tuple[Vignette, ...]
    version: str
    source: str = ""
    properties: tuple[SafetyProperty, ...] = ()

    def input(self, name: str) -> InputDef | None:
        return next((i for i in self.inputs if i.name == name), None)

    def table(self, name: str) -> Table | None:
        return next((t for t in self.tables if t.name == name), None)

    def output(self, name: str) -> OutputDef | None:
        return next((o for t in self.tables for o in t.outputs if o.name == name), None)
