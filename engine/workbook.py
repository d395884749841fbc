"""Reading a workbook file into plain rows. The only module that imports pandas.

Values are read with pandas' calamine engine (the fastest reader pandas supports here) and
``dtype=object`` so that booleans stay booleans. What a cell *holds* is all later stages
need; styles and comments (openpyxl) matter only to the validator's annotated copy.
"""

from __future__ import annotations

import datetime as dt
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import Location, Problem, UnreadableFile
from engine.filesafety import check_file

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
    sheets = []
    for name, frame in frames.items():
        rows = tuple(
            tuple(_clean(v) for v in row) for row in frame.itertuples(index=False, name=None)
        )
        sheets.append(Sheet(str(name), _trim(rows)))
    return tuple(sheets)


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
