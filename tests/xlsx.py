"""Writing :class:`engine.workbook.Sheet` objects to a real .xlsx file, so that tests go
through the same reader (pandas + calamine) as a workbook saved by Excel.

Cell values are written as given: ``str``, ``int``, ``float``, ``bool`` and ``None`` (left
empty); dates and times are written as Excel dates. ``rows[r][c]`` lands in cell
``cell_name(r, c)``, so a test can name the cell it expects a problem at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from engine.workbook import Sheet

CellValue = None | bool | int | float | str | dt.date | dt.datetime | dt.time


def write_workbook(path: str | Path, sheets: Iterable[Sheet]) -> Path:
    """Write ``sheets`` (in order) to ``path`` as an .xlsx workbook and return the path.

    Text is stored as text even when it starts with ``=`` (Excel would read a formula, which
    the engine never evaluates); booleans are stored as Excel booleans, numbers as numbers.
    An empty ``sheets`` writes a workbook with one blank sheet named ``Sheet1`` (a workbook
    with no sheet at all cannot be saved).
    """
    path = Path(path)
    book = Workbook()
    default = book.active
    written = 0
    for source in sheets:
        target = book.create_sheet(title=source.name)
        for r, row in enumerate(source.rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                _check(value, source.name, r, c)
                cell = target.cell(row=r + 1, column=c + 1)
                cell.value = value
                if isinstance(value, str):
                    cell.data_type = TYPE_STRING  # never a formula
        written += 1
    if written:
        book.remove(default)
    else:
        default.title = "Sheet1"
    book.save(path)
    return path


def _check(value: Any, sheet: str, row: int, col: int) -> None:
    allowed = (bool, int, float, str, dt.date, dt.datetime, dt.time)
    if not isinstance(value, allowed):
        raise TypeError(f"{sheet} row {row + 1} column {col + 1}: cannot write "
                        f"{type(value).__name__} {value!r} to a cell")


def sheet(name: str, rows: Sequence[Sequence[CellValue]]) -> Sheet:
    """A :class:`Sheet` from lists (convenience for tests)."""
    return Sheet(name, tuple(tuple(row) for row in rows))


# --- editing sheets (tests build broken workbooks from a valid one) ------------------------


def cell_position(cell: str) -> tuple[int, int]:
    """``'C12'`` -> ``(11, 2)``: 0-based row and column, as :attr:`Sheet.rows` indexes them."""
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    if not letters or not digits or not letters.isalpha():
        raise ValueError(f"not a cell name: {cell!r}")
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ord(ch) - 64)
    return int(digits) - 1, col - 1


def _find(sheets: Sequence[Sheet], name: str) -> int:
    for i, s in enumerate(sheets):
        if s.name == name:
            return i
    raise KeyError(f"no sheet {name!r} among {[s.name for s in sheets]}")


def set_cells(sheets: Sequence[Sheet], name: str, cells: dict[str, CellValue]) -> tuple[Sheet, ...]:
    """A copy of ``sheets`` in which sheet ``name`` has the given cells (``{'C12': '>= 5'}``)
    set; rows and columns are added as needed."""
    index = _find(sheets, name)
    rows = [list(r) for r in sheets[index].rows]
    for ref, value in cells.items():
        r, c = cell_position(ref)
        while len(rows) <= r:
            rows.append([])
        while len(rows[r]) <= c:
            rows[r].append(None)
        rows[r][c] = value
    result = list(sheets)
    result[index] = sheet(name, rows)
    return tuple(result)


def set_cell(sheets: Sequence[Sheet], name: str, ref: str, value: CellValue) -> tuple[Sheet, ...]:
    return set_cells(sheets, name, {ref: value})


def append_rows(sheets: Sequence[Sheet], name: str,
                *rows: Sequence[CellValue]) -> tuple[Sheet, ...]:
    """A copy of ``sheets`` with ``rows`` added below the last row of sheet ``name``."""
    index = _find(sheets, name)
    result = list(sheets)
    result[index] = sheet(name, [*sheets[index].rows, *rows])
    return tuple(result)


def remove_sheet(sheets: Sequence[Sheet], name: str) -> tuple[Sheet, ...]:
    index = _find(sheets, name)
    return tuple(s for i, s in enumerate(sheets) if i != index)


def replace_sheet(sheets: Sequence[Sheet], new: Sheet) -> tuple[Sheet, ...]:
    """A copy of ``sheets`` with ``new`` in place of the sheet of the same name, or added at
    the end if there is none."""
    try:
        index = _find(sheets, new.name)
    except KeyError:
        return (*sheets, new)
    result = list(sheets)
    result[index] = new
    return tuple(result)


def get_sheet(sheets: Sequence[Sheet], name: str) -> Sheet:
    return sheets[_find(sheets, name)]
