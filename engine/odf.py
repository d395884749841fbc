"""What an OpenDocument spreadsheet (``.ods``) says about its cells that a value reader loses.

LibreOffice Calc has no boolean cell type: a boolean is a number shown as TRUE or FALSE.
It saves one in two ways, and the value reader (calamine) sees only the number in both:

* ``office:value-type="boolean"`` with ``office:boolean-value="true"`` — a boolean typed in
  a cell (and what other programs write for a boolean);
* ``table:formula="of:=TRUE()"`` with ``office:value-type="float" office:value="1"`` — how
  LibreOffice keeps a boolean it read from an ``.xlsx`` file. In ``.xlsx`` it writes the
  same cell back as the formula ``TRUE()`` with a boolean result (``t="b"``).

So the type is read here from the file, not guessed from the number: a cell holding 1 in a
boolean column stays an error unless the file says it is a boolean. The same scan gives the
validator what :mod:`engine.validation.layout` reports for ``.xlsx`` through openpyxl: merged
cells, hidden sheets, rows and columns, formulas and error values.

The file has passed :mod:`engine.filesafety` (no DTD, bounded size); the XML is read with
expat as a stream, and repeated rows and cells are kept as runs, never expanded here.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_CHUNK = 2**20
_MAX_ERROR_TEXT = 200  # an error cell shows '#DIV/0!' and the like
MAX_MERGES = 10_000  # per sheet; a merged cell repeated over a million rows is one finding


def _name(namespace: str, local: str) -> str:
    return f"{namespace} {local}"


TABLE = _name(_TABLE, "table")
ROW = _name(_TABLE, "table-row")
COLUMN = _name(_TABLE, "table-column")
CELL = _name(_TABLE, "table-cell")
COVERED = _name(_TABLE, "covered-table-cell")
STYLE = _name(_STYLE, "style")
TABLE_PROPERTIES = _name(_STYLE, "table-properties")
PARAGRAPH = _name(_TEXT, "p")
ANNOTATION = _name(_OFFICE, "annotation")
SPACE = _name(_TEXT, "s")
A_NAME = _name(_TABLE, "name")
A_STYLE_NAME = _name(_TABLE, "style-name")
A_DISPLAY = _name(_TABLE, "display")
A_VISIBILITY = _name(_TABLE, "visibility")
A_ROWS_REPEATED = _name(_TABLE, "number-rows-repeated")
A_COLUMNS_REPEATED = _name(_TABLE, "number-columns-repeated")
A_ROWS_SPANNED = _name(_TABLE, "number-rows-spanned")
A_COLUMNS_SPANNED = _name(_TABLE, "number-columns-spanned")
A_FORMULA = _name(_TABLE, "formula")
A_VALUE_TYPE = _name(_OFFICE, "value-type")
A_BOOLEAN_VALUE = _name(_OFFICE, "boolean-value")
A_CALC_VALUE_TYPE = _name(_CALCEXT, "value-type")
A_FAMILY = _name(_STYLE, "family")
A_STYLE_STYLE_NAME = _name(_STYLE, "name")
A_SPACES = _name(_TEXT, "c")


def boolean_formula(formula: str) -> bool | None:
    """``True`` or ``False`` when a formula is only the boolean literal LibreOffice writes
    for a boolean cell — ``=TRUE()`` or ``=FALSE()``, as ``TRUE()`` in ``.xlsx`` and
    ``of:=TRUE()`` in ``.ods`` — else ``None``: every other formula stays a formula."""
    text = formula.strip()
    if text.lower().startswith("of:"):
        text = text[3:]
    text = text.lstrip("=").strip().upper()
    return {"TRUE()": True, "FALSE()": False}.get(text)


def formula_text(formula: str) -> str:
    """A formula as a user sees it in the formula bar: ``of:=SUM([.B2:.B5])`` reads
    ``=SUM([.B2:.B5])``."""
    return formula[3:] if formula.lower().startswith("of:") else formula


@dataclass(frozen=True)
class CellRun:
    """``rows`` x ``cols`` cells from the 0-based ``row``, ``col`` holding the same thing:
    LibreOffice writes equal neighbouring cells once, with a repeat count."""

    row: int
    col: int
    rows: int
    cols: int
    value: str | bool

    def cells(self, max_rows: int, max_cols: int) -> Iterator[tuple[int, int]]:
        """The run's cells inside the first ``max_rows`` x ``max_cols`` (0-based)."""
        for r in range(self.row, min(self.row + self.rows, max_rows)):
            for c in range(self.col, min(self.col + self.cols, max_cols)):
                yield r, c


@dataclass
class SheetLayout:
    """What one sheet's file says beyond its values. Rows and columns are 0-based;
    ``merges`` are (first row, first column, last row, last column)."""

    name: str
    hidden: bool = False
    hidden_rows: list[tuple[int, int]] = field(default_factory=list)  # (first row, count)
    hidden_columns: list[tuple[int, int]] = field(default_factory=list)  # (first col, count)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    formulas: list[CellRun] = field(default_factory=list)  # value: the formula as written
    errors: list[CellRun] = field(default_factory=list)  # value: the error shown (#N/A)
    booleans: list[CellRun] = field(default_factory=list)  # value: True or False


