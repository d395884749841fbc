"""Converting between workbooks and DMN: ``triage convert IN OUT``.

Both directions go through a loaded, checked :class:`~engine.model.Model`, so only a valid
file is converted and the result means the same:

* :func:`model_to_dmn` (from :mod:`engine.dmn.writer`) writes DMN 1.3 XML: an ``inputData``
  per Inputs-sheet row, a ``decision`` with a ``decisionTable`` per table sheet, and what
  DMN cannot say (the About fields, units, required inputs, integer inputs) in
  ``extensionElements`` in the namespace :data:`engine.dmn.EXTENSION_NAMESPACE`, which
  other DMN tools ignore.
* :func:`model_to_sheets` writes the workbook format (About, Inputs, one sheet per table, a
  Tests sheet, and a Safety sheet when there is one). DMN names that are not snake_case are
  renamed (``Approval Status`` -> ``approval_status``); the About description lists the
  renames and a comment on each renamed cell gives the DMN name.

Entries are written in canonical form: FEEL for DMN (:mod:`engine.dmn.entries`) and the
workbook's cell syntax for workbooks.

The files (:func:`workbook_to_dmn`, :func:`dmn_to_workbook`) carry what a workbook holds
beyond the model: the vignettes as DMN TCK test cases beside the ``.dmn``
(:mod:`engine.dmn.testcases`), and the Safety sheet, labels and cell spellings in a sidecar
(:mod:`engine.dmn.sidecar`), so that an unedited round trip gives the same content version.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.builder import SEMVER
from engine.conditions import Value, format_value
from engine.dmn import (
    DMN13_NAMESPACE,
    EXTENSION_NAMESPACE,
    feel_condition,
    feel_literal,
    model_to_dmn,
    read_dmn,
    snake_case,
)
from engine.dmn.sidecar import (
    Sidecar,
    digest,
    labels_of,
    read_sidecar,
    restore,
    sidecar_path,
    spelling,
    with_labels,
)
from engine.dmn.testcases import (
    TestCase,
    cases_to_rows,
    read_testcases,
    tck_files_beside,
    tck_path,
    write_testcases,
)
from engine.hitpolicy import HitPolicy
from engine.model import Kind, Model, Table
from engine.values import SNAKE_CASE, read_literal
from engine.workbook import RawValue, Sheet

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


def model_to_sheets(
    model: Model,
    origin: str = "",
    *,
    titles: Mapping[str, str] | None = None,
    tests: Sequence[Sequence[RawValue]] | None = None,
    safety: Sequence[Sequence[RawValue]] | None = None,
) -> Workbook:
    """The model in the workbook format, ready to edit. ``titles`` names the sheet of each
    table (by table name); ``tests`` and ``safety`` are the rows of the Tests and Safety
    sheets (without them, the Tests sheet has only its header and there is no Safety
    sheet)."""
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
    taken: set[str] = {"about", "inputs", "tests", "safety"}
    for table in model.tables:
        title = (titles or {}).get(table.name) or _sheet_title(names[table.name], taken)
        taken.add(title.strip().lower())
        book.sheets.append(_table_sheet(table, title, names, note))
    if tests is None:
        tests = [
            (
                "Test id",
                *(names[n] for n in inputs_names),
                *(names[o.name] for t in model.tables for o in t.outputs),
                "Note",
            )
        ]
    else:  # the test cases name DMN's inputs and outputs: the header takes the new names
        head = tuple(names.map.get(h, h) if isinstance(h, str) else h for h in tests[0])
        tests = [head, *tests[1:]]
    book.sheets.append(Sheet("Tests", tuple(tuple(r) for r in tests)))
    if safety is not None:
        book.sheets.append(Sheet("Safety", tuple(tuple(r) for r in safety)))
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
            # optional fields: a row only where the table sets one (docs/workbook-format.md)
            *((label, value) for label, value in (("CDS hook", about.cds_hook),
                                                  ("Card indicators", about.card_indicators))
              if value),
        ),
    )


def _inputs_sheet(model: Model, names: _Names, note: _Note) -> Sheet:
    labelled = any(i.label or i.value_labels for i in model.inputs)
    header = ("Name", "Type", "Unit", "Allowed values", "Required", "Description")
    rows: list[tuple[object, ...]] = [header + (("Label", "Value labels") if labelled else ())]
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
            + ((item.label or None, _labels_cell(item.value_labels)) if labelled else ())
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
        (
            ("Labels", *[None] * n_in, *(_labels_cell(o.labels) for o in table.outputs))
            if any(o.labels for o in table.outputs)
            else ()
        ),
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
    """Allowed values as a workbook cell, as a clinician writes them: ``focal, multifocal``
    (quotes only around a value that would otherwise read as something else)."""
    return ", ".join(str(v) if _plain_word(v) else format_value(v) for v in values)


def _plain_word(value: Value) -> bool:
    return (
        isinstance(value, str)
        and _WORD.fullmatch(value) is not None
        and value.lower() not in ("true", "false", "null", "not", "yes", "no")
    )


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _labels_cell(labels: Sequence[str]) -> str | None:
    """Labels as their cell: commas between them, a label holding a comma in quotes."""
    if not labels:
        return None
    return ", ".join(f'"{label}"' if "," in label else label for label in labels)


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


@dataclass
class Conversion:
    """What ``triage convert`` wrote, and one line per kind of content saying where it went
    (the command prints them)."""

    target: Path
    tables: int
    written: list[Path] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # DMN name -> workbook name
    uncited: int = 0


def workbook_to_dmn(source: str | Path, target: str | Path) -> Conversion:
    """Load ``source`` (a workbook) and write it as DMN 1.3 to ``target``, its vignettes as
    DMN TCK test cases beside it (``table-test-01.xml``), and what DMN cannot carry to the
    sidecar ``table.dmn.triage.json`` (:mod:`engine.dmn.sidecar`)."""
    from engine.builder import is_read_sheet
    from engine.loader import content_version, load_sheets
    from engine.workbook import read_workbook

    source, target = Path(source), Path(target)
    sheets = read_workbook(source)
    model = load_sheets(sheets, str(source)).model
    dmn = model_to_dmn(model)
    tests = write_testcases(model, target.name)
    read = [s for s in sheets if is_read_sheet(s)]
    safety = next((s for s in read if s.name.strip().lower() == "safety"), None)
    tests_sheet = next((s for s in read if s.name.strip().lower() == "tests"), None)
    header = tests_sheet.rows[0][1:] if tests_sheet is not None and tests_sheet.rows else ()
    side = Sidecar(
        content_version=model.version,
        dmn_sha256=digest(dmn),
        tests_sha256=digest(tests),
        safety=[list(r) for r in safety.rows] if safety is not None else None,
        labels=labels_of(model),
        titles={t.name: t.sheet for t in model.tables},
        sheets=[s.name for s in read],
        tests_columns=[str(h).strip() for h in header if isinstance(h, str) and h.strip()],
    )
    back = read_dmn(dmn, str(target))
    cases = read_testcases(tests, back, str(tck_path(target)))
    rebuilt = _rebuild(back, cases, side, target.name).sheets
    side.cells = spelling(read, rebuilt)
    restored = content_version(restore(rebuilt, side)) == model.version
    tests_path, side_path = tck_path(target), sidecar_path(target)
    for path, data in ((target, dmn), (tests_path, tests), (side_path, side.to_json())):
        _write_bytes(path, data)
    n_labels = sum(bool(i.label or i.value_labels) for i in model.inputs) + sum(
        bool(o.labels) for t in model.tables for o in t.outputs
    )
    report = [
        f"tables, rules, inputs and outputs: {len(model.tables)} decision tables in {target.name}",
        "About fields, units, required and integer inputs: in "
        f"{target.name} (extensionElements, namespace {EXTENSION_NAMESPACE})",
        f"vignettes: {len(model.vignettes)} as DMN TCK test cases in {tests_path.name}",
        f"Safety properties: {len(model.properties)} in {side_path.name} "
        "(DMN has no place for them)",
        f"labels: {n_labels} inputs and outputs with labels in {side_path.name}",
        f"sheet names and the spelling of {side.spelled} cells DMN writes otherwise: "
        f"in {side_path.name}"
        + (
            ""
            if restored
            else " (warning: converting back will not give the same content version; "
            "please report this)"
        ),
        "not carried: the helper sheets (Lists, How to edit), drop-downs, notes and styles "
        "(triage format rebuilds them)",
    ]
    return Conversion(target, len(model.tables), [target, tests_path, side_path], report)


def dmn_to_workbook(source: str | Path, target: str | Path) -> Conversion:
    """Load ``source`` (a .dmn file) and write it to ``target`` as an .xlsx workbook, with the
    test cases beside it (``table-test-*.xml``) as the Tests sheet and what the sidecar
    ``table.dmn.triage.json`` keeps, when they are there."""
    from engine.dmn import read_dmn_file
    from engine.loader import compile_loaded

    source, target = Path(source), Path(target)
    model = compile_loaded(read_dmn_file(source)).model
    files = tck_files_beside(source)
    cases: list[TestCase] | None = None
    for path in files:
        cases = (cases or []) + read_testcases(path.read_bytes(), model, str(path))
    side_path = sidecar_path(source)
    side = read_sidecar(side_path) if side_path.is_file() else Sidecar()
    book = _rebuild(model, cases, side, source.name)
    report = [
        f"tables, rules, inputs and outputs: {len(model.tables)} decision tables from {source.name}"
    ]
    if cases is None:
        report.append(f"vignettes: none (no {tck_path(source).name} beside {source.name})")
    else:
        names = ", ".join(p.name for p in files)
        report.append(f"vignettes: {len(cases)} from {names} into the Tests sheet")
        failing = sum(len(c.errors) for c in cases)
        if failing:
            report.append(
                f"expected errors: {failing} results expected to be errors (errorResult) are "
                "not carried: a vignette cannot expect an error"
            )
    if side_path.is_file():
        n_safety = max(len(side.safety) - 2, 0) if side.safety is not None else 0
        report.append(f"Safety properties: {n_safety} from {side_path.name} into the Safety sheet")
        report.append(f"labels: from {side_path.name}")
        unchanged = (
            side.dmn_sha256 == digest(source.read_bytes())
            and [p.name for p in files] == [tck_path(source).name]
            and side.tests_sha256 == digest(files[0].read_bytes())
        )
        if unchanged:
            book.sheets = restore(book.sheets, side)
            report.append(
                f"sheet names and cell spellings: {side.spelled} cells from {side_path.name} "
                f"(content version {side.content_version}, as the workbook it was written from)"
            )
        else:
            report.append(
                f"cell spellings: not used, since {source.name} or its test cases changed after "
                f"{side_path.name} was written; cells are written in canonical form"
            )
    else:
        report.append(
            f"Safety properties and labels: none (no {side_path.name} beside {source.name})"
        )
    write_xlsx(book, target)
    report.append(_format_written(target))
    return Conversion(
        target,
        len(model.tables),
        [target],
        report,
        book.renamed,
        book.uncited,
    )


def _rebuild(model: Model, cases: list[TestCase] | None, side: Sidecar, origin: str) -> Workbook:
    """The workbook a DMN model, its test cases and a sidecar give (spellings not yet laid
    over): converting back, and what the sidecar is computed against."""
    model = with_labels(model, side.labels)
    tests = cases_to_rows(model, cases, side.tests_columns) if cases is not None else None
    book = model_to_sheets(model, origin, titles=side.titles, tests=tests, safety=side.safety)
    by_key = {name.strip().lower(): name for name in side.sheets}
    book.sheets = [
        Sheet(by_key.get(s.name.lower(), s.name), s.rows)
        if s.name in ("About", "Inputs", "Tests", "Safety")
        else s
        for s in book.sheets
    ]
    return book


def _write_bytes(path: Path, data: bytes) -> None:
    """Written beside and renamed over the target, so a reader never sees half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def _format_written(path: Path) -> str:
    """Leave the workbook this module wrote formatted (issue 16: every command that writes a
    workbook does); the line it returns goes into the report."""
    from engine.authoring.format import leave_formatted  # format reads what convert writes

    return leave_formatted(path)


__all__ = [
    "DMN13_NAMESPACE",
    "Conversion",
    "Workbook",
    "dmn_to_workbook",
    "feel_condition",
    "feel_literal",
    "model_to_dmn",
    "model_to_sheets",
    "workbook_to_dmn",
    "write_xlsx",
]
