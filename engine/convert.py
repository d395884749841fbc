"""Converting between workbooks and DMN: ``triage convert IN OUT``.

Both directions go through a loaded, checked :class:`~engine.model.Model`, so only a valid
file is converted and the result means the same:

* :func:`model_to_dmn` (from :mod:`engine.dmn.writer`) writes DMN 1.3 XML: an ``inputData``
  per Inputs-sheet row, a ``decision`` with a ``decisionTable`` per table sheet, and what
  DMN cannot say (the About fields, units, required inputs, integer inputs) in
  ``extensionElements`` in the namespace :data:`engine.dmn.EXTENSION_NAMESPACE`, which
  other DMN tools ignore.
* :func:`model_to_sheets` writes the workbook format (About, Inputs, one sheet per table, an
  empty Tests sheet with its header). DMN names that are not snake_case are renamed
  (``Approval Status`` -> ``approval_status``); the About description lists the renames and
  a comment on each renamed cell gives the DMN name.

Entries are written in canonical form: FEEL for DMN (:mod:`engine.dmn.entries`) and the
workbook's cell syntax for workbooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from engine.builder import SEMVER
from engine.conditions import Value, format_value
from engine.dmn import DMN13_NAMESPACE, feel_condition, feel_literal, model_to_dmn, snake_case
from engine.hitpolicy import HitPolicy
from engine.model import Kind, Model, Table
from engine.values import SNAKE_CASE, read_literal
from engine.workbook import Sheet

_Note = Callable[[str, int, int, str], None]  # (sheet, row, col, model name): comment a rename


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

    book.sheets.append(_about_sheet(model, names, origin))
    book.sheets.append(_inputs_sheet(model, names, note))
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


def _about_sheet(model: Model, names: _Names, origin: str) -> Sheet:
    """The About sheet; its description lists the names changed to snake_case."""
    about = model.about
    table_id = about.table_id if SNAKE_CASE.match(about.table_id) else snake_case(about.table_id)
    description = about.description
    if names.renamed:
        listed = "; ".join(f"'{k}' -> {v}" for k, v in names.renamed.items())
        source = f"Converted from {origin}: n" if origin else "N"
        description = (description + "\n\n" if description else "") + (
            f"{source}ames changed to snake_case (DMN name -> workbook name): {listed}."
        )
    version = about.version if SEMVER.match(about.version) else "0.1.0"
    return Sheet(
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


def _inputs_sheet(model: Model, names: _Names, note: _Note) -> Sheet:
    rows: list[tuple[object, ...]] = [
        ("Name", "Type", "Unit", "Allowed values", "Required", "Description")
    ]
    for row, item in enumerate(model.inputs, start=1):
        allowed = None
        if item.kind is Kind.ENUM:
            allowed = _listed(item.allowed_values)
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
    return Sheet("Inputs", tuple(rows))  # type: ignore[arg-type]


def _sheet_title(name: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", name.replace("_", " ")).strip().capitalize()[:31] or "Table"
    title, n = base, 1
    while title.lower() in taken:
        n += 1
        suffix = f" {n}"
        title = base[: 31 - len(suffix)] + suffix
    taken.add(title.lower())
    return title


def _table_sheet(table: Table, title: str, names: _Names, note: _Note) -> Sheet:
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
        (
            "Output values",
            *[None] * n_in,
            *(_listed(o.allowed_values) or None for o in table.outputs),
        ),
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
                *(_output_cell(v, explicit_null=True) for v in rule.outputs),
                rule.citation or None,
                rule.note or None,
            )
        )
    return Sheet(title, tuple(rows))  # type: ignore[arg-type]


def _listed(values: tuple[Value, ...]) -> str:
    """Allowed values as a workbook cell: ``"a", "b"``."""
    return ", ".join(format_value(v) for v in values)


def _output_cell(value: Value | None, explicit_null: bool = False) -> Value | None:
    """An output value as a cell: Excel's own types for numbers and booleans; text as is,
    unless it would read as something else (a number, true, quotes, null), then quoted.
    A rule's null output is written ``null`` (an empty output cell is a mistake)."""
    if value is None:
        return "null" if explicit_null else None
    if not isinstance(value, str):
        return value
    plain = value and value == value.strip() and read_literal(value) == value
    if plain and value.lower() != "null":
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
    book = model_to_sheets(model.model, Path(source).name)
    write_xlsx(book, target)
    return book


def workbook_to_dmn(source: str | Path, target: str | Path) -> Model:
    """Load ``source`` (a workbook) and write it to ``target`` as a DMN 1.3 file."""
    from engine.loader import load

    model = load(source)
    Path(target).write_bytes(model_to_dmn(model.model))
    return model.model


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
