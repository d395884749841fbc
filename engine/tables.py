"""Reading decision-table sheets (A1 = 'Table') into :class:`~engine.model.Table` objects.

Two passes, because tables chain: :func:`read_header` reads every table's name, hit policy,
columns and output definitions first; :func:`read_rules` then reads the rules, when the type
of every input column (an Inputs-sheet fact or another table's output) is known.
Problems are collected, never raised, so one run reports them all.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from engine.conditions import CellSyntaxError, Value, parse_condition, type_problems
from engine.errors import Location, Problem
from engine.model import (
    Aggregation,
    Cell,
    HitPolicy,
    InputColumn,
    InputDef,
    Kind,
    OutputDef,
    Rule,
    Table,
)
from engine.units import unit_in_cell
from engine.values import (
    ValueProblem,
    choices,
    read_literal,
    read_name,
    read_typed,
    split_list,
    text_of,
    unquote,
)
from engine.workbook import Sheet

HEADER_ROWS = 8  # rules start on sheet row 9
LABELS_ROW, KIND_ROW, NAME_ROW, VALUES_ROW, DEFAULT_ROW = 3, 4, 5, 6, 7  # 0-based
MAX_INPUT_COLUMNS = 200
MAX_RULES = 250_000

HIT_POLICIES: dict[str, tuple[HitPolicy, Aggregation | None]] = {
    "UNIQUE": (HitPolicy.UNIQUE, None),
    "U": (HitPolicy.UNIQUE, None),
    "ANY": (HitPolicy.ANY, None),
    "A": (HitPolicy.ANY, None),
    "PRIORITY": (HitPolicy.PRIORITY, None),
    "P": (HitPolicy.PRIORITY, None),
    "FIRST": (HitPolicy.FIRST, None),
    "F": (HitPolicy.FIRST, None),
    "COLLECT": (HitPolicy.COLLECT, None),
    "C": (HitPolicy.COLLECT, None),
    "COLLECT SUM": (HitPolicy.COLLECT, Aggregation.SUM),
    "C+": (HitPolicy.COLLECT, Aggregation.SUM),
    "COLLECT MIN": (HitPolicy.COLLECT, Aggregation.MIN),
    "C<": (HitPolicy.COLLECT, Aggregation.MIN),
    "COLLECT MAX": (HitPolicy.COLLECT, Aggregation.MAX),
    "C>": (HitPolicy.COLLECT, Aggregation.MAX),
    "COLLECT COUNT": (HitPolicy.COLLECT, Aggregation.COUNT),
    "C#": (HitPolicy.COLLECT, Aggregation.COUNT),
    "RULE ORDER": (HitPolicy.RULE_ORDER, None),
    "R": (HitPolicy.RULE_ORDER, None),
    "OUTPUT ORDER": (HitPolicy.OUTPUT_ORDER, None),
    "O": (HitPolicy.OUTPUT_ORDER, None),
}
_POLICY_FIX = "write UNIQUE, ANY, PRIORITY, FIRST, COLLECT (optionally SUM, MIN, MAX or COUNT), "
_POLICY_FIX += "RULE ORDER or OUTPUT ORDER, or a DMN letter such as U, P, F, C+"


@dataclass
class Header:
    """What pass one learns of a table sheet."""

    sheet: Sheet
    name: str
    hit_policy: HitPolicy
    aggregation: Aggregation | None
    description: str
    input_cols: list[tuple[int, InputColumn]] = field(default_factory=list)
    output_cols: list[tuple[int, OutputDef]] = field(default_factory=list)
    citation_col: int | None = None
    note_col: int | None = None


def is_table_sheet(sheet: Sheet) -> bool:
    return text_of(sheet.value(0, 0)).lower() == "table"


def read_header(sheet: Sheet, problems: list[Problem]) -> Header:
    at = sheet.location
    name = _read(problems, at(0, 1), lambda: read_name(sheet.value(0, 1), "table"), "TV106")
    if text_of(sheet.value(1, 0)).lower() != "hit policy":
        problems.append(
            Problem(at(1, 0), "row 2 must start with 'Hit policy'", "write Hit policy", "TV104")
        )
    policy_text = " ".join(text_of(sheet.value(1, 1)).upper().replace("_", " ").split())
    policy = HIT_POLICIES.get(policy_text)
    if policy is None:
        problems.append(
            Problem(at(1, 1), f"unknown hit policy '{policy_text}'", _POLICY_FIX, "TV113")
        )
    corner = text_of(sheet.value(LABELS_ROW, 0)).lower()
    labels_row = sheet.rows[LABELS_ROW] if len(sheet.rows) > LABELS_ROW else ()
    if corner not in ("", "labels") or (not corner and any(v is not None for v in labels_row)):
        problems.append(
            Problem(
                at(LABELS_ROW, 0),
                "row 4 must be empty or start with 'Labels'",
                "write Labels in A4 to give output values words people read, or empty row 4",
                "TV104",
            )
        )
    for row, label in ((KIND_ROW, "Kind"), (NAME_ROW, "Name")):
        if text_of(sheet.value(row, 0)).lower() != label.lower():
            problems.append(
                Problem(
                    at(row, 0),
                    f"row {row + 1} must start with '{label}'",
                    f"write {label}",
                    "TV104",
                )
            )
    # with a bad name or policy (reported above) the columns are still read, so that the
    # tables reading this one's outputs are not reported as reading unknown names
    hit_policy, aggregation = policy or (HitPolicy.UNIQUE, None)
    header = Header(
        sheet, name or f"<{sheet.name}>", hit_policy, aggregation, text_of(sheet.value(2, 1))
    )
    _read_columns(header, problems)
    return header


def _read_columns(header: Header, problems: list[Problem]) -> None:
    sheet, at = header.sheet, header.sheet.location
    stage = 0  # 0 inputs, 1 outputs, 2 annotations: columns must come in this order
    for col in range(1, sheet.width):
        kind = text_of(sheet.value(KIND_ROW, col)).lower()
        if not kind:
            if any(sheet.value(r, col) is not None for r in range(NAME_ROW, len(sheet.rows))):
                problems.append(
                    Problem(
                        at(KIND_ROW, col),
                        "column has no kind",
                        "write Input, Output, Citation or Note",
                        "TV110",
                    )
                )
            continue
        order = {"input": 0, "output": 1, "citation": 2, "note": 2}.get(kind)
        if order is None:
            problems.append(
                Problem(
                    at(KIND_ROW, col),
                    f"unknown column kind '{kind}'",
                    "write Input, Output, Citation or Note",
                    "TV110",
                )
            )
            continue
        if order < stage:
            problems.append(
                Problem(
                    at(KIND_ROW, col),
                    f"{kind} column after later columns",
                    "put inputs first, then outputs, then Citation and Note",
                    "TV110",
                )
            )
        stage = max(stage, order)
        if kind == "input":
            _read_input_column(header, col, problems)
        elif kind == "output":
            _read_output_column(header, col, problems)
        elif kind == "citation":
            if header.citation_col is not None:
                problems.append(
                    Problem(
                    at(KIND_ROW, col), "second Citation column", "keep one Citation column", "TV110"
                )
                )
            header.citation_col = col
        else:
            header.note_col = col
    if not header.output_cols:
        problems.append(
            Problem(
                Location(sheet.name),
                "the table has no Output column",
                "mark at least one column Output in row 5",
                "TV110",
            )
        )
    if len(header.input_cols) > MAX_INPUT_COLUMNS:
        problems.append(
            Problem(
                at(KIND_ROW, header.input_cols[MAX_INPUT_COLUMNS][0]),
                f"more than {MAX_INPUT_COLUMNS} input columns",
                "split the table into chained tables",
                "TV116",
            )
        )
    if problem := output_count_problem(header.aggregation, len(header.output_cols)):
        problems.append(Problem(at(1, 1), *problem, "TV113"))


def _read_input_column(header: Header, col: int, problems: list[Problem]) -> None:
    sheet, at = header.sheet, header.sheet.location
    name = _read(
        problems,
        at(NAME_ROW, col),
        lambda: read_name(sheet.value(NAME_ROW, col), "input"),
        "TV106",
    )
    rows = ((LABELS_ROW, "Labels"), (VALUES_ROW, "Output values"), (DEFAULT_ROW, "Default"))
    for row, what in rows:
        if sheet.value(row, col) is not None:
            problems.append(
                Problem(
                    at(row, col),
                    f"{what} is for output columns only",
                    "leave this cell empty; input values come from the Inputs sheet",
                    "TV112",
                )
            )
    if name is not None:
        header.input_cols.append((col, InputColumn(name, at(NAME_ROW, col))))


def _read_output_column(header: Header, col: int, problems: list[Problem]) -> None:
    sheet, at = header.sheet, header.sheet.location
    name = _read(
        problems,
        at(NAME_ROW, col),
        lambda: read_name(sheet.value(NAME_ROW, col), "output"),
        "TV106",
    )
    if name is None:
        return
    listed = split_list(sheet.value(VALUES_ROW, col))
    allowed = tuple(read_literal(v) for v in listed)
    if len(set(map(repr, allowed))) != len(allowed):
        problems.append(
            Problem(at(VALUES_ROW, col), "a value is listed twice", "list each once", "TV112")
        )
    kind = kind_of(allowed) if allowed else kind_of(_output_cells(sheet, col), listed=False)
    if allowed and kind is Kind.ENUM:
        allowed = tuple(unquote(v) for v in listed)  # as written: 'true' stays 'true'
    default_raw = sheet.value(DEFAULT_ROW, col)
    default: Value | None = None
    if default_raw is not None:
        default = _read(
            problems,
            at(DEFAULT_ROW, col),
            lambda: read_typed(default_raw, kind, allowed),
            "TV202",
            "TV205",
        )
    labels: tuple[str, ...] = ()
    if sheet.value(LABELS_ROW, col) is not None:
        labels = read_value_labels(
            sheet.value(LABELS_ROW, col), allowed, at(LABELS_ROW, col), "TV112", problems
        )
    output = OutputDef(
        name,
        header.name,
        kind,
        allowed,
        default,
        default_raw is not None,
        at(NAME_ROW, col),
        labels,
    )
    if problem := output_kind_problem(header.aggregation, kind):
        problems.append(Problem(at(NAME_ROW, col), *problem, "TV113"))
    header.output_cols.append((col, output))


def _output_cells(sheet: Sheet, col: int) -> tuple[Value, ...]:
    values = []
    for row in range(HEADER_ROWS, len(sheet.rows)):
        raw = sheet.value(row, col)
        if raw is not None:
            try:
                values.append(read_literal(raw))
            except ValueProblem:
                continue
    return tuple(values)


def output_count_problem(aggregation: Aggregation | None, count: int) -> tuple[str, str] | None:
    """An aggregation needs exactly one output column (shared with the DMN reader)."""
    if aggregation is not None and count != 1:
        return (
            f"COLLECT {aggregation} needs exactly one output column",
            "keep one output, or use plain COLLECT",
        )
    return None


def output_kind_problem(aggregation: Aggregation | None, kind: Kind) -> tuple[str, str] | None:
    """COLLECT SUM, MIN and MAX need a numeric output (shared with the DMN reader)."""
    if aggregation in (Aggregation.SUM, Aggregation.MIN, Aggregation.MAX) and kind not in (
        Kind.NUMBER,
        Kind.INTEGER,
    ):
        return (
            f"COLLECT {aggregation} needs a numeric output",
            "give this output numbers, or use plain COLLECT",
        )
    return None


def kind_of(values: tuple[Value, ...], listed: bool = True) -> Kind:
    """The kind of an output whose type is not declared, from its listed values (text makes
    an enum of them) or, when nothing is ``listed``, from its cells (text is free text)."""
    if values and all(isinstance(v, bool) for v in values):
        return Kind.BOOLEAN
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return Kind.NUMBER
    return Kind.ENUM if values and listed else Kind.TEXT


@dataclass(frozen=True)
class ColumnType:
    """The type of values an input column sees; ``chained`` when it reads another table's
    output rather than a fact."""

    kind: Kind
    allowed: tuple[Value, ...]
    is_list: bool
    chained: bool = False
    name: str = ""
    unit: str = ""

    def code(self, kind: str) -> str:
        """The check code of a cell problem of ``kind`` (see TypeProblem) in this column."""
        if kind == "empty":
            return "TV206"
        if self.chained:
            return "TV401"
        return "TV203" if kind == "allowed" else "TV202"


def column_type(
    source: InputDef | OutputDef, list_outputs: set[str], count_outputs: Container[str] = ()
) -> ColumnType | None:
    """The type a column's cells are checked against. The output of a COLLECT COUNT table is
    a number, whatever its cells hold. None when the type cannot check cells (an enum without
    values, reported where it is declared)."""
    if source.name in count_outputs:
        return ColumnType(Kind.INTEGER, (), False, True, source.name)
    if source.kind is Kind.ENUM and not source.allowed_values:
        return None
    if isinstance(source, InputDef):
        allowed = source.allowed_values
        return ColumnType(source.kind, allowed, False, False, source.name, source.unit)
    is_list = source.name in list_outputs
    return ColumnType(source.kind, source.allowed_values, is_list, True, source.name)


def read_rules(
    header: Header,
    types: dict[int, ColumnType | None],  # None: the column's source is already reported
    problems: list[Problem],
    require_citations: bool = True,
) -> Table:
    """Pass two: the rule rows, with every cell checked against its column's type."""
    sheet, at = header.sheet, header.sheet.location
    if header.citation_col is None and require_citations:
        problems.append(
            Problem(
                at(KIND_ROW, sheet.width),
                "the table has no Citation column",
                "add a column with Kind 'Citation' and a source on every rule",
                "TV114",
            )
        )
    rules: list[Rule] = []
    seen_ids: dict[str, str] = {}
    for row in range(HEADER_ROWS, len(sheet.rows)):
        if all(v is None for v in sheet.rows[row]):
            continue
        if len(rules) >= MAX_RULES:
            problems.append(
                Problem(at(row, 0), f"more than {MAX_RULES} rules", "split the table", "TV116")
            )
            break
        rule_id = text_of(sheet.value(row, 0))
        if not rule_id:
            problems.append(
                Problem(
                    at(row, 0),
                    "the rule has no id",
                    f"write an id such as R{len(rules) + 1}",
                    "TV115",
                )
            )
        elif rule_id in seen_ids:
            problems.append(
                Problem(
                    at(row, 0),
                    f"rule id '{rule_id}' is used twice (also at {seen_ids[rule_id]})",
                    "give each rule its own id",
                    "TV115",
                )
            )
        seen_ids.setdefault(rule_id, str(at(row, 0)))
        cells = tuple(
            _read_cell(sheet, row, col, types[col], problems) for col, _ in header.input_cols
        )
        outputs = tuple(
            _read_output(sheet, row, col, out, problems) for col, out in header.output_cols
        )
        citation = text_of(sheet.value(row, header.citation_col)) if header.citation_col else ""
        if require_citations and header.citation_col is not None and not citation:
            problems.append(
                Problem(
                    at(row, header.citation_col),
                    "the rule has no citation",
                    "name the source of this rule, for example 'NICE NG42 1.1.3'",
                    "TV114",
                )
            )
        note = text_of(sheet.value(row, header.note_col)) if header.note_col else ""
        rules.append(
            Rule(
                len(rules),
                rule_id or f"row{row + 1}",
                row + 1,
                cells,
                outputs,
                citation,
                note,
                at(row, 0),
            )
        )
    return Table(
        header.name,
        sheet.name,
        header.hit_policy,
        header.aggregation,
        tuple(c for _, c in header.input_cols),
        tuple(o for _, o in header.output_cols),
        tuple(rules),
        header.description,
        Location(sheet.name, "A1"),
    )


