"""The loader's problems as findings, and what each sheet of a workbook is.

Every problem carries the code of the check that found it, set where it was found (the
builder, the table reader, the file checks); this module only turns problems into
findings. A problem without a code is a bug in the reader that made it, and becomes
``TV199`` rather than being dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.errors import Problem
from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.values import text_of
from engine.workbook import Sheet

KIND_ROW, NAME_ROW = 5, 6  # 1-based rows of a table sheet

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
            elif key in ("about", "inputs", "tests", "safety"):
                roles.roles[sheet.name] = key
        return roles


def file_finding(problem: Problem) -> Finding:
    """The one finding for a file that cannot be read at all."""
    return finding(problem.code or "TV001", problem.message, problem.fix)


def classify(problems: Iterable[Problem], roles: SheetRoles | None = None) -> list[Finding]:
    return [_finding(p) for p in problems]


def _finding(problem: Problem) -> Finding:
    where = problem.location
    return finding(
        problem.code or "TV199",
        problem.message,
        problem.fix,
        sheet=where.sheet if where else None,
        cells=(where.cell,) if where and where.cell else (),
    )
