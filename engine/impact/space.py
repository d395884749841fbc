"""The input space two versions of a workbook share, cut into atoms, for the semantic diff.

Each input of either version is one dimension (:class:`engine.validation.domains.Dim`, the
validator's own atoms): its constants are every number or text any cell of either version
tests it with, and the bounds of both versions' allowed ranges, so that inside one atom every
cell of both versions, and both versions' fact checks, give one answer. A case is then a
choice of one atom per input, and a region a mask per input, as in the validator.

What each version accepts is a mask per dimension (:attr:`SideSpace.accepted`), found by
asking the fact checker itself (:func:`engine.facts.check_value`) about one value of each
atom: an input a version does not declare accepts only "not given", a required one refuses
it. Where the two versions accept different cases, the diff reports the cases one of them
refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.conditions import AnyValue, Between, Compare, Condition, Equals, items_of
from engine.facts import check_value
from engine.model import InputDef, Kind, Model, Table
from engine.validation.domains import Dim, numeric_dim, values_dim

NUMERIC = (Kind.NUMBER, Kind.INTEGER)
OTHER_TEXT = "other text"  # the example value of a text no cell names


def family(kind: Kind) -> str:
    """Kinds whose values can be compared on one line: numbers, texts, booleans."""
    if kind in NUMERIC:
        return "number"
    if kind in (Kind.ENUM, Kind.TEXT):
        return "text"
    return "boolean"


@dataclass
class RuleCells:
    """A rule's tests: on inputs as (dimension, atoms it accepts), on other tables' outputs
    as (name, condition), tested on the value those tables give."""

    inputs: list[tuple[int, int]]
    chained: list[tuple[str, Condition]]


@dataclass
class TableCells:
    table: Table
    rules: list[RuleCells]
    # per dimension some rule tests, per atom: the rules (a bitset) whose cell on that
    # dimension accepts the atom (a rule without a cell there accepts every atom)
    atom_rules: dict[int, list[int]] = field(default_factory=dict)
    everything: int = 0  # every rule

    def live_in(self, region: Sequence[int]) -> int:
        """The rules whose input cells all meet ``region``."""
        live = self.everything
        for d, per_atom in self.atom_rules.items():
            live &= union_over(per_atom, region[d])
        return live


def union_over(per_atom: Sequence[int], mask: int) -> int:
    found = 0
    while mask:
        low = mask & -mask
        found |= per_atom[low.bit_length() - 1]
        mask ^= low
    return found


@dataclass
class SideSpace:
    """One version over the shared dimensions."""

    model: Model
    accepted: list[int]  # per dimension
    tables: dict[str, TableCells]


@dataclass
class JointSpace:
    dims: list[Dim]
    names: list[str]
    old: SideSpace
    new: SideSpace
    limits: list[str]  # what keeps the analysis from being exact, in words

    def facts(self, atoms: Sequence[int]) -> dict[str, Any]:
        """A case with one value from each atom; inputs on their null atom are left out."""
        facts: dict[str, Any] = {}
        for dim, atom in zip(self.dims, atoms, strict=True):
            value = dim.sample(atom)
            if value is None:
                continue
            if value == Dim.OTHER_TEXT:
                value = _other_text(dim)
            facts[dim.name] = value
        return facts


def _other_text(dim: Dim) -> str:
    text, n = OTHER_TEXT, 1
    while text in dim.constants:
        n += 1
        text = f"{OTHER_TEXT} {n}"
    return text


def joint_space(old: Model, new: Model) -> JointSpace:
    names = list(dict.fromkeys([i.name for i in new.inputs] + [i.name for i in old.inputs]))
    limits: list[str] = []
    dims = []
    for index, name in enumerate(names):
        definitions = [d for d in (old.input(name), new.input(name)) if d is not None]
        if len({family(d.kind) for d in definitions}) > 1:
            limits.append(
                f"input {name} changed from {definitions[0].kind} to {definitions[1].kind}: "
                "cases giving it a value of the new type are not analysed"
            )
        if len({d.kind for d in definitions}) > 1 and all(d.kind in NUMERIC for d in definitions):
            limits.append(
                f"input {name} changed between number and integer: whole and fractional values "
                "in one interval are analysed together"
            )
        dims.append(_dim(name, index, definitions, [*_conditions(old, name),
                                                    *_conditions(new, name)]))
    sides = [_side(m, names, dims) for m in (old, new)]
    union = [a | b for a, b in zip(sides[0].accepted, sides[1].accepted, strict=True)]
    dims = [replace(d, possible=u) for d, u in zip(dims, union, strict=True)]
    return JointSpace(dims, names, sides[0], sides[1], limits)


def _conditions(model: Model, name: str) -> list[Condition]:
    """Every cell of ``model`` that tests input ``name``, and its allowed range."""
    found = [
        rule.cells[c].condition
        for table in model.tables
        for c, column in enumerate(table.inputs)
        if column.name == name
        for rule in table.rules
    ]
    definition = model.input(name)
    if definition is not None and definition.value_range is not None:
        found.append(definition.value_range)
    return found


def _dim(name: str, index: int, definitions: list[InputDef], tests: list[Condition]) -> Dim:
    first = definitions[-1]  # the new version's, when it has the input
    kind = first.kind
    items = [i for t in tests for i in items_of(t)]
    if kind in NUMERIC:
        numbers: set[int | float] = set()
        for item in items:
            if isinstance(item, Between):
                numbers.update((item.low, item.high))
            elif isinstance(item, Equals | Compare) and _is_number(item.value):
                numbers.add(item.value)  # type: ignore[arg-type]
        integer = all(d.kind is Kind.INTEGER for d in definitions)
        return numeric_dim(name, index, numbers, integer, None, True)
    if kind is Kind.BOOLEAN:
        return values_dim(name, index, (False, True), True)
    values: list[str] = []
    for d in definitions:
        values.extend(d.allowed_values)
    values.extend(
        i.value for i in items if isinstance(i, Equals | Compare) and isinstance(i.value, str)
    )
    free = any(d.kind is Kind.TEXT for d in definitions)
    return values_dim(name, index, tuple(dict.fromkeys(values)), True, free_text=free)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _side(model: Model, names: list[str], dims: list[Dim]) -> SideSpace:
    accepted = [_accepted(model.input(n), d) for n, d in zip(names, dims, strict=True)]
    index = {n: i for i, n in enumerate(names)}
    tables = {t.name: _table_cells(model, t, index, dims) for t in model.tables}
    return SideSpace(model, accepted, tables)


def _accepted(definition: InputDef | None, dim: Dim) -> int:
    """The atoms of ``dim`` whose values the version's fact checker takes as they are."""
    mask = 0
    for atom in range(dim.size):
        if not dim.possible >> atom & 1:
            continue
        value = dim.sample(atom)
        if value is None:
            ok = definition is None or not definition.required
        elif definition is None:
            ok = False
        else:
            if value == Dim.OTHER_TEXT:
                value = _other_text(dim)
            normalised, problem = check_value(definition, value)
            ok = not problem
        if ok:
            mask |= 1 << atom
    return mask