def read_ods_layout(path: Path) -> tuple[SheetLayout, ...]:
    """Scan ``content.xml`` of an ``.ods`` file once; one :class:`SheetLayout` per sheet."""
    scan = _Scan()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.text
    with zipfile.ZipFile(path) as archive, archive.open("content.xml") as stream:
        while block := stream.read(_CHUNK):
            parser.Parse(block, False)
        parser.Parse(b"", True)
    return tuple(scan.sheets)


def _count(attrs: dict[str, str], name: str) -> int:
    value = attrs.get(name, "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


class _Scan:
    """expat handlers; positions follow the repeat counts of rows, columns and cells."""

    def __init__(self) -> None:
        self.sheets: list[SheetLayout] = []
        self.hidden_styles: set[str] = set()
        self.style: str | None = None
        self.row = self.col = self.column = 0
        self.row_repeat = 1
        self.depth = 0  # table:table nesting; cells of a sub-table are not the sheet's
        self.notes = 0  # inside a comment (office:annotation), whose text is not the cell's
        self.error: CellRun | None = None
        self.error_text: list[str] = []

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == STYLE:
            family = attrs.get(A_FAMILY)
            self.style = attrs.get(A_STYLE_STYLE_NAME) if family == "table" else None
        elif tag == TABLE_PROPERTIES:
            if self.style and attrs.get(A_DISPLAY) == "false":
                self.hidden_styles.add(self.style)
        elif tag == TABLE:
            self.depth += 1
            if self.depth == 1:
                hidden = attrs.get(A_STYLE_NAME, "") in self.hidden_styles
                self.sheets.append(SheetLayout(attrs.get(A_NAME, ""), hidden))
                self.row = self.column = 0
        elif self.depth != 1:
            return
        elif tag == COLUMN:
            count = _count(attrs, A_COLUMNS_REPEATED)
            if attrs.get(A_VISIBILITY, "visible") != "visible":
                self.sheets[-1].hidden_columns.append((self.column, count))
            self.column += count
        elif tag == ROW:
            self.row_repeat = _count(attrs, A_ROWS_REPEATED)
            self.col = 0
            if attrs.get(A_VISIBILITY, "visible") != "visible":
                self.sheets[-1].hidden_rows.append((self.row, self.row_repeat))
        elif tag in (CELL, COVERED):
            self._cell(tag, attrs)
        elif tag == ANNOTATION:
            self.notes += 1
        elif tag == SPACE and self.error is not None and not self.notes:
            self.error_text.append(" " * _count(attrs, A_SPACES))

    def _cell(self, tag: str, attrs: dict[str, str]) -> None:
        sheet, row, col = self.sheets[-1], self.row, self.col
        cols = _count(attrs, A_COLUMNS_REPEATED)
        self.col += cols
        if tag == COVERED:
            return

        def run(value: str | bool) -> CellRun:
            return CellRun(row, col, self.row_repeat, cols, value)

        spanned_rows, spanned_cols = _count(attrs, A_ROWS_SPANNED), _count(attrs, A_COLUMNS_SPANNED)
        if spanned_rows > 1 or spanned_cols > 1:
            for r, c in run("").cells(row + self.row_repeat, col + cols):
                if len(sheet.merges) >= MAX_MERGES:
                    break
                sheet.merges.append((r, c, r + spanned_rows - 1, c + spanned_cols - 1))
        formula = attrs.get(A_FORMULA)
        if formula is not None:
            sheet.formulas.append(run(formula))
        if attrs.get(A_CALC_VALUE_TYPE) == "error":
            self.error, self.error_text = run(""), []
        elif attrs.get(A_VALUE_TYPE) == "boolean":
            sheet.booleans.append(run(attrs.get(A_BOOLEAN_VALUE, "").strip().lower() == "true"))
        elif formula is not None and (literal := boolean_formula(formula)) is not None:
            sheet.booleans.append(run(literal))

    def text(self, data: str) -> None:
        if (
            self.error is not None
            and not self.notes
            and sum(map(len, self.error_text)) < _MAX_ERROR_TEXT
        ):
            self.error_text.append(data)

    def end(self, tag: str) -> None:
        if tag == TABLE:
            self.depth -= 1
        elif self.depth != 1:
            return
        elif tag == ANNOTATION:
            self.notes -= 1
        elif tag == ROW:
            self.row += self.row_repeat
            self.row_repeat = 1
        elif tag == CELL and self.error is not None:
            shown = "".join(self.error_text).strip()[:_MAX_ERROR_TEXT] or "#VALUE!"
            error = self.error
            self.sheets[-1].errors.append(
                CellRun(error.row, error.col, error.rows, error.cols, shown)
            )
            self.error = None
        elif tag == PARAGRAPH and self.error is not None and not self.notes:
            self.error_text.append("\n")
