"""A copy of the workbook with every finding on its cell: the cell filled in the colour of
the worst severity found there and a comment giving each finding's code, message and fix.

The copy is written with openpyxl, whose comments and fills Excel and LibreOffice both show.
The original file is only read. A finding about a whole sheet goes on its cell A1; one about
the whole workbook goes on A1 of the first sheet.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from engine.validation.findings import Finding, Report, Severity
from engine.validation.sheetref import split_cell

FILLS = {Severity.ERROR: "FFC7CE", Severity.WARNING: "FFEB9C", Severity.INFO: "DDEBF7"}
AUTHOR = "triage validate"


class AnnotateError(ValueError):
    """The copy cannot be written (same file as the input, not an .xlsx file)."""


def annotate(source: str | Path, target: str | Path, report: Report) -> int:
    """Write the annotated copy of ``source`` to ``target``; returns how many cells carry a
    finding."""
    source, target = Path(source), Path(target)
    if target.exists() and target.resolve() == source.resolve():
        raise AnnotateError("the annotated copy must not overwrite the workbook itself")
    if source.suffix.lower() not in (".xlsx", ".xlsm") or target.suffix.lower() not in (
        ".xlsx",
        ".xlsm",
    ):
        raise AnnotateError("--annotate reads and writes .xlsx (or .xlsm) workbooks only")
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():  # openpyxl warns about extensions it drops
            warnings.simplefilter("ignore")
            book = load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm")
    except Exception as exc:  # openpyxl fails in many ways on files calamine accepts
        raise AnnotateError(f"the workbook cannot be copied with annotations ({exc})") from exc
    placed = _place(report.findings, book)
    for (sheet, cell), findings in placed.items():
        _mark(book[sheet][cell], findings)
    book.save(target)
    return len(placed)


def _place(findings: list[Finding], book: Any) -> dict[tuple[str, str], list[Finding]]:
    first = book.sheetnames[0]
    placed: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        sheet = str(f.sheet) if f.sheet in book.sheetnames else str(first)
        cells = [c for c in f.cells if split_cell(c)[0] > 0] or ["A1"]
        for cell in cells:
            target = _top_left(book[sheet], cell)
            placed.setdefault((sheet, target), [])
            if f not in placed[(sheet, target)]:
                placed[(sheet, target)].append(f)
    return placed


def _top_left(worksheet: Any, cell: str) -> str:
    """A merged cell other than the top-left one cannot hold a comment: use the top-left."""
    for merged in worksheet.merged_cells.ranges:
        if cell in merged:
            return str(merged.start_cell.coordinate)
    return cell


def _mark(cell: Any, findings: list[Finding]) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    worst = min((f.severity for f in findings), key=lambda s: s.rank)
    colour = FILLS[worst]
    cell.fill = PatternFill(fill_type="solid", start_color=colour, end_color=colour)
    notes = [
        f"{f.code} {f.severity.value}: {f.message}\nFix: {f.fix}"
        + (f"\n{f.detail}" if f.detail else "")
        for f in findings
    ]
    text = "\n\n".join(notes)
    if cell.comment is not None and cell.comment.text:
        text = f"{cell.comment.text}\n\n{text}"
    comment = Comment(text, AUTHOR)
    comment.width = 420
    comment.height = min(600, 90 + 60 * len(notes))
    cell.comment = comment
