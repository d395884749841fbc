"""Cell names: ``'C12'`` <-> (row 12, column 2). Rows are 1-based as Excel shows them,
columns 0-based as :class:`~engine.workbook.Sheet` indexes them."""

from __future__ import annotations

import re

from engine.workbook import cell_name, column_letter

_CELL = re.compile(r"([A-Za-z]{1,3})([0-9]+)\Z")

__all__ = ["cell_name", "column_letter", "split_cell", "cell_at"]


def split_cell(cell: str) -> tuple[int, int]:
    """``'C12'`` -> ``(12, 2)``; a name that is not a cell gives ``(0, 0)``."""
    match = _CELL.match(cell.strip().replace("$", ""))
    if not match:
        return 0, 0
    col = 0
    for ch in match.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(match.group(2)), col - 1


def cell_at(row: int, col: int) -> str:
    """1-based row, 0-based column -> A1 name."""
    return cell_name(row - 1, col)
