"""Converting between workbooks and DMN: ``triage convert IN OUT``.

Both directions go through a loaded, checked :class:`~engine.model.Model`, so only a valid
file is converted and the result means the same:

* :func:`model_to_dmn` writes DMN 1.3 XML: an ``inputData`` per Inputs-sheet row (with an
  ``itemDefinition`` carrying its allowed values or range), a ``decision`` with a
  ``decisionTable`` per table sheet, ``informationRequirement`` links for chaining,
  ``inputValues``/``outputValues``, ``defaultOutputEntry``, the hit policy and aggregation,
  and rule annotations *Rule id*, *Citation* and *Note*. What DMN cannot say (the About
  fields, units, required inputs, integer inputs) travels in ``extensionElements`` in the
  namespace :data:`engine.dmn.EXTENSION_NAMESPACE`, which other DMN tools ignore.
* :func:`model_to_sheets` writes the workbook format (About, Inputs, one sheet per table, an
  empty Tests sheet with its header). DMN names that are not snake_case are renamed
  (``Approval Status`` -> ``approval_status``); the About description lists the renames and
  a comment on each renamed cell gives the DMN name.

Entries are written in canonical form: FEEL for DMN (numbers without exponents, ``not(x)``
for a lone ``!= x``, ``list contains(?, x)`` for a column holding the list a multi-hit table
returns) and the workbook's cell syntax for workbooks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

from engine.conditions import (
    AnyOf,
    AnyValue,
    Compare,
    Condition,
    Equals,
    IsNull,
    Item,
    NoneOf,
    Value,
    format_value,
)
from engine.dmn import EXTENSION_NAMESPACE, snake_case
from engine.errors import Problem, WorkbookError
from engine.model import Aggregation, HitPolicy, InputDef, Kind, Model, OutputDef, Table
from engine.values import SNAKE_CASE, read_literal
from engine.workbook import Sheet

DMN13_NAMESPACE = "https://www.omg.org/spec/DMN/20191111/MODEL/"
FEEL13_NAMESPACE = "https://www.omg.org/spec/DMN/20191111/FEEL/"
_TYPE_REF = {
    Kind.NUMBER: "number",
    Kind.INTEGER: "number",
    Kind.BOOLEAN: "boolean",
    Kind.ENUM: "string",
    Kind.TEXT: "string",
}
_SEMVER = re.compile(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?\Z")


# --- FEEL text -----------------------------------------------------------------------------


def feel_number(value: int | float) -> str:
    """A FEEL numeric literal: digits and a decimal point, never an exponent."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def feel_literal(value: Value | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return feel_number(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _feel_item(item: Item) -> str:
    if isinstance(item, IsNull):
        return "null"
    if isinstance(item, Equals):
        return feel_literal(item.value)
    if isinstance(item, Compare):
        return f"{item.op} {feel_literal(item.value)}"
    left = "[" if item.low_closed else "("
    right = "]" if item.high_closed else ")"
    return f"{left}{feel_number(item.low)}..{feel_number(item.high)}{right}"


def feel_condition(condition: Condition, is_list: bool = False) -> str:
    """An input entry as FEEL unary tests that mean what the engine evaluates."""
    if isinstance(condition, AnyValue):
        return "-"
    if is_list:
        parts = [
            "count(?) = 0" if isinstance(i, IsNull) else f"list contains(?, {_feel_item(i)})"
            for i in condition.items
        ]
        text = " or ".join(parts)
        return f"not({text})" if isinstance(condition, NoneOf) else text
    items = condition.items
    if isinstance(condition, AnyOf) and len(items) == 1:
        only = items[0]
        if isinstance(only, Compare) and only.op == "!=":
            return f"not({feel_literal(only.value)})"  # FEEL has no != unary test
    text = ", ".join(_feel_item(i) for i in items)
    return f"not({text})" if isinstance(condition, NoneOf) else text


# --- Model -> DMN --------------------------------------------------------------------------