def _read_cell(
    sheet: Sheet, row: int, col: int, ctype: ColumnType | None, problems: list[Problem]
) -> Cell:
    raw = sheet.value(row, col)
    where = sheet.location(row, col)
    try:
        condition = parse_condition(raw)
    except CellSyntaxError as exc:
        numeric = ctype is not None and ctype.kind in (Kind.NUMBER, Kind.INTEGER)
        unit = unit_in_cell(text_of(raw), ctype.name, ctype.unit) if numeric and ctype else None
        message, fix = unit or (exc.message, exc.fix)
        problems.append(Problem(where, message, fix, exc.code))
        condition = parse_condition(None)
    else:
        if ctype is not None:
            for problem in type_problems(condition, ctype.kind, ctype.allowed, ctype.is_list):
                problems.append(
                    Problem(where, problem.message, problem.fix, ctype.code(problem.kind))
                )
    return Cell(text_of(raw) or "-", condition, where)


def _read_output(
    sheet: Sheet, row: int, col: int, output: OutputDef, problems: list[Problem]
) -> Value | None:
    raw = sheet.value(row, col)
    if raw is None:
        if output.allowed_values:  # a forgotten cell must not silently mean "no value"
            problems.append(
                Problem(
                    sheet.location(row, col),
                    f"the rule gives no {output.name}: the cell is empty",
                    f"{choices(output.allowed_values)}, or null if this rule deliberately gives "
                    "no value",
                    "TV209",
                )
            )
        return None
    if isinstance(raw, str) and raw.strip().lower() == "null":
        return None
    return _read(
        problems,
        sheet.location(row, col),
        lambda: read_typed(raw, output.kind, output.allowed_values),
        "TV202",
        "TV205",
    )


