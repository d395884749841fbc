"""Reading a workbook file into plain rows. The only module that imports pandas.

Values are read with pandas' calamine engine (the fastest reader pandas supports here) and
``dtype=object`` so that booleans stay booleans. What a cell *holds* is all later stages
need; styles and comments (openpyxl) matter only to the validator's annotated copy.

An ``.ods`` file says more about a cell than calamine passes on: LibreOffice's booleans
reach calamine as the numbers 1 and 0, and an error value (``#DIV/0!``) as the number its
formula last gave. :mod:`engine.odf` reads the types from the file, and they are laid over
calamine's values here, so that the same workbook saved by Excel, or by LibreOffice as
``.xlsx`` or ``.ods``, reads as the same cells: booleans are booleans, and an error value
is an empty cell in every format (the validator reports it, ``TV125``).
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Location, Problem, UnreadableFile
from engine.filesafety import check_file
from engine.odf import SheetLayout, read_ods_layout

# what a spreadsheet program saves a workbook as (.xlsm is read only to refuse its macros)
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".ods")

RawValue = None | bool | int | float | str | dt.date | dt.datetime | dt.time


def column_letter(col: int) -> str:
    """0-based column index to Excel letters: 0 -> A, 27 -> AB."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    """0-based row and column to A1 notation."""
    return f"{column_letter(col)}{row + 1}"


@dataclass(frozen=True)
class Sheet:
    """One sheet as a rectangle of raw cell values; ``rows[r][c]`` is cell ``cell_name(r, c)``.
    Empty cells are ``None``."""

    name: str
    rows: tuple[tuple[RawValue, ...], ...]

    def value(self, row: int, col: int) -> RawValue:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def location(self, row: int, col: int) -> Location:
        return Location(self.name, cell_name(row, col))

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)


def read_workbook(path: str | Path) -> tuple[Sheet, ...]:
    """Read every sheet of an .xlsx/.xlsm/.ods file. A file that cannot be read at all raises
    :class:`WorkbookError` with one problem saying why."""
    path = Path(path)
    where = None  # the error names the file itself
    if not path.is_file():
        problem = Problem(where, "file not found", "check the path", "TV001")
        raise UnreadableFile([problem], str(path))
    check_file(path)  # hostile files are refused before any reader opens them
    if path.suffix.lower() in (".xlsx", ".xlsm") and not zipfile.is_zipfile(path):
        raise UnreadableFile(
            [
                Problem(
                    where,
                    "this is not an Excel workbook",
                    "save the file as .xlsx from Excel",
                    "TV001",
                )
            ],
            str(path),
        )
    import pandas as pd

    try:
        frames = pd.read_excel(
            path,
            sheet_name=None,
            header=None,
            engine="calamine",
            dtype=object,
            keep_default_na=False,
            na_values=[],  # "null", "NA", "None" are text, not empty
        )
    except Exception as exc:  # calamine reports corrupt files with many exception types
        raise UnreadableFile(
            [
                Problem(
                    where,
                    f"the workbook cannot be read ({exc})",
                    "open and re-save it in Excel",
                    "TV001",
                )
            ],
            str(path),
        ) from exc
    types = _ods_types(path) if path.suffix.lower() == ".ods" else {}
    sheets = []
    for name, frame in frames.items():
        rows = [[_clean(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        if str(name) in types:
            _lay_over(rows, types[str(name)])
        sheets.append(Sheet(str(name), _trim(tuple(tuple(row) for row in rows))))
    return tuple(sheets)


def _ods_types(path: Path) -> dict[str, SheetLayout]:
    try:
        return {layout.name: layout for layout in read_ods_layout(path)}
    except Exception as exc:  # calamine read it, so this is damage only expat notices
        raise UnreadableFile(
            [
                Problem(
                    None,
                    f"the workbook cannot be read ({exc})",
                    "open it in LibreOffice and save it again",
                    "TV001",
                )
            ],
            str(path),
        ) from exc


def _lay_over(rows: list[list[RawValue]], layout: SheetLayout) -> None:
    """The cell types the file states, over the values calamine gave for them."""
    width = max((len(row) for row in rows), default=0)
    for run in layout.booleans:
        for r, c in run.cells(len(rows), width):
            if c < len(rows[r]) and rows[r][c] in (0, 1):  # 0/1/False/True: the same cell
                rows[r][c] = bool(run.value)
    for run in layout.errors:
        for r, c in run.cells(len(rows), width):
            if c < len(rows[r]):
                rows[r][c] = None


def _clean(value: object) -> RawValue:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return value.to_pydatetime()  # type: ignore[no-any-return]
    if isinstance(value, bool | int | float | dt.date | dt.datetime | dt.time):
        return value
    return str(value)


def _trim(rows: tuple[tuple[RawValue, ...], ...]) -> tuple[tuple[RawValue, ...], ...]:
    """Drop trailing empty cells of each row and trailing empty rows (positions unchanged)."""
    trimmed = []
    for row in rows:
        end = len(row)
        while end and row[end - 1] is None:
            end -= 1
        trimmed.append(row[:end])
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return tuple(trimmed)
