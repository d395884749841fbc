"""From raw sheets to a checked :class:`~engine.model.Model`.

No IO here: :mod:`engine.workbook` reads files, this module only looks at rows. Every problem
found is collected with its cell and a fix; :class:`WorkbookError` is raised once, at the end,
listing them all.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from typing import Any

from engine.conditions import (
    AnyOf,
    Between,
    CellSyntaxError,
    Compare,
    Condition,
    Equals,
    parse_condition,
)
from engine.errors import Location, Problem, WorkbookError
from engine.facts import check_value
from engine.fhir.hooks import about_problems
from engine.hitpolicy import Aggregation, returns_list
from engine.model import About, InputDef, Kind, Model, OutputDef, Table, Vignette
from engine.properties import read_properties
from engine.tables import (
    ColumnType,
    Header,
    column_type,
    is_table_sheet,
    read_header,
    read_rules,
    read_value_labels,
)
from engine.values import (
    ValueProblem,
    read_name,
    read_typed,
    read_yes_no,
    split_list,
    text_of,
)
from engine.workbook import Sheet, column_letter

INPUT_HEADERS = ("name", "type", "unit", "allowed values", "required", "description")
OPTIONAL_INPUT_HEADERS = ("label", "value labels")
ABOUT_FIELDS = {
    "table id": "table_id",
    "title": "title",
    "version": "version",
    "owner": "owner",
    "clinical reviewer": "clinical_reviewer",
    "review date": "review_date",
    "description": "description",
    "cds hook": "cds_hook",
    "card indicators": "card_indicators",
}
READ_SHEETS = ("about", "inputs", "tests", "safety")
# Sheets written for the people editing the workbook (drop-down sources, instructions) and
# rebuilt from the content by `triage format`: the engine reads none of them, on purpose.
HELPER_SHEETS = ("lists", "how to edit")
SEMVER = re.compile(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?\Z")


def build_model(
    sheets: Sequence[Sheet], version: str, source: str = "", require_citations: bool = True
) -> Model:
    problems: list[Problem] = []
    by_name = {s.name.strip().lower(): s for s in sheets}
    about = _read_about(by_name.get("about"), problems)
    inputs, broken = _read_inputs(by_name.get("inputs"), problems)
    headers = [h for s in sheets if is_table_sheet(s) and (h := read_header(s, problems))]
    if not headers and not any(is_table_sheet(s) for s in sheets):
        problems.append(
            Problem(
                None,
                "the workbook has no decision table",
                "add a sheet whose cell A1 reads 'Table'",
                "TV102",
            )
        )
    tables = _read_tables(headers, inputs, broken, problems, require_citations)
    ordered = order_tables(tables, problems, {i.name for i in inputs})
    vignettes = _read_tests(by_name.get("tests"), inputs, broken, ordered, problems)
    properties = read_properties(by_name.get("safety"), inputs, broken, ordered, problems)
    problems += about_problems(about, ordered)
    if problems:
        raise WorkbookError(problems, source)
    return Model(about, inputs, tuple(ordered), vignettes, version, source, properties)


def is_read_sheet(sheet: Sheet) -> bool:
    """Is this a sheet the engine reads (the rest, such as helper lists, are ignored)?"""
    return sheet.name.strip().lower() in READ_SHEETS or is_table_sheet(sheet)


def is_helper_sheet(sheet: Sheet) -> bool:
    return sheet.name.strip().lower() in HELPER_SHEETS and not is_table_sheet(sheet)


# --- About ---------------------------------------------------------------------------------


def _read_about(sheet: Sheet | None, problems: list[Problem]) -> About:
    if sheet is None:
        problems.append(
            Problem(
                None,
                "the workbook has no 'About' sheet",
                "add a sheet named About with Table id and Version",
                "TV101",
            )
        )
        return About("")
    fields: dict[str, str] = {}
    cells: list[tuple[str, Location]] = []
    for row in range(len(sheet.rows)):
        label = text_of(sheet.value(row, 0)).lower().rstrip(":")
        if label in ("field", ""):
            continue
        key = ABOUT_FIELDS.get(label)
        if key is None:
            problems.append(
                Problem(
                    sheet.location(row, 0),
                    f"unknown field '{label}'",
                    "use one of " + ", ".join(f.capitalize() for f in ABOUT_FIELDS),
                    "TV105",
                )
            )
            continue
        fields[key] = text_of(sheet.value(row, 1))
        cells.append((key, sheet.location(row, 1)))
        if not fields[key]:
            continue  # reported once below if required
        if key == "table_id":
            try:
                read_name(sheet.value(row, 1), "table id")
            except ValueProblem as exc:
                problems.append(Problem(sheet.location(row, 1), exc.message, exc.fix, "TV105"))
        if key == "version" and not SEMVER.match(fields[key]):
            problems.append(
                Problem(
                    sheet.location(row, 1),
                    f"'{fields[key]}' is not a semantic version",
                    "write major.minor.patch, for example 1.0.0",
                    "TV105",
                )
            )
    for required in ("table_id", "version"):
        if not fields.get(required):
            label = next(k for k, v in ABOUT_FIELDS.items() if v == required)
            problems.append(
                Problem(
                    Location(sheet.name),
                    f"'{label.capitalize()}' is missing",
                    f"add a row '{label.capitalize()}' with its value",
                    "TV105",
                )
            )
    table_id = fields.pop("table_id", "")
    return About(table_id, **fields, cells=tuple(cells))


# --- Inputs --------------------------------------------------------------------------------


def _read_inputs(
    sheet: Sheet | None, problems: list[Problem]
) -> tuple[tuple[InputDef, ...], set[str]]:
    """The inputs, and the names of inputs declared with a problem (already reported), so that
    their uses are not reported again as unknown."""
    if sheet is None:
        problems.append(
            Problem(
                None,
                "the workbook has no 'Inputs' sheet",
                "add a sheet named Inputs listing every fact",
                "TV101",
            )
        )
        return (), set()
    for col, expected in enumerate(INPUT_HEADERS):
        found = text_of(sheet.value(0, col)).lower()
        if found != expected:
            problems.append(
                Problem(
                    sheet.location(0, col),
                    f"header '{text_of(sheet.value(0, col))}' should be '{expected.capitalize()}'",
                    f"write {expected.capitalize()}",
                    "TV104",
                )
            )
    optional = _optional_input_columns(sheet, problems)
    inputs: list[InputDef] = []
    broken: set[str] = set()
    seen: dict[str, Location] = {}
    for row in range(1, len(sheet.rows)):
        if all(v is None for v in sheet.rows[row]):
            continue
        definition = _read_input_row(sheet, row, problems, optional)
        if definition is None:
            broken.add(text_of(sheet.value(row, 0)))
            continue
        if definition.name in seen:
            problems.append(
                Problem(
                    sheet.location(row, 0),
                    f"input '{definition.name}' is declared twice "
                    f"(also at {seen[definition.name]})",
                    "keep one row per input",
                    "TV107",
                )
            )
            continue
        seen[definition.name] = sheet.location(row, 0)
        inputs.append(definition)
    return tuple(inputs), broken


def _optional_input_columns(sheet: Sheet, problems: list[Problem]) -> dict[str, int]:
    """Where the optional columns (Label, Value labels) are; any other heading after
    Description is a mistake, not something to ignore."""
    found: dict[str, int] = {}
    for col in range(len(INPUT_HEADERS), sheet.width):
        heading = text_of(sheet.value(0, col))
        key = heading.lower()
        if key in OPTIONAL_INPUT_HEADERS and key not in found:
            found[key] = col
        elif heading:
            problems.append(
                Problem(
                    sheet.location(0, col),
                    f"unknown column '{heading}' on the Inputs sheet",
                    "after Description only Label and Value labels may follow; delete the "
                    "column or rename it",
                    "TV104",
                )
            )
    return found


def _read_input_row(
    sheet: Sheet, row: int, problems: list[Problem], optional: dict[str, int]
) -> InputDef | None:
    at = sheet.location
    try:
        name = read_name(sheet.value(row, 0), "input")
    except ValueProblem as exc:
        problems.append(Problem(at(row, 0), exc.message, exc.fix, "TV106"))
        return None
    type_text = text_of(sheet.value(row, 1)).lower()
    try:
        kind = Kind(type_text)
    except ValueError:
        problems.append(
            Problem(
                at(row, 1),
                f"unknown type '{type_text}'",
                "write boolean, number, integer, enum or text",
                "TV117",
            )
        )
        return None
    try:
        required = read_yes_no(sheet.value(row, 4))
    except ValueProblem as exc:
        problems.append(Problem(at(row, 4), exc.message, exc.fix, "TV119"))
        required = True
    allowed_raw = sheet.value(row, 3)
    allowed: tuple[str, ...] = ()
    value_range: Condition | None = None
    if kind is Kind.ENUM:
        allowed = tuple(v.strip('"') for v in split_list(allowed_raw))
        if not allowed:
            problems.append(
                Problem(
                    at(row, 3),
                    "an enum needs its allowed values",
                    "list the values separated by commas",
                    "TV118",
                )
            )
        elif len(set(allowed)) != len(allowed):
            problems.append(
                Problem(at(row, 3), "a value is listed twice", "list each value once", "TV118")
            )
    elif kind in (Kind.NUMBER, Kind.INTEGER) and allowed_raw is not None:
        value_range = read_range(allowed_raw, at(row, 3), problems)
    elif allowed_raw is not None:
        problems.append(
            Problem(
                at(row, 3),
                f"a {kind} input takes no allowed values",
                "leave the cell empty",
                "TV118",
            )
        )
    label_col, labels_col = optional.get("label"), optional.get("value labels")
    value_labels: tuple[str, ...] = ()
    if labels_col is not None and sheet.value(row, labels_col) is not None:
        labelled = (True, False) if kind is Kind.BOOLEAN else allowed
        value_labels = read_value_labels(
            sheet.value(row, labels_col), labelled, at(row, labels_col), "TV118", problems
        )
    return InputDef(
        name,
        kind,
        text_of(sheet.value(row, 2)),
        allowed,
        value_range,
        required,
        text_of(sheet.value(row, 5)),
        at(row, 0),
        text_of(sheet.value(row, label_col)) if label_col is not None else "",
        value_labels,
    )


def read_range(raw: object, where: Location, problems: list[Problem]) -> Condition | None:
    fix = "write a range such as [16..120] or a bound such as >= 0"
    try:
        condition = parse_condition(raw)
    except CellSyntaxError as exc:
        problems.append(Problem(where, exc.message, fix, "TV118"))
        return None
    if not isinstance(condition, AnyOf) or not all(
        isinstance(i, Between | Compare | Equals) and not isinstance(getattr(i, "value", 0), str)
        for i in condition.items
    ):
        problems.append(Problem(where, f"'{text_of(raw)}' is not a numeric range", fix, "TV118"))
        return None
    return condition


# --- tables and chaining -------------------------------------------------------------------


def _read_tables(
    headers: list[Header],
    inputs: tuple[InputDef, ...],
    broken: set[str],
    problems: list[Problem],
    require_citations: bool,
) -> list[Table]:
    input_names = {i.name: i for i in inputs}
    outputs: dict[str, OutputDef] = {}
    table_names: dict[str, str] = {}
    for header in headers:
        if header.name in table_names:
            problems.append(
                Problem(
                    header.sheet.location(0, 1),
                    f"table name '{header.name}' is also used on sheet "
                    f"'{table_names[header.name]}'",
                    "give each table its own name",
                    "TV109",
                )
            )
        table_names.setdefault(header.name, header.sheet.name)
        for _, out in header.output_cols:
            register_output(out, input_names, outputs, problems)
    list_outputs = {
        o.name
        for h in headers
        for _, o in h.output_cols
        if returns_list(h.hit_policy, h.aggregation)
    }
    count_outputs = {
        o.name for h in headers for _, o in h.output_cols if h.aggregation is Aggregation.COUNT
    }
    tables = []
    for header in headers:
        types: dict[int, ColumnType | None] = {}
        for col, column in header.input_cols:
            source: InputDef | OutputDef | None = input_names.get(column.name) or outputs.get(
                column.name
            )
            if source is None:
                if column.name not in broken:  # a broken declaration is reported already
                    problems.append(
                        Problem(
                            column.location,
                            f"'{column.name}' is not an input or an output of another table",
                            did_you_mean(column.name, [*input_names, *outputs]),
                            "TV108",
                        )
                    )
                types[col] = None
                continue
            if isinstance(source, OutputDef) and source.name in {
                o.name for _, o in header.output_cols
            }:
                problems.append(
                    Problem(
                        column.location,
                        f"the table reads its own output '{column.name}'",
                        "read an input or another table's output",
                        "TV402",
                    )
                )
            types[col] = column_type(source, list_outputs, count_outputs)
        tables.append(read_rules(header, types, problems, require_citations))
    return tables


def register_output(
    out: OutputDef,
    input_names: Container[str],
    outputs: dict[str, OutputDef],
    problems: list[Problem],
) -> None:
    """Add ``out`` to ``outputs`` unless its name is an input's or another output's: every
    fact and every output must have its own name (shared with the DMN reader)."""
    if out.name in input_names:
        problems.append(
            Problem(
                out.location,
                f"output '{out.name}' has the name of an input",
                "give the output another name",
                "TV109",
            )
        )
    elif out.name in outputs:
        problems.append(
            Problem(
                out.location,
                f"output '{out.name}' is also produced by table '{outputs[out.name].table}'",
                "give each output its own name",
                "TV109",
            )
        )
    else:
        outputs[out.name] = out


def order_tables(
    tables: list[Table], problems: list[Problem], inputs: Container[str] = ()
) -> list[Table]:
    """Dependency order (a table after every table whose output it reads), stable by sheet.
    A column named like an input reads the input, even if an output has the same name (that
    clash is reported where the output is declared)."""
    producer = {o.name: t.name for t in tables for o in t.outputs if o.name not in inputs}
    deps = {
        t.name: {
            producer[c.name] for c in t.inputs if c.name in producer and producer[c.name] != t.name
        }
        for t in tables
    }
    ordered: list[Table] = []
    placed: set[str] = set()
    remaining = list(tables)
    while remaining:
        ready = [t for t in remaining if deps[t.name] <= placed]
        if not ready:
            cycle = ", ".join(t.name for t in remaining)
            problems.append(
                Problem(
                    remaining[0].location,
                    f"tables read each other's outputs in a cycle: {cycle}",
                    "remove one of the links so the tables can be evaluated in order",
                    "TV402",
                )
            )
            return ordered + remaining
        for table in ready:
            ordered.append(table)
            placed.add(table.name)
            remaining.remove(table)
    return ordered


def did_you_mean(name: str, candidates: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1)
    close = close or [c for c in candidates if c.startswith(name + "_")][:1]
    if close:
        return f"did you mean '{close[0]}'?"
    return "declare it on the Inputs sheet, or name an output of another table"


# --- Tests ---------------------------------------------------------------------------------


def _read_tests(
    sheet: Sheet | None,
    inputs: tuple[InputDef, ...],
    broken: set[str],
    tables: list[Table],
    problems: list[Problem],
) -> tuple[Vignette, ...]:
    if sheet is None:
        return ()
    input_defs = {i.name: i for i in inputs}
    output_defs = {o.name: (t, o) for t in tables for o in t.outputs}
    columns: dict[int, str] = {}
    note_col = None
    for col in range(1, sheet.width):
        head = text_of(sheet.value(0, col))
        if not head:
            continue
        if head.lower() == "note":
            note_col = col
        elif head in columns.values():
            first = next(c for c, h in columns.items() if h == head)
            problems.append(
                Problem(
                    sheet.location(0, col),
                    f"'{head}' is also the heading of column {column_letter(first)}",
                    "keep one column per input or output",
                    "TV111",
                )
            )
        elif head in input_defs or head in output_defs:
            columns[col] = head
        elif head in broken:
            continue  # its declaration is reported already
        else:
            problems.append(
                Problem(
                    sheet.location(0, col),
                    f"'{head}' is not an input or an output",
                    did_you_mean(head, [*input_defs, *output_defs]),
                    "TV111",
                )
            )
    if text_of(sheet.value(0, 0)).lower() != "test id":
        problems.append(
            Problem(
                sheet.location(0, 0), "the first column must be 'Test id'", "write Test id", "TV104"
            )
        )
    vignettes = []
    for row in range(1, len(sheet.rows)):
        if all(v is None for v in sheet.rows[row]):
            continue
        facts: dict[str, Any] = {}
        expected: dict[str, Any] = {}
        for col, name in columns.items():
            raw = sheet.value(row, col)
            if raw is None:
                continue
            try:
                if name in input_defs:
                    facts[name] = _read_fact(raw, input_defs[name])
                else:
                    table, out = output_defs[name]
                    expected[name] = _read_expected(raw, table, out)
            except ValueProblem as exc:
                problems.append(Problem(sheet.location(row, col), exc.message, exc.fix, "TV503"))
        vignette_id = text_of(sheet.value(row, 0)) or f"row{row + 1}"
        note = text_of(sheet.value(row, note_col)) if note_col else ""
        vignettes.append(
            Vignette(vignette_id, row + 1, facts, expected, note, sheet.location(row, 0))
        )
    return tuple(vignettes)


def _read_fact(raw: object, definition: InputDef) -> Any:
    """A vignette's fact, held to the same rules as a request's facts."""
    value = read_typed(raw, definition.kind, definition.allowed_values)
    checked, message = check_value(definition, value)
    if message:
        raise ValueProblem(f"{definition.name} {message}", "write a value the Inputs sheet allows")
    return checked


def _read_expected(raw: object, table: Table, out: OutputDef) -> Any:
    if table.aggregation is Aggregation.COUNT:
        return read_typed(raw, Kind.INTEGER)
    if table.returns_list:
        return [read_typed(v, out.kind, out.allowed_values) for v in split_list(raw)]
    if text_of(raw).lower() == "null":
        return None
    return read_typed(raw, out.kind, out.allowed_values)
