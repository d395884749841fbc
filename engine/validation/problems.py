"""The loader's problems as findings, each with a stable code.

The builder collects every problem of a workbook (``WorkbookError.problems``), each with a
cell and a fix, but without a code. The code is decided here from *where* the problem is —
which sheet, which row, which kind of column — and only then from a few words of the
message, so that rewording a message does not change its code. Anything not recognised
becomes ``TV199`` rather than being dropped. (The DMN reader's problems have no sheet; they
are classified by their message or fall back to ``TV199``.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.errors import Problem
from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.validation.sheetref import split_cell
from engine.values import text_of
from engine.workbook import Sheet

KIND_ROW, NAME_ROW, VALUES_ROW, DEFAULT_ROW, FIRST_RULE_ROW = 5, 6, 7, 8, 9  # 1-based rows

_FILE_CODES = (
    (r"password|encrypted", "TV002"),
    (r"too large|unpack|zip bomb|parts, more than", "TV003"),
    (r"XML entities", "TV004"),
    (r"reaches row", "TV005"),
)
_UNLOCATED = (
    (r"no 'About' sheet|no 'Inputs' sheet|no 'Tests' sheet", "TV101"),
    (r"no decision table", "TV102"),
    (r"no Output column|column has no kind|unknown column kind", "TV110"),
    (r"cycle|reads its own output", "TV402"),
    (r"\(at most \d+\)|more than \d+", "TV116"),
    (r"hit policy|aggregation|COLLECT", "TV113"),
    (r"not an input or an output", "TV108"),
    (r"is not one of the allowed values", "TV203"),
    (r"contains no value", "TV206"),
    (r"is not a valid \w+ name", "TV106"),
)
_TYPE_WORDS = re.compile(
    r"is not a number|is not true or false|is not text|compares order|double quotes|"
    r"cannot test a list|is not a whole number|date or time"
)


@dataclass
class SheetRoles:
    """What each sheet is, and for table sheets what each column is, so that a problem's
    location tells which check it belongs to."""

    roles: dict[str, str] = field(default_factory=dict)  # sheet -> about/inputs/tests/table
    kinds: dict[str, dict[int, str]] = field(default_factory=dict)  # table sheet -> col -> kind
    names: dict[str, dict[int, str]] = field(default_factory=dict)  # table sheet -> col -> name
    outputs: set[str] = field(default_factory=set)  # every output name of every table

    @classmethod
    def of(cls, sheets: Sequence[Sheet]) -> SheetRoles:
        roles = cls()
        for sheet in sheets:
            key = sheet.name.strip().lower()
            if text_of(sheet.value(0, 0)).lower() == "table":
                roles.roles[sheet.name] = "table"
                kinds = {
                    c: text_of(sheet.value(KIND_ROW - 1, c)).lower() for c in range(sheet.width)
                }
                names = {c: text_of(sheet.value(NAME_ROW - 1, c)) for c in range(sheet.width)}
                roles.kinds[sheet.name], roles.names[sheet.name] = kinds, names
                roles.outputs |= {names[c] for c, k in kinds.items() if k == "output"}
            elif key in ("about", "inputs", "tests"):
                roles.roles[sheet.name] = key
        return roles


def file_finding(problem: Problem) -> Finding:
    """The one finding for a file that cannot be read at all."""
    code = problem.code or next(
        (c for p, c in _FILE_CODES if re.search(p, problem.message)), "TV001"
    )
    return finding(code, problem.message, problem.fix)


def classify(problems: Iterable[Problem], roles: SheetRoles) -> list[Finding]:
    return [_classify(p, roles) for p in problems]


def _classify(problem: Problem, roles: SheetRoles) -> Finding:
    where = problem.location
    sheet = where.sheet if where else None
    cells = (where.cell,) if where and where.cell else ()
    role = roles.roles.get(sheet or "")
    code = None
    if role and cells:
        row, col = split_cell(cells[0])
        code = _located(problem.message, role, sheet or "", row, col, roles)
    if code is None:
        code = next((c for p, c in _UNLOCATED if re.search(p, problem.message)), "TV199")
    return finding(code, problem.message, problem.fix, sheet=sheet, cells=cells)


def _located(message: str, role: str, sheet: str, row: int, col: int, roles: SheetRoles) -> str:
    """``row`` is 1-based, ``col`` 0-based (A is 0)."""
    if role == "about":
        return "TV105"
    if role == "inputs":
        if row == 1:
            return "TV104"
        if "declared twice" in message:
            return "TV107"
        return {0: "TV106", 1: "TV117", 3: "TV118", 4: "TV119"}.get(col, "TV199")
    if role == "tests":
        if row == 1:
            return "TV104" if col == 0 or "Test id" in message else "TV111"
        return "TV503"
    return _in_table(message, sheet, row, col, roles)


def _in_table(message: str, sheet: str, row: int, col: int, roles: SheetRoles) -> str:
    kind = roles.kinds.get(sheet, {}).get(col, "")
    if "cycle" in message or "reads its own output" in message:
        return "TV402"
    if re.search(r"\(at most \d+\)|more than \d+ (rules|input columns)", message):
        return "TV116"
    if "Citation" in message or "citation" in message:
        return "TV114"
    if col == 0:
        if row >= FIRST_RULE_ROW:
            return "TV115"
        return "TV104" if row in (2, KIND_ROW, NAME_ROW) or "must start" in message else "TV199"
    if row == 1:
        return "TV109" if "also used" in message else "TV106"
    if row == 2:
        return "TV113"
    if row == KIND_ROW:
        return "TV110"
    if row == NAME_ROW:
        if "not an input or an output" in message:
            return "TV108"
        if "name of an input" in message or "also produced" in message:
            return "TV109"
        if "COLLECT" in message:
            return "TV113"
        return "TV106"
    if row == VALUES_ROW or (row == DEFAULT_ROW and kind != "output"):
        return "TV112"
    return _rule_cell(message, kind, roles.names.get(sheet, {}).get(col, ""), roles)


def _rule_cell(message: str, kind: str, name: str, roles: SheetRoles) -> str:
    """A problem in a rule's cell (or an output's Default)."""
    chained = kind == "input" and name in roles.outputs
    if kind == "output":
        return "TV205" if "allowed values" in message else "TV202"
    if "contains no value" in message:
        return "TV206"
    if "allowed values" in message:
        return "TV401" if chained else "TV203"
    if _TYPE_WORDS.search(message):
        return "TV401" if chained else "TV202"
    return "TV201"
