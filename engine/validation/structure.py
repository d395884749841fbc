"""Sheets the engine ignores. A sheet is read when it is named About, Inputs, Tests or Safety, or
when its cell A1 reads ``Table``; anything else is skipped without a word by the loader — so
a table whose A1 says ``Tabel``, or an ``Input`` sheet, would silently drop out. Each such
sheet with content is reported, with the name it was probably meant to have."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from engine.builder import is_helper_sheet
from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.validation.problems import SheetRoles
from engine.values import text_of
from engine.workbook import Sheet

KNOWN = {"about": "About", "inputs": "Inputs", "tests": "Tests", "safety": "Safety"}


def unrecognised_sheets(sheets: Sequence[Sheet], roles: SheetRoles) -> list[Finding]:
    findings = []
    for sheet in sheets:
        if sheet.name in roles.roles or is_helper_sheet(sheet):
            continue
        if not any(any(v is not None for v in r) for r in sheet.rows):
            continue
        corner = text_of(sheet.value(0, 0))
        close = difflib.get_close_matches(sheet.name.strip().lower(), list(KNOWN), n=1, cutoff=0.6)
        if close and KNOWN[close[0]].lower() not in {s.name.strip().lower() for s in sheets}:
            message = (
                f"sheet '{sheet.name}' is ignored: only a sheet named {KNOWN[close[0]]} is read"
            )
            fix = f"rename the sheet to {KNOWN[close[0]]}"
            cells: list[str] = []
        elif difflib.get_close_matches(corner.lower(), ["table"], n=1, cutoff=0.6):
            message = f"sheet '{sheet.name}' is ignored: its cell A1 reads '{corner}', not 'Table'"
            fix = "write Table in cell A1 if this sheet is a decision table"
            cells = ["A1"]
        else:
            findings.append(
                finding(
                    "TV124",
                    f"sheet '{sheet.name}' is not read: it is not About, Inputs, Tests or "
                    "Safety, and its cell A1 does not read 'Table'",
                    "nothing to do if it holds notes; write Table in A1 if it is a table",
                    sheet=sheet.name,
                )
            )
            continue
        findings.append(finding("TV103", message, fix, sheet=sheet.name, cells=cells))
    return findings