def _read(  # type: ignore[no-untyped-def]
    problems: list[Problem], where: Location, reader, code: str, allowed_code: str = ""
):
    """``reader()``, or None after adding the problem it raised, with ``code`` (or
    ``allowed_code`` for a value outside the listed ones)."""
    try:
        return reader()
    except ValueProblem as exc:
        chosen = allowed_code if exc.kind == "allowed" and allowed_code else code
        problems.append(Problem(where, exc.message, exc.fix, chosen))
        return None


def read_value_labels(
    raw: object,
    values: Sequence[object],
    where: Location,
    code: str,
    problems: list[Problem],
) -> tuple[str, ...]:
    """Labels written like a list of values (commas between them, double quotes around a
    label that holds a comma), one for each value in the same order (shared with the
    tables' Labels row)."""
    labels = tuple(v.strip('"') for v in split_list(raw))
    if not values:
        problems.append(
            Problem(where, "labels need a list of values to label", "list the values first", code)
        )
        return ()
    if len(labels) != len(values):
        problems.append(
            Problem(
                where,
                f"{len(labels)} labels for {len(values)} values",
                "write one label for each value, in the same order, separated by commas "
                '(put a label that holds a comma in double quotes: "Yes, today")',
                code,
            )
        )
        return ()
    return labels