def _table_cells(model: Model, table: Table, index: dict[str, int], dims: list[Dim]) -> TableCells:
    rules = []
    for rule in table.rules:
        inputs: list[tuple[int, int]] = []
        chained: list[tuple[str, Condition]] = []
        for column, cell in zip(table.inputs, rule.cells, strict=True):
            if isinstance(cell.condition, AnyValue):
                continue
            if model.input(column.name) is not None:
                d = index[column.name]
                inputs.append((d, dims[d].mask(cell.condition)))
            else:
                chained.append((column.name, cell.condition))
        rules.append(RuleCells(inputs, chained))
    cells = TableCells(table, rules, everything=(1 << len(rules)) - 1)
    size = (len(rules) + 7) // 8
    rejected: dict[int, list[bytearray]] = {}
    for r, rule_cells in enumerate(rules):
        byte, bit = r >> 3, 1 << (r & 7)
        for d, mask in rule_cells.inputs:
            per_atom = rejected.get(d)
            if per_atom is None:
                per_atom = rejected[d] = [bytearray(size) for _ in range(dims[d].size)]
            for atom in range(dims[d].size):
                if not mask >> atom & 1:
                    per_atom[atom][byte] |= bit
    cells.atom_rules = {
        d: [cells.everything & ~int.from_bytes(b, "little") for b in per_atom]
        for d, per_atom in rejected.items()
    }
    return cells
