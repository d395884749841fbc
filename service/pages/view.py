"""What a table's page shows, built from the model: one control per input, every decision
table as a grid, and the data the page's script needs.

Only plain data leaves here (dataclasses of text, numbers and tuples); the template turns
it into HTML with autoescaping, so no text from a workbook is ever written into the page
unescaped. Words come from :mod:`engine.labels`, ranges from :mod:`service.schema` (the same
minimum and maximum the API checks against), so the page and the API cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.conditions import AnyValue, Equals, IsNull, NoneOf, format_value, items_of
from engine.errors import TriageError
from engine.labels import name_label, value_label
from engine.model import Cell, InputDef, Kind, Model, OutputDef, Table
from engine.values import text_of
from engine.workbook import read_workbook

TEST_ID = "Test id"
NOTE = "Note"


@dataclass(frozen=True)
class Option:
    value: str  # as the form sends it: "true", "false", an enum value, "" for not known
    label: str


@dataclass(frozen=True)
class Control:
    """One form control; ``name`` is the input's name, as the API expects it."""

    name: str
    kind: str  # "select" or "number" or "text"
    label: str
    unit: str
    description: str
    required: bool
    options: tuple[Option, ...] = ()
    minimum: str | None = None  # as written in min="..." and in the help
    maximum: str | None = None
    step: str = "any"


@dataclass(frozen=True)
class Words:
    """A code or a cell as a clinician reads it, with what the author wrote kept beside it
    (``code`` is empty when the words are the written text), so an author can still find
    the cell in the workbook."""

    words: str
    code: str = ""


@dataclass(frozen=True)
class GridCell:
    input: str  # the input column's name: the script marks the cells a case matched by it
    shown: Words
    any: bool  # "-": matches every case, drawn muted


@dataclass(frozen=True)
class GridRow:
    rule_id: str
    row: int
    cells: tuple[GridCell, ...]  # one per input column
    outputs: tuple[Words, ...]  # one per output column
    citation: str


@dataclass(frozen=True)
class Grid:
    """A decision table as the author wrote it, in the workbook's words."""

    name: str
    sheet: str
    hit_policy: str
    description: str
    inputs: tuple[Words, ...]  # headers: the label, with the input's name as its code
    outputs: tuple[Words, ...]
    rows: tuple[GridRow, ...]


def _number(value: Any) -> str | None:
    """A bound as the page writes it (``16``, not ``16.0``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return format_value(value)


def _choices(item: InputDef) -> tuple[Any, ...]:
    """The values a dropdown offers: a boolean's two, an enum's listed ones, else none."""
    return (True, False) if item.kind is Kind.BOOLEAN else item.allowed_values


def controls(model: Model, schema: Mapping[str, Any]) -> tuple[Control, ...]:
    """The form, one control per input in the Inputs sheet's order (the order the author
    asks the questions in)."""
    properties = schema.get("properties", {})
    return tuple(_control_for(model, item, properties.get(item.name, {}))
                 for item in model.inputs)


def _control_for(model: Model, item: InputDef, spec: Mapping[str, Any]) -> Control:
    """Enum and boolean inputs as dropdowns (with "not known" when optional, since a
    missing fact is not the same as "no"), numbers with their unit, range and step from the
    API's own JSON Schema ``spec``, text as a text box."""
    spec = next((s for s in spec.get("anyOf", ()) if s.get("type") != "null"), spec)
    values = _choices(item)
    if values:
        blank = Option("", "choose…" if item.required else "not known")
        options = (blank, *(Option(_key(v), value_label(model, item.name, v)) for v in values))
        return _control(model, item, "select", options=options)
    if item.kind in (Kind.NUMBER, Kind.INTEGER):
        return _control(model, item, "number", minimum=_number(spec.get("minimum")),
                        maximum=_number(spec.get("maximum")),
                        step="1" if item.kind is Kind.INTEGER else "any")
    return _control(model, item, "text")


def _control(model: Model, item: InputDef, kind: str, **more: Any) -> Control:
    return Control(item.name, kind, name_label(model, item.name), item.unit, item.description,
                   item.required, **more)


def _words(words: str, code: str) -> Words:
    """The code is shown beside the words only where it says something else."""
    return Words(words, "" if words == code else code)


def _cell_words(model: Model, name: str, cell: Cell) -> Words:
    """A rule's input cell in words: listed values read as their labels (``"at_rest"`` reads
    "At rest or lying flat"); ranges and comparisons, already readable, stay as written."""
    written = cell.text.strip() or "-"
    items = items_of(cell.condition)
    if not any(isinstance(i, Equals) for i in items):
        return Words(written)
    said = [value_label(model, name, i.value) if isinstance(i, Equals)
            else "not known" if isinstance(i, IsNull) else str(i) for i in items]
    words = " or ".join(said)
    if isinstance(cell.condition, NoneOf):
        words = f"not {words}" if len(said) == 1 else f"not ({words})"
    return _words(words, written)