class _Ids:
    """Unique XML ids (NCNames) made from names."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, prefix: str, name: str) -> str:
        base = f"{prefix}_{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
        ident, n = base, 1
        while ident in self.used:
            n += 1
            ident = f"{base}_{n}"
        self.used.add(ident)
        return ident


def model_to_dmn(model: Model) -> bytes:
    """The model as DMN 1.3 XML (UTF-8). Raises :class:`WorkbookError` when a name cannot
    be carried over (DMN needs every input and decision to have its own name)."""
    _check_names(model)
    return _DmnWriter(model).write()


class _DmnWriter:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.ids = _Ids()
        self.input_ids: dict[str, str] = {}
        self.input_types: dict[str, str] = {}
        self.constraints: dict[str, str] = {}  # input name -> allowed values as FEEL
        self.producer = {o.name: t for t in model.tables for o in t.outputs}
        self.decision_ids = {t.name: self.ids("decision", t.name) for t in model.tables}
        self.list_outputs = {o.name for t in model.tables if t.returns_list for o in t.outputs}

    def el(self, parent: ET.Element | None, tag: str, **attrs: str | None) -> ET.Element:
        qname = f"{{{DMN13_NAMESPACE}}}{tag}"
        clean = {k: v for k, v in attrs.items() if v is not None}
        return ET.Element(qname, clean) if parent is None else ET.SubElement(parent, qname, clean)

    def text_child(self, parent: ET.Element, tag: str, text: str, **attrs: str | None) -> None:
        self.el(self.el(parent, tag, **attrs), "text").text = text

    def write(self) -> bytes:
        ET.register_namespace("", DMN13_NAMESPACE)
        ET.register_namespace("triage", EXTENSION_NAMESPACE)
        about = self.model.about
        root = self.el(
            None,
            "definitions",
            id=self.ids("definitions", about.table_id or "model"),
            name=about.title or about.table_id or "model",
            namespace=f"urn:triage-rules:{about.table_id or 'model'}",
            expressionLanguage=FEEL13_NAMESPACE,
            typeLanguage=FEEL13_NAMESPACE,
            exporter="triage-rules",
        )
        if about.description:
            self.el(root, "description").text = about.description
        ET.SubElement(
            self.el(root, "extensionElements"),
            f"{{{EXTENSION_NAMESPACE}}}about",
            {
                "tableId": about.table_id,
                "title": about.title,
                "version": about.version,
                "owner": about.owner,
                "clinicalReviewer": about.clinical_reviewer,
                "reviewDate": about.review_date,
            },
        )
        for item in self.model.inputs:
            self.item_definition(root, item)
        for item in self.model.inputs:
            self.input_data(root, item)
        for table in self.model.tables:
            self.decision(root, table)
        ET.indent(root, space="  ")
        body = ET.tostring(root, encoding="unicode")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode()

    def item_definition(self, root: ET.Element, item: InputDef) -> None:
        constraint = _input_constraint(item)
        if constraint is None:
            self.input_types[item.name] = _TYPE_REF[item.kind]
            return
        self.constraints[item.name] = constraint
        type_name = self.ids("t", item.name)
        self.input_types[item.name] = type_name
        definition = self.el(root, "itemDefinition", id=type_name, name=type_name)
        self.el(definition, "typeRef").text = _TYPE_REF[item.kind]
        self.text_child(definition, "allowedValues", constraint)

    def input_data(self, root: ET.Element, item: InputDef) -> None:
        ident = self.ids("inputData", item.name)
        self.input_ids[item.name] = ident
        node = self.el(root, "inputData", id=ident, name=item.name)
        if item.description:
            self.el(node, "description").text = item.description
        ET.SubElement(
            self.el(node, "extensionElements"),
            f"{{{EXTENSION_NAMESPACE}}}input",
            {
                "type": item.kind.value,
                "unit": item.unit,
                "required": "yes" if item.required else "no",
            },
        )
        self.el(
            node,
            "variable",
            id=self.ids("variable", item.name),
            name=item.name,
            typeRef=self.input_types[item.name],
        )

    def decision(self, root: ET.Element, table: Table) -> None:
        ident = self.decision_ids[table.name]
        node = self.el(root, "decision", id=ident, name=table.name)
        if table.description:
            self.el(node, "description").text = table.description
        variable_type = None
        if len(table.outputs) == 1 and (
            table.hit_policy.single_hit or table.aggregation is not None
        ):
            kind = Kind.NUMBER if table.aggregation is Aggregation.COUNT else table.outputs[0].kind
            variable_type = _TYPE_REF[kind]
        self.el(
            node,
            "variable",
            id=self.ids("variable", table.name),
            name=table.name,
            typeRef=variable_type,
        )
        required: dict[str, tuple[str, str]] = {}
        for column in table.inputs:
            if column.name in self.input_ids:
                required.setdefault(column.name, ("requiredInput", self.input_ids[column.name]))
            else:
                upstream = self.producer[column.name].name
                required.setdefault(upstream, ("requiredDecision", self.decision_ids[upstream]))
        for tag, target in required.values():
            requirement = self.el(
                node, "informationRequirement", id=self.ids("requirement", f"{ident}_{target}")
            )
            self.el(requirement, tag, href=f"#{target}")
        dt = self.el(
            node,
            "decisionTable",
            id=self.ids("decisionTable", table.name),
            hitPolicy=table.hit_policy.value,
            aggregation=table.aggregation.value if table.aggregation else None,
            outputLabel=table.name,
        )
        for index, column in enumerate(table.inputs):
            self.input_clause(dt, table, index, column.name)
        for index, output in enumerate(table.outputs):
            clause = self.el(
                dt,
                "output",
                id=self.ids("output", f"{table.name}_{index + 1}"),
                name=output.name,
                typeRef=_TYPE_REF[output.kind],
            )
            if output.allowed_values:
                self.text_child(
                    clause,
                    "outputValues",
                    ", ".join(feel_literal(v) for v in output.allowed_values),
                )
            if output.has_default:
                self.text_child(clause, "defaultOutputEntry", feel_literal(output.default))
        for name in ("Rule id", "Citation", "Note"):
            self.el(dt, "annotation", name=name)
        for rule in table.rules:
            rule_id = self.ids("rule", f"{table.name}_{rule.index + 1}")
            rule_node = self.el(dt, "rule", id=rule_id)
            for n, (column, cell) in enumerate(zip(table.inputs, rule.cells, strict=True)):
                text = feel_condition(cell.condition, column.name in self.list_outputs)
                self.text_child(rule_node, "inputEntry", text, id=f"{rule_id}_i{n + 1}")
            for n, value in enumerate(rule.outputs):
                self.text_child(
                    rule_node, "outputEntry", feel_literal(value), id=f"{rule_id}_o{n + 1}"
                )
            for text in (rule.rule_id, rule.citation, rule.note):
                self.text_child(rule_node, "annotationEntry", text)

    def input_clause(self, dt: ET.Element, table: Table, index: int, name: str) -> None:
        clause = self.el(dt, "input", id=self.ids("input", f"{table.name}_{index + 1}"), label=name)
        source: InputDef | OutputDef | None = self.model.input(name)
        type_ref: str | None
        if source is not None:
            expression, type_ref = name, _TYPE_REF[source.kind]
        else:
            upstream = self.producer[name]
            source = self.model.output(name)
            assert source is not None
            single = len(upstream.outputs) == 1
            expression = upstream.name if single else f"{upstream.name}.{name}"
            type_ref = None if name in self.list_outputs else _TYPE_REF[source.kind]
        expr = self.el(
            clause,
            "inputExpression",
            id=self.ids("inputExpression", f"{table.name}_{index + 1}"),
            typeRef=type_ref,
        )
        self.el(expr, "text").text = expression
        if name in self.constraints:
            self.text_child(clause, "inputValues", self.constraints[name])


def _input_constraint(item: InputDef) -> str | None:
    if item.kind is Kind.ENUM and item.allowed_values:
        return ", ".join(feel_literal(v) for v in item.allowed_values)
    if item.value_range is not None:
        return feel_condition(item.value_range)
    return None


def _check_names(model: Model) -> None:
    problems: list[Problem] = []
    inputs = {i.name for i in model.inputs}
    for table in model.tables:
        if table.name in inputs:
            problems.append(
                Problem(
                    table.location,
                    f"table '{table.name}' has the name of an input, and DMN needs every "
                    "input and decision to have its own name",
                    "rename the table",
                )
            )
    if problems:
        raise WorkbookError(problems, model.source)


# --- Model -> workbook ---------------------------------------------------------------------


@dataclass
class Workbook:
    """Sheets to write, and the comments to attach: ``(sheet, row, col) -> text``."""

    sheets: list[Sheet]
    comments: dict[tuple[str, int, int], str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # DMN name -> workbook name
    uncited: int = 0  # rules without a citation (the workbook needs one on every rule)


class _Names:
    """One snake_case workbook name per model name, distinct from each other."""

    def __init__(self, names: Iterable[str]) -> None:
        self.map: dict[str, str] = {}
        taken: set[str] = set()
        pending = []
        for name in dict.fromkeys(names):
            if SNAKE_CASE.match(name):
                self.map[name] = name
                taken.add(name)
            else:
                pending.append(name)
        for name in pending:
            base = snake_case(name)
            candidate, n = base, 1
            while candidate in taken:
                n += 1
                candidate = f"{base}_{n}"
            taken.add(candidate)
            self.map[name] = candidate

    def __getitem__(self, name: str) -> str:
        return self.map[name]

    @property
    def renamed(self) -> dict[str, str]:
        return {k: v for k, v in self.map.items() if k != v}


def model_to_sheets(model: Model, origin: str = "") -> Workbook:
    """The model in the workbook format, ready to edit (the Tests sheet has only its header)."""
    inputs_names = [i.name for i in model.inputs]
    names = _Names(
        [
            *inputs_names,
            *(o.name for t in model.tables for o in t.outputs),
            *(t.name for t in model.tables),
        ]
    )
    book = Workbook([])

    def note(sheet: str, row: int, col: int, name: str) -> None:
        if names[name] != name:
            book.comments[(sheet, row, col)] = f"DMN name: {name}"

    about = model.about
    table_id = about.table_id if SNAKE_CASE.match(about.table_id) else snake_case(about.table_id)
    description = about.description
    if names.renamed:
        listed = "; ".join(f"'{k}' -> {v}" for k, v in names.renamed.items())
        source = f"Converted from {origin}: n" if origin else "N"
        description = (description + "\n\n" if description else "") + (
            f"{source}ames changed to snake_case (DMN name -> workbook name): {listed}."
        )
    version = about.version if _SEMVER.match(about.version) else "0.1.0"
    book.sheets.append(
        Sheet(
            "About",
            (
                ("Field", "Value"),
                ("Table id", table_id),
                ("Title", about.title or None),
                ("Version", version),
                ("Owner", about.owner or None),
                ("Clinical reviewer", about.clinical_reviewer or None),
                ("Review date", about.review_date or None),
                ("Description", description.strip() or None),
            ),
        )
    )
    rows: list[tuple[object, ...]] = [
        ("Name", "Type", "Unit", "Allowed values", "Required", "Description")
    ]
    for row, item in enumerate(model.inputs, start=1):
        allowed = None
        if item.kind is Kind.ENUM:
            allowed = ", ".join(format_value(v) for v in item.allowed_values)
        elif item.value_range is not None:
            allowed = str(item.value_range)
        rows.append(
            (
                names[item.name],
                item.kind.value,
                item.unit or None,
                allowed,
                "yes" if item.required else "no",
                item.description or None,
            )
        )
        note("Inputs", row, 0, item.name)
    book.sheets.append(Sheet("Inputs", tuple(rows)))  # type: ignore[arg-type]
    titles: set[str] = {"about", "inputs", "tests"}
    for table in model.tables:
        title = _sheet_title(names[table.name], titles)
        book.sheets.append(_table_sheet(table, title, names, note))
    header = (
        "Test id",
        *(names[n] for n in inputs_names),
        *(names[o.name] for t in model.tables for o in t.outputs),
        "Note",
    )
    book.sheets.append(Sheet("Tests", (header,)))
    book.renamed = names.renamed
    book.uncited = sum(1 for t in model.tables for r in t.rules if not r.citation)
    return book


def _sheet_title(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name.replace("_", " ")).strip().capitalize()[:31] or "Table"
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        suffix = f" {n}"
        title = base[: 31 - len(suffix)] + suffix
    taken.add(title.lower())
    return title


def _table_sheet(table: Table, title: str, names: _Names, note) -> Sheet:  # type: ignore[no-untyped-def]
    n_in = len(table.inputs)
    policy = table.hit_policy.value
    if table.aggregation is not None:
        policy = f"{HitPolicy.COLLECT.value} {table.aggregation.value}"
    rows: list[tuple[object, ...]] = [
        ("Table", names[table.name]),
        ("Hit policy", policy),
        ("Description", table.description or None),
        (),
        ("Kind", *["Input"] * n_in, *["Output"] * len(table.outputs), "Citation", "Note"),
        ("Name", *(names[c.name] for c in table.inputs), *(names[o.name] for o in table.outputs)),
        ("Output values", *[None] * n_in, *(_values_cell(o) for o in table.outputs)),
        (
            "Default",
            *[None] * n_in,
            *(_output_cell(o.default) if o.has_default else None for o in table.outputs),
        ),
    ]
    note(title, 0, 1, table.name)
    for col, column in enumerate(table.inputs, start=1):
        note(title, 5, col, column.name)
    for col, output in enumerate(table.outputs, start=n_in + 1):
        note(title, 5, col, output.name)
    for rule in table.rules:
        rows.append(
            (
                rule.rule_id,
                *(str(cell.condition) for cell in rule.cells),
                *(_output_cell(v) for v in rule.outputs),
                rule.citation or None,
                rule.note or None,
            )
        )
    return Sheet(title, tuple(rows))  # type: ignore[arg-type]


def _values_cell(output: OutputDef) -> str | None:
    if not output.allowed_values:
        return None
    return ", ".join(format_value(v) for v in output.allowed_values)


def _output_cell(value: Value | None) -> Value | None:
    """An output value as a cell: Excel's own types for numbers and booleans; text as is,
    unless it would read as something else (a number, true, quotes), then quoted."""
    if value is None or not isinstance(value, str):
        return value
    if value and value == value.strip() and read_literal(value) == value:
        return value
    return format_value(value)


def write_xlsx(book: Workbook, path: str | Path) -> Path:
    """Write the sheets with openpyxl: text always as text (never a formula)."""
    from openpyxl import Workbook as XlsxWorkbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.comments import Comment

    path = Path(path)
    xlsx = XlsxWorkbook()
    default = xlsx.active
    for sheet in book.sheets:
        target = xlsx.create_sheet(title=sheet.name)
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                cell = target.cell(row=r + 1, column=c + 1)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING
                text = book.comments.get((sheet.name, r, c))
                if text:
                    cell.comment = Comment(text, "triage convert")
        for (name, r, c), text in book.comments.items():
            if name == sheet.name and sheet.value(r, c) is None:
                target.cell(row=r + 1, column=c + 1).comment = Comment(text, "triage convert")
        target.column_dimensions["A"].width = 18
    if default is not None:
        xlsx.remove(default)
    xlsx.save(path)
    return path


# --- files ---------------------------------------------------------------------------------


def dmn_to_workbook(source: str | Path, target: str | Path) -> Workbook:
    """Load ``source`` (a .dmn file) and write it to ``target`` as an .xlsx workbook."""
    from engine.loader import load

    model = load(source)
    book = model_to_sheets(model, Path(source).name)
    write_xlsx(book, target)
    return book


def workbook_to_dmn(source: str | Path, target: str | Path) -> Model:
    """Load ``source`` (a workbook) and write it to ``target`` as a DMN 1.3 file."""
    from engine.loader import load

    model = load(source)
    Path(target).write_bytes(model_to_dmn(model))
    return model


__all__ = [
    "DMN13_NAMESPACE",
    "Workbook",
    "dmn_to_workbook",
    "feel_condition",
    "feel_literal",
    "model_to_dmn",
    "model_to_sheets",
    "workbook_to_dmn",
    "write_xlsx",
]
