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