def _output_words(model: Model, name: str, value: Any) -> Words:
    if value is None:
        return Words("")
    return _words(value_label(model, name, value), _key(value))


def _heading(model: Model, name: str) -> Words:
    return _words(name_label(model, name), name)


def _grid(model: Model, table: Table) -> Grid:
    rows = tuple(
        GridRow(rule.rule_id, rule.row,
                tuple(GridCell(column.name, _cell_words(model, column.name, cell),
                               isinstance(cell.condition, AnyValue))
                      for column, cell in zip(table.inputs, rule.cells, strict=True)),
                tuple(_output_words(model, output.name, value)
                      for output, value in zip(table.outputs, rule.outputs, strict=True)),
                rule.citation)
        for rule in table.rules
    )
    return Grid(table.name, table.sheet, table.hit_policy.value, table.description,
                tuple(_heading(model, c.name) for c in table.inputs),
                tuple(_heading(model, o.name) for o in table.outputs), rows)


def grids(model: Model) -> tuple[Grid, ...]:
    """Every decision table of ``model``, in evaluation order (the order the page lists)."""
    return tuple(_grid(model, table) for table in model.tables)


def headline(model: Model) -> tuple[Table, OutputDef] | None:
    """The output shown large: the last one, in evaluation order, that is a table's only
    output and one of listed values (the triage's end: a disposition). Its *Output values*
    are in priority order, so its place there is its urgency."""
    singles = [t for t in model.tables if len(t.outputs) == 1 and not t.returns_list
               and t.outputs[0].allowed_values and t.outputs[0].kind is Kind.ENUM]
    return (singles[-1], singles[-1].outputs[0]) if singles else None


def output_words(model: Model) -> dict[str, dict[str, Any]]:
    """For each output: its label and the words for each listed value (the script shows
    ``plain(code)`` for a value not listed)."""
    found: dict[str, dict[str, Any]] = {}
    for table in model.tables:
        for output in table.outputs:
            found[output.name] = {
                "label": name_label(model, output.name),
                "table": table.name,
                "values": {_key(v): value_label(model, output.name, v)
                           for v in output.allowed_values},
            }
    return found


def input_words(model: Model) -> dict[str, dict[str, str]]:
    """For each enum and boolean input, the words for each of its values."""
    found: dict[str, dict[str, str]] = {}
    for item in model.inputs:
        if values := _choices(item):
            found[item.name] = {_key(v): value_label(model, item.name, v) for v in values}
    return found


def _key(value: Any) -> str:
    """A value as the script writes it with ``String(value)``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else format_value(value)


def tests_columns(path: str | None) -> tuple[str, ...]:
    """The Tests sheet's headings in column order, so a row copied from the page pastes
    under them; empty when the file cannot be read (a pinned version from the store)."""
    if path is None:
        return ()
    try:
        sheets = read_workbook(path)
    except (TriageError, OSError):  # a DMN file, or gone: the page uses its own order
        return ()
    tests = next((s for s in sheets if s.name.strip().lower() == "tests"), None)
    if tests is None:
        return ()
    return tuple(text_of(tests.value(0, c)) for c in range(tests.width))


def default_columns(model: Model) -> tuple[str, ...]:
    """Test id, every input, every output, Note: the order ``triage new`` would write."""
    outputs = (o.name for t in model.tables for o in t.outputs)
    return (TEST_ID, *(i.name for i in model.inputs), *outputs, NOTE)


def page_data(model: Model, table_id: str, evaluate: str, grids_of: str,
              columns: Sequence[str]) -> dict[str, Any]:
    """What the script reads (embedded as JSON, escaped by ``tojson``)."""
    top = headline(model)
    return {
        "table_id": table_id,
        "input_values": input_words(model),
        "evaluate": evaluate,  # the API's address, wherever the service is mounted
        "grids": grids_of,  # the grids of another version: ?version=<id>
        "inputs": {i.name: i.kind.value for i in model.inputs},
        "input_labels": {i.name: name_label(model, i.name) for i in model.inputs},
        "outputs": output_words(model),
        "headline": None if top is None else {
            "table": top[0].name, "name": top[1].name,
            "ranked": [_key(v) for v in top[1].allowed_values]},
        "tests_columns": list(columns) or list(default_columns(model)),
    }
